/* Unit tests for mta/restrict: mynetworks matching and restriction lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../mta/dnscheck.h"
#include "../../../mta/maps.h"
#include "../../../mta/restrict.h"
#include "../../../mta/sender_login.h"
#include "test.h"

static void test_netlist(void)
{
	const char *items[] = {"127.0.0.0/8", "[::1]/128", "192.0.2.0/25",
			       "10.1.2.3", "2001:db8::/32"};
	const char *bad = NULL;
	test_begin("netlist");
	struct netlist *nl = netlist_parse(items, 5, &bad);
	test_assert(nl != NULL);
	test_assert(netlist_match(nl, "127.0.0.1"));
	test_assert(netlist_match(nl, "127.255.255.255"));
	test_assert(!netlist_match(nl, "128.0.0.1"));
	test_assert(netlist_match(nl, "::1"));
	test_assert(!netlist_match(nl, "::2"));
	test_assert(netlist_match(nl, "192.0.2.127"));
	test_assert(!netlist_match(nl, "192.0.2.128"));
	test_assert(netlist_match(nl, "10.1.2.3"));
	test_assert(!netlist_match(nl, "10.1.2.4"));
	test_assert(netlist_match(nl, "2001:db8:1::5"));
	test_assert(netlist_match(nl, "::ffff:127.0.0.1"));
	test_assert(!netlist_match(nl, "garbage"));
	test_assert(!netlist_match(nl, ""));
	netlist_free(&nl);
	test_assert(nl == NULL);
	const char *bad_items[] = {"127.0.0.0/33"};
	test_assert(netlist_parse(bad_items, 1, &bad) == NULL);
	test_assert(strcmp(bad, "127.0.0.0/33") == 0);
	const char *bad2[] = {"example.com"};
	test_assert(netlist_parse(bad2, 1, &bad) == NULL);
	nl = netlist_parse(NULL, 0, &bad);
	test_assert(nl != NULL && !netlist_match(nl, "127.0.0.1"));
	netlist_free(&nl);
}

static void test_restrictions(void)
{
	const char *def[] = {"permit_mynetworks", "permit_sasl_authenticated",
			     "reject_unauth_destination"};
	const char *bad = NULL;
	char rep[RESTRICT_REPLY_MAX];
	test_begin("restrictions");
	struct restrict_list *rl = restrict_parse(def, 3, &bad);
	test_assert(rl != NULL);
	struct restrict_ctx c = {
	    .helo = "x", .sender = "a@b.example", .rcpt = "x@remote.example"};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_REJECT);
	test_assert(strcmp(rep, "554 5.7.1 <x@remote.example>: Relay access "
				"denied") == 0);
	c.mynetworks = true;
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_PERMIT);
	c.mynetworks = false;
	c.authenticated = true;
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_PERMIT);
	c.authenticated = false;
	c.rcpt_local = true;
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_DUNNO);
	restrict_free(&rl);

	const char *fq[] = {"reject_non_fqdn_recipient",
			    "reject_non_fqdn_sender", "permit"};
	rl = restrict_parse(fq, 3, &bad);
	test_assert(rl != NULL);
	c.rcpt = "x@localhost";
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_REJECT);
	test_assert(strncmp(rep,
			    "504 5.5.2 <x@localhost>: Recipient address "
			    "rejected: need fully-qualified address",
			    200) == 0);
	c.rcpt = "x@a.example";
	c.sender = "";
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_PERMIT);
	restrict_free(&rl);

	const char *unknown[] = {"permit_mynetworks", "check_foo_access"};
	test_assert(restrict_parse(unknown, 2, &bad) == NULL);
	test_assert(strcmp(bad, "check_foo_access") == 0);
	rl = restrict_parse(NULL, 0, &bad);
	test_assert(rl != NULL && restrict_eval(rl, &c, rep) == RESTRICT_DUNNO);
	restrict_free(&rl);
}

static struct restrict_list *mk(enum restrict_stage st, const char *text)
{
	static char copy[4096];
	const char *items[RESTRICT_MAX];
	size_t n = 0;
	char err[600];
	struct restrict_opts o;
	restrict_opts_default(&o);
	snprintf(copy, sizeof(copy), "%s", text);
	for (char *p = copy; *p && n < RESTRICT_MAX;) {
		p += strspn(p, " ,");
		if (*p == '\0')
			break;
		items[n++] = p;
		p += strcspn(p, " ,");
		if (*p)
			*p++ = '\0';
	}
	struct restrict_list *rl =
	    restrict_parse_list(items, n, st, &o, err, sizeof(err));
	if (rl == NULL)
		fprintf(stderr, "parse: %s\n", err);
	return rl;
}

static void test_stages(void)
{
	char rep[RESTRICT_REPLY_MAX];
	test_begin("stages and generic replies");
	struct restrict_list *rl =
	    mk(RESTRICT_RELAY, "permit_mynetworks, permit_sasl_authenticated, "
			       "reject_unauth_destination");
	test_assert(rl != NULL && restrict_has_relay_guard(rl));
	struct restrict_ctx c = {.client_name = "unknown",
				 .client_addr = "192.0.2.1",
				 .helo = "h.example",
				 .sender = "a@b.example",
				 .rcpt = "v@remote.example"};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_REJECT);
	test_assert(strcmp(rep, "554 5.7.1 <v@remote.example>: Relay access "
				"denied") == 0);
	restrict_free(&rl);

	static const struct {
		enum restrict_stage st;
		const char *list, *reply;
	} cases[] = {
	    {RESTRICT_CLIENT, "reject",
	     "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access "
	     "denied"},
	    {RESTRICT_HELO, "defer",
	     "450 4.7.1 <h.example>: Helo command rejected: Try again later"},
	    {RESTRICT_SENDER, "reject",
	     "554 5.7.1 <a@b.example>: Sender address rejected: Access denied"},
	    {RESTRICT_DATA, "reject",
	     "554 5.7.1 <DATA>: Data command rejected: Access denied"},
	    {RESTRICT_EOD, "reject",
	     "554 5.7.1 <END-OF-MESSAGE>: End-of-data rejected: Access "
	     "denied"},
	    {RESTRICT_HELO, "reject_non_fqdn_helo_hostname reject",
	     "554 5.7.1 <h.example>: Helo command rejected: Access denied"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rl = mk(cases[i].st, cases[i].list);
		struct restrict_ctx cc = c;
		test_assert(rl != NULL);
		test_assert(restrict_eval(rl, &cc, rep) == RESTRICT_REJECT);
		test_assert(strcmp(rep, cases[i].reply) == 0);
		restrict_free(&rl);
	}

	/* warn_if_reject: a logged event, then on */
	rl =
	    mk(RESTRICT_CLIENT, "warn_if_reject reject_non_fqdn_sender permit");
	struct restrict_ctx w = c;
	w.sender = "a@localhost";
	test_assert(restrict_eval(rl, &w, rep) == RESTRICT_PERMIT);
	test_assert(w.nevents == 1);
	test_assert(strcmp(w.events[0].what, "reject_warning") == 0);
	test_assert(strncmp(w.events[0].text, "504 5.5.2 <a@localhost>", 23) ==
		    0);
	restrict_free(&rl);

	/* pipelining */
	rl = mk(RESTRICT_DATA, "reject_unauth_pipelining");
	struct restrict_ctx p = c;
	test_assert(restrict_eval(rl, &p, rep) == RESTRICT_DUNNO);
	p.ill_pipelining = true;
	test_assert(restrict_eval(rl, &p, rep) == RESTRICT_REJECT);
	test_assert(strcmp(rep,
			   "503 5.5.0 <DATA>: Data command rejected: "
			   "Improper use of SMTP command pipelining") == 0);
	restrict_free(&rl);

	/* parse errors */
	test_assert(mk(RESTRICT_CLIENT, "check_client_access") == NULL);
	test_assert(mk(RESTRICT_CLIENT, "reject_rbl_client nodot") == NULL);
	test_assert(
	    mk(RESTRICT_CLIENT, "check_client_access mysql:/etc/x.cf") == NULL);
	test_assert(mk(RESTRICT_CLIENT,
		       "check_client_access hash:/nonexistent/x") == NULL);
	test_assert(mk(RESTRICT_CLIENT, "permit_foo") == NULL);
	/* reply filters: d.d.d.d, each d a number or [n;n..m] */
	static const char *const good_filters[] = {
	    "reject_rbl_client z.test=127.0.0.2",
	    "reject_rbl_client z.test=127.0.0.[2..11]",
	    "reject_rbl_client z.test=127.0.[0;1].[2;4..6;255]",
	};
	for (size_t i = 0; i < 3; i++) {
		rl = mk(RESTRICT_CLIENT, good_filters[i]);
		test_assert(rl != NULL);
		restrict_free(&rl);
	}
	static const char *const bad_filters[] = {
	    "reject_rbl_client z.test=127.0.0",
	    "reject_rbl_client z.test=127.0.0.256",
	    "reject_rbl_client z.test=127.0.0.[2..x]",
	    "reject_rbl_client z.test=127.0.0.[5..2]",
	    "reject_rbl_client z.test=127.0.0.[2",
	    "reject_rbl_client z.test=127.0.0.2.",
	    "reject_rbl_client z.test=",
	    "reject_rbl_client z.test=1234.0.0.1",
	};
	for (size_t i = 0; i < sizeof(bad_filters) / sizeof(bad_filters[0]);
	     i++)
		test_assert(mk(RESTRICT_CLIENT, bad_filters[i]) == NULL);
	rl = mk(RESTRICT_RECIPIENT, "permit");
	test_assert(rl != NULL && !restrict_has_relay_guard(rl));
	restrict_free(&rl);
}

/* check_*_access against a table file, with access(5) lookup order */
static void test_access(void)
{
	char rep[RESTRICT_REPLY_MAX];
	char path[] = "/tmp/youju-test-access-XXXXXX";
	test_begin("access tables");
	int fd = mkstemp(path);
	test_assert(fd >= 0);
	const char text[] = "a@x.example REJECT\n"
			    "x.example 550 5.7.0 domain\n"
			    "quiet@x.example DUNNO\n"
			    "p.example DEFER_IF_PERMIT\n"
			    "u@ OK\n"
			    "<> 451 4.7.9 no null\n"
			    "192.0.2 REJECT net\n"
			    "bad.example DISCARD\n"
			    "held.example HOLD held here\n"
			    "tag.example PREPEND X-Tag: 1\n"
			    "mixed.example permit_mynetworks reject\n";
	test_assert(write(fd, text, sizeof(text) - 1) ==
		    (ssize_t)(sizeof(text) - 1));
	close(fd);
	char list[200];
	snprintf(list, sizeof(list), "check_sender_access hash:%s", path);
	struct restrict_list *rl = mk(RESTRICT_SENDER, list);
	test_assert(rl != NULL);
	static const struct {
		const char *sender;
		enum restrict_result r;
		const char *reply;
	} cases[] = {
	    {"a@x.example", RESTRICT_REJECT,
	     "554 5.7.1 <a@x.example>: Sender address rejected: Access "
	     "denied"},
	    {"b@x.example", RESTRICT_REJECT,
	     "550 5.7.0 <b@x.example>: Sender address rejected: domain"},
	    {"b@sub.x.example", RESTRICT_REJECT, "550 5.7.0"},
	    {"quiet@x.example", RESTRICT_DUNNO, NULL},
	    {"u@other.example", RESTRICT_PERMIT, NULL},
	    {"U@OTHER.EXAMPLE", RESTRICT_PERMIT, NULL},
	    {"", RESTRICT_REJECT,
	     "451 4.7.9 <>: Sender address rejected: "
	     "no null"},
	    {"v@other.example", RESTRICT_DUNNO, NULL},
	    {"v@bad.example", RESTRICT_PERMIT, NULL},
	    {"v@mixed.example", RESTRICT_REJECT,
	     "554 5.7.1 <v@mixed.example>: Sender address rejected: Access "
	     "denied"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct restrict_ctx c = {.sender = cases[i].sender};
		enum restrict_result r = restrict_eval(rl, &c, rep);
		test_assert(r == cases[i].r);
		if (cases[i].reply != NULL)
			test_assert(strncmp(rep, cases[i].reply,
					    strlen(cases[i].reply)) == 0);
	}
	struct restrict_ctx c = {.sender = "z@bad.example"};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_PERMIT);
	test_assert(c.discard && c.nevents == 1);
	test_assert(strcmp(c.events[0].text, "<z@bad.example>: Sender address "
					     "triggers DISCARD action") == 0);
	c = (struct restrict_ctx){.sender = "z@held.example"};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_DUNNO);
	test_assert(c.hold && strcmp(c.events[0].text,
				     "<z@held.example>: Sender address held "
				     "here") == 0);
	c = (struct restrict_ctx){.sender = "z@tag.example"};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_DUNNO);
	test_assert(c.nprepend == 1 && strcmp(c.prepend[0], "X-Tag: 1") == 0);
	c = (struct restrict_ctx){.sender = "z@p.example"};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_DUNNO);
	test_assert(restrict_finish(&c, rep));
	test_assert(strncmp(rep, "450 4.7.1 <z@p.example>", 23) == 0);
	c = (struct restrict_ctx){.sender = "z@mixed.example",
				  .mynetworks = true};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_PERMIT);
	restrict_free(&rl);

	/* client: name, then address and its prefixes */
	snprintf(list, sizeof(list), "check_client_access texthash:%s", path);
	rl = mk(RESTRICT_CLIENT, list);
	c = (struct restrict_ctx){.client_name = "mx.x.example",
				  .client_addr = "198.51.100.1"};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_REJECT);
	test_assert(strcmp(rep, "550 5.7.0 <mx.x.example[198.51.100.1]>: "
				"Client host rejected: domain") == 0);
	c = (struct restrict_ctx){.client_name = "unknown",
				  .client_addr = "192.0.2.77"};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_REJECT);
	test_assert(strcmp(rep, "554 5.7.1 <unknown[192.0.2.77]>: Client "
				"host rejected: net") == 0);
	c = (struct restrict_ctx){.client_name = "unknown",
				  .client_addr = "192.0.3.77"};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_DUNNO);
	restrict_free(&rl);
	unlink(path);
}

/* access(5) with recipient_delimiter: user+ext@domain, user@domain,
   domain, user+ext@, user@ */
static void test_extensions(void)
{
	char rep[RESTRICT_REPLY_MAX], err[600];
	char path[] = "/tmp/youju-test-ext-XXXXXX";
	test_begin("address extensions");
	int fd = mkstemp(path);
	test_assert(fd >= 0);
	const char text[] = "u+full@x.example 501 full\n"
			    "u@x.example 502 stripped\n"
			    "y.example 503 domain\n"
			    "w+e@ 504 ext-user\n"
			    "w@ 505 user\n"
			    "+lead@z.example 506 leading\n";
	test_assert(write(fd, text, sizeof(text) - 1) ==
		    (ssize_t)(sizeof(text) - 1));
	close(fd);
	char spec[100];
	snprintf(spec, sizeof(spec), "hash:%s", path);
	const char *items[] = {"check_recipient_access", spec};
	struct restrict_opts o;
	restrict_opts_default(&o);
	snprintf(o.recipient_delimiter, sizeof(o.recipient_delimiter), "+-");
	struct restrict_list *rl = restrict_parse_list(
	    items, 2, RESTRICT_RECIPIENT, &o, err, sizeof(err));
	test_assert(rl != NULL);
	static const struct {
		const char *rcpt;
		const char *code; /* NULL: no decision */
	} cases[] = {
	    {"u+full@x.example", "501"},  {"u+other@x.example", "502"},
	    {"u-other@x.example", "502"}, {"u@x.example", "502"},
	    {"u+a@y.example", "503"},	  {"w+e@q.example", "504"},
	    {"w+f@q.example", "505"},	  {"w@q.example", "505"},
	    {"+lead@z.example", "506"},	  {"v+lead@z.example", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct restrict_ctx c = {.rcpt = cases[i].rcpt};
		enum restrict_result r = restrict_eval(rl, &c, rep);
		if (cases[i].code == NULL)
			test_assert(r == RESTRICT_DUNNO);
		else
			test_assert(r == RESTRICT_REJECT &&
				    strncmp(rep, cases[i].code, 3) == 0);
	}
	restrict_free(&rl);
	/* without a delimiter the extension is part of the user name */
	restrict_opts_default(&o);
	rl = restrict_parse_list(items, 2, RESTRICT_RECIPIENT, &o, err,
				 sizeof(err));
	struct restrict_ctx c = {.rcpt = "u+other@x.example"};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_DUNNO);
	restrict_free(&rl);
	unlink(path);
}

/* restrict_nonblocking() at load, would_block at run time (smtpd's RCPT
   on the loop thread) */
static void test_nonblocking(void)
{
	char rep[RESTRICT_REPLY_MAX];
	char path[] = "/tmp/youju-test-nb-XXXXXX";
	test_begin("lists that may run on a loop");
	map_set_authd_socket("/nonexistent/socket"); /* a mysql: table */
	int fd = mkstemp(path);
	const char text[] = "mixed.example permit_mynetworks reject\n"
			    "x.example REJECT\n";
	test_assert(fd >= 0 && write(fd, text, sizeof(text) - 1) ==
				   (ssize_t)(sizeof(text) - 1));
	close(fd);
	static const struct {
		const char *list;
		bool nb;
	} lists[] = {
	    {"permit_mynetworks, permit_sasl_authenticated, "
	     "reject_unauth_destination",
	     true},
	    {"reject_non_fqdn_recipient reject_unknown_recipient_domain "
	     "reject_unknown_client_hostname reject_invalid_helo_hostname "
	     "reject_authenticated_sender_login_mismatch "
	     "reject_unauth_pipelining defer_if_permit warn_if_reject reject",
	     true},
	    {"reject_rbl_client zen.example", false},
	    {"reject_rhsbl_sender dbl.example", false},
	    {"reject_unknown_sender_domain", false},
	    {"reject_unknown_helo_hostname", false},
	    {"check_policy_service inet:127.0.0.1:9", false},
	    {"check_sender_access mysql:/nonexistent/t.cf", false},
	    {"", true},
	};
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		struct restrict_list *rl =
		    mk(RESTRICT_RECIPIENT, lists[i].list);
		test_assert(rl != NULL &&
			    restrict_nonblocking(rl) == lists[i].nb);
		restrict_free(&rl);
	}
	test_assert(restrict_nonblocking(NULL));
	char list[200];
	snprintf(list, sizeof(list), "check_sender_access hash:%s", path);
	struct restrict_list *rl = mk(RESTRICT_SENDER, list);
	test_assert(rl != NULL && restrict_nonblocking(rl));

	test_begin("would_block: a table value that is a list");
	struct restrict_ctx c = {.sender = "a@mixed.example", .no_block = true};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_DUNNO);
	test_assert(c.would_block);
	c = (struct restrict_ctx){.sender = "a@x.example", .no_block = true};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_REJECT);
	test_assert(!c.would_block);
	c = (struct restrict_ctx){.sender = "a@mixed.example"};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_REJECT);
	restrict_free(&rl);
	unlink(path);

	test_begin("would_block: the client's name not known yet");
	rl = mk(RESTRICT_CLIENT, "reject_unknown_client_hostname, reject");
	c = (struct restrict_ctx){.client_addr = "192.0.2.1", .no_block = true};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_DUNNO);
	test_assert(c.would_block); /* stopped: the reject did not run */
	c = (struct restrict_ctx){.client_addr = "192.0.2.1",
				  .no_block = true,
				  .client_dns = 1 + DNS_NOTFOUND,
				  .client_rdns = 1 + DNS_NOTFOUND};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_REJECT);
	test_assert(!c.would_block);
	test_assert(strncmp(rep, "450 4.7.25 Client host rejected", 31) == 0);
	restrict_free(&rl);

	test_begin("would_block: a recipient domain not hosted here");
	rl = mk(RESTRICT_RECIPIENT, "reject_unknown_recipient_domain");
	c = (struct restrict_ctx){
	    .rcpt = "a@hosted.example", .rcpt_local = true, .no_block = true};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_DUNNO &&
		    !c.would_block);
	c = (struct restrict_ctx){.rcpt = "a@remote.example", .no_block = true};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_DUNNO &&
		    c.would_block);
	restrict_free(&rl);

	test_begin("would_block: the sender login of an authenticated client");
	struct sender_login_maps lm = {.extmail = true};
	rl = mk(RESTRICT_SENDER, "reject_authenticated_sender_login_mismatch");
	c = (struct restrict_ctx){
	    .sender = "a@x.example", .login_maps = &lm, .no_block = true};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_DUNNO &&
		    !c.would_block);
	c = (struct restrict_ctx){.sender = "a@x.example",
				  .sasl_username = "b@x.example",
				  .login_maps = &lm,
				  .no_block = true};
	test_assert(restrict_eval(rl, &c, rep) == RESTRICT_DUNNO &&
		    c.would_block);
	restrict_free(&rl);
}

int main(void)
{
	test_netlist();
	test_restrictions();
	test_stages();
	test_extensions();
	test_access();
	test_nonblocking();
	return test_end();
}
