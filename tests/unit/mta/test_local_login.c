/*
 * Unit tests for mta/local_login (local_login_sender_maps): static: and
 * inline: tables, the patterns (*, <>, @domain, address, bare name with
 * myorigin), the "uid:N" key, address extensions, the From: form, and
 * values that do not parse.
 */
#include <string.h>

#include "../../../mta/local_login.h"
#include "test.h"

static struct local_login *mk(const char *spec)
{
	char err[256];
	return local_login_new(spec, "<>", "host.example", "+", err,
			       sizeof(err));
}

int main(void)
{
	test_begin("default");
	struct local_login *ll = mk("static:*");
	test_assert(ll != NULL && local_login_is_any(ll));
	test_assert(local_login_check(ll, "alice", 1000, "x@y.example") ==
		    LOCAL_LOGIN_ANY);
	local_login_free(&ll);
	test_assert(ll == NULL);

	test_begin("inline");
	ll = mk("inline:{ { root = * }, { alice=alice@example.com,<> }, "
		"{ bob = @ops.example bob } }");
	test_assert(ll != NULL && !local_login_is_any(ll));
	test_assert(local_login_check(ll, "root", 0, "any@where.example") ==
		    LOCAL_LOGIN_ANY);
	test_assert(local_login_check(ll, "alice", 1000, "alice@example.com") ==
		    LOCAL_LOGIN_LISTED);
	test_assert(local_login_check(ll, "alice", 1000, "ALICE@Example.COM") ==
		    LOCAL_LOGIN_LISTED);
	/* the extension is ignored */
	test_assert(
	    local_login_check(ll, "alice", 1000, "alice+lists@example.com") ==
	    LOCAL_LOGIN_LISTED);
	test_assert(local_login_check(ll, "alice", 1000, "") ==
		    LOCAL_LOGIN_LISTED);
	test_assert(local_login_check(ll, "alice", 1000, "bob@example.com") ==
		    LOCAL_LOGIN_DENIED);
	test_assert(local_login_check(ll, "bob", 1001, "") ==
		    LOCAL_LOGIN_DENIED);
	test_assert(local_login_check(ll, "bob", 1001, "x@ops.example") ==
		    LOCAL_LOGIN_LISTED);
	test_assert(local_login_check(ll, "bob", 1001, "x@sub.ops.example") ==
		    LOCAL_LOGIN_DENIED);
	/* a bare name is name@$myorigin */
	test_assert(local_login_check(ll, "bob", 1001, "bob@host.example") ==
		    LOCAL_LOGIN_LISTED);
	test_assert(local_login_check(ll, "bob", 1001, "bob@other.example") ==
		    LOCAL_LOGIN_DENIED);
	/* nobody is not in the table: no sender at all */
	test_assert(local_login_check(ll, "nobody", 65534, "") ==
		    LOCAL_LOGIN_DENIED);
	/* From: every address must be listed */
	const char *f1 = " Alice <alice@example.com>";
	const char *f2 = " alice@example.com, eve@evil.example";
	const char *f3 = " undisclosed-recipients:;";
	test_assert(local_login_check_from(ll, "alice", 1000, f1, strlen(f1)) ==
		    LOCAL_LOGIN_LISTED);
	test_assert(local_login_check_from(ll, "alice", 1000, f2, strlen(f2)) ==
		    LOCAL_LOGIN_DENIED);
	test_assert(local_login_check_from(ll, "alice", 1000, f3, strlen(f3)) ==
		    LOCAL_LOGIN_DENIED);
	test_assert(local_login_check_from(ll, "root", 0, f1, strlen(f1)) ==
		    LOCAL_LOGIN_ANY);
	local_login_free(&ll);

	test_begin("uid key, tables in order");
	ll = mk("inline:{ uid:4242=@a.example }, static:@b.example");
	test_assert(ll != NULL);
	test_assert(local_login_check(ll, NULL, 4242, "x@a.example") ==
		    LOCAL_LOGIN_LISTED);
	test_assert(local_login_check(ll, "unknown", 4242, "x@a.example") ==
		    LOCAL_LOGIN_LISTED);
	/* the first table that knows the key answers */
	test_assert(local_login_check(ll, NULL, 4242, "x@b.example") ==
		    LOCAL_LOGIN_DENIED);
	test_assert(local_login_check(ll, "carol", 7, "x@b.example") ==
		    LOCAL_LOGIN_LISTED);
	local_login_free(&ll);

	test_begin("bad values");
	test_assert(mk("inline:{ nobody }") == NULL);
	test_assert(mk("inline:{ a=b") == NULL);
	test_assert(mk("static:*}") == NULL);
	test_assert(mk("nosuchtype:/x") == NULL);
	test_assert(mk("texthash:relative/path") == NULL);
	ll = mk("");
	test_assert(ll != NULL && !local_login_is_any(ll));
	test_assert(local_login_check(ll, "alice", 1, "a@b.example") ==
		    LOCAL_LOGIN_DENIED);
	local_login_free(&ll);
	return test_end();
}
