/*
 * NetDisk: ExtMail's file store, Maildir/fileman/, with its quota file
 * fileman/filesize in Maildir++ form ("<quota>S\n<bytes> <files>\n",
 * rewritten after every change, as ExtMail recomputes it at login).  The
 * quota is the account's netdiskquota (authd's OPTIONS), 10 MiB when it
 * has none, as ExtMail; disablenetdisk=1 refuses every route (403).
 *
 * No path escapes: a path is split on '/', every segment checked (not
 * empty, ".", "..", no leading '.', no control byte, valid UTF-8, at most
 * 255 bytes; at most 16 levels and 1024 bytes) and opened one level at a
 * time from fileman's descriptor with O_NOFOLLOW, so neither ".." nor a
 * symlink planted in the tree leads outside; listings skip anything that
 * is neither a directory nor a regular file.  "filesize" at the top is
 * reserved.
 *
 *	GET  /api/netdisk?path=DIR		list
 *	POST /api/netdisk {"op": "mkdir", "path": DIR, "name"}
 *	POST /api/netdisk {"op": "save", "path": DIR, "id": UPLOAD}
 *	POST /api/netdisk {"op": "attachment", "path": DIR, "folder",
 *			   "uid", "part"}	(a message's attachment)
 *	POST /api/netdisk {"op": "delete", "path": FILE-OR-DIR}
 *	POST /api/netdisk {"op": "rename", "path": FROM, "to": TO}
 *	GET  /api/netdisk/file?path=FILE	download
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authc.h"
#include "buf.h"
#include "file.h"
#include "log.h"
#include "reading.h"
#include "upload.h"
#include "webjson.h"
#include "websession.h"
#include "wm.h"

#define ND_DEPTH_MAX	 16
#define ND_PATH_MAX	 1024
#define ND_NAME_MAX	 255
#define ND_ENTRIES_MAX	 20000
#define ND_DEFAULT_QUOTA (10u * 1024 * 1024)
#define ND_DOWNLOAD_MAX	 (256u * 1024 * 1024)

/* Well-formed UTF-8 (no overlong lead bytes C0/C1, no bytes F5..FF). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k;
		if (c < 0x80)
			k = 0;
		else if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3;
		else
			return false;
		if (k >= n - i)
			return false;
		for (size_t j = 1; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		i += k + 1;
	}
	return true;
}

/* A name one segment may have. */
static bool seg_ok(const char *s, size_t n, bool top)
{
	if (n == 0 || n > ND_NAME_MAX || s[0] == '.')
		return false;
	if (top && n == 8 && memcmp(s, "filesize", 8) == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
			return false;
	}
	return utf8_ok((const unsigned char *)s, n);
}

/* fileman/'s descriptor, made on first use; -1 with errno. */
static int nd_root(const char *maildir)
{
	int md = open(maildir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (md < 0)
		return -1;
	if (mkdirat(md, "fileman", 0700) < 0 && errno != EEXIST) {
		close(md);
		return -1;
	}
	int fd = openat(md, "fileman",
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int e = errno;
	close(md);
	errno = e;
	return fd;
}

/*
 * Walks path from root.  With want_last, the last segment is not opened
 * but copied into last (the caller acts on it in *dir_r); otherwise the
 * whole path is opened as a directory.  Returns 0 with *dir_r (close it),
 * -1 for a bad path (EINVAL) or a missing/unsuitable directory (errno).
 */
static int nd_walk(int root, const char *path, bool want_last, int *dir_r,
		   char *last, size_t lastsz)
{
	size_t len = path != NULL ? strlen(path) : 0;
	if (len > ND_PATH_MAX) {
		errno = EINVAL;
		return -1;
	}
	const char *seg[ND_DEPTH_MAX + 1];
	size_t sl[ND_DEPTH_MAX + 1], n = 0;
	for (size_t i = 0; i < len;) {
		while (i < len && path[i] == '/')
			i++;
		size_t j = i;
		while (j < len && path[j] != '/')
			j++;
		if (j == i)
			break;
		if (n > ND_DEPTH_MAX || !seg_ok(path + i, j - i, n == 0)) {
			errno = EINVAL;
			return -1;
		}
		seg[n] = path + i;
		sl[n++] = j - i;
		i = j;
	}
	if (want_last && n == 0) {
		errno = EINVAL;
		return -1;
	}
	int fd = dup(root);
	if (fd < 0)
		return -1;
	size_t opened = want_last ? n - 1 : n;
	for (size_t k = 0; k < opened; k++) {
		char name[ND_NAME_MAX + 1];
		memcpy(name, seg[k], sl[k]);
		name[sl[k]] = '\0';
		int nfd = openat(
		    fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(fd);
		if (nfd < 0) {
			errno = e == ELOOP || e == ENOTDIR ? ENOENT : e;
			return -1;
		}
		fd = nfd;
	}
	if (want_last) {
		if (sl[n - 1] >= lastsz) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
		memcpy(last, seg[n - 1], sl[n - 1]);
		last[sl[n - 1]] = '\0';
	}
	*dir_r = fd;
	return 0;
}

/* Bytes and files under dir (bounded walk; symlinks not followed). */
static void nd_usage(int dir, int depth, uint64_t *bytes, uint64_t *files,
		     size_t *seen)
{
	int fd = dup(dir);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	/* the dup shares dir's offset, which an earlier walk left at the
	   end */
	rewinddir(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL && *seen < ND_ENTRIES_MAX) {
		if (de->d_name[0] == '.' ||
		    (depth == 0 && strcmp(de->d_name, "filesize") == 0))
			continue;
		struct stat st;
		if (fstatat(dir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		(*seen)++;
		if (S_ISREG(st.st_mode)) {
			*bytes += (uint64_t)st.st_size;
			(*files)++;
		} else if (S_ISDIR(st.st_mode) && depth < ND_DEPTH_MAX) {
			int sub = openat(dir, de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					     O_CLOEXEC);
			if (sub >= 0) {
				nd_usage(sub, depth + 1, bytes, files, seen);
				close(sub);
			}
		}
	}
	closedir(d);
}

/* The account's NetDisk quota in bytes (0: no limit). */
static uint64_t nd_quota(const struct wm_caller *me)
{
	char v[64];
	if (authc_option(me->acct.options, "netdiskquota", v, sizeof v) < 0)
		return ND_DEFAULT_QUOTA;
	uint64_t n = 0;
	const char *c = v;
	for (; *c >= '0' && *c <= '9' && n < UINT64_MAX / 10; c++)
		n = n * 10 + (uint64_t)(*c - '0');
	if (c == v || (*c != '\0' && *c != 'S'))
		return ND_DEFAULT_QUOTA;
	return n;
}

/* Recounts and rewrites fileman/filesize; returns the bytes used. */
static uint64_t nd_recount(const struct wm_caller *me, int root, uint64_t quota)
{
	uint64_t bytes = 0, files = 0;
	size_t seen = 0;
	nd_usage(root, 0, &bytes, &files, &seen);
	char text[80], path[4200];
	int n = snprintf(text, sizeof text, "%lluS\n%llu %llu\n",
			 (unsigned long long)quota, (unsigned long long)bytes,
			 (unsigned long long)files);
	if (n > 0 && (size_t)n < sizeof text &&
	    snprintf(path, sizeof path, "%s/fileman/filesize",
		     me->acct.maildir) < (int)sizeof path &&
	    file_replace(path, text, (size_t)n,
			 &(struct file_replace_opts){.no_fsync = true}) < 0)
		log_warning("webmail: %s: %s", path, strerror(errno));
	return bytes;
}

/* Checks the service, opens fileman/.  -1 after replying. */
static int nd_begin(struct http_req *req)
{
	const struct wm_caller *me = wm_caller(req);
	char v[8];
	if (authc_option(me->acct.options, "disablenetdisk", v, sizeof v) ==
		0 &&
	    strcmp(v, "1") == 0) {
		webjson_error(req, 403, "netdisk_disabled",
			      "NetDisk is disabled for this mailbox", NULL);
		return -1;
	}
	int root = nd_root(me->acct.maildir);
	if (root < 0) {
		log_warning("webmail: %s/fileman: %s", me->acct.maildir,
			    strerror(errno));
		webjson_error(req, 500, "internal", "NetDisk cannot be opened",
			      NULL);
	}
	return root;
}

static void nd_error(struct http_req *req, const char *what)
{
	if (errno == EINVAL)
		webjson_error(req, 400, "invalid", "bad path or name", "path");
	else if (errno == ENOENT)
		webjson_error(req, 404, "not_found", "no such file or folder",
			      "path");
	else if (errno == EEXIST)
		webjson_error(req, 409, "exists", "that name is taken", "name");
	else if (errno == EFBIG)
		webjson_error(req, 413, "too_large",
			      "the file is too large to download here", "path");
	else if (errno == ENOTEMPTY)
		webjson_error(req, 409, "not_empty", "the folder is not empty",
			      "path");
	else {
		log_warning("webmail: netdisk %s: %s", what, strerror(errno));
		webjson_error(req, 500, "internal", "NetDisk error", NULL);
	}
}

static json_t *quota_json(uint64_t used, uint64_t quota)
{
	json_t *q = json_object();
	json_object_set_new(q, "bytes", json_integer((json_int_t)used));
	json_object_set_new(q, "max_bytes", json_integer((json_int_t)quota));
	return q;
}

void wm_netdisk_list(struct http_req *req)
{
	const struct wm_caller *me = wm_caller(req);
	int root = nd_begin(req);
	if (root < 0)
		return;
	const char *path = http_req_query(req, "path");
	int dir = -1;
	if (nd_walk(root, path, false, &dir, NULL, 0) < 0) {
		nd_error(req, "list");
		close(root);
		return;
	}
	bool top = true;
	for (const char *c = path != NULL ? path : ""; *c; c++)
		if (*c != '/')
			top = false;
	json_t *list = json_array();
	int fd = dup(dir);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	size_t n = 0;
	while (d != NULL && (de = readdir(d)) != NULL && n < ND_ENTRIES_MAX) {
		size_t nl = strlen(de->d_name);
		struct stat st;
		if (!seg_ok(de->d_name, nl, top) ||
		    fstatat(dir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
			continue;
		json_t *e = json_object();
		json_object_set_new(e, "name", json_string(de->d_name));
		json_object_set_new(e, "dir",
				    json_boolean(S_ISDIR(st.st_mode)));
		json_object_set_new(e, "size", json_integer(st.st_size));
		json_object_set_new(e, "mtime",
				    json_integer((json_int_t)st.st_mtime));
		json_array_append_new(list, e);
		n++;
	}
	if (d != NULL)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	close(dir);
	uint64_t quota = nd_quota(me);
	uint64_t used = nd_recount(me, root, quota);
	close(root);
	json_t *o = json_object();
	json_object_set_new(o, "path", json_string(path != NULL ? path : ""));
	json_object_set_new(o, "entries", list);
	json_object_set_new(o, "quota", quota_json(used, quota));
	webjson_reply(req, 200, o);
}

/* Removes name in dir, a folder with everything in it. */
static int nd_remove(int dir, const char *name, int depth)
{
	struct stat st;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dir, name, 0);
	if (depth > ND_DEPTH_MAX) {
		errno = ENOTEMPTY;
		return -1;
	}
	int sub =
	    openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return -1;
	int fd = dup(sub);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int rc = 0;
	while (d != NULL && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    nd_remove(sub, de->d_name, depth + 1) < 0)
			rc = -1;
	if (d != NULL)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	close(sub);
	return rc < 0 ? -1 : unlinkat(dir, name, AT_REMOVEDIR);
}

/* Writes data as dir/name (a temp name, then a rename that never
   replaces). */
static int nd_store(int dir, const char *name, const char *data, size_t len)
{
	char tmp[64], rnd[17];
	if (websession_random_hex(rnd, 8) < 0)
		return -1;
	snprintf(tmp, sizeof tmp, ".upload.%s", rnd);
	int fd =
	    openat(dir, tmp,
		   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (file_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlinkat(dir, tmp, 0);
		errno = e;
		return -1;
	}
	close(fd);
	if (renameat2(dir, tmp, dir, name, RENAME_NOREPLACE) < 0) {
		int e = errno;
		unlinkat(dir, tmp, 0);
		errno = e;
		return -1;
	}
	return 0;
}

/*
 * Stores len bytes as name in dir when they fit in the quota (0: none).
 * Returns 0, or -1 after replying 413 naming field, or the error of op.
 */
static int nd_save(struct http_req *req, const struct wm_caller *me, int root,
		   uint64_t quota, int dir, const char *name, const char *data,
		   size_t len, const char *op, const char *field)
{
	uint64_t used = nd_recount(me, root, quota);
	if (quota > 0 && used + len > quota) {
		webjson_error(req, 413, "over_quota",
			      "the file does not fit in NetDisk", field);
		return -1;
	}
	if (nd_store(dir, name, data, len) < 0) {
		nd_error(req, op);
		return -1;
	}
	log_info("webmail: user=<%s>: netdisk: saved %s%zu bytes",
		 me->acct.user,
		 strcmp(op, "attachment") == 0 ? "an attachment, " : "", len);
	return 0;
}

/* A file name from an upload: its last path segment, control bytes
   and a leading dot replaced. */
static void upload_name(const char *in, char *out, size_t outsz)
{
	const char *b = strrchr(in, '/');
	b = b != NULL ? b + 1 : in;
	const char *bs = strrchr(b, '\\');
	b = bs != NULL ? bs + 1 : b;
	size_t n = 0;
	for (; *b && n + 1 < outsz && n < ND_NAME_MAX; b++) {
		unsigned char c = (unsigned char)*b;
		out[n++] = c < 0x20 || c == 0x7f ? '_' : (char)c;
	}
	out[n] = '\0';
	if (n > 0 && out[0] == '.')
		out[0] = '_';
	if (n == 0 || !utf8_ok((const unsigned char *)out, n) ||
	    (n == 8 && strcmp(out, "filesize") == 0))
		snprintf(out, outsz, "upload");
}

void wm_netdisk_op(struct http_req *req)
{
	struct wm *wm = http_req_app(req);
	const struct wm_caller *me = wm_caller(req);
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	static const char *const allowed[] = {
	    "op", "path", "name", "id", "to", "folder", "uid", "part", NULL};
	const char *op = NULL, *path = "", *name = NULL, *id = NULL, *to = NULL;
	int root = -1, dir = -1;
	char last[ND_NAME_MAX + 1];
	if (webjson_only(req, in, allowed) < 0 ||
	    webjson_get_str(req, in, "op", true, 16, &op) < 0 ||
	    webjson_get_str(req, in, "path", false, ND_PATH_MAX, &path) < 0 ||
	    webjson_get_str(req, in, "name", false, ND_NAME_MAX, &name) < 0 ||
	    webjson_get_str(req, in, "id", false, 64, &id) < 0 ||
	    webjson_get_str(req, in, "to", false, ND_PATH_MAX, &to) < 0)
		goto out;
	if ((root = nd_begin(req)) < 0)
		goto out;
	uint64_t quota = nd_quota(me);
	if (strcmp(op, "mkdir") == 0) {
		bool top = path[strspn(path, "/")] == '\0';
		if (name == NULL || !seg_ok(name, strlen(name), top)) {
			webjson_error(req, 400, "invalid", "bad folder name",
				      "name");
			goto out;
		}
		if (nd_walk(root, path, false, &dir, NULL, 0) < 0 ||
		    mkdirat(dir, name, 0700) < 0) {
			nd_error(req, "mkdir");
			goto out;
		}
	} else if (strcmp(op, "delete") == 0) {
		if (nd_walk(root, path, true, &dir, last, sizeof last) < 0 ||
		    nd_remove(dir, last, 0) < 0) {
			nd_error(req, "delete");
			goto out;
		}
	} else if (strcmp(op, "rename") == 0) {
		/* rename or move: path to "to" (a full path); an existing
		   name is not replaced */
		int todir = -1;
		char tolast[ND_NAME_MAX + 1];
		if (to == NULL ||
		    nd_walk(root, path, true, &dir, last, sizeof last) < 0 ||
		    nd_walk(root, to, true, &todir, tolast, sizeof tolast) <
			0 ||
		    renameat2(dir, last, todir, tolast, RENAME_NOREPLACE) < 0) {
			if (errno == EXDEV || errno == ENOTDIR)
				errno = EINVAL;
			nd_error(req, "rename");
			if (todir >= 0)
				close(todir);
			goto out;
		}
		close(todir);
	} else if (strcmp(op, "save") == 0) {
		struct wm_upload u;
		memset(&u, 0, sizeof u);
		if (id == NULL ||
		    nd_walk(root, path, false, &dir, NULL, 0) < 0) {
			nd_error(req, "save");
			goto out;
		}
		if (wm_upload_read(me->acct.maildir, id,
				   (size_t)wm->message_size_limit + 1,
				   &u) < 0) {
			webjson_error(req, 404, "not_found", "no such upload",
				      "id");
			goto out;
		}
		upload_name(u.name, last, sizeof last);
		int rc = nd_save(req, me, root, quota, dir, last, u.data, u.len,
				 "save", "id");
		if (rc == 0)
			unlink(u.path);
		wm_upload_free(&u);
		if (rc < 0)
			goto out;
	} else if (strcmp(op, "attachment") == 0) {
		if (nd_walk(root, path, false, &dir, NULL, 0) < 0) {
			nd_error(req, "attachment");
			goto out;
		}
		struct wm_part part;
		if (wm_part_load(req, in, &part) < 0)
			goto out;
		upload_name(part.name, last, sizeof last);
		int rc = nd_save(req, me, root, quota, dir, last, part.data,
				 part.len, "attachment", "part");
		wm_part_free(&part);
		if (rc < 0)
			goto out;
	} else {
		webjson_error(req, 400, "invalid", "unknown op", "op");
		goto out;
	}
	json_t *o = json_object();
	json_object_set_new(o, "quota",
			    quota_json(nd_recount(me, root, quota), quota));
	webjson_reply(req, 200, o);
out:
	if (dir >= 0)
		close(dir);
	if (root >= 0)
		close(root);
	json_decref(in);
}

void wm_netdisk_file(struct http_req *req)
{
	int root = nd_begin(req);
	if (root < 0)
		return;
	int dir = -1, fd = -1;
	char last[ND_NAME_MAX + 1];
	char *data = NULL;
	size_t len = 0;
	struct stat st;
	bool ok = nd_walk(root, http_req_query(req, "path"), true, &dir, last,
			  sizeof last) == 0 &&
		  (fd = openat(dir, last,
			       O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
				   O_CLOEXEC)) >= 0 &&
		  fstat(fd, &st) == 0;
	if (ok && !S_ISREG(st.st_mode)) {
		ok = false;
		errno = ENOENT;
	}
	/* the reply is held in memory (lib/http): a file larger than
	   ND_DOWNLOAD_MAX is not served */
	if (ok && (uint64_t)st.st_size > ND_DOWNLOAD_MAX) {
		ok = false;
		errno = EFBIG;
	}
	if (ok && file_read_fd(fd, ND_DOWNLOAD_MAX, &data, &len) < 0)
		ok = false;
	if (!ok) {
		if (errno == ELOOP || errno == EISDIR)
			errno = ENOENT;
		nd_error(req, "download");
	} else {
		/* RFC 6266: an ASCII fallback and filename* in UTF-8 */
		struct buf cd;
		buf_init(&cd, 4096);
		int rc = buf_append_str(&cd, "attachment; filename=\"");
		for (const char *c = last; *c; c++) {
			unsigned char ch = (unsigned char)*c;
			rc |=
			    buf_append_char(&cd, ch < 0x20 || ch >= 0x7f ||
							 ch == '"' || ch == '\\'
						     ? '_'
						     : (char)ch);
		}
		rc |= buf_append_str(&cd, "\"; filename*=UTF-8''");
		for (const unsigned char *c = (const unsigned char *)last; *c;
		     c++) {
			if ((*c >= 'A' && *c <= 'Z') ||
			    (*c >= 'a' && *c <= 'z') ||
			    (*c >= '0' && *c <= '9') || strchr("-._~", *c))
				rc |= buf_append_char(&cd, (char)*c);
			else
				rc |= buf_printf(&cd, "%%%02X", *c);
		}
		if (rc == 0)
			http_reply_header(req, "Content-Disposition",
					  buf_cstr(&cd));
		http_reply_raw(req, 200, "application/octet-stream", data, len);
		buf_deinit(&cd);
	}
	free(data);
	if (fd >= 0)
		close(fd);
	if (dir >= 0)
		close(dir);
	close(root);
}
