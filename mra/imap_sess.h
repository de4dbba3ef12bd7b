/*
 * The IMAP session shared by mra/imap.c (framing, login, selection,
 * dispatch) and mra/imap_write.c (the commands that change messages:
 * STORE, COPY/MOVE, APPEND, EXPUNGE).  Internal to youju-mra's IMAP.
 */
#ifndef YOUJU_MRA_IMAP_SESS_H
#define YOUJU_MRA_IMAP_SESS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "imap_parse.h"
#include "imap_searchres.h"
#include "maildir_modseq.h"

struct mra_conn;
struct ev_timer;
struct inotify_watch;
struct maildir_folder;
struct maildir_index;
struct imap_fetch_cur;
struct imap_context;
struct imap_notify;
struct imap_preview_cache;

enum imap_state { IMAP_NOAUTH, IMAP_AUTH, IMAP_SELECTED, IMAP_LOGOUT };

struct imap_sess {
	enum imap_state state;
	struct buf cmd;	   /* the command being framed */
	uint64_t lit_left; /* literal bytes still to copy into cmd */
	bool skipping;
	unsigned bad, fails;
	bool login_wait;
	char *login_tag;
	char login_user[256];
	char method[8];
	bool plaintext_refused; /* LOGIN or AUTHENTICATE without TLS */
	bool sasl_wait;		/* AUTHENTICATE PLAIN awaiting the response */
	char *sasl_tag;
	char *maildir;
	char *quota; /* authd's quota definition, "" if none */
	struct maildir_folder *f;
	bool *recent; /* per message of f */
	bool readonly;
	char *idle_tag;		     /* IDLE in progress */
	struct ev_timer *idle_timer; /* keepalive, or polling without inotify */
	/* new/ and cur/ of f in the process's inotify hub; NULL: rescan */
	struct inotify_watch *ino_w[2];
	bool dirty; /* f may differ from the disk: rescan */
	uint64_t conn_id;
	struct imap_fetch_cur *fetch; /* FETCH being produced, or NULL */
	struct maildir_index *ix;     /* youju.index of f, or NULL */
	uint64_t ix_pending_since;    /* monotonic ms; 0: nothing pending */
	struct imap_context *ctx;     /* RFC 5267 UPDATE searches (nctx) */
	size_t nctx;
	bool notifying;		    /* in imap_context_notify */
	bool condstore;		    /* CONDSTORE enabled (RFC 7162 §3.1) */
	bool qresync;		    /* QRESYNC enabled (RFC 7162 §3.2) */
	bool rev2;		    /* ENABLE IMAP4rev2 (mra/imap_rev2.h) */
	bool utf8;		    /* ENABLE UTF8=ACCEPT (mra/imap_utf8.h) */
	struct imap_notify *notify; /* NOTIFY SET (RFC 5465), or NULL */
	struct maildir_modseq ms;   /* f's modseqs while condstore */
	struct imap_preview_cache *pv; /* f's PREVIEW cache, or NULL */
	struct imap_searchres saved;   /* "$" (RFC 5182), reset with f */
};

struct imap_ctx {
	struct mra_conn *c;
	struct imap_sess *s;
	struct imap_cmd *cmd;
	bool uid;
};

/* Sends "<tag> <text>\r\n" on c. */
void imap_tagged(struct mra_conn *c, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Re-reads the selected folder (if any); report: send EXPUNGE, EXISTS,
   RECENT and FETCH FLAGS for what changed. */
void imap_sync(struct mra_conn *c, bool report);
/* imap_sync(c, true), but with hold_expunges a message gone keeps its
   place (and number) and its EXPUNGE is left for the next imap_sync;
   new messages and flag changes are told now: NOTIFY SELECTED-DELAYED
   between commands. */
void imap_sync_held(struct mra_conn *c, bool hold_expunges);

/* The folder directory (malloc'd) of an IMAP mailbox name of the
   session's user, or NULL when the name is invalid. */
char *imap_folder_path(struct imap_sess *s, const char *name);

/* Whether message i of the selected folder is in the sequence set (UID
   set when uid); set was checked with imap_seqset_ok(). */
bool imap_in_set(const struct imap_sess *s, const char *set, bool uid,
		 size_t i);

/* Removes the selected folder's \Deleted messages, only those in uidset
   unless it is NULL (UID EXPUNGE); sends EXPUNGE responses when report. */
void imap_expunge(struct mra_conn *c, const char *uidset, bool report);

/* The commands of mra/imap_write.c; x->s->f is selected (APPEND: any
   authenticated state). */
void imap_cmd_expunge(struct imap_ctx *x);
void imap_cmd_store(struct imap_ctx *x);
void imap_cmd_copy(struct imap_ctx *x); /* COPY and MOVE */
void imap_cmd_append(struct imap_ctx *x);

#endif
