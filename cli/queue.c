/*
 * `youju queue`: Postfix's mailq / postqueue -p (list), postqueue -f
 * (flush), postsuper -d / -h / -H / -r (delete, hold, release, requeue)
 * and postcat -q (cat) over the queue of docs/queue.md.  Moving a file
 * into active/ is all it takes to have youju-mta's queue manager look at
 * it (it watches the directory).  The small queue-file reader here only
 * needs the envelope; the delivery side's full parser is mta/qfile.c.
 */
#include "queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "str.h"
#include "xalloc.h"

#define CQ_PATH_MAX  4096
#define CQ_ID_LEN    16
#define CQ_FILE_MAX  ((size_t)1 << 30)
#define CQ_MAGIC     "YOUJU-QUEUE "
#define CQ_MAGIC_LEN 12

static const char *const cq_lists[] = {"active", "deferred", "hold", NULL};
static const char *const cq_all[] = {"active", "deferred", "hold", "corrupt",
				     NULL};

struct cq_env {
	char *sender;
	char **rcpt;
	bool *done;
	char **why; /* last W text per recipient, or NULL */
	size_t nrcpt;
	uint64_t size;
	int64_t arrival;
	size_t msg_off;
};

static void cq_env_free(struct cq_env *e)
{
	free(e->sender);
	for (size_t i = 0; i < e->nrcpt; i++) {
		free(e->rcpt[i]);
		free(e->why[i]);
	}
	free(e->rcpt);
	free(e->done);
	free(e->why);
	memset(e, 0, sizeof(*e));
}

static bool cq_is_id(const char *s)
{
	if (strlen(s) != CQ_ID_LEN)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'F')))
			return false;
	return true;
}

static int cq_read(const char *path, char **data_r, size_t *len_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > CQ_FILE_MAX) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	size_t len = (size_t)st.st_size, off = 0;
	char *d = xmalloc(len + 1);
	while (off < len) {
		ssize_t n = read(fd, d + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	d[off] = '\0';
	*data_r = d;
	*len_r = off;
	return 0;
}

/* The envelope of a queue file.  0, or -1 when it does not parse. */
static int cq_parse(const char *d, size_t len, struct cq_env *e)
{
	memset(e, 0, sizeof(*e));
	const char *p = d, *end = d + len;
	if (len < CQ_MAGIC_LEN + 2 || memcmp(d, CQ_MAGIC, CQ_MAGIC_LEN) != 0)
		return -1;
	p += CQ_MAGIC_LEN + 2;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || nl - p < 2)
			return -1;
		char type = p[0];
		struct str v = {p + 2, (size_t)(nl - p - 2)};
		p = nl + 1;
		if (type == 'M') {
			if (str_to_u64(v, 0, CQ_FILE_MAX, &e->size) < 0 ||
			    e->size > (uint64_t)(end - p))
				return -1;
			e->msg_off = (size_t)(p - d);
			p += e->size;
			break;
		}
		if (type == 'S') {
			free(e->sender);
			e->sender = xmemdup0(v.p, v.len);
		} else if (type == 'T') {
			const char *dot = memchr(v.p, '.', v.len);
			struct str s = {v.p, dot ? (size_t)(dot - v.p) : v.len};
			uint64_t t;
			if (str_to_u64(s, 0, INT64_MAX, &t) == 0)
				e->arrival = (int64_t)t;
		} else if (type == 'R') {
			e->rcpt =
			    xrealloc(e->rcpt, (e->nrcpt + 1) * sizeof(char *));
			e->done =
			    xrealloc(e->done, (e->nrcpt + 1) * sizeof(bool));
			e->why =
			    xrealloc(e->why, (e->nrcpt + 1) * sizeof(char *));
			e->rcpt[e->nrcpt] = xmemdup0(v.p, v.len);
			e->done[e->nrcpt] = false;
			e->why[e->nrcpt] = NULL;
			e->nrcpt++;
		}
	}
	if (e->sender == NULL)
		e->sender = xstrdup("");
	if (end - p < 3 || memcmp(p, "\nE\n", 3) != 0)
		return -1;
	p += 3;
	while (p < end) { /* progress records (qfile.h) */
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		struct str v = {p + 2, nl - p >= 2 ? (size_t)(nl - p - 2) : 0};
		if (p[0] == 'D' && nl - p > 2) {
			uint64_t i;
			if (str_to_u64(v, 0, SIZE_MAX, &i) == 0 && i < e->nrcpt)
				e->done[i] = true;
		} else if (p[0] == 'W' && nl - p > 2) {
			const char *sp = memchr(v.p, ' ', v.len);
			if (sp != NULL)
				for (size_t i = 0; i < e->nrcpt; i++)
					if (strlen(e->rcpt[i]) ==
						(size_t)(sp - v.p) &&
					    memcmp(e->rcpt[i], v.p,
						   (size_t)(sp - v.p)) == 0) {
						free(e->why[i]);
						e->why[i] = xmemdup0(
						    sp + 1,
						    v.len - (size_t)(sp - v.p) -
							1);
					}
		}
		p = nl + 1;
	}
	return 0;
}

static int cq_path(char *out, const char *qdir, const char *sub, const char *id)
{
	int n = snprintf(out, CQ_PATH_MAX, "%s/%s%s%s", qdir, sub,
			 id[0] ? "/" : "", id);
	return n < 0 || n >= CQ_PATH_MAX ? -1 : 0;
}

static int cq_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The IDs in qdir/sub, sorted; *n_r their count. */
static char **cq_ids(const char *qdir, const char *sub, size_t *n_r)
{
	char dir[CQ_PATH_MAX];
	char **ids = NULL;
	size_t n = 0;
	*n_r = 0;
	if (cq_path(dir, qdir, sub, "") < 0)
		return NULL;
	DIR *d = opendir(dir);
	if (d == NULL)
		return NULL;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!cq_is_id(de->d_name))
			continue;
		ids = xrealloc(ids, (n + 1) * sizeof(*ids));
		ids[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(ids, n, sizeof(*ids), cq_cmp);
	*n_r = n;
	return ids;
}

static void cq_ids_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

static int cq_list(const char *qdir)
{
	uint64_t bytes = 0;
	size_t count = 0;
	for (size_t q = 0; cq_lists[q] != NULL; q++) {
		size_t n;
		char **ids = cq_ids(qdir, cq_lists[q], &n);
		for (size_t i = 0; i < n; i++) {
			char path[CQ_PATH_MAX], when[32];
			char *data;
			size_t len;
			struct cq_env e;
			if (cq_path(path, qdir, cq_lists[q], ids[i]) < 0 ||
			    cq_read(path, &data, &len) < 0)
				continue;
			if (cq_parse(data, len, &e) < 0) {
				cq_env_free(&e);
				free(data);
				continue;
			}
			if (count == 0)
				printf("-Queue ID-       --Size-- ----Arrival "
				       "Time---- -Sender/Recipient-------\n");
			char mark = q == 0 ? '*' : q == 2 ? '!' : ' ';
			time_t t = (time_t)e.arrival;
			struct tm tm;
			if (localtime_r(&t, &tm) == NULL ||
			    strftime(when, sizeof(when), "%a %b %e %H:%M:%S",
				     &tm) == 0)
				when[0] = '\0';
			printf("%-16s%c %8llu %-20s  %s\n", ids[i], mark,
			       (unsigned long long)e.size, when,
			       e.sender[0] ? e.sender : "MAILER-DAEMON");
			for (size_t r = 0; r < e.nrcpt; r++) {
				if (e.done[r])
					continue;
				if (e.why[r] != NULL)
					printf("%50s(%s)\n", "", e.why[r]);
				printf("%50s%s\n", "", e.rcpt[r]);
			}
			printf("\n");
			bytes += e.size;
			count++;
			cq_env_free(&e);
			free(data);
		}
		cq_ids_free(ids, n);
	}
	if (count == 0)
		printf("Mail queue is empty\n");
	else
		printf("-- %llu Kbytes in %zu Request%s.\n",
		       (unsigned long long)((bytes + 1023) / 1024), count,
		       count == 1 ? "" : "s");
	return 0;
}

/* Moves id (or every ID, "ALL") from the queues in from to queue to.
   Returns the number moved. */
static size_t cq_move(const char *qdir, const char *id, const char *const *from,
		      const char *to)
{
	size_t moved = 0;
	for (size_t q = 0; from[q] != NULL; q++) {
		size_t n;
		char **ids = cq_ids(qdir, from[q], &n);
		for (size_t i = 0; i < n; i++) {
			char src[CQ_PATH_MAX], dst[CQ_PATH_MAX];
			if (strcmp(id, "ALL") != 0 && strcmp(id, ids[i]) != 0)
				continue;
			if (cq_path(src, qdir, from[q], ids[i]) < 0 ||
			    cq_path(dst, qdir, to, ids[i]) < 0)
				continue;
			if (to[0] == '\0' ? unlink(src) == 0
					  : rename(src, dst) == 0)
				moved++;
			else if (errno != ENOENT)
				fprintf(stderr, "youju queue: %s: %s\n", src,
					strerror(errno));
		}
		cq_ids_free(ids, n);
	}
	return moved;
}

static int cq_cat(const char *qdir, const char *id)
{
	for (size_t q = 0; cq_all[q] != NULL; q++) {
		char path[CQ_PATH_MAX];
		char *data;
		size_t len;
		if (cq_path(path, qdir, cq_all[q], id) < 0 ||
		    cq_read(path, &data, &len) < 0)
			continue;
		struct cq_env e;
		int ok = cq_parse(data, len, &e);
		printf("*** ENVELOPE RECORDS %s/%s ***\n", cq_all[q], id);
		size_t hdr_end = ok == 0 ? e.msg_off : len;
		fwrite(data, 1, hdr_end, stdout);
		printf("*** MESSAGE CONTENTS %s/%s ***\n", cq_all[q], id);
		if (ok == 0)
			fwrite(data + e.msg_off, 1, e.size, stdout);
		printf("*** HEADER EXTRACTED %s/%s ***\n", cq_all[q], id);
		if (ok == 0 && e.msg_off + e.size < len)
			fwrite(data + e.msg_off + e.size, 1,
			       len - e.msg_off - e.size, stdout);
		printf("*** MESSAGE FILE END %s/%s ***\n", cq_all[q], id);
		cq_env_free(&e);
		free(data);
		return ok == 0 ? 0 : 1;
	}
	fprintf(stderr, "youju queue: %s: no such message\n", id);
	return 1;
}

static int cq_usage(void)
{
	fprintf(stderr,
		"usage: youju queue [-c config] list | flush | cat ID |\n"
		"       delete ID|ALL [queue] | hold ID|ALL | release ID|ALL |"
		" requeue ID|ALL\n");
	return 2;
}

int cli_queue(int argc, char **argv)
{
	char *path = NULL;
	int i = 1;
	if (i + 1 < argc && strcmp(argv[i], "-c") == 0) {
		path = xstrdup(argv[i + 1]);
		i += 2;
	}
	if (i >= argc)
		return cq_usage();
	if (path == NULL)
		path = conf_default_path();
	const char *err = NULL;
	struct conf *c = conf_load(path, conf_tables_for("mta"), &err);
	free(path);
	if (c == NULL) {
		fprintf(stderr, "youju queue: %s\n", err ? err : "bad config");
		return 1;
	}
	char *qdir = xstrdup(conf_str(c, "queue_directory"));
	conf_free(&c);
	const char *cmd = argv[i];
	const char *arg = i + 1 < argc ? argv[i + 1] : NULL;
	int rc = 0;
	static const char *const q_deferred[] = {"deferred", NULL};
	static const char *const q_hold[] = {"hold", NULL};
	static const char *const q_live[] = {"active", "deferred", NULL};
	static const char *const q_requeue[] = {"deferred", "hold", NULL};
	if (strcmp(cmd, "list") == 0) {
		rc = cq_list(qdir);
	} else if (strcmp(cmd, "flush") == 0) {
		(void)cq_move(qdir, "ALL", q_deferred, "active");
	} else if (arg == NULL || (!cq_is_id(arg) && strcmp(arg, "ALL"))) {
		rc = cq_usage();
	} else if (strcmp(cmd, "cat") == 0) {
		rc = cq_cat(qdir, arg);
	} else if (strcmp(cmd, "delete") == 0) {
		const char *one[] = {i + 2 < argc ? argv[i + 2] : NULL, NULL};
		size_t n = cq_move(qdir, arg, one[0] ? one : cq_all, "");
		if (n > 0 && strcmp(arg, "ALL") != 0)
			fprintf(stderr, "postsuper: %s: removed\n", arg);
		fprintf(stderr, "postsuper: Deleted: %zu message%s\n", n,
			n == 1 ? "" : "s");
		rc = n > 0 || strcmp(arg, "ALL") == 0 ? 0 : 1;
	} else if (strcmp(cmd, "hold") == 0) {
		size_t n = cq_move(qdir, arg, q_live, "hold");
		fprintf(stderr, "postsuper: Placed on hold: %zu message%s\n", n,
			n == 1 ? "" : "s");
	} else if (strcmp(cmd, "release") == 0) {
		size_t n = cq_move(qdir, arg, q_hold, "active");
		fprintf(stderr,
			"postsuper: Released from hold: %zu message%s\n", n,
			n == 1 ? "" : "s");
	} else if (strcmp(cmd, "requeue") == 0) {
		size_t n = cq_move(qdir, arg, q_requeue, "active");
		fprintf(stderr, "postsuper: Requeued: %zu message%s\n", n,
			n == 1 ? "" : "s");
	} else {
		rc = cq_usage();
	}
	free(qdir);
	return rc;
}
