/*
 * Unit tests for lib/daemon: pidfile write/read/remove, liveness, the
 * pid file following run_directory at a reload, and a real daemon_start()
 * in a forked child: the waiting parent exits 0 after daemon_ready() and 1
 * when the daemon dies before it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "test.h"

static char dir[] = "/tmp/test_daemon.XXXXXX";
static char pidfile[128];

static void put_file(const char *path, const char *s, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	test_assert(fd >= 0);
	test_assert(write(fd, s, n) == (ssize_t)n);
	close(fd);
}

struct pid_case {
	const char *content;
	size_t len;
	pid_t want;
};

static const struct pid_case pid_cases[] = {
    {"123\n", 4, 123},
    {"123", 3, 123},
    {"", 0, 0},
    {"\n", 1, 0},
    {"0\n", 2, 0},
    {"-5\n", 3, 0},
    {" 12\n", 4, 0},
    {"12 \n", 4, 0},
    {"12\n\n", 4, 0},
    {"1\0002\n", 4, 0},
    {"99999999999\n", 12, 0},
    {"2147483647\n", 11, 2147483647},
    {"12abc\n", 6, 0},
    {"0000000000000000000000000000000000000001\n", 41, 0},
};

static void test_pidfile(void)
{
	test_begin("pidfile");
	test_assert(daemon_pidfile_read(pidfile) == 0); /* missing */
	test_assert(!daemon_is_running(pidfile));
	test_assert(daemon_pidfile_write(pidfile) == 0);
	test_assert(daemon_pidfile_read(pidfile) == getpid());
	test_assert(daemon_is_running(pidfile));
	/* the temp file was renamed away: the pid file is alone */
	DIR *d = opendir(dir);
	struct dirent *de;
	int others = 0;
	while (d != NULL && (de = readdir(d)) != NULL)
		others +=
		    de->d_name[0] != '.' && strcmp(de->d_name, "test.pid") != 0;
	if (d != NULL)
		closedir(d);
	test_assert(d != NULL && others == 0);
	daemon_pidfile_remove(pidfile);
	test_assert(access(pidfile, F_OK) < 0);
	daemon_pidfile_remove(NULL);

	for (size_t i = 0; i < sizeof pid_cases / sizeof pid_cases[0]; i++) {
		put_file(pidfile, pid_cases[i].content, pid_cases[i].len);
		pid_t got = daemon_pidfile_read(pidfile);
		test_assert(got == pid_cases[i].want);
		if (got != pid_cases[i].want)
			fprintf(stderr, "  case %zu\n", i);
	}
	/* somebody else's pidfile is left alone */
	put_file(pidfile, "1\n", 2);
	daemon_pidfile_remove(pidfile);
	test_assert(daemon_pidfile_read(pidfile) == 1);
	test_assert(daemon_is_running(pidfile)); /* init */

	/* a dead process */
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	test_assert(pid > 0 && waitpid(pid, NULL, 0) == pid);
	char line[32];
	int n = snprintf(line, sizeof line, "%ld\n", (long)pid);
	put_file(pidfile, line, (size_t)n);
	test_assert(daemon_pidfile_read(pidfile) == pid);
	test_assert(!daemon_is_running(pidfile));
	test_assert(unlink(pidfile) == 0);

	/* foreground start writes the pidfile; refuses a live one */
	const char *err = NULL;
	test_assert(daemon_start(pidfile, true, &err) == 0);
	test_assert(daemon_pidfile_read(pidfile) == getpid());
	daemon_ready(); /* no-op in the foreground */
	put_file(pidfile, "1\n", 2);
	test_assert(daemon_start(pidfile, true, &err) == -1);
	test_assert(err != NULL && strstr(err, "running") != NULL);
	test_assert(unlink(pidfile) == 0);
}

/* Runs daemon_start in a child; the daemon (grandchild) becomes ready or
   not, stays alive briefly, removes its pidfile and exits. */
static int start_child(bool ready)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		const char *err = NULL;
		if (daemon_start(pidfile, false, &err) < 0)
			_exit(2);
		/* the daemon */
		if (getsid(0) != getpid())
			_exit(3);
		if (!ready)
			_exit(3);
		daemon_ready();
		usleep(300000);
		daemon_pidfile_remove(pidfile);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
}

static void test_start(void)
{
	test_begin("daemon_start");
	test_assert(start_child(true) == 0);
	/* the parent exited after ready: the daemon runs, pidfile is there */
	pid_t dpid = daemon_pidfile_read(pidfile);
	test_assert(dpid > 0 && dpid != getpid());
	test_assert(daemon_is_running(pidfile));
	/* and then it goes away cleanly */
	for (int i = 0; i < 200 && access(pidfile, F_OK) == 0; i++)
		usleep(10000);
	test_assert(access(pidfile, F_OK) < 0);

	/* a daemon that dies before ready: the parent exits 1 */
	test_assert(start_child(false) == 1);
	for (int i = 0; i < 100 && daemon_is_running(pidfile); i++)
		usleep(10000);
	(void)unlink(pidfile);
}

static void test_follow(void)
{
	char path[128], sub[128], want[160], big[300];
	test_begin("pidfile follows run_directory");
	int n = snprintf(path, sizeof path, "%s/youju-x.pid", dir);
	test_assert(n > 0 && (size_t)n < sizeof path);
	n = snprintf(sub, sizeof sub, "%s/sub", dir);
	test_assert(n > 0 && (size_t)n < sizeof sub);
	test_assert(mkdir(sub, 0755) == 0);
	test_assert(daemon_pidfile_write(path) == 0);

	/* unchanged: nothing moves */
	daemon_pidfile_follow(path, sizeof path, dir, "youju-x");
	test_assert(daemon_pidfile_read(path) == getpid());

	/* moved: written there, removed here, path updated */
	char old[128];
	memcpy(old, path, sizeof old);
	daemon_pidfile_follow(path, sizeof path, sub, "youju-x");
	n = snprintf(want, sizeof want, "%s/youju-x.pid", sub);
	test_assert(n > 0 && (size_t)n < sizeof want);
	test_assert(strcmp(path, want) == 0);
	test_assert(daemon_pidfile_read(path) == getpid());
	test_assert(access(old, F_OK) < 0 && errno == ENOENT);

	/* a directory that cannot hold it: the old file stays */
	char missing[160];
	n = snprintf(missing, sizeof missing, "%s/no/such/dir", dir);
	test_assert(n > 0 && (size_t)n < sizeof missing);
	memcpy(old, path, sizeof old);
	daemon_pidfile_follow(path, sizeof path, missing, "youju-x");
	test_assert(strcmp(path, old) == 0);
	test_assert(daemon_pidfile_read(path) == getpid());

	/* longer than path's buffer: the old file stays */
	memset(big, 'a', sizeof big - 1);
	big[0] = '/';
	big[sizeof big - 1] = '\0';
	daemon_pidfile_follow(path, sizeof path, big, "youju-x");
	test_assert(strcmp(path, old) == 0);
	char small[8] = "x";
	daemon_pidfile_follow(small, sizeof small, sub, "youju-x");
	test_assert(strcmp(small, "x") == 0);

	daemon_pidfile_remove(path);
	test_assert(access(path, F_OK) < 0);
	test_assert(rmdir(sub) == 0);
}

int main(void)
{
	test_begin("setup");
	test_assert(mkdtemp(dir) != NULL);
	int n = snprintf(pidfile, sizeof pidfile, "%s/test.pid", dir);
	test_assert(n > 0 && (size_t)n < sizeof pidfile);
	test_pidfile();
	test_follow();
	test_start();
	test_assert(rmdir(dir) == 0);
	return test_end();
}
