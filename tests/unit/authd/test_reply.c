/* Unit tests for reply formatting, options merge and quota normalisation
   (authd/reply.c). */
#include <stdlib.h>
#include <string.h>

#include "../../../authd/reply.h"
#include "extmail_sql.h"
#include "test.h"

static char *merge(const char *acct, const char *defs)
{
	struct buf b;
	buf_init(&b, 1024);
	int rc = authd_options_merge(acct, defs, &b);
	char *s = strdup(rc == 0 ? buf_cstr(&b) : "<error>");
	buf_deinit(&b);
	return s;
}

static void test_merge(void)
{
	static const struct {
		const char *acct, *defs, *want;
	} cases[] = {
	    {"disableshared=1", "disablewebmail=1,disableshared=0",
	     "disableshared=1,disablewebmail=1"},
	    {"", "a=1,b=2", "a=1,b=2"},
	    {"a=1", NULL, "a=1"},
	    {"a=1", "", "a=1"},
	    {"", "", ""},
	    {"a=1", " b=2 , a=3 ,c", "a=1,b=2,c"},
	    {"ab=1", "a=2", "ab=1,a=2"},
	    {"x=1", "x", "x=1"},
	    {"x=1\nEVIL=1", "y=1", "x=1,y=1"},
	};
	test_begin("options merge");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = merge(cases[i].acct, cases[i].defs);
		test_assert(strcmp(got, cases[i].want) == 0);
		if (strcmp(got, cases[i].want) != 0)
			fprintf(stderr, "  case %zu: got '%s'\n", i, got);
		free(got);
	}
}

static void test_quota(void)
{
	static const struct {
		const char *in, *want;
		bool bad;
	} cases[] = {
	    {"104857600", "104857600S", false},
	    {"104857600S", "104857600S", false},
	    {"104857600S,1000C", "104857600S,1000C", false},
	    {"1000C", "1000C", false},
	    {"0S,1000C", "1000C", false},
	    {"5000S, 10C", "5000S,10C", false},
	    {" 5242880 ", "5242880S", false},
	    {"0", NULL, false},
	    {"0S", NULL, false},
	    {"", NULL, false},
	    {NULL, NULL, false},
	    {"abc", NULL, true},
	    {"10M", NULL, true},
	    {"100S,", NULL, true},
	    {"100S,200S", NULL, true},
	    {"99999999999999999999", NULL, true},
	};
	test_begin("quota");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool bad = false;
		char *q = extmail_quota_definition(cases[i].in, &bad);
		if (cases[i].want == NULL)
			test_assert(q == NULL);
		else
			test_assert(q != NULL && strcmp(q, cases[i].want) == 0);
		test_assert(bad == cases[i].bad);
		free(q);
	}
}

static void fill(struct authd_user *u)
{
	memset(u, 0, sizeof(*u));
	u->address = strdup("alice@example.com");
	u->passwd = strdup("$1$qmtzvHBp$7K7qqZevGFZMlO497CZCw1");
	u->name = strdup("Alice Example, Sales");
	u->home = strdup("/var/vmail/example.com/alice");
	u->maildir = strdup("/var/vmail/example.com/alice/Maildir");
	u->quota = strdup("104857600S,1000C");
	u->uid = 5000;
	u->gid = 5000;
	u->disabled = AUTHD_DIS_IMAP;
	u->mailbox_active = u->domain_active = true;
}

static void test_user(void)
{
	struct authd_user u;
	struct buf b;
	test_begin("user reply");
	fill(&u);
	buf_init(&b, 8192);
	test_assert(authd_reply_user(&b, &u, "secret", true, true, true,
				     "disablewebmail=1,disableshared=0") == 0);
	const char *want =
	    "UID=5000\nGID=5000\nHOME=/var/vmail/example.com/alice\n"
	    "ADDRESS=alice@example.com\nNAME=Alice Example\n"
	    "MAILDIR=/var/vmail/example.com/alice/Maildir\n"
	    "QUOTA=104857600S,1000C\n"
	    "PASSWD=$1$qmtzvHBp$7K7qqZevGFZMlO497CZCw1\nPASSWD2=secret\n"
	    "OPTIONS=disablesmtpd=0,disablesmtp=0,disablewebmail=0,"
	    "disablenetdisk=0,disableimap=1,disablepop3=0,"
	    "disableshared=0\n.\n";
	test_assert(strcmp(buf_cstr(&b), want) == 0);
	if (strcmp(buf_cstr(&b), want) != 0)
		fprintf(stderr, "%s", buf_cstr(&b));

	/* CRAM: no NAME QUOTA PASSWD; LF in a value cannot forge keys */
	buf_reset(&b);
	free(u.home);
	u.home = strdup("/h\nUID=0");
	free(u.maildir);
	u.maildir = NULL;
	u.netdiskquota = strdup("5242880S");
	test_assert(authd_reply_user(&b, &u, NULL, false, false, false, NULL) ==
		    0);
	test_assert(strcmp(buf_cstr(&b),
			   "UID=5000\nGID=5000\nHOME=/h\n"
			   "ADDRESS=alice@example.com\n"
			   "OPTIONS=disablesmtpd=0,disablesmtp=0,"
			   "disablewebmail=0,disablenetdisk=0,disableimap=1,"
			   "disablepop3=0,netdiskquota=5242880S\n.\n") == 0);

	/* ENUMERATE record */
	buf_reset(&b);
	free(u.home);
	u.home = strdup("/h");
	free(u.netdiskquota);
	u.netdiskquota = NULL;
	test_assert(authd_reply_enum(&b, &u, NULL) == 0);
	test_assert(strcmp(buf_cstr(&b),
			   "alice@example.com\t5000\t5000\t/h\t\t"
			   "disablesmtpd=0,disablesmtp=0,disablewebmail=0,"
			   "disablenetdisk=0,disableimap=1,disablepop3=0\n") ==
		    0);
	/* a TAB in a field skips the record */
	buf_reset(&b);
	free(u.home);
	u.home = strdup("/h\tx");
	test_assert(authd_reply_enum(&b, &u, NULL) == 0);
	test_assert(b.len == 0);

	/* a full buffer is an error, not a short reply */
	struct buf small;
	buf_init(&small, 40);
	test_assert(authd_reply_user(&small, &u, NULL, true, true, true, NULL) <
		    0);
	buf_deinit(&small);

	struct authd_user *d = authd_user_dup(&u);
	test_assert(strcmp(d->address, u.address) == 0 && d->uid == 5000);
	test_assert(authd_user_usable(d));
	d->expired = true;
	test_assert(!authd_user_usable(d));
	authd_user_free(d);
	free(d);
	authd_user_free(&u);
	buf_deinit(&b);
}

int main(void)
{
	test_merge();
	test_quota();
	test_user();
	return test_end();
}
