/*
 * NOTIFY (RFC 5465): the client names the mailboxes it cares about and
 * which events; youju-mra then tells it of them as they happen, outside
 * IDLE and between commands, on the inotify hub IDLE uses (new/ and cur/
 * of each mailbox named, and the Maildir root for MailboxName and
 * SubscriptionChange).  Other mailboxes are told as "* STATUS", created,
 * deleted or renamed ones and subscription changes as "* LIST"; the
 * selected mailbox (SELECTED) gets its EXPUNGE/EXISTS/FETCH at once.
 */
#ifndef YOUJU_MRA_IMAP_NOTIFY_H
#define YOUJU_MRA_IMAP_NOTIFY_H

#include <stdbool.h>

struct mra_conn;
struct imap_ctx;
struct imap_sess;
struct imap_notify;
struct imap_fetch_items;
struct inotify_hub;

/* Mailboxes one NOTIFY SET may watch (more are not watched). */
#define IMAP_NOTIFY_BOXES_MAX 256

/* NOTIFY SET ... / NOTIFY NONE (authenticated and selected states). */
void imap_cmd_notify(struct imap_ctx *x);

/* Whether changes of the selected folder are to be told at once (a
   SELECTED or SELECTED-DELAYED filter is set). */
bool imap_notify_selected_now(const struct imap_sess *s);
/* Whether that filter is SELECTED-DELAYED: expunges wait for a command
   (RFC 5465 §5.2). */
bool imap_notify_selected_delayed(const struct imap_sess *s);
/*
 * SELECTED-DELAYED (RFC 5465 §5.2) between commands: the messages of old
 * (the session's snapshot) that the rescan nf no longer has are put back
 * into nf (copies, in UID order), so that the sync against nf tells the
 * new messages and flag changes at once with the numbers the client
 * knows, and the expunges at the next sync that may report them (the
 * caller keeps the folder marked for a rescan).  Returns whether any
 * message was put back.
 */
struct maildir_folder;
bool imap_notify_keep_gone(const struct maildir_folder *old,
			   struct maildir_folder *nf);

/* MessageNew's fetch-atts of the selected-mailbox filter (borrowed until
   the next NOTIFY), or NULL: each new message of the selected folder
   then gets a FETCH with them after its EXISTS (RFC 5465 §5.2). */
const struct imap_fetch_items *imap_notify_new_fetch(const struct imap_sess *s);

/* Ends the session's notifications (NOTIFY NONE, logout).  NULL-safe. */
void imap_notify_free(struct imap_notify **n);

/* The process's inotify hub (mra/imap.c), or NULL when there is none:
   then NOTIFY only tells what it sees at commands. */
struct inotify_hub *imap_inotify_hub(void);

#endif
