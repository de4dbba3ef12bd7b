/*
 * Recycled queue files (docs/queue.md "Recycled queue files").  A message
 * that left the queue gives its file to queue_directory/recycle/ instead
 * of unlinking it, and the next queue file is that inode renamed into
 * incoming/ and overwritten in place, instead of a new one: no inode is
 * allocated or freed per message, and (for files up to
 * RECYCLE_KEEP_BYTES) no data block either.  (ext4 without a journal
 * scans every inode freed in the last half minute on each allocation in
 * that group, which at a few hundred messages a second costs more than
 * the rest of the mail path; freeing and allocating the blocks again
 * dirtied the block bitmap twice per message and, on a file system
 * mounted with discard, sent a discard to the disk.)  Files in recycle/
 * are never messages: nothing scans the directory but these two
 * functions, and the writer of a taken file cuts it to its new length
 * before the file gets a name outside incoming/.  Thread-safe; each
 * process keeps its own list of names.
 */
#ifndef MTA_RECYCLE_H
#define MTA_RECYCLE_H

#include <sys/types.h>

/* at most this many files wait in recycle/ (beyond: unlinked) */
#define RECYCLE_MAX 4096
/* a retired file up to this size goes to recycle/ with its data blocks
   for the next message; a larger one is unlinked (so recycle/ holds at
   most RECYCLE_MAX * RECYCLE_KEEP_BYTES = 256 MiB of blocks) */
#define RECYCLE_KEEP_BYTES (64 * 1024)

/*
 * Moves a file of recycle/ to path (which must not exist: RENAME_NOREPLACE)
 * and opens it for writing at offset 0, with its old bytes still in it:
 * *size_r is its size, and the caller writes its message from offset 0
 * and, when it wrote less, ftruncate()s it to what it wrote before the
 * file is named anywhere else.  Returns the fd (O_WRONLY, O_CLOEXEC), or
 * -1 when there is none to take (errno EAGAIN) or a real error: the
 * caller then creates a new file as before.  A taken file linked
 * elsewhere too (possible after a crash and fsck on a file system without
 * ordered renames) is left alone.
 */
int recycle_take(const char *queue_dir, const char *path, off_t *size_r);

/*
 * Retires the queue file at path (size: its size if known, else -1): renamed to
 * recycle/<id>, or unlinked when it is larger than RECYCLE_KEEP_BYTES (or of
 * unknown size), when recycle/ is full or when the rename fails.  Returns 0, or
 * -1 with errno when the file is still at path.
 */
int recycle_put(const char *queue_dir, const char *path, const char *id,
		off_t size);
/* recycle_put() of the file name in the directory dirfd (a queue
   directory held open, or AT_FDCWD with a path): the rename goes into
   recycle/ held open as well (opened at the first call), without a walk
   of the queue's path. */
int recycle_put_at(const char *queue_dir, int dirfd, const char *name,
		   const char *id, off_t size);

#endif
