/*
 * Per-destination delivery state for the SMTP client (Postfix qmgr's
 * per-destination queues): a concurrency window with Postfix's slow
 * start (initial_destination_concurrency, +1 per delivery that reached
 * the site, up to default_destination_concurrency_limit; back to 1 after
 * a failure to reach it), and the dead-site cache: after
 * destination_concurrency_failed_cohort_limit consecutive failures the
 * destination is "dead" for minimal_backoff_time, and its mail is
 * deferred without a connection ("delivery temporarily suspended: ...").
 * A destination is the next hop: "[host]:port", "host" (MX) or the
 * recipient domain.  Thread-safe; dest_acquire blocks while the window
 * is full.
 */
#ifndef MTA_DEST_H
#define MTA_DEST_H

#include <stddef.h>
#include <stdint.h>

struct dest_table;

struct dest_cfg {
	unsigned initial;      /* initial_destination_concurrency */
	unsigned limit;	       /* default_destination_concurrency_limit */
	unsigned cohort_limit; /* destination_concurrency_failed_cohort_limit */
	int64_t dead_time;     /* seconds a dead site is skipped */
};

enum dest_feedback {
	DEST_OK,      /* the site answered (whatever it said) */
	DEST_FAILED,  /* no host of the site could be talked to */
	DEST_NEUTRAL, /* nothing learnt (local error) */
};

struct dest_table *dest_table_new(const struct dest_cfg *cfg);
void dest_table_free(struct dest_table **t);

/*
 * Takes a delivery slot for key, waiting while the window is full.
 * Returns 0, or -1 when the site is dead: reason_r (reason_sz bytes) then
 * holds the failure that killed it, and no slot is taken.
 */
int dest_acquire(struct dest_table *t, const char *key, char *reason_r,
		 size_t reason_sz);

/* Returns the slot with what the attempt taught (reason: the failure
   text for DEST_FAILED, else ignored). */
void dest_release(struct dest_table *t, const char *key, enum dest_feedback fb,
		  const char *reason);

/* For tests and logs: the current window of key (0 when unknown). */
unsigned dest_window(struct dest_table *t, const char *key);

#endif
