/*
 * Compiled Sieve scripts, kept by the queue manager's delivery threads
 * (mta/sieve_deliver.c) so that a mailbox's active script is compiled
 * once per version, not once per delivery (docs/sieve.md "Compile
 * cache").  A version is the script file's identity as fstat() sees it:
 * device, inode, size, modification and change times; ManageSieve, the
 * webmail and `youju sieve import` replace scripts by rename (a new
 * inode), and an edit in place changes the times; a script changed in
 * the last two seconds is compiled but not kept yet (the times' tick
 * could hide a second rewrite of the same size).  Thread-safe; entries
 * are reference-counted, so one evicted while a delivery runs it lives
 * until that delivery is done.  In memory only: nothing is written beside
 * the scripts for Dovecot to misread.
 */
#ifndef MTA_SIEVE_CACHE_H
#define MTA_SIEVE_CACHE_H

#include <stddef.h>
#include <sys/stat.h>

#include "sieve.h"

/* slots (direct-mapped by device and inode), and the largest script
   kept (larger ones are compiled for each delivery) */
#define SIEVE_CACHE_SLOTS      256
#define SIEVE_CACHE_SCRIPT_MAX (64u * 1024)

struct sieve_cached;

/*
 * The program of the script open on fd, whose fstat() is st: from the
 * cache, or read from fd (at most SIEVE_SCRIPT_MAX bytes) and compiled.
 * Returns a reference (release with sieve_cache_release), or NULL with
 * the reason in err[0..errsz) (not a regular file, unreadable, too large,
 * the compiler's "line N: ..."); errors are not cached.  fd is left open.
 */
struct sieve_cached *sieve_cache_load(int fd, const struct stat *st, char *err,
				      size_t errsz);

/* The program of a reference (borrowed until its release). */
const struct sieve_program *sieve_cached_program(const struct sieve_cached *c);

/* Drops a reference; *c becomes NULL. */
void sieve_cache_release(struct sieve_cached **c);

/* Empties the cache (entries in use are freed at their release). */
void sieve_cache_clear(void);

#endif
