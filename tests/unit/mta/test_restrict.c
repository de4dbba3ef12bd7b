/* Unit tests for mta/restrict: mynetworks matching and restriction lists. */
#include <string.h>

#include "../../../mta/restrict.h"
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

int main(void)
{
	test_netlist();
	test_restrictions();
	return test_end();
}
