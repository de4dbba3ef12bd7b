/* Unit tests for the youju-authd client (lib/authc.c) against a forked
   fake server that answers each connection with a canned reply. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authc.h"
#include "test.h"

static const char *const replies[] = {
    "UID=1000\nGID=1000\nHOME=/h\nADDRESS=a@b\n"
    "OPTIONS=disableimap=1,netdiskquota=5S\n.\n",
    "FAIL\n",
    "",			    /* tempfail: closed without a reply */
    "UID=1000\nGID=1000\n", /* no "." line */
    "OK\n",
    "TYPE=alias\nADDRESS=x@b\nMAILBOX=a@b\nREMOTE=r@far\n.\n",
    "FAIL\nDELAY=4000\n",		 /* FAILDELAY=1: the penalty */
    "FAIL\nDELAY=10\nREASON=disabled\n", /* the right password */
    "FAIL\nDELAY=10\nREASON=Bad\n",	 /* malformed reason */
    "FAIL\nDELAY=4x\n",			 /* malformed */
    "FAIL\nDELAY=5\nX=1\n",		 /* anything more */
    "UID=1\nGID=1\nHOME=/h\n.\n",	 /* success through the penalty call */
    NULL,				 /* silent: times out */
};
#define SILENT 12 /* the index of NULL */

static void serve(int lfd)
{
	char got[16384];
	for (int i = 0; replies[i] != NULL || i == SILENT; i++) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			_exit(1);
		ssize_t n = read(fd, got, sizeof(got));
		(void)n;
		if (replies[i] == NULL) {
			sleep(3);
			close(fd);
			break;
		}
		if (write(fd, replies[i], strlen(replies[i])) < 0)
			_exit(1);
		close(fd);
	}
	_exit(0);
}

/* The one HOME/MAILDIR rule and the disabled services. */
static void test_account(void)
{
	struct authc_account a;
	const char *err = NULL;
	test_begin("account: HOME/MAILDIR rule");
	struct authc_kv kv[] = {
	    {(char *)"ADDRESS", (char *)"u@x.org"},
	    {(char *)"HOME", (char *)"/var/mail/x.org/u"},
	    {(char *)"MAILDIR", (char *)"Maildir/"},
	    {(char *)"QUOTA", (char *)"1000S,5C"},
	    {(char *)"OPTIONS",
	     (char *)"disablepop3=1,disableimap=0,disableinsecureimap=1"},
	};
	struct authc_reply r = {kv, 5};
	test_assert(authc_account_get(&r, &a, &err) == 0);
	test_assert(strcmp(a.maildir, "/var/mail/x.org/u/Maildir") == 0);
	test_assert(strcmp(a.user, "u@x.org") == 0 &&
		    strcmp(a.quota, "1000S,5C") == 0);
	test_assert(authc_account_disabled(&a, "pop3", true));
	test_assert(!authc_account_disabled(&a, "imap", true));
	test_assert(authc_account_disabled(&a, "imap", false));
	test_assert(!authc_account_disabled(&a, "webmail", false));
	kv[2].value = (char *)"/abs/Maildir//";
	test_assert(authc_account_get(&r, &a, &err) == 0 &&
		    strcmp(a.maildir, "/abs/Maildir") == 0);
	kv[2].value = (char *)"";
	test_assert(authc_account_get(&r, &a, &err) == 0 &&
		    strcmp(a.maildir, "/var/mail/x.org/u/Maildir") == 0);
	r.n = 2; /* no MAILDIR at all */
	test_assert(authc_account_get(&r, &a, &err) == 0 &&
		    strcmp(a.maildir, "/var/mail/x.org/u/Maildir") == 0 &&
		    a.quota[0] == '\0' &&
		    !authc_account_disabled(&a, "imap", false));
	r.n = 5;
	kv[2].value = (char *)"../../etc";
	kv[1].value = (char *)"/h";
	test_assert(authc_account_get(&r, &a, &err) < 0 && err != NULL);
	kv[2].value = (char *)"/a/..";
	test_assert(authc_account_get(&r, &a, &err) < 0);
	kv[2].value = (char *)"Maildir";
	kv[1].value = (char *)"relative/home";
	test_assert(authc_account_get(&r, &a, &err) < 0);
	struct authc_reply empty = {NULL, 0};
	test_assert(authc_account_get(&empty, &a, &err) < 0);
}

int main(void)
{
	char path[108];
	snprintf(path, sizeof(path), "/tmp/test-authc-%d.sock", (int)getpid());
	unlink(path);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 8) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0)
		serve(lfd);
	close(lfd);

	struct authc_reply r;
	char v[64];
	test_account();
	test_begin("found");
	test_assert(authc_auth_login(path, "imap", "a@b", "pw", "1.2.3.4",
				     &r) == AUTHC_OK);
	test_assert(r.n == 5);
	test_assert(strcmp(authc_get(&r, "HOME"), "/h") == 0);
	test_assert(authc_get(&r, "PASSWD") == NULL);
	test_assert(authc_option(authc_get(&r, "OPTIONS"), "disableimap", v,
				 sizeof(v)) == 0 &&
		    strcmp(v, "1") == 0);
	test_assert(authc_option(authc_get(&r, "OPTIONS"), "netdiskquota", v,
				 sizeof(v)) == 0 &&
		    strcmp(v, "5S") == 0);
	test_assert(
	    authc_option("disableimapx=1", "disableimap", v, sizeof(v)) < 0);
	authc_reply_free(&r);
	test_begin("fail");
	test_assert(authc_pre(path, "login", "a@b", &r) == AUTHC_NOTFOUND);
	test_assert(r.n == 0);
	test_begin("tempfail");
	test_assert(authc_lookup_user(path, "a@b", &r) == AUTHC_TEMPFAIL);
	test_assert(authc_lookup_domain(path, "b", &r) == AUTHC_TEMPFAIL);
	test_begin("passwd");
	test_assert(authc_passwd(path, "login", "a@b", "o", "n") == AUTHC_OK);
	test_begin("alias");
	test_assert(authc_lookup_rcpt(path, "x@b", &r) == AUTHC_OK);
	test_assert(strcmp(authc_get(&r, "TYPE"), "alias") == 0);
	test_assert(strcmp(authc_get(&r, "REMOTE"), "r@far") == 0);
	authc_reply_free(&r);
	test_begin("penalty");
	unsigned d = 1;
	test_assert(authc_auth_login_penalty(path, "imap", "a@b", "pw",
					     "192.0.2.1", &r,
					     &d) == AUTHC_NOTFOUND);
	test_assert(d == 4000 && r.n == 1 &&
		    strcmp(authc_get(&r, "DELAY"), "4000") == 0 &&
		    authc_get(&r, "REASON") == NULL);
	authc_reply_free(&r);
	test_assert(authc_auth_login_penalty(path, "imap", "a@b", "pw", NULL,
					     &r, &d) == AUTHC_NOTFOUND);
	test_assert(d == 10 && authc_get(&r, "REASON") != NULL &&
		    strcmp(authc_get(&r, "REASON"), "disabled") == 0);
	authc_reply_free(&r);
	test_assert(authc_auth_login_penalty(path, "imap", "a@b", "pw", NULL,
					     &r, &d) == AUTHC_TEMPFAIL);
	test_assert(authc_auth_login_penalty(path, "imap", "a@b", "pw", NULL,
					     &r, &d) == AUTHC_TEMPFAIL);
	test_assert(d == 0);
	test_assert(authc_auth_login_penalty(path, "imap", "a@b", "pw", NULL,
					     NULL, &d) == AUTHC_TEMPFAIL);
	test_assert(authc_auth_login_penalty(path, "imap", "a@b", "pw", NULL,
					     &r, &d) == AUTHC_OK);
	test_assert(d == 0 && strcmp(authc_get(&r, "HOME"), "/h") == 0);
	authc_reply_free(&r);
	test_assert(authc_auth_login_penalty(path, "imap", "a@b", "p\rw", NULL,
					     &r, &d) == AUTHC_NOTFOUND);
	test_begin("timeout");
	authc_set_timeout(500);
	test_assert(authc_lookup_quota(path, "b", &r) == AUTHC_TEMPFAIL);
	test_begin("refused client-side");
	test_assert(authc_auth_login(path, "imap", "a@b", "p\nw", NULL, &r) ==
		    AUTHC_NOTFOUND);
	test_assert(authc_lookup_rcpt(path, "a b", &r) == AUTHC_NOTFOUND);
	test_begin("no server");
	unlink(path);
	test_assert(authc_pre(path, "login", "a@b", &r) == AUTHC_TEMPFAIL);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return test_end();
}
