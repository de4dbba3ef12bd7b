/*
 * The log-line classifier of youju-mailgraph: one maillog line in, the
 * event mailgraph_ext would count out (docs/mailgraph.md lists which line
 * gives which counter).  Pure and allocation-free, so it runs as vmail on
 * untrusted log text and is fuzzed.
 */
#ifndef YOUJU_MG_CLASSIFY_H
#define YOUJU_MG_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MG_QID_MAX    32   /* longest queue ID kept (youju's are 16) */
#define MG_DOMAIN_MAX 253  /* RFC 1035 name length */
#define MG_LINE_MAX   8192 /* longer lines are ignored */

enum mg_kind {
	MG_NONE = 0,
	MG_RECEIVED,  /* smtpd "ID: client=" */
	MG_QUEUED,    /* qmgr "ID: from=<..>, size=N, nrcpt=M (queue active)" */
	MG_SENT,      /* smtp "status=sent" */
	MG_DELIVERED, /* virtual/local "status=sent": local delivery */
	MG_BOUNCED,   /* status=bounced */
	MG_REJECTED,  /* smtpd/cleanup reject:, discard:, milter-reject */
	MG_VIRUS,     /* filter lines naming a virus */
	MG_SPAM,      /* filter lines naming spam */
	MG_IMAP_LOGIN,	  /* imap-login: Login: (tls says ", TLS") */
	MG_POP3_LOGIN,	  /* pop3-login: Login: */
	MG_WEBMAIL_LOGIN, /* module=login, status=...: wm_status 0..3 */
	/* counted for /metrics only (no RRD has them) */
	MG_CONNECT,    /* smtpd "connect from" */
	MG_AUTH_FAILED /* smtpd SASL failure, mra "(auth failed": service */
};

enum mg_service { MG_SVC_SMTP, MG_SVC_IMAP, MG_SVC_POP3 };

struct mg_event {
	enum mg_kind kind;
	int64_t time; /* Unix time of the line (see mg_parse_time) */
	char qid[MG_QID_MAX + 1]; /* queue ID, "" when none */
	/* lower-cased domain of the address the event concerns: the
	   recipient (to=<>) of deliveries and rejects, the sender of
	   MG_QUEUED; "" when none or not a valid domain name */
	char domain[MG_DOMAIN_MAX + 1];
	uint64_t size;	/* MG_QUEUED: size */
	uint64_t nrcpt; /* MG_QUEUED: nrcpt */
	bool tls;	/* logins over TLS */
	int wm_status;	/* 0 loginok, 1 badlogin, 2 disabled, 3 deactive */
	enum mg_service service; /* MG_AUTH_FAILED */
	/* MG_SENT, MG_DELIVERED, MG_BOUNCED: "delay=" in milliseconds, -1
	   when the line has none */
	int64_t delay_ms;
};

/* Year-less syslog stamps ("Dec  6 20:48:19") become Unix times (local
   time): the first line takes the year that puts it at most a day in
   the future of now; after that a month going backwards (Dec -> Jan)
   moves to the next year.  Zero-initialise; set now. */
struct mg_clock {
	int64_t now;
	int year;     /* 0 until the first stamp */
	int last_mon; /* 0..11 */
	/* the start of the hour of the last stamp (mktime stats the zone
	   file on every call: once an hour is enough) */
	int hour_key; /* year*1000000 + mon*10000 + day*100 + hour + 1 */
	int64_t hour_start;
};

/*
 * Classifies line (len bytes, no newline needed, may hold any bytes).
 * name is the syslog_name ("youju" or "postfix"); the Ext program names
 * (extmail, the Courier logins) are matched too.  Returns true and fills
 * *ev for a counted line with a valid stamp, false otherwise (*ev is then
 * kind MG_NONE).
 */
bool mg_classify(const char *line, size_t len, const char *name,
		 struct mg_clock *clk, struct mg_event *ev);

/* The "Mmm dd hh:mm:ss" stamp at the start of line: 0 and *t_r, or -1. */
int mg_parse_time(const char *line, size_t len, struct mg_clock *clk,
		  int64_t *t_r);

/* True when d (len bytes) is a name we accept as a domain (and so as a
   file name): 1..253 bytes of [a-z0-9.-], not starting with '.' or '-',
   no "..". */
bool mg_domain_ok(const char *d, size_t len);

#endif
