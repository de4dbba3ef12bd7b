/*
 * The queue manager's private types, shared by its files: qmgr.c
 * (configuration, resolution, delivery, scheduling, supervisor) and
 * qmgr_notice.c (bounces, delay warnings and success reports).  Not an
 * interface for anyone else: see qmgr.h.
 */
#ifndef MTA_QMGR_INT_H
#define MTA_QMGR_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authc.h"
#include "buf.h"
#include "deliver.h"
#include "dest.h"
#include "maps.h"
#include "qfile.h"
#include "queue.h"
#include "route.h"
#include "smtpc.h"

#define QMGR_RELAY_MAX 300

struct qmgr_cfg {
	char *queue_dir, *authd_socket, *hostname, *relayhost;
	char *limit_message;
	char *postmaster;    /* 2bounce_notice_recipient, qualified */
	char *bounce_notice; /* bounce_notice_recipient, qualified */
	char *double_bounce; /* double_bounce_sender, qualified */
	int64_t min_backoff, max_backoff, run_delay;
	int64_t max_lifetime, bounce_lifetime, delay_warning;
	size_t active_limit, bounce_size_limit, rcpt_limit;
	unsigned threads;
	bool notify_2bounce, notify_bounce;
	struct map *transport_map; /* transport_maps, or NULL */
	char **defer_transports;   /* defer_transports, lower case */
	size_t ndefer;
	struct deliver_cfg dcfg;
	struct smtpc_cfg scfg;
	struct dest_cfg destcfg;
};

/* The worker's shared state: the main thread admits IDs, delivery
   threads take them. */
struct qmgr {
	struct qmgr_cfg cfg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char (*pending)[QUEUE_ID_LEN + 1]; /* FIFO ring */
	size_t head, npending;
	char (*busy)[QUEUE_ID_LEN + 1]; /* being delivered */
	size_t nbusy;
	bool need_rescan;
	unsigned collecting; /* threads still taking IDs into their batch */
	int wake_w;	     /* a delivery thread finished a message */
	int active_fd;	     /* queue_dir/active (O_PATH), or -1: by path */
	struct dest_table *dests; /* SMTP destinations (dest.h) */
};

enum qmgr_kind {
	TGT_MAILBOX,
	TGT_REMOTE,
	TGT_BOUNCE,
	TGT_DEFER,
	TGT_DISCARD, /* discard: transport, done without delivery */
};

/* One final target of one original recipient. */
struct qmgr_target {
	size_t rcpt; /* index of the original recipient */
	char *addr;  /* owned */
	enum qmgr_kind kind;
	char *maildir;			 /* owned, mailbox targets when known */
	char *quota;			 /* owned */
	char nexthop[ROUTE_NEXTHOP_MAX]; /* remote targets */
	char transport[16]; /* "virtual", "smtp", "relay" (defer_transports) */
	struct deliver_result res;
	bool dsn_passed; /* the next hop took NOTIFY/ORCPT (RFC 3461) */
	char relay[QMGR_RELAY_MAX];
	double t_start, t_end;
	bool logged;
};

struct qmgr_job {
	struct qmgr *q;
	char id[QUEUE_ID_LEN + 1];
	int fd;
	struct qfile qf;
	struct qmgr_target *t;
	size_t nt;
	double t_pick;
	double arrival;
	bool flushed; /* `youju queue flush` since the last deferral */
	/* the last domain looked up (most messages have one domain) */
	char *dom_name, *dom_transport;
	enum authc_status dom_status;
	/* progress records not yet on disk (qmgr_record_final) */
	struct buf pending;
	char *data; /* the queue file's bytes (j->qf points into them) */
	size_t len;
};

/* Notices (qmgr_notice.c).  Non-delivery notices for the bounced targets
   of j: 0 when every notice is safe on disk (or none was due), -1 to keep
   the targets pending. */
int qmgr_bounce(struct qmgr_job *j);

/* NOTIFY=SUCCESS reports for j's delivered targets; a lost one is logged,
   never retried. */
void qmgr_success(struct qmgr_job *j);

/* The delay warning, once per message after delay_warning_time (age:
   seconds since arrival).  True when one was queued (the caller records
   "Y"). */
bool qmgr_delay_warning(struct qmgr_job *j, double age);

#endif
