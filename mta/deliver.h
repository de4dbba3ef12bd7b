/*
 * Virtual delivery into one Maildir++ mailbox (Postfix virtual(8) with
 * the VDA quota behaviour): the Maildir and ExtMail's default folders are
 * created when missing, Return-Path and Delivered-To are prepended, the
 * Delivered-To loop check runs, the maildirsize quota is enforced, and the
 * message goes tmp -> fsync -> new/ with ",S=<size>" in its name, new/
 * fsynced before success is reported (or, with group_sync, left in tmp/
 * for the caller to flush, name with deliver_link() and flush again).
 * Blocking: delivery threads only.
 */
#ifndef MTA_DELIVER_H
#define MTA_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum deliver_status {
	DELIVER_OK,
	DELIVER_DEFER,
	DELIVER_BOUNCE,
};

struct deliver_result {
	enum deliver_status status;
	char dsn[8];	/* "2.0.0", "5.2.2", ... */
	char text[512]; /* "delivered to maildir", the reason */
	/* DELIVER_OK, but not flushed yet (deliver_cfg.group_sync): it
	   counts only once the caller flushed the file (syncgroup_wait()),
	   named it (deliver_link()) and flushed that name */
	bool unsynced;
	/* with unsynced, until deliver_link() or deliver_drop(): the file
	   written into tmp/ and where it goes (owned) */
	struct deliver_pending *pending;
};

struct deliver_cfg {
	uint64_t default_limit;	   /* virtual_mailbox_limit, 0 = none */
	bool overquota_bounce;	   /* virtual_overquota_bounce */
	const char *limit_message; /* virtual_maildir_limit_message */
	bool global_limit_only;	   /* virtual_mailbox_limit_override = no:
				      the mailbox's own quota is ignored */
	bool group_sync; /* a Maildir on the file system of the process's
			    sync group (syncgroup.h) is not fsynced here:
			    the file stays in tmp/, the result says
			    unsynced, and the caller flushes a batch of
			    deliveries at once (deliver_link()) */
};

/*
 * Delivers msg (len bytes, LF line ends) for sender ("" for <>) to the
 * mailbox address whose Maildir is maildir (absolute); quota is authd's
 * QUOTA value ("104857600S,1000C") or NULL, which replaces
 * cfg->default_limit unless cfg->global_limit_only.  Fills *r.
 */
void deliver_maildir(const struct deliver_cfg *cfg, const char *address,
		     const char *maildir, const char *quota, const char *sender,
		     const char *msg, size_t len, struct deliver_result *r);

/*
 * An unsynced result's second step (docs/queue.md, "Durability"): once a
 * flush that began after deliver_maildir() returned has made the file's
 * bytes durable, names it in new/ and records it in maildirsize.  The
 * name is durable only after the caller's next flush.  0 (also without a
 * pending file), or -1 with *r set to a deferral.
 */
int deliver_link(struct deliver_result *r);

/* Unlinks an unsynced result's file from tmp/ instead (its flush failed);
   a no-op without one. */
void deliver_drop(struct deliver_result *r);

/* True when the message header has a Delivered-To: naming addr. */
bool deliver_has_delivered_to(const char *msg, size_t len, const char *addr);

#endif
