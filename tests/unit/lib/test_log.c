/*
 * Unit tests for lib/log: the maillog line shape, escaping, the owner of a
 * file re-created after rotation, a process following a rotation it was not
 * told of, and reopens that never hand the log's descriptor number away.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "test.h"

static char *slurp(const char *path)
{
	static char data[8192];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, data, sizeof data - 1);
	close(fd);
	if (n < 0)
		return NULL;
	data[n] = '\0';
	return data;
}

/* The name a rotation gives path: "<path>.1". */
static void rotated_name(char *out, size_t size, const char *path)
{
	int n = snprintf(out, size, "%s.1", path);
	test_assert(n > 0 && (size_t)n < size);
}

/* How many entries dir holds besides "." and "..". */
static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/*
 * A child that stat()s path until the parent closes wfd, the write end of
 * the pipe whose read end is rfd; exits 1 if it ever saw path with an owner
 * other than uid, 0 if not.
 */
static pid_t owner_watcher(const char *path, uid_t uid, int rfd, int wfd)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	close(wfd);
	int bad = 0;
	for (;;) {
		struct stat st;
		if (stat(path, &st) == 0 && st.st_uid != uid)
			bad = 1;
		struct pollfd p = {rfd, POLLIN, 0};
		if (poll(&p, 1, 0) != 0)
			_exit(bad);
	}
}

/*
 * Run as root with an owner set, log_reopen() makes a rotated-away file
 * again for that owner, and never lets it be seen under its name with
 * another (a daemon that dropped root would fail to reopen it then).
 */
static void test_rotation_owner(const char *dir, const char *path)
{
	test_begin("rotation: re-created file's owner");
	if (geteuid() != 0) {
		fprintf(stderr, "skip %s: not root\n", "rotation owner");
		return;
	}
	const uid_t uid = 65534;
	const gid_t gid = 65534;
	char rotated[300];
	rotated_name(rotated, sizeof rotated, path);
	unlink(path);
	log_set_owner(uid, gid);
	test_assert(log_open("test", path, false) == 0);
	struct stat st;
	test_assert(stat(path, &st) == 0 && st.st_uid == uid &&
		    st.st_gid == gid && (st.st_mode & 0777) == 0640);
	test_assert(dir_entries(dir) == 1); /* no temporary name left */

	/* a file that is there is only opened: owner and lines stay */
	test_assert(chown(path, 0, 0) == 0);
	log_info("before");
	test_assert(log_reopen() == 0);
	log_info("after");
	test_assert(stat(path, &st) == 0 && st.st_uid == 0);
	char *t = slurp(path);
	test_assert(t != NULL && strstr(t, "]: before\n") != NULL &&
		    strstr(t, "]: after\n") != NULL);

	/* a temporary name left by a crash (this pid and thread) is reused */
	char stale[300];
	int n = snprintf(stale, sizeof stale, "%s/.maillog.%ld.%ld.new", dir,
			 (long)getpid(), (long)gettid());
	test_assert(n > 0 && (size_t)n < sizeof stale);
	int sfd = open(stale, O_WRONLY | O_CREAT | O_EXCL, 0600);
	test_assert(sfd >= 0);
	if (sfd >= 0)
		close(sfd);
	test_assert(rename(path, rotated) == 0);
	test_assert(log_reopen() == 0);
	log_info("into the new file");
	test_assert(stat(path, &st) == 0 && st.st_uid == uid);
	test_assert(access(stale, F_OK) < 0);
	t = slurp(path);
	test_assert(t != NULL && strstr(t, "before") == NULL &&
		    strstr(t, "]: into the new file\n") != NULL);
	t = slurp(rotated);
	test_assert(t != NULL && strstr(t, "into the new file") == NULL);

	/* rotate many times while another process watches the name */
	int pfd[2];
	test_assert(pipe(pfd) == 0);
	pid_t w = owner_watcher(path, uid, pfd[0], pfd[1]);
	test_assert(w > 0);
	for (int i = 0; i < 2000; i++) {
		if (rename(path, rotated) < 0 || log_reopen() < 0) {
			test_assert(!"rotate");
			break;
		}
	}
	close(pfd[1]);
	int status = -1;
	test_assert(w > 0 && waitpid(w, &status, 0) == w);
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(pfd[0]);
	test_assert(stat(path, &st) == 0 && st.st_uid == uid);
	test_assert(dir_entries(dir) == 2); /* path and rotated */
	log_close();
	unlink(rotated);
	unlink(path);
}

/* Waits until time(NULL) moves to the next second: the log checks its
   path once a second. */
static void next_second(void)
{
	time_t t0 = time(NULL);
	while (time(NULL) == t0)
		usleep(20 * 1000);
}

/*
 * A process nobody tells of a rotation (one a reload retires while its
 * sessions finish) moves to the new file within a second of another
 * process making it, and keeps the old one while there is none.
 */
static void test_follow_rotation(const char *path)
{
	test_begin("rotation: followed without a reopen");
	char rotated[300];
	rotated_name(rotated, sizeof rotated, path);
	unlink(path);
	unlink(rotated);
	test_assert(log_open("test", path, false) == 0);
	log_info("line one");
	test_assert(rename(path, rotated) == 0);
	next_second();
	log_info("line two"); /* nothing at path: stays in the old file */
	test_assert(access(path, F_OK) < 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640);
	test_assert(fd >= 0);
	if (fd >= 0)
		close(fd);
	next_second();
	log_info("line three");
	char *t = slurp(rotated);
	test_assert(t != NULL && strstr(t, "]: line one\n") != NULL &&
		    strstr(t, "]: line two\n") != NULL &&
		    strstr(t, "line three") == NULL);
	t = slurp(path);
	test_assert(t != NULL && strstr(t, "]: line three\n") != NULL &&
		    strstr(t, "line two") == NULL);
	log_close();
	unlink(rotated);
	unlink(path);
}

/* The descriptor numbers of this process open on file's inode (a file
   the log made is opened under a temporary name: /proc's link names that
   one, so the inodes are compared, not the names). */
static int fds_naming(const char *file, int *out, int max)
{
	struct stat want;
	if (stat(file, &want) < 0)
		return -1;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (d == NULL)
		return -1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < max) {
		char link[300];
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		int k =
		    snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
		if (k < 0 || (size_t)k >= sizeof link || stat(link, &st) < 0)
			continue;
		if (st.st_dev == want.st_dev && st.st_ino == want.st_ino)
			out[n++] = (int)strtol(e->d_name, NULL, 10);
	}
	closedir(d);
	return n;
}

/*
 * A reopen puts the new file behind the number the log already had.  Other
 * threads may be writing to that number meanwhile; had it been closed and
 * a new one taken, another thread's open() (a message file) could get the
 * old number in between and receive a log line.
 */
static void test_reopen_keeps_number(const char *path)
{
	test_begin("reopen: the same descriptor number");
	char rotated[300];
	rotated_name(rotated, sizeof rotated, path);
	unlink(path);
	test_assert(log_open("test", path, false) == 0);
	int before[4], after[4], old[4];
	test_assert(fds_naming(path, before, 4) == 1);
	test_assert(rename(path, rotated) == 0);
	test_assert(log_reopen() == 0);
	test_assert(fds_naming(path, after, 4) == 1 && after[0] == before[0]);
	test_assert(fds_naming(rotated, old, 4) == 0); /* nothing leaks */
	log_info("into the new file");
	char *t = slurp(path);
	test_assert(t != NULL && strstr(t, "]: into the new file\n") != NULL);
	log_close();
	unlink(rotated);
	unlink(path);
}

/*
 * Run as root: in a directory another user may change (mail_owner's log
 * directory), a symbolic link at the log's name is not followed, neither
 * by log_open/log_reopen nor by the once-a-second follow: that user could
 * point it at any file and root would append lines clients chose.  In a
 * directory of root's alone the administrator's link is followed.  A FIFO
 * is refused at once instead of blocking the open.
 */
static void test_root_refuses_planted_link(const char *dir)
{
	test_begin("root: no link followed in mail_owner's directory");
	if (geteuid() != 0) {
		fprintf(stderr, "skip %s: not root\n", "planted link");
		return;
	}
	char sub[300], path[320], target[300], rotated[330];
	int n = snprintf(sub, sizeof sub, "%s/vmail", dir);
	test_assert(n > 0 && (size_t)n < sizeof sub);
	n = snprintf(path, sizeof path, "%s/maillog", sub);
	test_assert(n > 0 && (size_t)n < sizeof path);
	n = snprintf(target, sizeof target, "%s/precious", dir);
	test_assert(n > 0 && (size_t)n < sizeof target);
	rotated_name(rotated, sizeof rotated, path);
	test_assert(mkdir(sub, 0755) == 0 && chown(sub, 65534, 65534) == 0);
	int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	test_assert(fd >= 0);
	if (fd >= 0)
		close(fd);
	struct stat st;

	test_assert(symlink(target, path) == 0);
	test_assert(log_open("test", path, false) < 0);
	log_info("must not reach the target");
	test_assert(stat(target, &st) == 0 && st.st_size == 0);
	log_close();

	/* the follow: a regular file first, then a link planted for it */
	test_assert(unlink(path) == 0);
	test_assert(log_open("test", path, false) == 0);
	test_assert(rename(path, rotated) == 0);
	test_assert(symlink(target, path) == 0);
	next_second();
	log_info("still the old file");
	test_assert(stat(target, &st) == 0 && st.st_size == 0);
	char *t = slurp(rotated);
	test_assert(t != NULL && strstr(t, "]: still the old file\n") != NULL);
	log_close();
	unlink(path);
	unlink(rotated);

	/* a FIFO at the name: refused, not waited on */
	test_assert(mkfifo(path, 0600) == 0);
	test_assert(log_open("test", path, false) < 0);
	log_close();
	unlink(path);

	/* root's own directory: an administrator's link is followed */
	n = snprintf(path, sizeof path, "%s/linked", dir);
	test_assert(n > 0 && (size_t)n < sizeof path);
	test_assert(symlink(target, path) == 0);
	test_assert(log_open("test", path, false) == 0);
	log_info("through the link");
	t = slurp(target);
	test_assert(t != NULL && strstr(t, "]: through the link\n") != NULL);
	log_close();
	unlink(path);
	unlink(target);
	rmdir(sub);
}

int main(void)
{
	char dir[] = "/tmp/youju-logtest-XXXXXX";
	test_begin("setup");
	test_assert(mkdtemp(dir) != NULL);
	char path[256];
	int n = snprintf(path, sizeof path, "%s/maillog", dir);
	test_assert(n > 0 && (size_t)n < sizeof path);

	test_begin("line shape");
	test_assert(log_open("test", path, false) == 0);
	log_info("ABC123: client=localhost[127.0.0.1]");
	log_warning("forged\nline");
	log_debug("not shown");
	char *t = slurp(path);
	test_assert(t != NULL);
	/* "Mmm dd hh:mm:ss host youju/test[pid]: " */
	test_assert(t != NULL && strstr(t, " youju/test[") != NULL);
	test_assert(t != NULL &&
		    strstr(t, "]: ABC123: client=localhost[127.0.0.1]\n"));
	test_assert(t != NULL && strstr(t, "]: warning: forged line\n"));
	test_assert(t != NULL && strstr(t, "not shown") == NULL);
	test_assert(t != NULL && t[3] == ' ' && t[6] == ' ' && t[9] == ':');

	test_begin("another service's name");
	log_info_as("pickup", "ABC124: uid=0 from=<root>");
	log_warning_as("smtp", "remote said no");
	/* bad names fall back to the process's own name */
	log_info_as("bad/name", "ABC125: odd");
	log_info_as("", "ABC126: empty");
	log_info_as("test", "ABC127: same");
	t = slurp(path);
	test_assert(t != NULL && strstr(t, " youju/pickup[") != NULL &&
		    strstr(t, "]: ABC124: uid=0 from=<root>\n") != NULL);
	test_assert(t != NULL && strstr(t, " youju/smtp[") != NULL &&
		    strstr(t, "]: warning: remote said no\n") != NULL);
	test_assert(t != NULL && strstr(t, "bad/name") == NULL &&
		    strstr(t, "youju/bad") == NULL);
	test_assert(t != NULL && strstr(t, "]: ABC125: odd\n") != NULL);
	test_assert(t != NULL && strstr(t, "]: ABC126: empty\n") != NULL);
	log_close();

	test_begin("syslog_name");
	unlink(path);
	log_set_syslog_name("bad name");			   /* ignored */
	log_set_syslog_name("");				   /* ignored */
	log_set_syslog_name("0123456789012345678901234567890123"); /* long */
	log_set_syslog_name("postfix-youju");
	test_assert(log_open("smtpd", path, false) == 0);
	log_info("NOQUEUE: reject: RCPT from x[1.2.3.4]: 554 5.7.1 no");
	log_info_as("qmgr", "ABC128: removed");
	t = slurp(path);
	test_assert(t != NULL && strstr(t, " postfix-youju/smtpd[") != NULL);
	test_assert(t != NULL && strstr(t, " postfix-youju/qmgr[") != NULL);
	log_close();
	log_set_syslog_name("youju");

	test_begin("escape");
	char out[16];
	log_escape(out, sizeof out, "a\0b\r\n", 5);
	test_assert(strcmp(out, "a\\x00b\\x0d...") == 0 ||
		    strcmp(out, "a\\x00b\\x0d\\x0a") == 0);
	log_escape(out, sizeof out, "", 0);
	test_assert(strcmp(out, "") == 0);
	log_escape(out, sizeof out, "0123456789abcdefghij", 20);
	test_assert(strlen(out) < sizeof out);
	test_assert(strstr(out, "...") != NULL);

	test_rotation_owner(dir, path);
	test_follow_rotation(path);
	test_reopen_keeps_number(path);
	test_root_refuses_planted_link(dir);

	unlink(path);
	rmdir(dir);
	return test_end();
}
