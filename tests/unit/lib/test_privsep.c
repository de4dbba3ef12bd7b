/*
 * Unit tests for lib/privsep: user lookups, and a real drop to "nobody" in
 * a forked child (the test process itself keeps its privileges).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privsep.h"
#include "test.h"

static void test_lookup(void)
{
	uid_t uid = 1234;
	gid_t gid = 1234;

	test_begin("lookup");
	test_assert(privsep_lookup("root", &uid, &gid) == 1);
	test_assert(uid == 0 && gid == 0);
	uid = 77;
	test_assert(privsep_lookup("no-such-user-youju", &uid, &gid) == 0);
	test_assert(uid == 77);
	test_assert(privsep_lookup("", &uid, &gid) == 0);
	test_assert(privsep_lookup("nobody", &uid, &gid) == 1);
	test_assert(uid != 0);
}

/* Child exit codes: 0 dropped as expected, 10+n step n failed. */
static int child_drop(void)
{
	const char *err = NULL;
	uid_t uid;
	gid_t gid;

	if (privsep_lookup("nobody", &uid, &gid) != 1)
		return 10;
	if (privsep_drop("nobody", &err) != 0)
		return 11;
	if (getuid() != uid || geteuid() != uid)
		return 12;
	if (getgid() != gid || getegid() != gid)
		return 13;
	if (setuid(0) == 0)
		return 14;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 15;
	gid_t groups[4];
	int n = getgroups(4, groups);
	if (n != 1 || groups[0] != gid)
		return 16;
	/* already unprivileged: a second call is a no-op */
	if (privsep_drop("nobody", &err) != 0)
		return 17;
	return 0;
}

static int run_child(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn());
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
}

static int child_refuse(void)
{
	const char *err = NULL;

	if (privsep_drop("root", &err) != -1 || err == NULL)
		return 20;
	if (privsep_drop("no-such-user-youju", &err) != -1)
		return 21;
	return 0;
}

int main(void)
{
	test_lookup();
	test_begin("drop");
	if (geteuid() == 0) {
		test_assert(run_child(child_drop) == 0);
		test_assert(run_child(child_refuse) == 0);
	} else {
		const char *err = NULL;
		test_assert(privsep_drop("nobody", &err) == 0);
	}
	return test_end();
}
