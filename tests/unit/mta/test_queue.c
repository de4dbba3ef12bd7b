/* Unit tests for mta/queue: IDs, the file format, commit and abort, and
   group commit from many threads at once. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../mta/queue.h"
#include "../../../lib/qfile.h"
#include "test.h"
#include "xalloc.h"

static char *slurp(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *p = malloc(1 << 16);
	*len_r = fread(p, 1, (1 << 16) - 1, f);
	p[*len_r] = '\0';
	fclose(f);
	return p;
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

#define GROUP_THREADS 8
#define GROUP_PER     40

struct group_arg {
	const char *dir;
	char ids[GROUP_PER][QUEUE_ID_LEN + 1];
	int ok;
};

/* One committer thread: its own files, committed one after the other,
   racing the other threads for the shared fsync of active/. */
static void *group_thread(void *p)
{
	struct group_arg *a = p;
	for (int i = 0; i < GROUP_PER; i++) {
		const char *err = NULL;
		struct queue_file *qf =
		    queue_file_create(a->dir, a->ids[i], &err);
		if (qf == NULL)
			continue;
		if (queue_file_record(qf, 'T', "1.0") == 0 &&
		    queue_file_record(qf, 'S', "") == 0 &&
		    queue_file_record(qf, 'R', "x@extmail.org") == 0 &&
		    queue_file_begin_message(qf) == 0 &&
		    queue_file_write(qf, "Subject: g\n\nbody\n", 17) == 0 &&
		    queue_file_commit(qf, &err) == 0)
			a->ok++;
		queue_file_free(&qf);
	}
	return NULL;
}

/* Commits GROUP_THREADS * GROUP_PER files into dir from as many threads;
   returns how many succeeded. */
static int group_run(const char *dir)
{
	static struct group_arg args[GROUP_THREADS];
	pthread_t th[GROUP_THREADS];
	int ok = 0;
	for (int t = 0; t < GROUP_THREADS; t++) {
		args[t].dir = dir;
		args[t].ok = 0;
		for (int i = 0; i < GROUP_PER; i++)
			queue_new_id(args[t].ids[i]);
	}
	for (int t = 0; t < GROUP_THREADS; t++)
		test_assert(
		    pthread_create(&th[t], NULL, group_thread, &args[t]) == 0);
	for (int t = 0; t < GROUP_THREADS; t++) {
		pthread_join(th[t], NULL);
		ok += args[t].ok;
	}
	return ok;
}

/* Every file in dir/active is complete (ends in the end record); removes
   them and returns their number. */
static int group_check(const char *dir)
{
	char sub[512], path[1024];
	snprintf(sub, sizeof(sub), "%s/active", dir);
	DIR *d = opendir(sub);
	int n = 0;
	struct dirent *e;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", sub, e->d_name);
		size_t len = 0;
		char *data = slurp(path, &len);
		struct qfile q;
		const char *err = "";
		if (data != NULL && qfile_parse(data, len, &q, &err) == 0 &&
		    q.checked && q.end_off + 11 == len)
			n++;
		qfile_free(&q);
		free(data);
		unlink(path);
	}
	closedir(d);
	return n;
}

static void rm_queue(const char *dir)
{
	char sub[512];
	for (int i = 0; queue_dirs[i] != NULL; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", dir, queue_dirs[i]);
		rmdir(sub);
	}
	rmdir(dir);
}

int main(void)
{
	char tmpl[] = "/tmp/youju-queue-test-XXXXXX";
	char path[512], sub[512];
	const char *err = NULL;
	test_begin("ids");
	char prev[QUEUE_ID_LEN + 1] = "";
	for (int i = 0; i < 5000; i++) {
		char id[QUEUE_ID_LEN + 1];
		queue_new_id(id);
		test_assert(strlen(id) == QUEUE_ID_LEN);
		test_assert(strcmp(prev, id) < 0);
		memcpy(prev, id, sizeof(id));
	}

	test_begin("commit");
	test_assert(mkdtemp(tmpl) != NULL);
	test_assert(queue_init(tmpl, &err) == 0);
	test_assert(queue_init(tmpl, &err) == 0); /* idempotent */
	char id[QUEUE_ID_LEN + 1];
	queue_new_id(id);
	struct queue_file *qf = queue_file_create(tmpl, id, &err);
	test_assert(qf != NULL);
	test_assert(queue_file_create(tmpl, id, &err) == NULL); /* O_EXCL */
	test_assert(queue_file_write(qf, "x", 1) < 0); /* not in message */
	test_assert(queue_file_record(qf, 'T', "1.0") == 0);
	test_assert(queue_file_record(qf, 'S', "a@b.example") == 0);
	test_assert(queue_file_record(qf, 'A', "helo_name=evil\r\nR x") == 0);
	test_assert(queue_file_record(qf, 'R', "x@extmail.org") == 0);
	test_assert(queue_file_begin_message(qf) == 0);
	test_assert(queue_file_record(qf, 'R', "late") < 0);
	test_assert(queue_file_write(qf, "Subject: t\n\nbody\n", 17) == 0);
	test_assert(queue_file_size(qf) == 17);
	snprintf(sub, sizeof(sub), "%s/incoming", tmpl);
	test_assert(count_files(sub) == 1);
	test_assert(queue_file_commit(qf, &err) == 0);
	queue_file_free(&qf);
	test_assert(qf == NULL);
	test_assert(count_files(sub) == 0);
	snprintf(path, sizeof(path), "%s/active/%s", tmpl, id);
	size_t len = 0;
	char *data = slurp(path, &len);
	test_assert(data != NULL);
	char expect[1024];
	snprintf(expect, sizeof(expect),
		 "YOUJU-QUEUE 1\nI %s\nK crc32c\nT 1.0\nS a@b.example\n"
		 "A helo_name=evil??R x\nR x@extmail.org\n"
		 "M 00000000000000000017\nSubject: t\n\nbody\n\nE\n",
		 id);
	/* the checksum of the bytes as first written (size all zeros) */
	char first[1024], tail[16];
	snprintf(first, sizeof(first), "%s", expect);
	memcpy(strstr(first, "M 0") + 2, "00000000000000000000", 20);
	snprintf(tail, sizeof(tail), "C %08x\n",
		 (unsigned)qfile_crc32c(0, first, strlen(first)));
	size_t el = strlen(expect);
	test_assert(data != NULL && len == el + 11 &&
		    memcmp(data, expect, el) == 0 &&
		    memcmp(data + el, tail, 11) == 0);
	struct qfile q;
	test_assert(data != NULL && qfile_parse(data, len, &q, &err) == 0 &&
		    q.checked);
	qfile_free(&q);

	test_begin("checksum");
	/* a progress append (format 2, records after C) keeps it valid */
	char *v2 = xmalloc(len + 8);
	memcpy(v2, data, len);
	memcpy(v2 + len, "D 0\n", 4);
	v2[12] = '2';
	test_assert(qfile_parse(v2, len + 4, &q, &err) == 0 && q.checked &&
		    q.rcpts[0].done);
	qfile_free(&q);
	/* a torn file: one byte of the message, of the header, the C
	   record itself, or no C record at all */
	size_t at[] = {el - 6, 20, el + 5};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		memcpy(v2, data, len);
		v2[at[i]] ^= 0x20;
		err = "";
		test_assert(qfile_parse(v2, len, &q, &err) == -1);
		test_assert(i == 1 || strcmp(err, "checksum mismatch") == 0);
		qfile_free(&q);
	}
	test_assert(qfile_parse(data, el, &q, &err) == -1 &&
		    strcmp(err, "checksum mismatch") == 0);
	qfile_free(&q);
	/* a file without K (older youju) is not checked */
	static const char old[] = "YOUJU-QUEUE 1\nI 6B00CFEBA5790000\n"
				  "T 1.0\nS \nR x@extmail.org\n"
				  "M 00000000000000000002\nhi\nE\n";
	test_assert(qfile_parse(old, sizeof(old) - 1, &q, &err) == 0 &&
		    !q.checked);
	qfile_free(&q);
	/* CRC-32C's check value */
	test_assert(qfile_crc32c(0, "123456789", 9) == 0xe3069283u);
	test_assert(qfile_crc32c(qfile_crc32c(0, "1234", 4), "56789", 5) ==
		    0xe3069283u);
	/* the 8-bytes-at-a-time path (SSE 4.2) against a bit-wise one, at
	   every length and alignment around its word size */
	{
		unsigned char buf[80];
		for (size_t i = 0; i < sizeof buf; i++)
			buf[i] = (unsigned char)(i * 37 + 11);
		bool same = true;
		for (size_t off = 0; off < 8; off++)
			for (size_t n = 0; n + off <= 64; n++) {
				uint32_t c = 0xffffffffu;
				for (size_t k = 0; k < n; k++) {
					c ^= buf[off + k];
					for (int b = 0; b < 8; b++)
						c = (c & 1) != 0
							? (c >> 1) ^ 0x82f63b78u
							: c >> 1;
				}
				if (qfile_crc32c(0, buf + off, n) != ~c)
					same = false;
			}
		test_assert(same);
	}
	free(v2);
	free(data);
	unlink(path);

	test_begin("a message larger than the write buffer");
	{
		/* its size digits were written out before the end: filled
		   in with pwrite() at commit, not in the buffer */
		enum { BIG = 100000 };
		char *msg = xmalloc(BIG);
		for (size_t i = 0; i < BIG; i++)
			msg[i] = i % 80 == 79 ? '\n' : (char)('a' + i % 26);
		queue_new_id(id);
		qf = queue_file_create(tmpl, id, &err);
		test_assert(qf != NULL &&
			    queue_file_record(qf, 'T', "1.0") == 0 &&
			    queue_file_record(qf, 'S', "") == 0 &&
			    queue_file_record(qf, 'R', "x@b") == 0 &&
			    queue_file_begin_message(qf) == 0 &&
			    queue_file_write(qf, msg, BIG) == 0 &&
			    queue_file_commit(qf, &err) == 0);
		queue_file_free(&qf);
		snprintf(path, sizeof(path), "%s/active/%s", tmpl, id);
		FILE *f = fopen(path, "rb");
		char *all = xmalloc(2 * BIG);
		size_t n = f != NULL ? fread(all, 1, 2 * BIG, f) : 0;
		if (f != NULL)
			fclose(f);
		struct qfile big;
		err = "";
		test_assert(n > BIG && qfile_parse(all, n, &big, &err) == 0 &&
			    big.checked && big.msg_len == BIG &&
			    memcmp(big.msg, msg, BIG) == 0);
		if (*err)
			fprintf(stderr, "  big: %s (%zu bytes)\n", err, n);
		qfile_free(&big);
		unlink(path);
		free(all);
		free(msg);
	}

	test_begin("abort");
	queue_new_id(id);
	qf = queue_file_create(tmpl, id, &err);
	test_assert(qf != NULL);
	test_assert(queue_file_begin_message(qf) == 0);
	test_assert(queue_file_write(qf, "partial", 7) == 0);
	queue_file_free(&qf);
	test_assert(count_files(sub) == 0);
	snprintf(sub, sizeof(sub), "%s/active", tmpl);
	test_assert(count_files(sub) == 0);

	test_begin("a recycled file longer than the new message is cut");
	{
		/* recycle/ holds one stale file of 5000 bytes only */
		snprintf(sub, sizeof(sub), "%s/recycle", tmpl);
		DIR *d = opendir(sub);
		struct dirent *e;
		while (d != NULL && (e = readdir(d)) != NULL)
			if (e->d_name[0] != '.' &&
			    snprintf(path, sizeof(path), "%s/%s", sub,
				     e->d_name) < (int)sizeof(path))
				unlink(path);
		if (d != NULL)
			closedir(d);
		snprintf(path, sizeof(path), "%s/recycle/6B00CFEBA5790001",
			 tmpl);
		FILE *f = fopen(path, "wb");
		test_assert(f != NULL);
		for (int i = 0; f != NULL && i < 5000; i++)
			fputc('Z', f);
		if (f != NULL)
			fclose(f);
		struct stat st0;
		test_assert(stat(path, &st0) == 0 && st0.st_size == 5000);
		sleep(1); /* recycle/ was found empty a moment ago */
		queue_new_id(id);
		qf = queue_file_create(tmpl, id, &err);
		test_assert(qf != NULL);
		test_assert(access(path, F_OK) < 0); /* this one was taken */
		test_assert(queue_file_record(qf, 'T', "1.0") == 0 &&
			    queue_file_record(qf, 'S', "") == 0 &&
			    queue_file_record(qf, 'R', "x@extmail.org") == 0 &&
			    queue_file_begin_message(qf) == 0 &&
			    queue_file_write(qf, "short\n", 6) == 0 &&
			    queue_file_commit(qf, &err) == 0);
		queue_file_free(&qf);
		snprintf(path, sizeof(path), "%s/active/%s", tmpl, id);
		struct stat st1;
		test_assert(stat(path, &st1) == 0 && st1.st_ino == st0.st_ino);
		data = slurp(path, &len);
		test_assert(data != NULL && (off_t)len == st1.st_size &&
			    len < 5000 && memchr(data, 'Z', len) == NULL);
		test_assert(data != NULL &&
			    qfile_parse(data, len, &q, &err) == 0 &&
			    q.checked && q.nrcpt == 1);
		qfile_free(&q);
		free(data);
		unlink(path);
	}

	test_begin("group commit");
	const int total = GROUP_THREADS * GROUP_PER;
	test_assert(group_run(tmpl) == total);
	snprintf(sub, sizeof(sub), "%s/incoming", tmpl);
	test_assert(count_files(sub) == 0);
	test_assert(group_check(tmpl) == total);

	/* a second queue directory in the same process is synced alone */
	char tmpl2[] = "/tmp/youju-queue-test-XXXXXX";
	test_assert(mkdtemp(tmpl2) != NULL);
	test_assert(queue_init(tmpl2, &err) == 0);
	test_assert(group_run(tmpl2) == total);
	test_assert(group_check(tmpl2) == total);
	rm_queue(tmpl2);

	rm_queue(tmpl);
	return test_end();
}
