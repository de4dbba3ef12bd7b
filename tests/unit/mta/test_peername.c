/*
 * Unit tests for mta/peername: a fake DNS server on the same event loop
 * (a UDP socket on 127.0.0.1) answers PTR and A queries from a table, and
 * can stay silent, answer with a wrong ID, or count queries.  Covered: a
 * forward-confirmed name, no PTR (NXDOMAIN), a PTR whose A records do not
 * match, a numeric PTR name, waiters of one address sharing one lookup,
 * the deadline with a silent server, cancelling waiters (ASan), a spoofed
 * reply ignored, a result never delivered from inside the call, and the
 * readers of /etc/hosts and resolv.conf text.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../../mta/peername.h"
#include "test.h"

struct fake {
	int fd;
	struct ev_io *io;
	unsigned queries;
	bool silent, bad_id;
};

static struct fake dns;

/* name (dotted) -> answer: "PTR x" or "A 1.2.3.4" */
static const struct {
	const char *name;
	int type;
	const char *data;
} records[] = {
    {"10.0.0.127.in-addr.arpa", ns_t_ptr, "good.example"},
    {"good.example", ns_t_a, "127.0.0.10"},
    {"11.0.0.127.in-addr.arpa", ns_t_ptr, "liar.example"},
    {"liar.example", ns_t_a, "192.0.2.1"},
    {"12.0.0.127.in-addr.arpa", ns_t_ptr, "127.0.0.12"},
};

static size_t put_name(unsigned char *out, const char *name)
{
	size_t o = 0;
	while (*name) {
		size_t l = strcspn(name, ".");
		out[o++] = (unsigned char)l;
		memcpy(out + o, name, l);
		o += l;
		name += l;
		if (*name == '.')
			name++;
	}
	out[o++] = 0;
	return o;
}

static void fake_io(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	unsigned char q[512], r[1024];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n =
	    recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
	if (n < 17)
		return;
	dns.queries++;
	if (dns.silent)
		return;
	/* the question: labels, type, class */
	char name[256];
	size_t o = 0, p = 12;
	while (p < (size_t)n && q[p] != 0 && o + q[p] + 1 < sizeof(name)) {
		if (o > 0)
			name[o++] = '.';
		memcpy(name + o, q + p + 1, q[p]);
		o += q[p];
		p += (size_t)q[p] + 1;
	}
	name[o] = '\0';
	size_t qend = p + 5;
	int type = q[p + 1] << 8 | q[p + 2];
	memcpy(r, q, qend);
	r[2] = 0x81;
	r[3] = 0x80;
	size_t rl = qend, an = 0;
	for (size_t i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
		if (strcmp(records[i].name, name) != 0 ||
		    records[i].type != type)
			continue;
		r[rl++] = 0xc0;
		r[rl++] = 12;
		r[rl++] = 0;
		r[rl++] = (unsigned char)type;
		r[rl++] = 0;
		r[rl++] = 1;
		memset(r + rl, 0, 4);
		rl += 4;
		unsigned char rd[256];
		size_t rdl;
		if (type == ns_t_a) {
			inet_pton(AF_INET, records[i].data, rd);
			rdl = 4;
		} else {
			rdl = put_name(rd, records[i].data);
		}
		r[rl++] = 0;
		r[rl++] = (unsigned char)rdl;
		memcpy(r + rl, rd, rdl);
		rl += rdl;
		an++;
	}
	r[6] = 0;
	r[7] = (unsigned char)an;
	if (an == 0)
		r[3] = 0x83; /* NXDOMAIN */
	if (dns.bad_id)
		r[1] ^= 0x55;
	(void)sendto(fd, r, rl, 0, (struct sockaddr *)&from, fl);
}

struct result {
	struct ev_loop *loop;
	int calls;
	enum dns_status st, ptr;
	char name[256];
	bool *inside; /* set while peername_lookup runs */
	int *pending;
};

static void on_result(void *ctx, enum dns_status st, enum dns_status ptr,
		      const char *name)
{
	struct result *r = ctx;
	if (r->inside != NULL)
		test_assert(!*r->inside);
	r->calls++;
	r->st = st;
	r->ptr = ptr;
	snprintf(r->name, sizeof(r->name), "%s", name);
	if (r->pending != NULL && --*r->pending == 0)
		ev_loop_stop(r->loop);
}

static void on_timeout(struct ev_timer *t, void *ctx)
{
	ev_loop_stop(ctx);
}

static void run(struct ev_loop *loop, unsigned ms)
{
	struct ev_timer *t = ev_timer_new(loop, ms, on_timeout, loop);
	test_assert(ev_loop_run(loop) == 0);
	ev_timer_free(&t);
}

/* One lookup of addr, run to its end. */
static struct result lookup(struct ev_loop *loop, struct peername *pn,
			    const char *addr, unsigned timeout_ms)
{
	static bool inside;
	int pending = 1;
	struct result r = {
	    .loop = loop, .inside = &inside, .pending = &pending};
	inside = true;
	struct peername_wait *w =
	    peername_lookup(pn, addr, timeout_ms, on_result, &r);
	inside = false;
	test_assert(w != NULL);
	run(loop, timeout_ms + 3000);
	test_assert(r.calls == 1);
	return r;
}

int main(void)
{
	struct ev_loop *loop = ev_loop_new();
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	char server[64];

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	dns.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	test_assert(dns.fd >= 0);
	test_assert(bind(dns.fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	test_assert(getsockname(dns.fd, (struct sockaddr *)&sa, &sl) == 0);
	snprintf(server, sizeof(server), "127.0.0.1:%u", ntohs(sa.sin_port));
	test_assert(dns_set_server(server));
	dns.io = ev_io_new(loop, dns.fd, EV_READ, fake_io, NULL);
	struct peername *pn = peername_new(loop);

	test_begin("forward-confirmed name");
	struct result r = lookup(loop, pn, "127.0.0.10", 2000);
	test_assert(r.st == DNS_OK && r.ptr == DNS_OK);
	test_assert(strcmp(r.name, "good.example") == 0);
	test_assert(dns.queries == 2);

	test_begin("no PTR, a PTR that does not confirm, a numeric PTR");
	r = lookup(loop, pn, "127.0.0.9", 2000);
	test_assert(r.st == DNS_NOTFOUND && r.ptr == DNS_NOTFOUND);
	test_assert(r.name[0] == '\0');
	r = lookup(loop, pn, "127.0.0.11", 2000);
	test_assert(r.st == DNS_NOTFOUND && r.ptr == DNS_OK);
	test_assert(strcmp(r.name, "liar.example") == 0);
	r = lookup(loop, pn, "127.0.0.12", 2000);
	test_assert(r.st == DNS_NOTFOUND && r.ptr == DNS_NOTFOUND);
	r = lookup(loop, pn, "not an address", 2000);
	test_assert(r.st == DNS_NOTFOUND);

	test_begin("one lookup per address");
	dns.queries = 0;
	int pending = 5;
	struct result rs[5];
	for (int i = 0; i < 5; i++) {
		rs[i] = (struct result){.loop = loop, .pending = &pending};
		test_assert(peername_lookup(pn, "127.0.0.10", 2000, on_result,
					    &rs[i]) != NULL);
	}
	run(loop, 3000);
	test_assert(dns.queries == 2);
	for (int i = 0; i < 5; i++)
		test_assert(rs[i].calls == 1 && rs[i].st == DNS_OK);

	test_begin("the deadline with a silent server");
	dns.silent = true;
	r = lookup(loop, pn, "127.0.0.10", 300);
	test_assert(r.st == DNS_RETRY && r.ptr == DNS_RETRY);

	test_begin("cancelled waiters");
	pending = 1;
	struct result c1 = {.loop = loop, .pending = &pending};
	struct result c2 = {.loop = loop, .pending = &pending};
	struct peername_wait *w1 =
	    peername_lookup(pn, "127.0.0.10", 300, on_result, &c1);
	struct peername_wait *w2 =
	    peername_lookup(pn, "127.0.0.10", 300, on_result, &c2);
	peername_cancel(&w1);
	test_assert(w1 == NULL);
	run(loop, 2000);
	test_assert(c1.calls == 0 && c2.calls == 1);
	(void)w2; /* delivered: no longer ours */
	struct peername_wait *w3 =
	    peername_lookup(pn, "127.0.0.10", 300, on_result, &c1);
	peername_cancel(&w3); /* the last waiter: the lookup goes too */
	peername_cancel(&w3);
	run(loop, 500);
	test_assert(c1.calls == 0);

	test_begin("a reply with another ID is ignored");
	dns.silent = false;
	dns.bad_id = true;
	r = lookup(loop, pn, "127.0.0.10", 500);
	test_assert(r.st == DNS_RETRY);
	dns.bad_id = false;
	r = lookup(loop, pn, "127.0.0.10", 2000);
	test_assert(r.st == DNS_OK);

	test_begin("/etc/hosts text");
	static const char hosts[] =
	    "# comment 127.0.0.10 commented.example\n"
	    "\n"
	    "127.0.0.1\tlocalhost\n"
	    "  127.0.0.10   first.example alias.example # c\n"
	    "127.0.0.10 second.example\n"
	    "127.0.0.11\n"
	    "127.0.0.12 1.2.3.4\n"
	    "::1 ip6-localhost ip6-loopback\r\n"
	    "127.0.0.13 bad_but_ok-name\n"
	    "127.0.0.14#x.example\n"
	    "127.0.0.15 "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\n"
	    "127.0.0.16 last.example";
	static const struct {
		const char *addr;
		const char *want; /* NULL: not found */
	} hc[] = {
	    {"127.0.0.1", "localhost"},	    {"127.0.0.10", "first.example"},
	    {"127.0.0.11", NULL},	    {"127.0.0.12", NULL},
	    {"::1", "ip6-localhost"},	    {"127.0.0.13", "bad_but_ok-name"},
	    {"127.0.0.14", NULL},	    {"127.0.0.15", NULL},
	    {"127.0.0.16", "last.example"}, {"127.0.0.17", NULL},
	};
	for (size_t i = 0; i < sizeof(hc) / sizeof(hc[0]); i++) {
		unsigned char bin[16];
		size_t bl = strchr(hc[i].addr, ':') ? 16 : 4;
		char name[256] = "x";
		test_assert(inet_pton(bl == 16 ? AF_INET6 : AF_INET, hc[i].addr,
				      bin) == 1);
		bool found =
		    peername_hosts_find(hosts, bin, bl, name, sizeof(name));
		test_assert(found == (hc[i].want != NULL));
		if (found && hc[i].want != NULL)
			test_assert(strcmp(name, hc[i].want) == 0);
	}
	unsigned char lo[4] = {127, 0, 0, 10};
	char tiny[8];
	test_assert(!peername_hosts_find(hosts, lo, 4, tiny, sizeof(tiny)));
	test_assert(!peername_hosts_find("", lo, 4, tiny, sizeof(tiny)));

	test_begin("resolv.conf text");
	struct sockaddr_storage sv[3];
	static const char rc[] = "search example.com\n"
				 "nameserver\n"
				 "nameserver   \n"
				 "nameserverx 192.0.2.9\n"
				 "# nameserver 192.0.2.8\n"
				 " nameserver 192.0.2.1 # first\n"
				 "nameserver fe80::1%eth0\n"
				 "nameserver\t2001:db8::53\r\n"
				 "nameserver 192.0.2.300\n"
				 "nameserver 192.0.2.2;x\n"
				 "nameserver 192.0.2.3\n"
				 "options edns0\n";
	test_assert(peername_resolv_parse(rc, sv, 3) == 3);
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&sv[0];
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&sv[1];
	char t[INET6_ADDRSTRLEN];
	test_assert(s4->sin_family == AF_INET && ntohs(s4->sin_port) == 53);
	test_assert(strcmp(inet_ntop(AF_INET, &s4->sin_addr, t, sizeof(t)),
			   "192.0.2.1") == 0);
	test_assert(s6->sin6_family == AF_INET6 && ntohs(s6->sin6_port) == 53);
	test_assert(strcmp(inet_ntop(AF_INET6, &s6->sin6_addr, t, sizeof(t)),
			   "2001:db8::53") == 0);
	s4 = (const struct sockaddr_in *)&sv[2];
	test_assert(strcmp(inet_ntop(AF_INET, &s4->sin_addr, t, sizeof(t)),
			   "192.0.2.2") == 0);
	test_assert(peername_resolv_parse(rc, sv, 1) == 1);
	test_assert(peername_resolv_parse("", sv, 3) == 0);
	test_assert(peername_resolv_parse("nameserver", sv, 3) == 0);

	test_begin("freed with a lookup in flight");
	dns.silent = true;
	struct peername_wait *w4 =
	    peername_lookup(pn, "127.0.0.10", 300, on_result, &c1);
	(void)w4;
	peername_free(&pn);
	test_assert(pn == NULL);

	ev_io_free(&dns.io);
	close(dns.fd);
	ev_loop_free(&loop);
	return test_end();
}
