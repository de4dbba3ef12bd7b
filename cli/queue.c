/*
 * `youju queue`: Postfix's mailq / postqueue -p (list), postqueue -f
 * (flush), postsuper -d / -h / -H / -r (delete, hold, release, requeue)
 * and postcat -q (cat) over the queue of docs/queue.md.  Moving a file
 * into active/ is all it takes to have youju-mta's queue manager look at
 * it (it watches the directory).  Queue files are read with lib/qfile,
 * the queue manager's own parser.
 */
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cliconf.h"
#include "conf.h"
#include "qfile.h"
#include "xalloc.h"

#define CQ_PATH_MAX 4096

static const char *const cq_lists[] = {"active", "deferred", "hold", NULL};
static const char *const cq_all[] = {"active", "deferred", "hold", "corrupt",
				     NULL};

static int cq_read(const char *path, char **data_r, size_t *len_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = qfile_read_fd(fd, data_r, len_r);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

static int cq_path(char *out, const char *qdir, const char *sub, const char *id)
{
	int n = snprintf(out, CQ_PATH_MAX, "%s/%s%s%s", qdir, sub,
			 id[0] ? "/" : "", id);
	return n < 0 || n >= CQ_PATH_MAX ? -1 : 0;
}

/* The IDs in qdir/sub, sorted; *n_r their count. */
static char **cq_ids(const char *qdir, const char *sub, size_t *n_r)
{
	char dir[CQ_PATH_MAX];
	*n_r = 0;
	if (cq_path(dir, qdir, sub, "") < 0)
		return NULL;
	return qfile_list_ids(dir, n_r);
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
			struct qfile e;
			const char *err;
			if (cq_path(path, qdir, cq_lists[q], ids[i]) < 0 ||
			    cq_read(path, &data, &len) < 0)
				continue;
			if (qfile_parse(data, len, &e, &err) < 0) {
				qfile_free(&e);
				free(data);
				continue;
			}
			if (count == 0)
				printf("-Queue ID-       --Size-- ----Arrival "
				       "Time---- -Sender/Recipient-------\n");
			char mark = q == 0 ? '*' : q == 2 ? '!' : ' ';
			time_t t = (time_t)e.arrival_sec;
			struct tm tm;
			if (localtime_r(&t, &tm) == NULL ||
			    strftime(when, sizeof(when), "%a %b %e %H:%M:%S",
				     &tm) == 0)
				when[0] = '\0';
			printf("%-16s%c %8llu %-20s  %s\n", ids[i], mark,
			       (unsigned long long)e.msg_len, when,
			       e.sender[0] ? e.sender : "MAILER-DAEMON");
			for (size_t r = 0; r < e.nrcpt; r++) {
				if (e.rcpts[r].done)
					continue;
				if (e.rcpts[r].why != NULL)
					printf("%50s(%s)\n", "",
					       e.rcpts[r].why);
				printf("%50s%s\n", "", e.rcpts[r].addr);
			}
			printf("\n");
			bytes += e.msg_len;
			count++;
			qfile_free(&e);
			free(data);
		}
		qfile_ids_free(ids, n);
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
		qfile_ids_free(ids, n);
	}
	return moved;
}

/* Tells the queue manager that this pass is a flush: mail of
   defer_transports goes too (Postfix's postqueue -f).  It compares the
   stamp's mtime with each message's last deferral. */
static void cq_flush_stamp(const char *qdir)
{
	char p[CQ_PATH_MAX];
	if (cq_path(p, qdir, "flush.stamp", "") < 0)
		return;
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || futimens(fd, NULL) < 0)
		fprintf(stderr, "youju queue: %s: %s\n", p, strerror(errno));
	if (fd >= 0)
		close(fd);
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
		struct qfile e;
		const char *err;
		int ok = qfile_parse(data, len, &e, &err);
		printf("*** ENVELOPE RECORDS %s/%s ***\n", cq_all[q], id);
		size_t hdr_end = ok == 0 ? e.msg_off : len;
		size_t size = ok == 0 ? e.msg_len : 0;
		fwrite(data, 1, hdr_end, stdout);
		printf("*** MESSAGE CONTENTS %s/%s ***\n", cq_all[q], id);
		if (ok == 0)
			fwrite(data + e.msg_off, 1, size, stdout);
		printf("*** HEADER EXTRACTED %s/%s ***\n", cq_all[q], id);
		if (ok == 0 && e.msg_off + size < len)
			fwrite(data + e.msg_off + size, 1,
			       len - e.msg_off - size, stdout);
		printf("*** MESSAGE FILE END %s/%s ***\n", cq_all[q], id);
		qfile_free(&e);
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
	int i = 1;
	char *path = cliconf_option(argc, argv, &i);
	if (i >= argc) {
		free(path);
		return cq_usage();
	}
	char *qdir = cliconf_str(path, "mta", "queue_directory", "queue");
	free(path);
	if (qdir == NULL)
		return 1;
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
		cq_flush_stamp(qdir);
		(void)cq_move(qdir, "ALL", q_deferred, "active");
	} else if (arg == NULL || (!qfile_is_id(arg) && strcmp(arg, "ALL"))) {
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

int cli_queue_as(const char *name, int argc, char **argv)
{
	char list[] = "list", flush[] = "flush", queue[] = "queue";
	char *args[] = {queue, list, NULL};
	if (strcmp(name, "postqueue") == 0) {
		if (argc == 2 && strcmp(argv[1], "-f") == 0) {
			args[1] = flush;
		} else if (argc != 2 || strcmp(argv[1], "-p") != 0) {
			fprintf(stderr, "usage: postqueue -p | -f\n");
			return 2;
		}
	}
	return cli_queue(2, args);
}
