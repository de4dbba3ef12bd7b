/*
 * The durable mail queue, receive side (docs/queue.md is the format
 * contract the delivery side reads).  A message is written to
 * queue_directory/incoming/<ID> while it arrives, then queue_file_commit()
 * writes its size and checksum, renames it to active/<ID> (or hold/) and
 * flushes the file system with a syncfs(2) shared by the commits running
 * at the same time (group commit, syncgroup.h): only after that may the
 * server say "250 Ok: queued".
 */
#ifndef MTA_QUEUE_H
#define MTA_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IDs: 8 hex digits of seconds, 5 of microseconds, 3 of a sequence. */
#define QUEUE_ID_LEN 16
/* Longest value of one envelope record. */
#define QUEUE_VALUE_MAX 1024

struct queue_file;

/* The queue subdirectories, in Postfix's names. */
extern const char *const queue_dirs[];

/* Creates queue_dir and its subdirectories (mode 0700) when missing.
   Returns 0 or -1 with *error_r (static) and errno. */
__attribute__((warn_unused_result)) int queue_init(const char *queue_dir,
						   const char **error_r);

/* A new ID (upper-case hex, NUL-terminated) that sorts by arrival time
   and is unique within this process.  Not thread-safe: loop thread. */
void queue_new_id(char id_r[QUEUE_ID_LEN + 1]);

/*
 * Creates incoming/<id> (O_EXCL, mode 0600) and writes the header record.
 * Returns the file, or NULL with *error_r and errno.
 */
struct queue_file *queue_file_create(const char *queue_dir, const char *id,
				     const char **error_r);

/* Appends one envelope record "<type> <value>\n"; control bytes in value
   become '?'.  Only before queue_file_begin_message().  0 or -1. */
__attribute__((warn_unused_result)) int
queue_file_record(struct queue_file *qf, char type, const char *value);

/* Writes the message record header; the message bytes follow. */
__attribute__((warn_unused_result)) int
queue_file_begin_message(struct queue_file *qf);

/* Appends message bytes (lines end in LF).  0 or -1 (errno kept, and the
   file is then marked failed: commit will fail too). */
__attribute__((warn_unused_result)) int
queue_file_write(struct queue_file *qf, const void *p, size_t n);

/* Message bytes written so far. */
uint64_t queue_file_size(const struct queue_file *qf);

/*
 * Finishes the file: end and checksum records, size, rename into active/,
 * one shared flush (a syncfs that covers every commit that renamed before
 * it started; for a queue directory other than the process's sync group:
 * fsync of the file before the rename, of the directory after).
 * Blocking: run it in a worker; thread-safe for distinct files.
 * Returns 0 once the message is durable, or -1 with *error_r (static) and
 * errno, the file then removed.  Either way call queue_file_free()
 * afterwards.
 */
__attribute__((warn_unused_result)) int queue_file_commit(struct queue_file *qf,
							  const char **error_r);

/*
 * queue_file_commit() in two halves, for the SMTP server's event loop
 * (smtpd_commit.c), when queue_file_async_ok(): the queue directory is
 * the process's sync group's and its asynchronous flushes run
 * (syncgroup.h).  queue_file_commit_start() does everything up to the
 * rename into active/ (short file system calls, no flush) and returns 0
 * with the sync group ticket that covers them, or -1 with *error_r
 * (static) and errno.  Once syncgroup_check(ticket) is no longer 0, pass
 * its result to queue_file_commit_end(): 0 when the message is durable
 * ("queued"), -1 with *error_r and errno.  After a -1 of either, as after
 * queue_file_commit(), queue_file_free() removes the file.
 */
bool queue_file_async_ok(const struct queue_file *qf);
__attribute__((warn_unused_result)) int
queue_file_commit_start(struct queue_file *qf, uint64_t *ticket_r,
			const char **error_r);
__attribute__((warn_unused_result)) int
queue_file_commit_end(struct queue_file *qf, int sync_rc, const char **error_r);

/* Makes queue_file_commit() rename the file into hold/ instead of
   active/ (HOLD actions): the queue manager never sees it, no window in
   which it could pick the message up before a later move. */
void queue_file_set_hold(struct queue_file *qf);

/* Closes the file; one that was not committed is removed.  NULL-safe. */
void queue_file_free(struct queue_file **qf);

#endif
