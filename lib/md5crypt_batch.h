/*
 * The MD5-crypt verifier stage: threads that each need one "$1$" hash
 * share md5crypt_x8 evaluations.  Worker threads announce a job that will
 * probably need a hash (youju-authd: an AUTH, before its SQL query).  A
 * pair in the stage is evaluated as soon as an evaluation slot is free and
 * either no announced job is still on its way or eight pairs wait; a lone
 * request (nobody announced) never waits, and no wait is longer than
 * MD5CRYPT_BATCH_WAIT_MS (a job stuck on its query must not hold the
 * others).  One pair alone runs through crypt_r.  Thread-safe; the calling
 * thread blocks until its hash is done (it may compute others' meanwhile).
 */
#ifndef YOUJU_MD5CRYPT_BATCH_H
#define YOUJU_MD5CRYPT_BATCH_H

#include <stdbool.h>

#include "md5crypt_x8.h"

/* Longest a pair waits for announced jobs before it is evaluated without
   them. */
#define MD5CRYPT_BATCH_WAIT_MS 5

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
 * The calling thread's job will probably call md5crypt_batch_hash() soon.
 * Every announce is followed by md5crypt_batch_done() on the same thread
 * when the job ends, whether it hashed or not (done also drops a preset
 * result: call it at the end of every job that may have had one).  At
 * most one announce per thread is outstanding (a second one is ignored).
 */
void md5crypt_batch_announce(void);
void md5crypt_batch_done(void);

/*
 * Hashes n pairs (2..md5crypt_x8_max()) at once on the calling thread, no
 * stage, no waiting: for a caller that already holds a batch (youju-authd's
 * user lookups, authd/db.c).  out[i] is left "" for a pair md5crypt_x8
 * does not accept (and for every pair when the stage is off); such pairs
 * go through md5crypt_batch_hash() as usual.  Returns how many were
 * computed.
 */
size_t md5crypt_batch_hash_now(size_t n, const char *const password[],
			       const char *const setting[],
			       char out[][MD5CRYPT_X8_OUT_SIZE]);

/*
 * Hands the calling thread a result computed for it by another thread:
 * its next md5crypt_batch_hash() of exactly this password and setting
 * returns out (a NUL-terminated crypt string) without computing.  Copies (wiped
 * when used, replaced or at md5crypt_batch_done()).  An empty out, a setting
 * over 255 or a password over MD5CRYPT_X8_PASSWORD_MAX bytes sets nothing.
 */
void md5crypt_batch_preset(const char *password, const char *setting,
			   const char *out);

/*
 * Sets how many batches may be computed at once (1..64; 0 or the default:
 * the number of online CPUs), and whether several pairs are hashed together
 * at all (off: md5crypt_batch_hash() refuses every pair, so callers run
 * crypt_r themselves, as before the stage existed).  Safe at any time (a
 * reload): pairs already waiting are still evaluated.
 */
void md5crypt_batch_config(unsigned parallel, bool enabled);

/* Tests: the longest wait for announced jobs (default
   MD5CRYPT_BATCH_WAIT_MS), and how many pairs wait in the stage now. */
void md5crypt_batch_set_wait(unsigned ms);
unsigned md5crypt_batch_waiting(void);

/* Counters since start, for logs and tests: evaluations run and pairs
   they hashed (pairs / batches is the mean batch size). */
void md5crypt_batch_stats(unsigned long *batches_r, unsigned long *pairs_r);

#endif
