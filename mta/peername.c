/*
 * Connect-time client name lookups on the event loop (see peername.h).
 * A lookup is one client address: a connected UDP socket, the query it
 * sent (PTR, then A or AAAA for the name found), a retransmit timer, and
 * the sessions waiting for it.  A reply counts only if it comes from the
 * server asked (the socket is connected), carries our random ID and
 * repeats our question; it is read by dnscheck's reply reader, the one
 * the fuzz target exercises.  A lookup lives while someone waits for it:
 * when the last waiter's deadline passes or its session ends, the socket
 * closes, so a flood costs one socket per distinct address at most.
 */
#include "peername.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "str.h"
#include "xalloc.h"

#define PN_TRIES	   2	/* queries per step and server */
#define PN_RETRANS_MS	   2000 /* between them */
#define PN_NAME_MAX	   256	/* a host name (253) and its NUL */
#define PN_HOSTS_MAX	   (1024 * 1024)
#define PN_CONF_RECHECK_MS 1000 /* /etc/hosts, resolv.conf */
#define PN_CONF_MAX	   (64 * 1024)
#define PN_SERVERS_MAX	   3 /* MAXNS, as the libc resolver */

struct lookup;

struct peername_wait {
	struct peername_wait *next;	     /* in lk->waiters */
	struct peername_wait *aprev, *anext; /* in pn->waits */
	struct peername *pn;
	struct lookup *lk; /* NULL once the result is in */
	struct ev_timer *timer;
	peername_fn *fn;
	void *ctx;
	enum dns_status st, ptr_st;
	char name[PN_NAME_MAX];
};

struct lookup {
	struct lookup *next;
	struct peername *pn;
	char addr[NET_ADDR_MAX];
	unsigned char bin[16];
	size_t binlen;
	bool fwd; /* asking A/AAAA for name */
	int fd;
	struct ev_io *io;
	struct ev_timer *timer;
	unsigned char q[NS_PACKETSZ];
	size_t qlen, qend; /* the query; the end of its question */
	int family;	   /* of fd */
	unsigned sent;	   /* queries of this step sent */
	char name[PN_NAME_MAX];
	struct peername_wait *waiters;
};

struct peername {
	struct ev_loop *loop;
	struct lookup *lookups;
	size_t nlookups;
	struct peername_wait *waits; /* every wait not yet delivered */
	/* resolv.conf's name servers, re-read when it changes */
	struct sockaddr_storage ns[PN_SERVERS_MAX];
	size_t nns;
	bool ns_loaded;
	struct stat ns_st;
	uint64_t ns_checked;
	/* /etc/hosts, re-read when it changes */
	char *hosts;
	struct stat hosts_st;
	uint64_t hosts_checked;
};

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Reads at most max bytes of path into a new NUL-terminated buffer (a
   NUL inside ends the text early: both files are text). */
static char *read_text(const char *path, size_t max)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &st) == 0 && st.st_size >= 0 &&
	    (uint64_t)st.st_size < max)
		max = (size_t)st.st_size; /* a file growing meanwhile is cut */
	char *text = xmalloc(max + 1);
	size_t n = fread(text, 1, max, f);
	fclose(f);
	text[n] = '\0';
	return text;
}

/* One "nameserver" address of resolv.conf, port 53; false to skip it (a
   link-local address with a %scope, say). */
static bool ns_parse(const char *tok, size_t len, struct sockaddr_storage *ss)
{
	char a[INET6_ADDRSTRLEN];
	if (len == 0 || len >= sizeof(a))
		return false;
	memcpy(a, tok, len);
	a[len] = '\0';
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(NS_DEFAULTPORT);
		return true;
	}
	if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(NS_DEFAULTPORT);
		return true;
	}
	return false;
}

size_t peername_resolv_parse(const char *text, struct sockaddr_storage *sv,
			     size_t max)
{
	static const char ws[] = " \t\r";
	size_t n = 0;
	for (const char *line = text; *line != '\0' && n < max;) {
		size_t ll = strcspn(line, "\n");
		const char *p = line + strspn(line, ws);
		line += ll + (line[ll] == '\n');
		if (strncmp(p, "nameserver", 10) != 0 || p[10] == '\0' ||
		    strchr(ws, p[10]) == NULL)
			continue;
		p += 10;
		p += strspn(p, ws);
		if (ns_parse(p, strcspn(p, " \t\r\n#;"), &sv[n]))
			n++;
	}
	return n;
}

/* (Re-)reads the name servers of resolv.conf when it changed, as glibc's
   NSS does, checked at most once per PN_CONF_RECHECK_MS; none listed (or
   no file) means 127.0.0.1, as for res_init(). */
static void resolver_load(struct peername *pn)
{
	uint64_t now = ev_now_ms(pn->loop);
	struct stat st;
	if (pn->ns_loaded && now < pn->ns_checked + PN_CONF_RECHECK_MS)
		return;
	pn->ns_checked = now;
	if (stat(_PATH_RESCONF, &st) < 0)
		memset(&st, 0, sizeof(st));
	if (pn->ns_loaded && same_file(&st, &pn->ns_st))
		return;
	pn->ns_loaded = true;
	pn->ns_st = st;
	char *text = read_text(_PATH_RESCONF, PN_CONF_MAX);
	pn->nns =
	    peername_resolv_parse(text ? text : "", pn->ns, PN_SERVERS_MAX);
	free(text);
	if (pn->nns == 0) {
		(void)ns_parse("127.0.0.1", 9, &pn->ns[0]);
		pn->nns = 1;
	}
}

struct peername *peername_new(struct ev_loop *loop)
{
	struct peername *pn = xcalloc(1, sizeof(*pn));
	pn->loop = loop;
	resolver_load(pn);
	return pn;
}

static void lookup_free(struct lookup *lk)
{
	struct peername *pn = lk->pn;
	for (struct lookup **pp = &pn->lookups; *pp != NULL;
	     pp = &(*pp)->next) {
		if (*pp == lk) {
			*pp = lk->next;
			pn->nlookups--;
			break;
		}
	}
	ev_io_free(&lk->io);
	ev_timer_free(&lk->timer);
	if (lk->fd >= 0)
		close(lk->fd);
	free(lk);
}

void peername_free(struct peername **ppn)
{
	struct peername *pn = *ppn;
	if (pn == NULL)
		return;
	while (pn->waits != NULL) {
		struct peername_wait *w = pn->waits;
		pn->waits = w->anext;
		ev_timer_free(&w->timer);
		free(w);
	}
	while (pn->lookups != NULL)
		lookup_free(pn->lookups);
	free(pn->hosts);
	free(pn);
	*ppn = NULL;
}

/* ------------------------------------------------------------ /etc/hosts */

static void hosts_load(struct peername *pn)
{
	uint64_t now = ev_now_ms(pn->loop);
	struct stat st;
	if (pn->hosts != NULL && now < pn->hosts_checked + PN_CONF_RECHECK_MS)
		return;
	pn->hosts_checked = now;
	if (stat("/etc/hosts", &st) < 0) {
		free(pn->hosts);
		pn->hosts = NULL;
		return;
	}
	if (pn->hosts != NULL && same_file(&st, &pn->hosts_st))
		return;
	free(pn->hosts);
	pn->hosts = read_text("/etc/hosts", PN_HOSTS_MAX);
	pn->hosts_st = st;
}

/* The canonical name of the first /etc/hosts line for bin, as NSS's
   "files" source answers getnameinfo(); that line also confirms it. */
static bool hosts_name(struct peername *pn, const unsigned char *bin,
		       size_t binlen, char *name, size_t namesz)
{
	hosts_load(pn);
	return pn->hosts != NULL &&
	       peername_hosts_find(pn->hosts, bin, binlen, name, namesz);
}

bool peername_hosts_find(const char *text, const unsigned char *bin,
			 size_t binlen, char *name, size_t namesz)
{
	static const char ws[] = " \t\r";
	for (const char *line = text; *line != '\0';) {
		size_t ll = strcspn(line, "\n");
		size_t cl = strcspn(line, "#\n");
		const char *p = line, *end = line + cl;
		line += ll + (line[ll] == '\n');
		char tok[2][PN_NAME_MAX];
		size_t nt = 0;
		while (p < end && nt < 2) {
			p += strspn(p, ws);
			size_t tl = strcspn(p, ws);
			if (p + tl > end)
				tl = (size_t)(end - p);
			if (tl == 0)
				break;
			if (tl >= PN_NAME_MAX)
				goto next;
			memcpy(tok[nt], p, tl);
			tok[nt++][tl] = '\0';
			p += tl;
		}
		if (nt < 2)
			continue;
		unsigned char a[16];
		if (inet_pton(binlen == 16 ? AF_INET6 : AF_INET, tok[0], a) !=
			1 ||
		    memcmp(a, bin, binlen) != 0)
			continue;
		if (!dns_name_ok(tok[1]) || strlen(tok[1]) >= namesz)
			return false;
		memcpy(name, tok[1], strlen(tok[1]) + 1);
		return true;
	next:;
	}
	return false;
}

/* ------------------------------------------------------------ lookups */

static void wait_deliver(struct peername_wait *w, enum dns_status st,
			 enum dns_status ptr_st, const char *name)
{
	w->lk = NULL;
	w->st = st;
	w->ptr_st = ptr_st;
	snprintf(w->name, sizeof(w->name), "%s", ptr_st == DNS_OK ? name : "");
	ev_timer_set(w->timer, 0); /* from the loop, as promised */
}

static void lookup_finish(struct lookup *lk, enum dns_status st,
			  enum dns_status ptr_st)
{
	while (lk->waiters != NULL) {
		struct peername_wait *w = lk->waiters;
		lk->waiters = w->next;
		w->next = NULL;
		wait_deliver(w, st, ptr_st, lk->name);
	}
	lookup_free(lk);
}

/* The servers to ask: smtpd_dns_server, or resolv.conf's. */
static size_t servers(struct peername *pn, struct sockaddr_storage *sv)
{
	struct sockaddr_in one;
	if (dns_get_server(&one)) {
		memset(&sv[0], 0, sizeof(sv[0]));
		memcpy(&sv[0], &one, sizeof(one));
		return 1;
	}
	resolver_load(pn);
	memcpy(sv, pn->ns, pn->nns * sizeof(sv[0]));
	return pn->nns;
}

static void lookup_io(struct ev_io *io, int fd, unsigned events, void *ctx);

/* Points the lookup's socket at s: a new socket when the family changes. */
static int lookup_connect(struct lookup *lk, const struct sockaddr_storage *s)
{
	int family = s->ss_family;
	if (lk->fd < 0 || lk->family != family) {
		ev_io_free(&lk->io);
		if (lk->fd >= 0)
			close(lk->fd);
		lk->fd = socket(family,
				SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (lk->fd < 0)
			return -1;
		lk->family = family;
		lk->io =
		    ev_io_new(lk->pn->loop, lk->fd, EV_READ, lookup_io, lk);
	}
	socklen_t len = family == AF_INET6 ? sizeof(struct sockaddr_in6)
					   : sizeof(struct sockaddr_in);
	return connect(lk->fd, (const struct sockaddr *)s, len);
}

/* Sends the query (again) to the next server.  0, or -1 when the step
   has run out of tries. */
static int lookup_send(struct lookup *lk)
{
	struct sockaddr_storage sv[PN_SERVERS_MAX];
	size_t n = servers(lk->pn, sv);
	while (n > 0 && lk->sent < PN_TRIES * n) {
		const struct sockaddr_storage *s = &sv[lk->sent % n];
		lk->sent++;
		if (lookup_connect(lk, s) == 0 &&
		    (send(lk->fd, lk->q, lk->qlen, MSG_NOSIGNAL) >= 0 ||
		     errno == EAGAIN || errno == EINTR)) {
			ev_timer_set(lk->timer, PN_RETRANS_MS);
			return 0;
		}
		/* no route, refused at once: the next try now, not after
		   the retransmit time */
		log_debug("peername: query for %s: %s", lk->addr,
			  strerror(errno));
	}
	return -1;
}

/*
 * A standard query (RFC 1035 4.1.1) for qname (dotted, at most 253 bytes,
 * labels of 1..63) and type, recursion desired, with a random ID.
 */
static int lookup_query(struct lookup *lk, const char *qname, int type)
{
	unsigned char *q = lk->q;
	size_t o = 12;
	memset(q, 0, 12);
	if (getrandom(q, 2, 0) != 2)
		return -1;
	q[2] = 0x01; /* RD */
	q[5] = 1;    /* QDCOUNT */
	for (const char *p = qname; *p != '\0';) {
		size_t l = strcspn(p, ".");
		if (l == 0 || l > 63 || o + 1 + l + 5 > sizeof(lk->q))
			return -1;
		q[o++] = (unsigned char)l;
		memcpy(q + o, p, l);
		o += l;
		p += l;
		if (*p == '.' && *++p == '\0')
			break; /* a trailing dot */
	}
	if (o == 12)
		return -1;
	q[o++] = 0;
	q[o++] = (unsigned char)(type >> 8);
	q[o++] = (unsigned char)type;
	q[o++] = 0;
	q[o++] = ns_c_in;
	lk->qlen = lk->qend = o;
	lk->sent = 0;
	return lookup_send(lk);
}

/* Our ID, a response, and our question repeated (RFC 1035 7.3). */
static bool reply_matches(const struct lookup *lk, const unsigned char *a,
			  size_t n)
{
	if (n < lk->qend || a[0] != lk->q[0] || a[1] != lk->q[1] ||
	    !(a[2] & 0x80) || (a[2] & 0x78) != 0 || a[4] != 0 || a[5] != 1)
		return false;
	for (size_t i = 12; i < lk->qend; i++) {
		unsigned char x = a[i], y = lk->q[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

static void lookup_answer(struct lookup *lk, const unsigned char *a, size_t n)
{
	int rcode = a[3] & 0x0f;
	enum dns_status st = DNS_OK;
	if (rcode == ns_r_nxdomain)
		st = DNS_NOTFOUND;
	else if (rcode != ns_r_noerror || (a[2] & 0x02) != 0) /* TC */
		st = DNS_RETRY;
	else if ((a[6] << 8 | a[7]) == 0)
		st = DNS_NOTFOUND;
	if (lk->fwd) {
		if (st == DNS_OK &&
		    !dns_reply_has_addr(a, n, lk->bin, lk->binlen))
			st = DNS_NOTFOUND;
		lookup_finish(lk, st, DNS_OK);
		return;
	}
	if (st == DNS_OK) {
		int r = dns_reply_ptr(a, n, lk->name, sizeof(lk->name));
		if (r <= 0)
			st = r < 0 ? DNS_RETRY : DNS_NOTFOUND;
	}
	if (st != DNS_OK) {
		lookup_finish(lk, st, st);
		return;
	}
	lk->fwd = true;
	if (lookup_query(lk, lk->name, lk->binlen == 16 ? ns_t_aaaa : ns_t_a) <
	    0)
		lookup_finish(lk, DNS_RETRY, DNS_OK);
}

static void lookup_retry(struct lookup *lk)
{
	if (lookup_send(lk) < 0)
		lookup_finish(lk, DNS_RETRY, lk->fwd ? DNS_OK : DNS_RETRY);
}

static void lookup_io(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	struct lookup *lk = ctx;
	unsigned char a[4096];
	for (;;) {
		ssize_t n = recv(fd, a, sizeof(a), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				lookup_retry(lk); /* ICMP: refused */
			return;
		}
		if (reply_matches(lk, a, (size_t)n)) {
			lookup_answer(lk, a, (size_t)n);
			return;
		}
	}
}

static void lookup_timer(struct ev_timer *t, void *ctx)
{
	lookup_retry(ctx);
}

static struct lookup *lookup_start(struct peername *pn, const char *addr,
				   const unsigned char *bin, size_t binlen)
{
	char rev[80], q[128];
	if (!dns_reverse_ip(addr, rev, sizeof(rev)))
		return NULL;
	int qn = snprintf(q, sizeof(q), "%s.%s", rev,
			  binlen == 16 ? "ip6.arpa" : "in-addr.arpa");
	if (qn < 0 || (size_t)qn >= sizeof(q))
		return NULL;
	struct lookup *lk = xcalloc(1, sizeof(*lk));
	lk->pn = pn;
	lk->fd = -1; /* opened for the first server's family */
	snprintf(lk->addr, sizeof(lk->addr), "%s", addr);
	memcpy(lk->bin, bin, binlen);
	lk->binlen = binlen;
	lk->timer = ev_timer_new(pn->loop, PN_RETRANS_MS, lookup_timer, lk);
	lk->next = pn->lookups;
	pn->lookups = lk;
	pn->nlookups++;
	if (lookup_query(lk, q, ns_t_ptr) < 0) {
		lookup_free(lk);
		return NULL;
	}
	return lk;
}

/* ------------------------------------------------------------ waiters */

static void wait_unlink_all(struct peername_wait *w)
{
	if (w->aprev != NULL)
		w->aprev->anext = w->anext;
	else
		w->pn->waits = w->anext;
	if (w->anext != NULL)
		w->anext->aprev = w->aprev;
}

static void wait_timer(struct ev_timer *t, void *ctx)
{
	struct peername_wait *w = ctx;
	struct lookup *lk = w->lk;
	if (lk != NULL) {
		/* the deadline: "unknown", as Postfix on a resolver timeout;
		   a PTR name already found is kept */
		for (struct peername_wait **pp = &lk->waiters; *pp != NULL;
		     pp = &(*pp)->next) {
			if (*pp == w) {
				*pp = w->next;
				break;
			}
		}
		w->st = DNS_RETRY;
		w->ptr_st = lk->fwd ? DNS_OK : DNS_RETRY;
		snprintf(w->name, sizeof(w->name), "%s",
			 lk->fwd ? lk->name : "");
		if (lk->waiters == NULL)
			lookup_free(lk);
	}
	peername_fn *fn = w->fn;
	void *fctx = w->ctx;
	enum dns_status st = w->st, ptr_st = w->ptr_st;
	char name[PN_NAME_MAX];
	memcpy(name, w->name, sizeof(name));
	wait_unlink_all(w);
	ev_timer_free(&w->timer);
	free(w);
	fn(fctx, st, ptr_st, name);
}

struct peername_wait *peername_lookup(struct peername *pn, const char *addr,
				      uint64_t timeout_ms, peername_fn *fn,
				      void *ctx)
{
	struct peername_wait *w = xcalloc(1, sizeof(*w));
	struct sockaddr_in sv;
	unsigned char bin[16];
	size_t binlen = 0;
	w->pn = pn;
	w->fn = fn;
	w->ctx = ctx;
	w->st = w->ptr_st = DNS_RETRY;
	w->timer = ev_timer_new(pn->loop, timeout_ms, wait_timer, w);
	w->anext = pn->waits;
	if (pn->waits != NULL)
		pn->waits->aprev = w;
	pn->waits = w;
	if (inet_pton(AF_INET, addr, bin) == 1)
		binlen = 4;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		binlen = 16;
	if (binlen == 0) {
		wait_deliver(w, DNS_NOTFOUND, DNS_NOTFOUND, "");
		return w;
	}
	/* NSS order: files, then DNS (unless a server is configured) */
	char name[PN_NAME_MAX];
	if (!dns_get_server(&sv) &&
	    hosts_name(pn, bin, binlen, name, sizeof(name))) {
		wait_deliver(w, DNS_OK, DNS_OK, name);
		return w;
	}
	struct lookup *lk = pn->lookups;
	while (lk != NULL && strcmp(lk->addr, addr) != 0)
		lk = lk->next;
	if (lk == NULL && pn->nlookups < PEERNAME_MAX_LOOKUPS)
		lk = lookup_start(pn, addr, bin, binlen);
	if (lk == NULL) {
		wait_deliver(w, DNS_RETRY, DNS_RETRY, "");
		return w;
	}
	w->lk = lk;
	w->next = lk->waiters;
	lk->waiters = w;
	return w;
}

void peername_cancel(struct peername_wait **pw)
{
	struct peername_wait *w = *pw;
	if (w == NULL)
		return;
	struct lookup *lk = w->lk;
	if (lk != NULL) {
		for (struct peername_wait **pp = &lk->waiters; *pp != NULL;
		     pp = &(*pp)->next) {
			if (*pp == w) {
				*pp = w->next;
				break;
			}
		}
		if (lk->waiters == NULL)
			lookup_free(lk);
	}
	wait_unlink_all(w);
	ev_timer_free(&w->timer);
	free(w);
	*pw = NULL;
}
