/*
 * One inotify instance for a whole process, shared by every client that
 * watches a directory.  Linux allows few inotify instances per user (128
 * by default, fs.inotify.max_user_instances) but many watches (tens of
 * thousands), and every youju-mra process runs as vmail: an instance per
 * IMAP session would stop at the 129th.  The hub keeps a table of watched
 * directories (one kernel watch per directory, however many clients
 * watch it) with a list of the clients of each, and tells every client of
 * a directory when it changes.  Loop thread only.
 */
#ifndef LIB_INOTIFY_HUB_H
#define LIB_INOTIFY_HUB_H

#include <stdbool.h>

#include "ev.h"

struct inotify_hub;
struct inotify_watch;

/* Called from the loop once per batch of events in a watched directory
   (files created, deleted, moved in or out), or when the hub lost events
   (queue overflow) or the directory went away. */
typedef void inotify_hub_fn(void *ctx);

/* The hub of this process on loop.  NULL with errno when the kernel
   refuses an instance (EMFILE...): the caller then polls. */
struct inotify_hub *inotify_hub_new(struct ev_loop *loop);
/* Frees the hub; watches still held must not be used after it.
   NULL-safe. */
void inotify_hub_free(struct inotify_hub **hub);

/*
 * Watches the directory dir for ctx.  fn may be NULL (the owner asks
 * inotify_watch_take() instead).  Returns the watch, owned by the caller
 * (inotify_hub_unwatch), or NULL with errno (ENOSPC: too many watches,
 * ENOENT, ENOTDIR...).
 */
struct inotify_watch *inotify_hub_watch(struct inotify_hub *hub,
					const char *dir, inotify_hub_fn *fn,
					void *ctx);
/* Ends a watch; the kernel watch goes with the directory's last client.
   Sets *w = NULL; NULL-safe.  Safe inside any hub callback. */
void inotify_hub_unwatch(struct inotify_watch **w);
/* Reads the events queued so far (no callbacks run) and returns whether
   w's directory changed since the last call; clears the mark. */
bool inotify_watch_take(struct inotify_watch *w);
/* Number of directories watched (kernel watches held). */
unsigned inotify_hub_dirs(const struct inotify_hub *hub);

#endif
