/*
 * Dropping root for good (STYLE.md "Privileges").  A daemon started as
 * root binds its ports, loads TLS keys and opens its logs, then calls
 * privsep_drop() before reading the first network byte.
 */
#ifndef YOUJU_PRIVSEP_H
#define YOUJU_PRIVSEP_H

#include <sys/types.h>

/*
 * Looks up user in the password database.  Returns 1 found (*uid_r,
 * *gid_r set to its uid and primary gid), 0 no such user, -1 lookup
 * failure with errno (tri-state: an NSS outage is not "no such user").
 */
__attribute__((warn_unused_result)) int
privsep_lookup(const char *user, uid_t *uid_r, gid_t *gid_r);

/*
 * When running as root (effective uid 0): switches every uid and gid
 * (real, effective, saved) to user and its primary group with setgroups,
 * setresgid and setresuid, checks that setuid(0) now fails, and sets
 * PR_SET_NO_NEW_PRIVS.  Not root: does nothing and returns 0 (development
 * runs as an ordinary user).  Refuses a user whose uid is 0.  Returns 0,
 * or -1 with *error_r (static text; errno kept where a call failed).  On
 * -1 the caller must exit: the process may be half dropped.
 */
__attribute__((warn_unused_result)) int privsep_drop(const char *user,
						     const char **error_r);

#endif
