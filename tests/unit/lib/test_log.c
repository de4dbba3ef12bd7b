/* Unit tests for lib/log: the maillog line shape and escaping. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
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

	unlink(path);
	rmdir(dir);
	return test_end();
}
