/*
 * The ExtMail schema's names and value formats (see extmail_sql.h).  The
 * quota columns hold Maildir++ quota strings (maildirquota.txt: "NNNS" for
 * bytes, "NNNC" for messages, comma-separated); ExtMan wrote the byte
 * count with an "S" under SYS_QUOTA_TYPE=courier and without it otherwise,
 * so both forms are read and the "S" form is written.
 */
#include "extmail_sql.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "xalloc.h"

const char *const extmail_domain_cols[] = {
    "domain",
    "description",
    "hashdirpath",
    "maxalias",
    "maxusers",
    "maxquota",
    "maxnetdiskquota",
    "transport",
    "can_signup",
    "default_quota",
    "default_netdiskquota",
    "default_expire",
    "disablesmtpd",
    "disablesmtp",
    "disablewebmail",
    "disablenetdisk",
    "disableimap",
    "disablepop3",
    "createdate",
    "expiredate",
    "active",
    NULL,
};

const char *const extmail_mailbox_cols[] = {
    "username",
    "uid",
    "password",
    "clearpwd",
    "name",
    "mailhost",
    "maildir",
    "homedir",
    "quota",
    "netdiskquota",
    "domain",
    "uidnumber",
    "gidnumber",
    "createdate",
    "expiredate",
    "active",
    "disablepwdchange",
    "disablesmtpd",
    "disablesmtp",
    "disablewebmail",
    "disablenetdisk",
    "disableimap",
    "disablepop3",
    "question",
    "answer",
    NULL,
};

const char *const extmail_alias_cols[] = {
    "address", "goto", "domain", "createdate", "active", NULL,
};

const char *const extmail_manager_cols[] = {
    "username",	  "password",	"type",	  "uid",
    "name",	  "question",	"answer", "disablepwdchange",
    "createdate", "expiredate", "active", NULL,
};

const char *const extmail_login_cols[] = {
    "login",
    "crypt",
    "clear",
    "uid",
    "gid",
    "home",
    "maildir",
    "quota",
    "name",
    "disablesmtpd",
    "disablesmtp",
    "disablewebmail",
    "disablenetdisk",
    "disableimap",
    "disablepop3",
    "disablepwdchange",
    "active",
    "domain_active",
    "expired",
    "netdiskquota",
    NULL,
};

char *extmail_login_batch_query(const char *cols, const char *table,
				const char *login, const char *where,
				unsigned n)
{
	if (n < 2 || n > EXTMAIL_LOGIN_BATCH_MAX)
		return NULL;
	struct buf b;
	buf_init(&b, 256 * 1024);
	int rc = buf_printf(&b, "SELECT ");
	for (unsigned i = 0; rc == 0 && i < n; i++)
		rc = buf_printf(&b, "%s = ?, ", login);
	if (rc == 0)
		rc = buf_printf(&b, "%s FROM %s WHERE %s IN (", cols, table,
				login);
	for (unsigned i = 0; rc == 0 && i < n; i++)
		rc = buf_printf(&b, "%s?", i > 0 ? ", " : "");
	if (rc == 0)
		rc = where[0] != '\0' ? buf_printf(&b, ") AND (%s)", where)
				      : buf_printf(&b, ")");
	char *s = rc == 0 ? xstrdup(buf_cstr(&b)) : NULL;
	buf_deinit(&b);
	return s;
}

const char *extmail_col(const char *const *cols, const struct sqlrow *row,
			const char *name)
{
	for (size_t i = 0; cols[i] != NULL; i++)
		if (strcmp(cols[i], name) == 0)
			return i < row->ncols ? row->cols[i] : NULL;
	return NULL;
}

int extmail_quota_parse(const char *col, uint64_t *bytes_r, uint64_t *msgs_r)
{
	*bytes_r = *msgs_r = 0;
	if (col == NULL)
		return 0;
	const char *p = col;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 0;
	bool bare = true, seen_s = false, seen_c = false;
	uint64_t bytes = 0, msgs = 0;
	for (;;) {
		if (*p < '0' || *p > '9')
			return -1;
		uint64_t v = 0;
		int digits = 0;
		while (*p >= '0' && *p <= '9') {
			if (++digits > 19)
				return -1;
			v = v * 10 + (uint64_t)(*p - '0');
			p++;
		}
		if (*p == 'S' || *p == 'C') {
			bare = false;
			bool *seen = *p == 'S' ? &seen_s : &seen_c;
			if (*seen)
				return -1;
			*seen = true;
			*(*p == 'S' ? &bytes : &msgs) = v;
			p++;
		} else if (bare && (*p == '\0' || *p == ' ' || *p == '\t')) {
			bytes = v;
		} else
			return -1;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (*p != ',' || bare)
			return -1;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
	}
	if (bytes > EXTMAIL_QUOTA_MAX)
		return -1;
	*bytes_r = bytes;
	*msgs_r = msgs;
	return 0;
}

int extmail_quota_bytes(const char *col, uint64_t *bytes_r)
{
	uint64_t msgs;
	return extmail_quota_parse(col, bytes_r, &msgs);
}

char *extmail_quota_definition(const char *col, bool *bad_r)
{
	uint64_t bytes, msgs;
	bool bad = extmail_quota_parse(col, &bytes, &msgs) < 0;
	if (bad_r != NULL)
		*bad_r = bad;
	if (bad || (bytes == 0 && msgs == 0))
		return NULL;
	char out[48];
	if (msgs == 0)
		snprintf(out, sizeof out, "%" PRIu64 "S", bytes);
	else if (bytes == 0)
		snprintf(out, sizeof out, "%" PRIu64 "C", msgs);
	else
		snprintf(out, sizeof out, "%" PRIu64 "S,%" PRIu64 "C", bytes,
			 msgs);
	return xstrdup(out);
}

void extmail_quota_format(uint64_t bytes, char *out)
{
	if (bytes == 0)
		snprintf(out, 24, "0");
	else
		snprintf(out, 24, "%" PRIu64 "S", bytes);
}

bool extmail_domain_valid(const char *d)
{
	size_t len = strlen(d);
	if (len == 0 || len > EXTMAIL_DOMAIN_MAX)
		return false;
	size_t labels = 0, ll = 0;
	for (size_t i = 0; i <= len; i++) {
		char c = d[i];
		if (c == '.' || c == '\0') {
			if (ll == 0 || ll > 63 || d[i - 1] == '-')
				return false;
			labels++;
			ll = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
		if (ll == 0 && c == '-')
			return false;
		ll++;
	}
	return labels >= 2;
}

bool extmail_local_valid(const char *l)
{
	size_t len = strlen(l);
	if (len == 0 || len > EXTMAIL_LOCAL_MAX || l[0] == '.' ||
	    l[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = l[i];
		if (c == '.' && l[i + 1] == '.')
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == '+'))
			return false;
	}
	return true;
}

bool extmail_date_valid(const char *s)
{
	if (strcmp(s, "0000-00-00") == 0)
		return true;
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
		(s[3] - '0');
	int m = (s[5] - '0') * 10 + (s[6] - '0');
	int d = (s[8] - '0') * 10 + (s[9] - '0');
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 ||
	    d > mdays[m - 1])
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return !(m == 2 && d == 29 && !leap);
}

char *extmail_read_secret(const char *path, const char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		*error_r = "cannot open the password file";
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*error_r = "the password file is not a regular file";
		return NULL;
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		errno = EPERM;
		*error_r = "the password file is readable by group or others "
			   "(chmod 600 it)";
		return NULL;
	}
	char buf[1024];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		*error_r = "cannot read the password file";
		return NULL;
	}
	buf[n] = '\0';
	char *s = xmemdup0(buf, strcspn(buf, "\r\n"));
	explicit_bzero(buf, sizeof buf);
	return s;
}
