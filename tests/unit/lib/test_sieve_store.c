/*
 * lib/sieve_store: Pigeonhole's layout in a temporary home — names
 * (empty, the maximum, maximum + 1, NUL, '/', a leading '.', control
 * bytes), put/get, list order, the active link (relative, absolute, one
 * pointing elsewhere), rename following the active script, delete refusing
 * it, and the home of ExtMail's and other Maildirs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sieve_store.h"
#include "test.h"

static void test_names(void)
{
	test_begin("names");
	char max[SIEVE_STORE_NAME_MAX + 2];
	memset(max, 'a', sizeof(max));
	test_assert(sieve_store_name_ok("main", 4));
	test_assert(sieve_store_name_ok("caf\xc3\xa9 rules", 11));
	test_assert(!sieve_store_name_ok("", 0));
	test_assert(sieve_store_name_ok(max, SIEVE_STORE_NAME_MAX));
	test_assert(!sieve_store_name_ok(max, SIEVE_STORE_NAME_MAX + 1));
	test_assert(!sieve_store_name_ok("a\0b", 3));
	test_assert(!sieve_store_name_ok("a/b", 3));
	test_assert(!sieve_store_name_ok("..", 2));
	test_assert(!sieve_store_name_ok(".hidden", 7));
	test_assert(!sieve_store_name_ok("a\rb", 3));
	test_assert(!sieve_store_name_ok("a\nb", 3));

	char h[256];
	test_assert(
	    sieve_store_home("/home/domains/d/u/Maildir/", h, sizeof(h)) == 0 &&
	    strcmp(h, "/home/domains/d/u") == 0);
	test_assert(sieve_store_home("/var/vmail/d/u", h, sizeof(h)) == 0 &&
		    strcmp(h, "/var/vmail/d/u") == 0);
	test_assert(sieve_store_home("/x/Maildir", h, 2) < 0);
	test_assert(sieve_store_home("/x/Maildir", h, 3) == 0 &&
		    strcmp(h, "/x") == 0);
}

static void test_files(void)
{
	test_begin("files");
	char home[] = "/tmp/test_sieve_store.XXXXXX";
	test_assert(mkdtemp(home) != NULL);
	char **names;
	char active[SIEVE_STORE_NAME_MAX + 1];
	test_assert(sieve_store_list(home, &names) == 0);
	test_assert(sieve_store_active(home, active, sizeof(active)) == 0 &&
		    active[0] == '\0');
	test_assert(sieve_store_put(home, "b", "keep;", 5) == 0);
	test_assert(sieve_store_put(home, "a", "discard;", 8) == 0);
	test_assert(sieve_store_put(home, "../x", "keep;", 5) < 0 &&
		    errno == EINVAL);
	long n = sieve_store_list(home, &names);
	test_assert(n == 2 && strcmp(names[0], "a") == 0 &&
		    strcmp(names[1], "b") == 0);
	sieve_store_names_free(names, (size_t)n);
	char *data;
	size_t len;
	test_assert(sieve_store_get(home, "a", &data, &len) == 1 && len == 8 &&
		    memcmp(data, "discard;", 8) == 0);
	free(data);
	test_assert(sieve_store_get(home, "nope", &data, &len) == 0);

	test_assert(sieve_store_set_active(home, "nope") < 0 &&
		    errno == ENOENT);
	test_assert(sieve_store_set_active(home, "a") == 0);
	test_assert(sieve_store_active(home, active, sizeof(active)) == 0 &&
		    strcmp(active, "a") == 0);
	char link[512], target[512];
	snprintf(link, sizeof(link), "%s/.dovecot.sieve", home);
	ssize_t tl = readlink(link, target, sizeof(target) - 1);
	test_assert(tl == 13 && memcmp(target, "sieve/a.sieve", 13) == 0);
	test_assert(sieve_store_delete(home, "a") < 0 && errno == EBUSY);
	test_assert(sieve_store_rename(home, "a", "b") < 0 && errno == EEXIST);
	test_assert(sieve_store_rename(home, "zz", "c") < 0 && errno == ENOENT);
	test_assert(sieve_store_rename(home, "a", "c") == 0);
	test_assert(sieve_store_active(home, active, sizeof(active)) == 0 &&
		    strcmp(active, "c") == 0);
	test_assert(sieve_store_get(home, "a", &data, &len) == 0);

	/* an absolute link into HOME/sieve (Pigeonhole writes those too) */
	char abs[600];
	snprintf(abs, sizeof(abs), "%s/sieve/b.sieve", home);
	test_assert(unlink(link) == 0 && symlink(abs, link) == 0);
	test_assert(sieve_store_active(home, active, sizeof(active)) == 0 &&
		    strcmp(active, "b") == 0);
	/* a link elsewhere is no active script of ours */
	test_assert(unlink(link) == 0 && symlink("/etc/passwd", link) == 0);
	test_assert(sieve_store_active(home, active, sizeof(active)) == 0 &&
		    active[0] == '\0');
	test_assert(sieve_store_set_active(home, "") == 0);
	test_assert(access(link, F_OK) < 0);
	test_assert(sieve_store_set_active(home, "") == 0);

	test_assert(sieve_store_delete(home, "b") == 0);
	test_assert(sieve_store_delete(home, "c") == 0);
	test_assert(sieve_store_delete(home, "c") < 0 && errno == ENOENT);
	test_assert(sieve_store_list(home, &names) == 0);
	sieve_store_names_free(names, 0);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "%s/sieve", home);
	test_assert(rmdir(cmd) == 0 && rmdir(home) == 0);
}

int main(void)
{
	test_names();
	test_files();
	return test_end();
}
