/* The log-line classifier of youju-mailgraph on real youju and Postfix
   lines (docs/mta.md "Log lines", docs/mra.md "Logs"). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../../mailgraph/classify.h"
#include "test.h"

struct tcase {
	const char *name; /* syslog_name */
	const char *line;
	enum mg_kind kind;
	const char *qid;
	const char *domain;
	bool tls;
	int wm;
};

static const struct tcase cases[] = {
    /* youju's own shapes */
    {"youju",
     "Dec  6 20:48:19 mx youju/smtpd[41]: 6B00CFEBA5790000: "
     "client=localhost[127.0.0.1], sasl_method=PLAIN, "
     "sasl_username=postmaster@extmail.org",
     MG_RECEIVED, "6B00CFEBA5790000", "", false, 0},
    {"youju",
     "Dec  6 20:48:19 mx youju/qmgr[41]: 6B00CFEBA5790000: "
     "from=<a@Example.NET>, size=309, nrcpt=1 (queue active)",
     MG_QUEUED, "6B00CFEBA5790000", "example.net", false, 0},
    {"youju",
     "Dec  6 20:48:19 mx youju/virtual[43]: 6B00CFEBA5790000: "
     "to=<postmaster@extmail.org>, relay=virtual, delay=0.06, "
     "delays=0/0.01/0/0.05, dsn=2.0.0, status=sent (delivered to "
     "maildir)",
     MG_DELIVERED, "6B00CFEBA5790000", "extmail.org", false, 0},
    {"youju",
     "Dec  6 20:48:19 mx youju/smtp[43]: 6B00CFEBA5790001: "
     "to=<friend@logs-remote.example>, relay=127.0.0.1[127.0.0.1]:2525,"
     " delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 "
     "Ok: queued as LOGSINK)",
     MG_SENT, "6B00CFEBA5790001", "logs-remote.example", false, 0},
    {"youju",
     "Dec  6 20:48:19 mx youju/error[43]: 6B00CFEBA5790002: "
     "to=<x@logs-err.example>, relay=none, delay=0, delays=0/0/0/0, "
     "dsn=5.1.1, status=bounced (no mailbox here)",
     MG_BOUNCED, "6B00CFEBA5790002", "logs-err.example", false, 0},
    {"youju",
     "Dec  6 20:48:19 mx youju/smtpd[41]: NOQUEUE: reject: RCPT from "
     "unknown[192.0.2.2]: 554 5.7.1 <victim@example.com>: Relay access "
     "denied; from=<someone@example.net> to=<victim@example.com> "
     "proto=ESMTP helo=<outside.example>",
     MG_REJECTED, "", "example.com", false, 0},
    {"youju",
     "Dec  6 20:48:19 mx youju/mra[50]: imap-login: Login: "
     "user=<postmaster@extmail.org>, method=PLAIN, rip=127.0.0.1, "
     "lip=127.0.0.1, mpid=51, TLS",
     MG_IMAP_LOGIN, "", "extmail.org", true, 0},
    {"youju",
     "Dec  6 20:48:19 mx youju/mra[50]: pop3-login: Login: "
     "user=<postmaster@extmail.org>, method=PLAIN, rip=127.0.0.1, "
     "lip=127.0.0.1, mpid=52",
     MG_POP3_LOGIN, "", "extmail.org", false, 0},
    {"youju",
     "Dec  6 20:48:19 mx youju/webmail[60]: user=<u@extmail.org>, "
     "client=127.0.0.1, module=login, status=disabled",
     MG_WEBMAIL_LOGIN, "", "extmail.org", false, 2},
    /* no RRD counts it; /metrics does */
    {"youju",
     "Dec  6 20:48:19 mx youju/mra[50]: imap-login: Disconnected (auth "
     "failed, 1 attempts): user=<u@d.example>, method=PLAIN, "
     "rip=1.2.3.4, lip=5.6.7.8",
     MG_AUTH_FAILED, "", "", false, 0},
    /* not counted */
    {"youju", "Dec  6 20:48:19 mx youju/smtpd[41]: NOQUEUE: client=x[1.2.3.4]",
     MG_NONE, "", "", false, 0},
    {"youju", "Dec  6 20:48:19 mx youju/qmgr[43]: 6B00CFEBA5790000: removed",
     MG_NONE, "", "", false, 0},
    {"youju",
     "Dec  6 20:48:19 mx youju/smtp[43]: 6B00CFEBA5790001: to=<a@b.c>, "
     "relay=none, delay=1, dsn=4.4.1, status=deferred (connect)",
     MG_NONE, "", "", false, 0},
    /* the other name's lines are not ours */
    {"youju",
     "Dec  6 20:48:19 mx postfix/smtpd[41]: 4C1D2E0A01: client=a[1.2.3.4]",
     MG_NONE, "", "", false, 0},
    /* Postfix's shapes */
    {"postfix",
     "Nov 30 09:00:10 mx postfix/smtpd[2100]: 4C1D2E0A01: "
     "client=a.example[192.0.2.1]",
     MG_RECEIVED, "4C1D2E0A01", "", false, 0},
    {"postfix",
     "Nov 30 09:45:01 mx postfix/cleanup[2101]: 6E3F4A0C03: reject: "
     "header Subject: buy now from c.example[192.0.2.8]; "
     "from=<spam@c.example> to=<u@mx.example> proto=ESMTP helo=<c>: "
     "5.7.1 no thanks",
     MG_REJECTED, "6E3F4A0C03", "mx.example", false, 0},
    {"postfix",
     "Nov 30 09:00:14 mx postfix/local[2103]: 5D2E3F0B02: "
     "to=<u@mx.example>, relay=local, status=bounced (unknown user)",
     MG_BOUNCED, "5D2E3F0B02", "mx.example", false, 0},
    {"postfix",
     "Nov 30 11:05:00 mx postfix/smtpd[2100]: NOQUEUE: milter-reject: "
     "END-OF-MESSAGE from f[1.2.3.4]: 5.7.1 Blocked by SpamAssassin; "
     "from=<s@f.example> to=<u@mx.example>",
     MG_SPAM, "", "mx.example", false, 0},
    /* clamav-milter with RejectMsg "Virus %v detected by ClamAV" */
    {"postfix",
     "Nov 30 11:06:00 mx postfix/smtpd[2100]: 6B15EBAC26A4C000: milter-reject: "
     "END-OF-MESSAGE from f[1.2.3.4]: 5.7.1 Virus Eicar-Test detected by "
     "ClamAV; from=<s@f.example> to=<u@mx.example>",
     MG_VIRUS, "6B15EBAC26A4C000", "mx.example", false, 0},
    {"postfix",
     "Nov 30 11:07:00 mx postfix/smtpd[2100]: 6B15EBAC26A4C000: milter-reject: "
     "END-OF-MESSAGE from f[1.2.3.4]: 5.7.1 Command rejected; "
     "from=<s@f.example> to=<u@mx.example>",
     MG_REJECTED, "6B15EBAC26A4C000", "mx.example", false, 0},
    {"postfix",
     "Nov 30 11:10:00 mx amavis[3001]: (03001-01) Blocked INFECTED "
     "(Eicar-Signature) {DiscardedInbound}, [192.0.2.14]:41234",
     MG_VIRUS, "", "", false, 0},
    {"postfix",
     "Nov 30 11:20:05 mx dovecot: imap-login: Login: user=<u@mx.example>,"
     " method=PLAIN, rip=192.0.2.20, lip=192.0.2.1, mpid=4002",
     MG_IMAP_LOGIN, "", "mx.example", false, 0},
    {"postfix",
     "Nov 30 11:20:05 mx pop3d-ssl: LOGIN, user=u@mx.example, "
     "ip=[::ffff:192.0.2.20], port=[4000], protocol=POP3",
     MG_POP3_LOGIN, "", "", true, 0},
    {"postfix",
     "Nov 30 11:30:00 mx extmail[5001]: user=<u@mx.example>, "
     "client=192.0.2.30, module=login, status=badlogin",
     MG_WEBMAIL_LOGIN, "", "mx.example", false, 1},
    /* broken input */
    {"youju", "", MG_NONE, "", "", false, 0},
    {"youju", "Dec  6 20:48:19", MG_NONE, "", "", false, 0},
    {"youju", "Foo  6 20:48:19 mx youju/smtpd[1]: 12345: client=x", MG_NONE, "",
     "", false, 0},
    {"youju", "Dec 36 20:48:19 mx youju/smtpd[1]: 12345: client=x", MG_NONE, "",
     "", false, 0},
    {"youju", "Dec  6 20:48:19 mx youju/smtpd[1]: 12345: client=x\r\n",
     MG_RECEIVED, "12345", "", false, 0},
    {"youju", "Dec  6 20:48:19 mx youju/smtpd[1]:\n", MG_NONE, "", "", false,
     0},
    /* a domain that would not be a safe file name */
    {"youju",
     "Dec  6 20:48:19 mx youju/virtual[4]: 12345: to=<a@../../etc>, "
     "relay=virtual, status=sent (delivered to maildir)",
     MG_DELIVERED, "12345", "", false, 0},
    {"youju",
     "Dec  6 20:48:19 mx youju/virtual[4]: 12345: to=<a@x/y.example>, "
     "relay=virtual, status=sent (delivered to maildir)",
     MG_DELIVERED, "12345", "", false, 0},
    /* a queue ID longer than MG_QID_MAX */
    {"youju",
     "Dec  6 20:48:19 mx youju/smtpd[1]: "
     "0123456789012345678901234567890123: client=x",
     MG_NONE, "", "", false, 0},
};

static void test_table(void)
{
	test_begin("classify table");
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const struct tcase *c = &cases[i];
		struct mg_clock clk = {.now = 1796500000}; /* Dec 2026 */
		struct mg_event ev;
		bool ok =
		    mg_classify(c->line, strlen(c->line), c->name, &clk, &ev);
		if (ok != (c->kind != MG_NONE) || ev.kind != c->kind)
			fprintf(stderr, "case %zu: kind %d\n", i, ev.kind);
		test_assert(ok == (c->kind != MG_NONE));
		test_assert(ev.kind == c->kind);
		if (!ok)
			continue;
		test_assert(strcmp(ev.qid, c->qid) == 0);
		test_assert(strcmp(ev.domain, c->domain) == 0);
		test_assert(ev.tls == c->tls);
		test_assert(ev.wm_status == c->wm);
	}
}

static void test_queued_numbers(void)
{
	test_begin("qmgr size and nrcpt");
	const char *l = "Nov 30 09:00:12 mx postfix/qmgr[900]: 4C1D2E0A01: "
			"from=<>, size=123456, nrcpt=3 (queue active)";
	struct mg_clock clk = {.now = 1796500000};
	struct mg_event ev;
	test_assert(mg_classify(l, strlen(l), "postfix", &clk, &ev));
	test_assert(ev.kind == MG_QUEUED && ev.size == 123456 &&
		    ev.nrcpt == 3 && ev.domain[0] == '\0');
}

/* the /metrics-only events: connections, auth failures, delays */
static void test_metrics_events(void)
{
	test_begin("connections, auth failures, delays");
	struct mg_clock clk = {.now = 1796500000};
	struct mg_event ev;
	const char *l = "Dec  6 20:48:19 mx youju/smtpd[41]: connect from "
			"localhost[127.0.0.1]";
	test_assert(mg_classify(l, strlen(l), "youju", &clk, &ev));
	test_assert(ev.kind == MG_CONNECT);
	l = "Dec  6 20:48:19 mx youju/smtpd[41]: warning: "
	    "localhost[127.0.0.1]: SASL LOGIN authentication failed: "
	    "authentication failure";
	test_assert(mg_classify(l, strlen(l), "youju", &clk, &ev));
	test_assert(ev.kind == MG_AUTH_FAILED && ev.service == MG_SVC_SMTP &&
		    ev.qid[0] == '\0');
	l = "Dec  6 20:48:19 mx youju/smtpd[41]: warning: hostname x does "
	    "not resolve";
	test_assert(!mg_classify(l, strlen(l), "youju", &clk, &ev));
	l = "Dec  6 20:48:19 mx youju/mra[9]: imap-login: Disconnected "
	    "(auth failed, 2 attempts): user=<u@d>, method=PLAIN, "
	    "rip=1.2.3.4, lip=5.6.7.8";
	test_assert(mg_classify(l, strlen(l), "youju", &clk, &ev));
	test_assert(ev.kind == MG_AUTH_FAILED && ev.service == MG_SVC_IMAP);
	l = "Dec  6 20:48:19 mx youju/mra[9]: pop3-login: Disconnected "
	    "(auth failed, 1 attempts): user=<u@d>";
	test_assert(mg_classify(l, strlen(l), "youju", &clk, &ev));
	test_assert(ev.kind == MG_AUTH_FAILED && ev.service == MG_SVC_POP3);
	l = "Dec  6 20:48:19 mx youju/mra[9]: imap-login: Disconnected: "
	    "Too many connections";
	test_assert(!mg_classify(l, strlen(l), "youju", &clk, &ev));
	l = "Dec  6 20:48:19 mx youju/virtual[43]: 6B00CFEBA5790000: "
	    "to=<postmaster@extmail.org>, relay=virtual, delay=12.0625, "
	    "delays=0/0.01/0/0.05, dsn=2.0.0, status=sent (delivered)";
	test_assert(mg_classify(l, strlen(l), "youju", &clk, &ev));
	test_assert(ev.kind == MG_DELIVERED && ev.delay_ms == 12062);
	l = "Dec  6 20:48:19 mx youju/error[43]: 6B00CFEBA5790002: "
	    "to=<x@logs-err.example>, relay=none, delay=0, status=bounced";
	test_assert(mg_classify(l, strlen(l), "youju", &clk, &ev));
	test_assert(ev.kind == MG_BOUNCED && ev.delay_ms == 0);
	l = "Dec  6 20:48:19 mx youju/smtp[43]: 6B00CFEBA5790002: "
	    "to=<x@logs-err.example>, relay=none, status=sent";
	test_assert(mg_classify(l, strlen(l), "youju", &clk, &ev));
	test_assert(ev.kind == MG_SENT && ev.delay_ms == -1);
}

static void test_year(void)
{
	test_begin("year inference");
	setenv("TZ", "UTC", 1);
	tzset();
	/* now: 2027-01-01 00:10 UTC; a Dec 31 line is last year's */
	struct mg_clock clk = {.now = 1798762200};
	int64_t t;
	const char *dec = "Dec 31 23:59:00 ";
	const char *jan = "Jan  1 00:01:00 ";
	test_assert(mg_parse_time(dec, strlen(dec), &clk, &t) == 0);
	test_assert(t == 1798761540); /* 2026-12-31 23:59:00 */
	test_assert(mg_parse_time(jan, strlen(jan), &clk, &t) == 0);
	test_assert(t == 1798761660); /* 2027-01-01 00:01:00 */
	/* a line far in the future of now is last year's */
	struct mg_clock c2 = {.now = 1798762200};
	const char *jun = "Jun  1 00:00:00 ";
	test_assert(mg_parse_time(jun, strlen(jun), &c2, &t) == 0);
	test_assert(t == 1780272000); /* 2026-06-01 */
}

static void test_limits(void)
{
	test_begin("limits and bytes");
	struct mg_clock clk = {.now = 1796500000};
	struct mg_event ev;
	size_t n = MG_LINE_MAX + 1;
	char *big = malloc(n + 1);
	test_assert(big != NULL);
	const char *pfx = "Dec  6 20:48:19 mx youju/smtpd[1]: 12345: client=";
	memset(big, 'x', n);
	memcpy(big, pfx, strlen(pfx));
	big[n] = '\0';
	test_assert(!mg_classify(big, n, "youju", &clk, &ev));	  /* max+1 */
	test_assert(mg_classify(big, n - 1, "youju", &clk, &ev)); /* max */
	free(big);
	/* an embedded NUL does not end the line early */
	const char nul[] = "Dec  6 20:48:19 mx youju/smtpd[1]: 12345: "
			   "client=a\0b";
	test_assert(mg_classify(nul, sizeof nul - 1, "youju", &clk, &ev));
	/* a bare CR is just a byte */
	const char *cr = "Dec  6 20:48:19 mx youju/smtpd[1]:\r12345: client=";
	test_assert(!mg_classify(cr, strlen(cr), "youju", &clk, &ev));
	test_assert(mg_domain_ok("a-b.example", 11));
	test_assert(!mg_domain_ok("", 0));
	test_assert(!mg_domain_ok(".x", 2));
	test_assert(!mg_domain_ok("a..b", 4));
	test_assert(!mg_domain_ok("A.b", 3));
}

int main(void)
{
	test_table();
	test_queued_numbers();
	test_metrics_events();
	test_year();
	test_limits();
	return test_end();
}
