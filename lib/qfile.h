/*
 * Reading a queue file (docs/queue.md) for the delivery side, and the
 * append-only progress records the queue manager adds after the end
 * record (format 2): "D <index>" once original recipient <index> is
 * finished (delivered or bounced), "F <address>" once one final target
 * of an alias expansion is finished, so that a restart neither loses nor
 * repeats work; "W <rcpt> <text>" says why a recipient was deferred (for
 * `youju queue list`); "B <seconds>" is the back-off chosen at a
 * deferral (the next one doubles it), "Y <time>" says a delay warning
 * was sent.  Shared by youju-mta's queue manager and `youju queue`.
 * Parsing is pure (unit-tested, fuzzed); the file I/O helpers are
 * blocking.
 */
#ifndef YOUJU_QFILE_H
#define YOUJU_QFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Queue IDs: 16 upper-case hex digits (docs/queue.md). */
#define QFILE_ID_LEN 16

/* Largest queue file read (message_size_limit is far below). */
#define QFILE_MAX ((size_t)1 << 30)

struct qfile_rcpt {
	char *addr;	 /* owned */
	char *orcpt;	 /* owned; "" when no O record */
	unsigned notify; /* N bits, 0 = default */
	bool done;	 /* a D record names it */
	char *why;	 /* owned; the last W text, or NULL */
};

struct qfile {
	unsigned version;
	char id[QFILE_ID_LEN + 1];
	int64_t arrival_sec;
	long arrival_usec;
	char *sender; /* owned; "" for <> */
	char *envid, *ret, *client_name, *client_address, *helo_name;
	char *protocol; /* owned attributes, "" when absent */
	struct qfile_rcpt *rcpts;
	size_t nrcpt;
	char **finals; /* owned; F records */
	size_t nfinal;
	const char *msg; /* borrowed from the parsed data */
	size_t msg_len;
	size_t msg_off;	 /* offset of the message in the data */
	size_t end_off;	 /* offset just after "\nE\n" */
	bool checked;	 /* "K crc32c": the C record matched */
	int64_t backoff; /* the last B record (seconds), 0 when none */
	int64_t warned;	 /* the Y record's time, 0 when none */
};

/*
 * Parses a whole queue file of len bytes.  The message stays in data
 * (qf->msg points into it).  Returns 0, or -1 with *error_r (static
 * text) for a corrupt file; qf must then still be freed.
 */
int qfile_parse(const char *data, size_t len, struct qfile *qf,
		const char **error_r);
void qfile_free(struct qfile *qf);

/* True when an F record names addr (ASCII case-insensitive). */
bool qfile_final_done(const struct qfile *qf, const char *addr);

/* Recipients not yet done. */
size_t qfile_pending(const struct qfile *qf);

/*
 * Appends progress records to the open queue file fd ("D <n>\n",
 * "F <addr>\n" lines in text, already formatted) in one write, turns the
 * magic into format 2 and fsyncs.  Returns 0 or -1 with errno.
 */
__attribute__((warn_unused_result)) int qfile_append(int fd, const char *text,
						     size_t len);

/* Reads the whole file at fd (from offset 0, its size as fstat() sees it;
   the file offset is not used) into *data_r (xmalloc'd, NUL-terminated),
   at most QFILE_MAX bytes.  Returns 0 or -1 with errno. */
__attribute__((warn_unused_result)) int qfile_read_fd(int fd, char **data_r,
						      size_t *len_r);

/*
 * CRC-32C (Castagnoli) of the n bytes at p, continuing crc (0 to start):
 * the checksum of a queue file ("K crc32c" and the "C" record,
 * docs/queue.md), which makes a file torn by a crash detectable.
 */
uint32_t qfile_crc32c(uint32_t crc, const void *p, size_t n);

/* True when name is a queue ID (QFILE_ID_LEN upper-case hex digits). */
bool qfile_is_id(const char *name);

/*
 * The queue IDs among the names in dir, sorted (oldest first: IDs grow
 * with time).  Returns them (owned: qfile_ids_free) with their count in
 * *n_r, or NULL with errno when dir cannot be read (*n_r = 0; an empty
 * directory also gives NULL, with errno 0).
 */
char **qfile_list_ids(const char *dir, size_t *n_r);
void qfile_ids_free(char **ids, size_t n);

#endif
