/*
 * Recycled queue files (docs/queue.md "Recycled queue files").  A message
 * that left the queue gives its file to queue_directory/recycle/ instead
 * of unlinking it, and the next queue file is that inode renamed into
 * incoming/ and truncated, instead of a new one: no inode is allocated or
 * freed per message.  (ext4 without a journal scans every inode freed in
 * the last half minute on each allocation in that group, which at a few
 * hundred messages a second costs more than the rest of the mail path.)
 * Files in recycle/ are never messages: nothing scans the directory but
 * these two functions, and a file is truncated before it is used again.
 * Thread-safe; each process keeps its own list of names.
 */
#ifndef MTA_RECYCLE_H
#define MTA_RECYCLE_H

/* at most this many files wait in recycle/ (beyond: unlinked) */
#define RECYCLE_MAX 4096

/*
 * Moves a file of recycle/ to path (which must not exist: RENAME_NOREPLACE)
 * and opens it for writing, empty.  Returns the fd (O_WRONLY, O_CLOEXEC),
 * or -1 when there is none to take (errno EAGAIN) or a real error: the
 * caller then creates a new file as before.  A taken file linked
 * elsewhere too (possible after a crash and fsck on a file system without
 * ordered renames) is left alone.
 */
int recycle_take(const char *queue_dir, const char *path);

/*
 * Retires the queue file at path (this process's fd on it, or -1): renamed
 * to recycle/<id> and truncated, or unlinked when recycle/ is full or the
 * rename fails.  Returns 0, or -1 with errno when the file is still at
 * path.
 */
int recycle_put(const char *queue_dir, const char *path, const char *id,
		int fd);

#endif
