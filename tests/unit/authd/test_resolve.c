/* Unit tests for recipient resolution and alias expansion
   (authd/resolve.c) over an in-memory directory. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../../authd/resolve.h"
#include "test.h"

static const char *const domains[] = {"a.org", "b.org", "c.org", NULL};
static const char *const mailboxes[] = {"box@a.org", "x@a.org", "y@b.org",
					"self@a.org", NULL};
static const char *const aliases[][2] = {
    {"one@a.org", "box@a.org"},
    {"many@a.org", "box@a.org, y@b.org,far@remote.net\nx@a.org"},
    {"nest@a.org", "one@a.org,many@a.org"},
    {"loop1@a.org", "loop2@a.org"},
    {"loop2@a.org", "loop1@a.org"},
    {"self@a.org", "self@a.org,box@a.org"},
    {"@a.org", "box@a.org"},
    {"@b.org", "@a.org"},
    {"ghost@a.org", "nobody@c.org"},
    {NULL, NULL},
};
static bool fail_db;

static enum authd_status f_alias(void *ctx, const char *a, char **g)
{
	if (fail_db)
		return AUTHD_TEMPFAIL;
	for (int i = 0; aliases[i][0] != NULL; i++) {
		if (strcasecmp(aliases[i][0], a) == 0) {
			*g = strdup(aliases[i][1]);
			return AUTHD_FOUND;
		}
	}
	return AUTHD_NOTFOUND;
}

static enum authd_status f_mailbox(void *ctx, const char *a)
{
	for (int i = 0; mailboxes[i] != NULL; i++) {
		if (strcasecmp(mailboxes[i], a) == 0)
			return AUTHD_FOUND;
	}
	return AUTHD_NOTFOUND;
}

static enum authd_status f_domain(void *ctx, const char *d)
{
	for (int i = 0; domains[i] != NULL; i++) {
		if (strcasecmp(domains[i], d) == 0)
			return AUTHD_FOUND;
	}
	return AUTHD_NOTFOUND;
}

static const struct resolve_ops ops = {f_alias, f_mailbox, f_domain};

/* "m:box@a.org r:far@remote.net" style summary */
static char *summary(const struct resolve_result *r)
{
	static char s[2048];
	size_t o = 0;
	s[0] = '\0';
	for (size_t i = 0; i < r->n; i++) {
		const char *k = r->targets[i].kind == RESOLVE_MAILBOX  ? "m:"
				: r->targets[i].kind == RESOLVE_REMOTE ? "r:"
								       : "u:";
		int n = snprintf(s + o, sizeof(s) - o, "%s%s%s",
				 i > 0 ? " " : "", k, r->targets[i].address);
		if (n < 0 || (size_t)n >= sizeof(s) - o)
			break;
		o += (size_t)n;
	}
	return s;
}

static void check(const char *addr, enum authd_status want, bool alias,
		  const char *targets)
{
	struct resolve_result r;
	enum authd_status st = resolve_rcpt(&ops, NULL, addr, 8, &r);
	test_assert(st == want);
	if (st == AUTHD_FOUND) {
		test_assert(r.is_alias == alias);
		test_assert(strcmp(summary(&r), targets) == 0);
		if (strcmp(summary(&r), targets) != 0)
			fprintf(stderr, "  %s -> %s\n", addr, summary(&r));
	}
	resolve_result_free(&r);
}

int main(void)
{
	test_begin("mailbox");
	check("box@a.org", AUTHD_FOUND, false, "m:box@a.org");
	check("BOX@A.org", AUTHD_FOUND, false, "m:box@a.org");
	test_begin("alias");
	check("one@a.org", AUTHD_FOUND, true, "m:box@a.org");
	check("many@a.org", AUTHD_FOUND, true,
	      "m:box@a.org m:y@b.org r:far@remote.net m:x@a.org");
	check("nest@a.org", AUTHD_FOUND, true,
	      "m:box@a.org m:y@b.org r:far@remote.net m:x@a.org");
	check("self@a.org", AUTHD_FOUND, true, "m:self@a.org m:box@a.org");
	check("ghost@a.org", AUTHD_FOUND, true, "u:nobody@c.org");
	test_begin("catch-all");
	/* x@a.org is a mailbox: wins over the catch-all */
	check("x@a.org", AUTHD_FOUND, false, "m:x@a.org");
	check("whoever@a.org", AUTHD_FOUND, true, "m:box@a.org");
	/* @b.org -> @a.org keeps the local part, then a.org's catch-all */
	check("x@b.org", AUTHD_FOUND, true, "m:x@a.org");
	check("zz@b.org", AUTHD_FOUND, true, "m:box@a.org");
	test_begin("not found");
	check("a@remote.net", AUTHD_NOTFOUND, false, "");
	check("noat", AUTHD_NOTFOUND, false, "");
	check("@a.org", AUTHD_NOTFOUND, false, "");
	check("x@", AUTHD_NOTFOUND, false, "");
	test_begin("loop");
	check("loop1@a.org", AUTHD_TEMPFAIL, false, "");
	test_begin("tempfail");
	fail_db = true;
	check("box@a.org", AUTHD_TEMPFAIL, false, "");
	fail_db = false;
	return test_end();
}
