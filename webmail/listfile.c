/*
 * Lists in JSON files of the Maildir (see listfile.h).
 */
#include "listfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "log.h"

int wm_listfile_load(const char *maildir, const char *file, const char *key,
		     size_t max, json_t **list_r)
{
	char path[4200];
	char *data = NULL;
	size_t len = 0;
	*list_r = NULL;
	if (file_path(path, sizeof path, maildir, file) < 0) {
		log_warning("webmail: %s/%s: path too long", maildir, file);
		return -1;
	}
	int rc = file_read(path, max, O_NOFOLLOW, &data, &len, NULL);
	if (rc < 0) {
		log_warning("webmail: %s: %s", path, strerror(errno));
		return -1;
	}
	if (rc == 0)
		return 0;
	json_error_t e;
	json_t *o = json_loadb(data, len, JSON_REJECT_DUPLICATES, &e);
	free(data);
	json_t *list = json_incref(json_object_get(o, key));
	json_decref(o);
	if (!json_is_array(list)) {
		log_warning("webmail: %s: no \"%s\" list (line %d: %s)", path,
			    key, e.line, e.text);
		json_decref(list);
		return -1;
	}
	*list_r = list;
	return 1;
}

int wm_listfile_save(const char *maildir, const char *file, const char *key,
		     json_t *list, size_t max)
{
	char path[4200];
	if (file_path(path, sizeof path, maildir, file) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	json_t *o = json_object();
	json_object_set(o, key, list);
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		return -1;
	size_t len = strlen(text);
	int rc = len > max ? (errno = EFBIG, -1)
			   : file_replace(path, text, len, NULL);
	free(text);
	return rc;
}
