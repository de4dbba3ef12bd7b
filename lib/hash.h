/*
 * Keyed hashing for hash tables whose keys a peer chooses (client
 * addresses, login names, cache keys): SipHash-2-4 under a random 128-bit
 * key made once per process (before fork, the children share it).  With a
 * secret key a client cannot pick keys that all land in one bucket, which a
 * plain FNV hash allows (architecture review §4).
 */
#ifndef YOUJU_HASH_H
#define YOUJU_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Makes the process key from getrandom() if it is not made yet.
   Idempotent and thread-safe; the hash functions call it themselves.  Call
   it before fork() when parent and children must hash alike (a table in
   shared memory).  Aborts if the kernel gives no randomness. */
void hash_init(void);

/* SipHash-2-4 of p[0..len) under the process key. */
uint64_t hash_bytes(const void *p, size_t len);
/* The same for a NUL-terminated string (without its NUL). */
uint64_t hash_str(const char *s);

/*
 * FNV-1a (64 bits) of p[0..len): unkeyed and the same in every process,
 * for values kept in files or caches and tables whose keys no peer
 * chooses.  The offset basis is 1469598103934665603, not FNV's
 * 14695981039346656037: the tree has always used it and files written
 * with it (Sieve's duplicate and vacation state) must still match.
 */
uint64_t hash_fnv1a(const void *p, size_t len);

/* SipHash-2-4 under an explicit key (the reference test vectors). */
uint64_t hash_siphash24(const unsigned char key[16], const void *p, size_t len);

#endif
