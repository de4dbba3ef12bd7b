/*
 * Privilege drop; see privsep.h.  Order matters: supplementary groups and
 * gids first (changing them needs root), the uid last.  The setuid(0)
 * probe afterwards catches a kernel or libc that silently kept a saved
 * root uid; NO_NEW_PRIVS stops setuid binaries and file capabilities from
 * giving any of it back through execve().
 */
#include "privsep.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

int privsep_lookup(const char *user, uid_t *uid_r, gid_t *gid_r)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];

	if (user == NULL || *user == '\0')
		return 0;
	int r = getpwnam_r(user, &pw, tmp, sizeof tmp, &res);
	if (r != 0) {
		/* glibc reports "not found" as one of these with some NSS
		   modules; anything else is a real failure. */
		if (r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)
			return 0;
		errno = r;
		return -1;
	}
	if (res == NULL)
		return 0;
	*uid_r = pw.pw_uid;
	*gid_r = pw.pw_gid;
	return 1;
}

int privsep_drop(const char *user, const char **error_r)
{
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0)
		return 0;
	int r = privsep_lookup(user, &uid, &gid);
	if (r <= 0) {
		*error_r = r == 0 ? "no such user" : "user lookup failed";
		if (r == 0)
			errno = ENOENT;
		return -1;
	}
	if (uid == 0) {
		*error_r = "refusing to run as uid 0";
		errno = EPERM;
		return -1;
	}
	if (setgroups(1, &gid) < 0) {
		*error_r = "setgroups";
		return -1;
	}
	if (setresgid(gid, gid, gid) < 0) {
		*error_r = "setresgid";
		return -1;
	}
	if (setresuid(uid, uid, uid) < 0) {
		*error_r = "setresuid";
		return -1;
	}
	if (setuid(0) == 0 || geteuid() == 0 || getuid() == 0) {
		*error_r = "root privileges could be regained";
		errno = EPERM;
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		*error_r = "prctl(PR_SET_NO_NEW_PRIVS)";
		return -1;
	}
	return 0;
}
