/*
 * youju-authd's cache generation (docs/authd-protocol.md §4): a 64-bit
 * counter in the file <authd_socket>.gen (layout in lib/authc_cache.h)
 * that youju's clients map read-only to know when the answers they reuse
 * are void.  It changes after every emptying of authd's caches (FLUSH, a
 * reload, PASSWD) and when a server process starts or stops, so a client
 * never reuses an answer across any of them.
 */
#ifndef AUTHD_GENERATION_H
#define AUTHD_GENERATION_H

#include <stdbool.h>
#include <stdint.h>

struct authd_gen;

/*
 * Opens (creating it, mode 0640, group of owner when root) the generation
 * file of socket_path and maps it for writing.  The file is kept, not
 * replaced, across restarts, so clients that mapped it see the bumps of
 * the next server.  Returns the mapping, or NULL with *err_r (static
 * text; errno kept): then no client reuses answers.  Master, as root.
 */
struct authd_gen *authd_gen_open(const char *socket_path, const char *owner,
				 const char **err_r);
/* Unmaps g (NULL-safe); sets *g to NULL. */
void authd_gen_close(struct authd_gen **g);

/* The mapping authd_gen_bump() changes in this process (the server
   process: the one it inherited from the master), or NULL: none. */
void authd_gen_use(struct authd_gen *g);
/* Adds one to the generation (atomic, no system call).  Thread-safe. */
void authd_gen_bump(void);

#endif
