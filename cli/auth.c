/*
 * The authd subcommands of the youju CLI.  `auth test` talks to the running
 * youju-authd through lib/authc exactly as courier's authtest talks to
 * authdaemond (PRE without a password, AUTH login with one) and prints the
 * same report, so operators' habits and scripts carry over.  `authd
 * import-authmysqlrc` translates a courier authmysqlrc into youju.cf lines
 * (reference/authd-protocol.md §5.2).
 */
#include "auth.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "authc.h"
#include "buf.h"
#include "cliconf.h"
#include "conf.h"
#include "str.h"
#include "xalloc.h"

/* The authd socket of this instance (youju.cf, else the default). */
static char *auth_socket_path(void)
{
	return cliconf_str(NULL, "authd", "authd_socket", NULL);
}

static void show(const char *label, const char *v)
{
	printf("%18s: %s\n", label, v != NULL ? v : "(none)");
}

static int auth_test(int argc, char **argv)
{
	const char *service = "login";
	int i = 1;
	if (i + 1 < argc && strcmp(argv[i], "-s") == 0) {
		service = argv[i + 1];
		i += 2;
	}
	if (argc - i < 1 || argc - i > 2) {
		fprintf(stderr, "usage: youju auth test [-s service] USER "
				"[PASSWORD]\n");
		return 2;
	}
	const char *user = argv[i];
	const char *password = argc - i == 2 ? argv[i + 1] : NULL;
	char *sock = auth_socket_path();
	if (sock == NULL)
		return 1;
	struct authc_reply r;
	enum authc_status st =
	    password != NULL
		? authc_auth_login(sock, service, user, password, "::1", &r)
		: authc_pre(sock, service, user, &r);
	free(sock);
	if (st != AUTHC_OK) {
		printf("Authentication FAILED: %s\n",
		       st == AUTHC_NOTFOUND ? "Operation not permitted"
					    : "Input/output error");
		return 1;
	}
	const char *uid = authc_get(&r, "UID");
	const char *gid = authc_get(&r, "GID");
	printf("Authentication succeeded.\n\n");
	printf("%18s: %s  (uid %s, gid %s)\n", "Authenticated",
	       authc_get(&r, "ADDRESS") != NULL ? authc_get(&r, "ADDRESS")
						: user,
	       uid != NULL ? uid : "?", gid != NULL ? gid : "?");
	show("Home Directory", authc_get(&r, "HOME"));
	show("Maildir", authc_get(&r, "MAILDIR"));
	show("Quota", authc_get(&r, "QUOTA"));
	show("Encrypted Password", authc_get(&r, "PASSWD"));
	show("Cleartext Password", authc_get(&r, "PASSWD2"));
	show("Options", authc_get(&r, "OPTIONS"));
	authc_reply_free(&r);
	return 0;
}

/* Reads one line from stdin, without echo when it is a terminal. */
static char *read_secret(const char *prompt)
{
	struct termios old, noecho;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		fprintf(stderr, "%s", prompt);
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho) < 0)
			tty = false;
	}
	char line[1024];
	char *got = fgets(line, sizeof(line), stdin);
	if (tty) {
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &old) < 0)
			perror("tcsetattr");
		fprintf(stderr, "\n");
	}
	if (got == NULL)
		return NULL;
	line[strcspn(line, "\r\n")] = '\0';
	char *s = xstrdup(line);
	explicit_bzero(line, sizeof(line));
	return s;
}

static void free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static int auth_passwd(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: youju auth passwd USER\n"
				"(reads the old and the new password, twice, "
				"from the terminal or stdin)\n");
		return 2;
	}
	int rc = 1;
	char *sock = auth_socket_path();
	char *oldpw = read_secret("Old password: ");
	char *newpw = read_secret("New password: ");
	char *again = read_secret("Retype new password: ");
	if (sock == NULL)
		goto out;
	if (oldpw == NULL || newpw == NULL || again == NULL) {
		fprintf(stderr, "youju: no password given\n");
		goto out;
	}
	if (strcmp(newpw, again) != 0) {
		fprintf(stderr, "youju: the new passwords differ\n");
		goto out;
	}
	if (newpw[0] == '\0') {
		fprintf(stderr, "youju: empty password refused\n");
		goto out;
	}
	enum authc_status st =
	    authc_passwd(sock, "login", argv[1], oldpw, newpw);
	if (st == AUTHC_OK) {
		printf("Password changed.\n");
		rc = 0;
	} else {
		printf("Password change FAILED: %s\n",
		       st == AUTHC_NOTFOUND
			   ? "wrong password, unknown user, or password "
			     "changes disabled for this account"
			   : "youju-authd is unavailable");
	}
out:
	free(sock);
	free_secret(oldpw);
	free_secret(newpw);
	free_secret(again);
	return rc;
}

int cli_auth(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "test") == 0)
		return auth_test(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "passwd") == 0)
		return auth_passwd(argc - 1, argv + 1);
	fprintf(stderr, "usage: youju auth test [-s service] USER [PASSWORD]\n"
			"       youju auth passwd USER\n");
	return 2;
}

/* ---- import-authmysqlrc ---- */

struct rc_map {
	const char *key, *param;
};

static const struct rc_map rc_maps[] = {
    {"MYSQL_SOCKET", "mysql_socket"},
    {"MYSQL_PORT", "mysql_port"},
    {"MYSQL_USERNAME", "mysql_user"},
    {"MYSQL_DATABASE", "mysql_dbname"},
    {"MYSQL_USER_TABLE", "authd_user_table"},
    {"MYSQL_LOGIN_FIELD", "authd_login_field"},
    {"MYSQL_CRYPT_PWFIELD", "authd_crypt_pwfield"},
    {"MYSQL_CLEAR_PWFIELD", "authd_clear_pwfield"},
    {"MYSQL_NAME_FIELD", "authd_name_field"},
    {"MYSQL_QUOTA_FIELD", "authd_quota_field"},
    {"MYSQL_WHERE_CLAUSE", "authd_where_clause"},
    {"DEFAULT_DOMAIN", "authd_default_domain"},
    {NULL, NULL},
};

/* "CONCAT('/home/domains/', homedir)" → base "/home/domains", field
   "homedir".  Returns 0 or -1. */
static int split_concat(const char *v, char *base, size_t bsz, char *field,
			size_t fsz)
{
	const char *p = strstr(v, "CONCAT('");
	if (p == NULL)
		p = strstr(v, "concat('");
	if (p == NULL)
		return -1;
	p += 8;
	const char *q = strchr(p, '\'');
	if (q == NULL || (size_t)(q - p) >= bsz)
		return -1;
	size_t bl = (size_t)(q - p);
	memcpy(base, p, bl);
	while (bl > 1 && base[bl - 1] == '/')
		bl--;
	base[bl] = '\0';
	p = q + 1;
	while (*p == ' ' || *p == ',')
		p++;
	size_t fl = strcspn(p, " ,)");
	if (fl == 0 || fl >= fsz)
		return -1;
	memcpy(field, p, fl);
	field[fl] = '\0';
	return 0;
}

static bool all_digits(const char *s)
{
	return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

static void import_one(const char *key, const char *val, char *base, size_t bsz)
{
	for (const struct rc_map *m = rc_maps; m->key != NULL; m++) {
		if (strcmp(key, m->key) == 0) {
			if (strcmp(key, "MYSQL_PORT") == 0 &&
			    strcmp(val, "0") == 0)
				return;
			printf("%s = %s\n", m->param, val);
			return;
		}
	}
	if (strcmp(key, "MYSQL_SERVER") == 0) {
		printf("mysql_host = %s\n",
		       strcmp(val, "localhost") == 0 ? "" : val);
		if (strcmp(val, "localhost") == 0)
			printf("# (localhost: connect through mysql_socket)\n");
		/* the file describes a server that already exists: youju must
		   not start its private one on that socket */
		printf("mysql_private = no\n");
	} else if (strcmp(key, "MYSQL_PASSWORD") == 0) {
		printf("# MYSQL_PASSWORD: write it into the file named by "
		       "mysql_password_file (mode 0600)\n");
	} else if (strcmp(key, "MYSQL_UID_FIELD") == 0 ||
		   strcmp(key, "MYSQL_GID_FIELD") == 0) {
		bool uid = key[6] == 'U';
		if (all_digits(val))
			printf("%s = %s\n", uid ? "authd_uid" : "authd_gid",
			       val);
		else
			printf("%s = %s\n",
			       uid ? "authd_uid_field" : "authd_gid_field",
			       val);
	} else if (strcmp(key, "MYSQL_HOME_FIELD") == 0 ||
		   strcmp(key, "MYSQL_MAILDIR_FIELD") == 0) {
		bool home = key[6] == 'H';
		char b[512], f[128];
		const char *param =
		    home ? "authd_home_field" : "authd_maildir_field";
		if (split_concat(val, b, sizeof(b), f, sizeof(f)) == 0) {
			printf("%s = %s\n", param, f);
			if (base[0] == '\0' &&
			    snprintf(base, bsz, "%s", b) < (int)bsz)
				printf("virtual_mailbox_base = %s\n", b);
		} else {
			printf("%s = %s\n", param, val);
		}
	} else if (strcmp(key, "MYSQL_SELECT_CLAUSE") == 0) {
		char b[512], f[128];
		printf("# MYSQL_SELECT_CLAUSE is not used: youju-authd builds "
		       "its query from the authd_*_field parameters and "
		       "ExtMail's disable* columns\n");
		if (base[0] == '\0' &&
		    split_concat(val, b, sizeof(b), f, sizeof(f)) == 0 &&
		    snprintf(base, bsz, "%s", b) < (int)bsz)
			printf("virtual_mailbox_base = %s\n", b);
	} else {
		printf("# %s is not used by youju-authd\n", key);
	}
}

static int import_authmysqlrc(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "youju: %s: %s\n", path, strerror(errno));
		return 1;
	}
	char line[8192];
	struct buf val;
	buf_init(&val, 65536);
	char key[128] = "";
	char base[512] = "";
	bool cont = false, marker = false;
	printf("# youju.cf lines translated from %s\n", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(line, "##NAME: MARKER:", 15) == 0)
			marker = true;
		char *p = line;
		if (!cont) {
			if (line[0] == '#' || line[0] == '\0')
				continue;
			size_t kl = strcspn(p, " \t");
			if (kl == 0 || kl >= sizeof(key))
				continue;
			memcpy(key, p, kl);
			key[kl] = '\0';
			p += kl;
			p += strspn(p, " \t");
			buf_reset(&val);
		}
		size_t l = strlen(p);
		cont = l > 0 && p[l - 1] == '\\';
		if (cont)
			l--;
		if (buf_append(&val, p, l) < 0) {
			fprintf(stderr, "youju: %s: value of %s too long\n",
				path, key);
			cont = false;
			continue;
		}
		if (!cont) {
			struct str v =
			    str_trim((struct str){buf_cstr(&val), val.len});
			char *vs = xmemdup0(v.p, v.len);
			import_one(key, vs, base, sizeof(base));
			free(vs);
		}
	}
	fclose(f);
	buf_deinit(&val);
	if (!marker)
		fprintf(stderr,
			"youju: warning: %s has no '##NAME: MARKER:0' "
			"line (courier would reject it)\n",
			path);
	return 0;
}

int cli_authd(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "import-authmysqlrc") == 0)
		return import_authmysqlrc(argv[2]);
	fprintf(stderr, "usage: youju authd import-authmysqlrc FILE\n");
	return 2;
}
