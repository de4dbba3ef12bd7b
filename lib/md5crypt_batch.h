/*
 * The MD5-crypt verifier stage: threads that each need one "$1$" hash
 * share md5crypt_x8 evaluations.  A caller's pair runs at once when fewer
 * batches than the stage's parallelism are being computed (alone, through
 * crypt_r, when nobody else is waiting); otherwise it waits, and the next
 * free evaluation takes up to eight waiting pairs together.  No timer: a
 * lone request is never held back for company.  Thread-safe; the calling
 * thread blocks until its hash is done (it may compute other callers'
 * hashes meanwhile).
 */
#ifndef YOUJU_MD5CRYPT_BATCH_H
#define YOUJU_MD5CRYPT_BATCH_H

#include <stdbool.h>

#include "md5crypt_x8.h"

/*
 * Hashes password under setting into out (the NUL-terminated crypt
 * string).  Returns 0, or -1 when md5crypt_x8 does not accept the pair or
 * the stage is off (then nothing was computed: the caller runs crypt_r
 * itself).  The
 * strings are borrowed until the call returns.
 */
int md5crypt_batch_hash(const char *password, const char *setting,
			char out[MD5CRYPT_X8_OUT_SIZE]);

/*
 * Sets how many batches may be computed at once (1..64; 0 or the default:
 * the number of online CPUs), and whether several pairs are hashed together
 * at all (off: md5crypt_batch_hash() refuses every pair, so callers run
 * crypt_r themselves, as before the stage existed).  Call before the threads start.
 */
void md5crypt_batch_config(unsigned parallel, bool enabled);

/* Counters since start, for logs and tests: evaluations run and pairs
   they hashed (pairs / batches is the mean batch size). */
void md5crypt_batch_stats(unsigned long *batches_r, unsigned long *pairs_r);

#endif
