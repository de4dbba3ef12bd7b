/*
 * Which maillog lines youju-mailgraph counts.  The rules are Debian
 * mailgraph's process_line and mailgraph_ext's additions (bytes, logins,
 * webmail), matched against youju's Postfix-shaped lines under
 * syslog_name (docs/mta.md "Log lines", docs/mra.md "Logs").  Plain
 * substring tests on a bounded line: no regex engine, no allocation.
 */
#include "classify.h"

#include <string.h>
#include <time.h>

static const char *const mg_months[12] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static bool mg_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* n digits at p (may start with a space when space_ok), into *v */
static bool mg_num(const char *p, int n, bool space_ok, int *v)
{
	int x = 0;
	for (int i = 0; i < n; i++) {
		if (space_ok && i == 0 && p[i] == ' ')
			continue;
		if (!mg_digit(p[i]))
			return false;
		x = x * 10 + (p[i] - '0');
	}
	*v = x;
	return true;
}

static int64_t mg_mktime(int year, int mon, int day, int h, int m, int s)
{
	struct tm tm = {0};
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = s;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

int mg_parse_time(const char *line, size_t len, struct mg_clock *clk,
		  int64_t *t_r)
{
	/* "Mmm dd hh:mm:ss " */
	if (len < 16 || line[3] != ' ' || line[6] != ' ' || line[9] != ':' ||
	    line[12] != ':' || line[15] != ' ')
		return -1;
	int mon = -1;
	for (int i = 0; i < 12; i++)
		if (memcmp(line, mg_months[i], 3) == 0)
			mon = i;
	int day, h, m, s;
	if (mon < 0 || !mg_num(line + 4, 2, true, &day) ||
	    !mg_num(line + 7, 2, false, &h) ||
	    !mg_num(line + 10, 2, false, &m) ||
	    !mg_num(line + 13, 2, false, &s) || day < 1 || day > 31 || h > 23 ||
	    m > 59 || s > 60)
		return -1;
	if (clk->year == 0) {
		time_t now = (time_t)clk->now;
		struct tm tm;
		if (localtime_r(&now, &tm) == NULL)
			return -1;
		clk->year = tm.tm_year + 1900;
		if (mg_mktime(clk->year, mon, day, h, m, s) > clk->now + 86400)
			clk->year--;
	} else if (mon < clk->last_mon && clk->last_mon - mon > 6) {
		clk->year++; /* Dec -> Jan */
	}
	clk->last_mon = mon;
	int key = clk->year * 1000000 + mon * 10000 + day * 100 + h + 1;
	if (key != clk->hour_key) {
		clk->hour_start = mg_mktime(clk->year, mon, day, h, 0, 0);
		clk->hour_key = key;
	}
	*t_r = clk->hour_start + m * 60 + s;
	return 0;
}

bool mg_domain_ok(const char *d, size_t len)
{
	if (len == 0 || len > MG_DOMAIN_MAX || d[0] == '.' || d[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = d[i];
		if (!((c >= 'a' && c <= 'z') || mg_digit(c) || c == '-' ||
		      c == '.'))
			return false;
		if (c == '.' && i > 0 && d[i - 1] == '.')
			return false;
	}
	return true;
}

/* first occurrence of the NUL-terminated needle in p[0..len) */
static const char *mg_find(const char *p, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	if (n == 0 || n > len)
		return NULL;
	return memmem(p, len, needle, n);
}

static bool mg_starts(const char *p, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(p, prefix, n) == 0;
}

/* "status=WORD" with a word boundary after it */
static bool mg_status(const char *p, size_t len, const char *word)
{
	char pat[32];
	size_t n = strlen(word);
	if (n + 8 > sizeof pat)
		return false;
	memcpy(pat, "status=", 7);
	memcpy(pat + 7, word, n + 1);
	const char *s = mg_find(p, len, pat);
	if (s == NULL)
		return false;
	size_t end = (size_t)(s - p) + 7 + n;
	return end == len || !((p[end] >= 'a' && p[end] <= 'z') ||
			       (p[end] >= 'A' && p[end] <= 'Z'));
}

/*
 * A queue ID at the start of msg ("6B00CFEBA5790000: "): letters and
 * digits, 5..MG_QID_MAX.  Copies it to ev->qid and returns the length of
 * "ID: ", or 0.
 */
static size_t mg_qid(const char *msg, size_t len, struct mg_event *ev)
{
	size_t i = 0;
	while (i < len && i <= MG_QID_MAX &&
	       ((msg[i] >= 'A' && msg[i] <= 'Z') ||
		(msg[i] >= 'a' && msg[i] <= 'z') || mg_digit(msg[i])))
		i++;
	if (i < 5 || i > MG_QID_MAX || i + 2 > len || msg[i] != ':' ||
	    msg[i + 1] != ' ')
		return 0;
	if (i == 7 && memcmp(msg, "NOQUEUE", 7) == 0)
		return i + 2; /* no ID to remember */
	memcpy(ev->qid, msg, i);
	ev->qid[i] = '\0';
	return i + 2;
}

/* The domain of the address after key ("to=<", "from=<") into
   ev->domain, lower-cased; left "" when absent or not a domain. */
static void mg_addr_domain(const char *p, size_t len, const char *key,
			   struct mg_event *ev)
{
	const char *s = mg_find(p, len, key);
	if (s == NULL)
		return;
	s += strlen(key);
	const char *end = p + len;
	const char *gt = memchr(s, '>', (size_t)(end - s));
	if (gt == NULL)
		return;
	const char *at = NULL;
	for (const char *q = s; q < gt; q++)
		if (*q == '@')
			at = q;
	if (at == NULL)
		return;
	size_t n = (size_t)(gt - at - 1);
	if (n == 0 || n > MG_DOMAIN_MAX)
		return;
	char d[MG_DOMAIN_MAX + 1];
	for (size_t i = 0; i < n; i++) {
		char c = at[1 + i];
		d[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	d[n] = '\0';
	if (mg_domain_ok(d, n))
		memcpy(ev->domain, d, n + 1);
}

/* the decimal number after key, or false */
static bool mg_key_u64(const char *p, size_t len, const char *key, uint64_t *v)
{
	const char *s = mg_find(p, len, key);
	if (s == NULL)
		return false;
	s += strlen(key);
	const char *end = p + len;
	uint64_t x = 0;
	int nd = 0;
	while (s < end && mg_digit(*s) && nd < 19) {
		x = x * 10 + (uint64_t)(*s - '0');
		s++;
		nd++;
	}
	if (nd == 0)
		return false;
	*v = x;
	return true;
}

/* "delay=S[.FFF]" in milliseconds, or -1 */
static int64_t mg_delay(const char *p, size_t len)
{
	const char *s = mg_find(p, len, ", delay=");
	if (s == NULL)
		return -1;
	s += 8;
	const char *end = p + len;
	int64_t sec = 0, ms = 0;
	int nd = 0;
	while (s < end && mg_digit(*s) && nd < 12) {
		sec = sec * 10 + (*s++ - '0');
		nd++;
	}
	if (nd == 0)
		return -1;
	if (s < end && *s == '.') {
		s++;
		for (int i = 0; i < 3; i++) {
			ms *= 10;
			if (s < end && mg_digit(*s))
				ms += *s++ - '0';
		}
	}
	return sec * 1000 + ms;
}

static bool mg_postfix(const char *svc, size_t sl, const char *msg, size_t ml,
		       struct mg_event *ev)
{
#define SVC(s) (sl == sizeof(s) - 1 && memcmp(svc, s, sl) == 0)
	if (SVC("mra")) {
		if (mg_starts(msg, ml, "imap-login: Login: "))
			ev->kind = MG_IMAP_LOGIN;
		else if (mg_starts(msg, ml, "pop3-login: Login: "))
			ev->kind = MG_POP3_LOGIN;
		else if (mg_starts(msg, ml,
				   "imap-login: Disconnected (auth "
				   "failed") ||
			 mg_starts(msg, ml,
				   "pop3-login: Disconnected (auth "
				   "failed")) {
			ev->kind = MG_AUTH_FAILED;
			ev->service = msg[0] == 'i' ? MG_SVC_IMAP : MG_SVC_POP3;
			return true;
		} else
			return false;
		ev->tls = ml >= 5 && memcmp(msg + ml - 5, ", TLS", 5) == 0;
		mg_addr_domain(msg, ml, "user=<", ev);
		return true;
	}
	size_t q = mg_qid(msg, ml, ev);
	const char *rest = msg + q;
	size_t rl = ml - q;
	if (SVC("smtpd") || SVC("postscreen")) {
		if (ev->qid[0] != '\0' && mg_starts(rest, rl, "client=")) {
			ev->kind = MG_RECEIVED;
			return true;
		}
		if (q == 0 && mg_starts(msg, ml, "connect from ")) {
			ev->kind = MG_CONNECT;
			return true;
		}
		if (mg_starts(msg, ml, "warning: ") &&
		    mg_find(msg, ml, ": SASL ") != NULL &&
		    mg_find(msg, ml, " authentication failed") != NULL) {
			ev->kind = MG_AUTH_FAILED;
			ev->service = MG_SVC_SMTP;
			ev->qid[0] = '\0'; /* "warning" is no queue ID */
			return true;
		}
		if (mg_starts(rest, rl, "reject: ")) {
			ev->kind = MG_REJECTED;
		} else if (mg_starts(rest, rl, "milter-reject: ")) {
			/* clamav-milter: "... virus Eicar-Test detected by
			   ClamAV"; spamass-milter, rspamd: "... spam ..." */
			ev->kind =
			    mg_find(rest, rl, "Blocked by SpamAssassin") ||
				    mg_find(rest, rl, " spam ") ||
				    mg_find(rest, rl, "Spam message")
				? MG_SPAM
			    : mg_find(rest, rl, "irus ") ? MG_VIRUS
							 : MG_REJECTED;
		} else {
			return false;
		}
		mg_addr_domain(rest, rl, "to=<", ev);
		return true;
	}
	if (SVC("cleanup")) {
		if (ev->qid[0] == '\0' ||
		    !(mg_starts(rest, rl, "reject: ") ||
		      mg_starts(rest, rl, "discard: ") ||
		      mg_starts(rest, rl, "milter-reject: ")))
			return false;
		ev->kind = MG_REJECTED;
		mg_addr_domain(rest, rl, "to=<", ev);
		return true;
	}
	if (SVC("qmgr")) {
		if (ev->qid[0] == '\0' || !mg_starts(rest, rl, "from=<") ||
		    mg_find(rest, rl, "(queue active)") == NULL ||
		    !mg_key_u64(rest, rl, ", size=", &ev->size) ||
		    !mg_key_u64(rest, rl, ", nrcpt=", &ev->nrcpt))
			return false;
		ev->kind = MG_QUEUED;
		mg_addr_domain(rest, rl, "from=<", ev);
		return true;
	}
	bool smtp = SVC("smtp");
	bool local = SVC("local") || SVC("virtual");
	if (smtp || local || SVC("error")) {
		if (ev->qid[0] == '\0' || !mg_starts(rest, rl, "to=<"))
			return false;
		if (mg_status(rest, rl, "bounced"))
			ev->kind = MG_BOUNCED;
		else if (mg_status(rest, rl, "sent") && (smtp || local))
			ev->kind = smtp ? MG_SENT : MG_DELIVERED;
		else
			return false;
		mg_addr_domain(rest, rl, "to=<", ev);
		ev->delay_ms = mg_delay(rest, rl);
		return true;
	}
	return false;
#undef SVC
}

/* ExtMail's (and youju-webmail's) "user=<u@d>, client=IP,
   module=login, status=loginok|badlogin|disabled|deactive" */
static bool mg_webmail(const char *msg, size_t ml, struct mg_event *ev)
{
	static const char *const st[4] = {"status=loginok", "status=badlogin",
					  "status=disabled", "status=deactive"};
	if (mg_find(msg, ml, "module=login") == NULL)
		return false;
	for (int i = 0; i < 4; i++)
		if (mg_find(msg, ml, st[i]) != NULL) {
			ev->kind = MG_WEBMAIL_LOGIN;
			ev->wm_status = i;
			mg_addr_domain(msg, ml, "user=<", ev);
			return true;
		}
	return false;
}

/* amavisd-new and spamd, the filters mailgraph_ext knew */
static bool mg_filter(const char *prog, size_t pl, const char *msg, size_t ml,
		      struct mg_event *ev)
{
	if (pl >= 6 && memcmp(prog, "amavis", 6) == 0) {
		if (mg_find(msg, ml, " INFECTED") != NULL)
			ev->kind = MG_VIRUS;
		else if (mg_find(msg, ml, "Blocked SPAM") != NULL ||
			 mg_find(msg, ml, "Passed SPAM") != NULL)
			ev->kind = MG_SPAM;
		return ev->kind != MG_NONE;
	}
	if (pl >= 5 && memcmp(prog, "spamd", 5) == 0 &&
	    mg_find(msg, ml, "identified spam") != NULL) {
		ev->kind = MG_SPAM;
		return true;
	}
	return false;
}

/* Courier's "LOGIN, user=..." under imapd, imapd-ssl, pop3d, pop3d-ssl
   (mailgraph_ext's only login shape) */
static bool mg_courier(const char *prog, size_t pl, const char *msg, size_t ml,
		       struct mg_event *ev)
{
	if (!mg_starts(msg, ml, "LOGIN, "))
		return false;
#define PROG(s) (pl == sizeof(s) - 1 && memcmp(prog, s, pl) == 0)
	if (PROG("imapd") || PROG("imaplogin") || PROG("imapd-ssl"))
		ev->kind = MG_IMAP_LOGIN;
	else if (PROG("pop3d") || PROG("courierpop3login") || PROG("pop3d-ssl"))
		ev->kind = MG_POP3_LOGIN;
	else
		return false;
	ev->tls = PROG("imapd-ssl") || PROG("pop3d-ssl");
#undef PROG
	mg_addr_domain(msg, ml, "user=<", ev);
	return true;
}

bool mg_classify(const char *line, size_t len, const char *name,
		 struct mg_clock *clk, struct mg_event *ev)
{
	memset(ev, 0, sizeof *ev);
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > MG_LINE_MAX || mg_parse_time(line, len, clk, &ev->time) < 0)
		return false;
	/* after the stamp: "host prog[pid]: msg" */
	const char *p = line + 16, *end = line + len;
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	if (sp == NULL)
		return false;
	const char *prog = sp + 1;
	const char *colon = memchr(prog, ':', (size_t)(end - prog));
	if (colon == NULL || colon + 2 > end || colon[1] != ' ')
		return false;
	const char *pe = memchr(prog, '[', (size_t)(colon - prog));
	if (pe == NULL)
		pe = colon;
	size_t pl = (size_t)(pe - prog);
	const char *msg = colon + 2;
	size_t ml = (size_t)(end - msg);
	size_t nl = strlen(name);
	bool ok = false;
	if (pl > nl + 1 && memcmp(prog, name, nl) == 0 && prog[nl] == '/') {
		const char *svc = prog + nl + 1;
		size_t sl = pl - nl - 1;
		if (sl == 7 && memcmp(svc, "webmail", 7) == 0)
			ok = mg_webmail(msg, ml, ev);
		else
			ok = mg_postfix(svc, sl, msg, ml, ev);
	} else if (pl == 7 && memcmp(prog, "extmail", 7) == 0) {
		ok = mg_webmail(msg, ml, ev);
	} else if (pl == 7 && memcmp(prog, "dovecot", 7) == 0) {
		ok = mg_postfix("mra", 3, msg, ml, ev);
	} else {
		ok = mg_filter(prog, pl, msg, ml, ev) ||
		     mg_courier(prog, pl, msg, ml, ev);
	}
	if (!ok) {
		int64_t t = ev->time;
		memset(ev, 0, sizeof *ev);
		ev->time = t;
		ev->kind = MG_NONE;
	}
	return ok;
}
