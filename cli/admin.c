/*
 * `youju domain|user|alias|manager ...`: provisioning from the shell.
 * The rules (limits, roles, validation, audit, authd flush) live in one
 * place, youju-webadmin; these commands are a small HTTP client of its API
 * (docs/webadmin.md), authenticated by the token the daemon writes to
 * $config_directory/secrets/webadmin-cli-token at start (readable by the
 * user that started it).  Replies are printed as the API's JSON; errors
 * go to stderr with exit status 1.  The daemon must be running.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "admin.h"
#include "buf.h"
#include "conf.h"
#include "net.h"
#include "xalloc.h"

#define ADMIN_REPLY_MAX (64u << 20)
#define ADMIN_BODY_MAX	(32u << 20)

struct api {
	char host[NET_HOST_MAX + 1];
	char port[8];
	char token[80];
};

static int api_open(struct api *a)
{
	char *path = conf_default_path();
	const char *err = NULL;
	struct conf *c = conf_load(path, conf_tables_for("webadmin"), &err);
	free(path);
	if (c == NULL) {
		fprintf(stderr, "youju: %s\n",
			err != NULL ? err : "bad config");
		return -1;
	}
	size_t n = 0;
	const char *const *l = conf_list(c, "webadmin_listen", &n);
	struct net_spec spec;
	if (n == 0 || net_parse_spec(l[0], &spec, &err) < 0) {
		fprintf(stderr, "youju: webadmin_listen: %s\n",
			n == 0 ? "empty" : err);
		conf_free(&c);
		return -1;
	}
	if (conf_bool(c, "webadmin_tls")) {
		fprintf(stderr, "youju: these commands speak plain HTTP; "
				"webadmin_tls is on\n");
		conf_free(&c);
		return -1;
	}
	snprintf(a->host, sizeof a->host, "%s",
		 spec.host[0] != '\0' ? spec.host : "127.0.0.1");
	snprintf(a->port, sizeof a->port, "%u", (unsigned)spec.port);
	char tp[4096];
	snprintf(tp, sizeof tp, "%s/secrets/webadmin-cli-token",
		 conf_str(c, "config_directory"));
	conf_free(&c);
	FILE *f = fopen(tp, "re");
	if (f == NULL) {
		fprintf(stderr,
			"youju: %s: %s (is youju-webadmin running, and are "
			"you the user who started it?)\n",
			tp, strerror(errno));
		return -1;
	}
	bool ok = fgets(a->token, sizeof a->token, f) != NULL;
	fclose(f);
	a->token[strcspn(a->token, "\r\n")] = '\0';
	if (!ok || strlen(a->token) != 64) {
		fprintf(stderr, "youju: %s: no token\n", tp);
		return -1;
	}
	return 0;
}

/* Appends s to b as a JSON string. */
static int json_str(struct buf *b, const char *s)
{
	int rc = buf_append_char(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			rc |= buf_printf(b, "\\%c", *p);
		else if (*p < 0x20)
			rc |= buf_printf(b, "\\u%04x", *p);
		else
			rc |= buf_append_char(b, (char)*p);
	}
	rc |= buf_append_char(b, '"');
	return rc;
}

/* Appends s to b with every byte but [A-Za-z0-9@._+-] as %XX. */
static int url_seg(struct buf *b, const char *s)
{
	int rc = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("@._+-", *p) != NULL)
			rc |= buf_append_char(b, (char)*p);
		else
			rc |= buf_printf(b, "%%%02X", *p);
	}
	return rc;
}

static bool is_list_field(const char *k)
{
	return strcmp(k, "goto") == 0 || strcmp(k, "domains") == 0;
}

/* "10M" "1G" "512K" "1048576" -> bytes; -1 if not a size */
static long long size_value(const char *v)
{
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || n < 0)
		return -1;
	long long mul = 1;
	if (*end == 'K' || *end == 'k')
		mul = 1024, end++;
	else if (*end == 'M' || *end == 'm')
		mul = 1024 * 1024, end++;
	else if (*end == 'G' || *end == 'g')
		mul = 1024LL * 1024 * 1024, end++;
	if (*end != '\0' || n > (1LL << 50) / mul)
		return -1;
	return n * mul;
}

/* field=value arguments as a JSON object: numbers (with K/M/G) and
   true/false as such, goto/domains as lists split on commas, the rest
   as strings. */
static int fields_json(struct buf *b, int argc, char **argv,
		       const char *first_key, const char *first_value)
{
	int rc = buf_append_char(b, '{');
	bool any = false;
	if (first_key != NULL) {
		rc |= json_str(b, first_key);
		rc |= buf_append_char(b, ':');
		rc |= json_str(b, first_value);
		any = true;
	}
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (eq == NULL || eq == argv[i]) {
			fprintf(stderr, "youju: expected field=value: %s\n",
				argv[i]);
			return -1;
		}
		*eq = '\0';
		const char *k = argv[i], *v = eq + 1;
		if (any)
			rc |= buf_append_char(b, ',');
		any = true;
		rc |= json_str(b, k);
		rc |= buf_append_char(b, ':');
		long long num = size_value(v);
		if (is_list_field(k)) {
			rc |= buf_append_char(b, '[');
			char *copy = xstrdup(v), *save = NULL;
			bool first = true;
			for (char *t = strtok_r(copy, ",", &save); t != NULL;
			     t = strtok_r(NULL, ",", &save)) {
				if (!first)
					rc |= buf_append_char(b, ',');
				first = false;
				rc |= json_str(b, t);
			}
			free(copy);
			rc |= buf_append_char(b, ']');
		} else if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
			rc |= buf_append_str(b, v);
		else if (num >= 0 && strcmp(k, "password") != 0 &&
			 strcmp(k, "name") != 0 && strcmp(k, "uid") != 0 &&
			 strcmp(k, "description") != 0)
			rc |= buf_printf(b, "%lld", num);
		else
			rc |= json_str(b, v);
	}
	rc |= buf_append_char(b, '}');
	return rc != 0 ? -1 : 0;
}

/* One request; prints the reply body.  Returns the exit status. */
static int call(const struct api *a, const char *method, const char *path,
		const char *ctype, const char *body, size_t blen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	if (getaddrinfo(a->host, a->port, &hints, &res) != 0 || res == NULL) {
		fprintf(stderr, "youju: cannot resolve %s\n", a->host);
		return 1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool conn = fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0;
	freeaddrinfo(res);
	if (!conn) {
		fprintf(stderr,
			"youju: cannot reach youju-webadmin on %s:%s: %s\n",
			a->host, a->port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	struct timeval tv = {.tv_sec = 300};
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct buf req;
	buf_init(&req, ADMIN_BODY_MAX + 4096);
	int rc = buf_printf(&req,
			    "%s %s HTTP/1.1\r\nHost: %s\r\n"
			    "Authorization: Bearer %s\r\n"
			    "Connection: close\r\n",
			    method, path, a->host, a->token);
	if (body != NULL)
		rc |= buf_printf(&req,
				 "Content-Type: %s\r\nContent-Length: %zu\r\n",
				 ctype, blen);
	rc |= buf_append_str(&req, "\r\n");
	if (body != NULL)
		rc |= buf_append(&req, body, blen);
	if (rc != 0) {
		fprintf(stderr, "youju: request too large\n");
		buf_deinit(&req);
		close(fd);
		return 1;
	}
	size_t off = 0;
	while (off < req.len) {
		ssize_t w = send(fd, req.p + off, req.len - off, MSG_NOSIGNAL);
		if (w <= 0) {
			fprintf(stderr, "youju: send: %s\n", strerror(errno));
			buf_deinit(&req);
			close(fd);
			return 1;
		}
		off += (size_t)w;
	}
	explicit_bzero(req.p, req.len);
	buf_deinit(&req);
	struct buf out;
	buf_init(&out, ADMIN_REPLY_MAX);
	char chunk[65536];
	for (;;) {
		ssize_t r = recv(fd, chunk, sizeof chunk, 0);
		if (r <= 0 || buf_append(&out, chunk, (size_t)r) < 0)
			break;
	}
	close(fd);
	const char *p = buf_cstr(&out);
	const char *hdr_end = strstr(p, "\r\n\r\n");
	int status = 0;
	if (strncmp(p, "HTTP/1.", 7) == 0 && strlen(p) > 12)
		status = (int)strtol(p + 9, NULL, 10);
	if (hdr_end == NULL || status == 0) {
		fprintf(stderr, "youju: no reply from youju-webadmin\n");
		buf_deinit(&out);
		return 1;
	}
	const char *b = hdr_end + 4;
	size_t blen2 = out.len - (size_t)(b - p);
	FILE *dst = status / 100 == 2 ? stdout : stderr;
	if (status / 100 != 2)
		fprintf(stderr, "youju: %d: ", status);
	fwrite(b, 1, blen2, dst);
	if (blen2 > 0 && b[blen2 - 1] != '\n')
		fputc('\n', dst);
	buf_deinit(&out);
	return status / 100 == 2 ? 0 : 1;
}

static int usage(const char *what)
{
	fprintf(stderr,
		"usage:\n"
		"  youju domain  list [Q] | show D | add D [f=v...] | set D "
		"f=v... | del D\n"
		"  youju user    list D [Q] | show A | add A password=P "
		"[f=v...] | set A f=v... | del A [purge]\n"
		"                import D FILE.csv [dry-run] | export D\n"
		"  youju alias   list D | show A | add A goto=X,Y [f=v...] | "
		"set A f=v... | del A\n"
		"                import D FILE.csv [dry-run] | export D\n"
		"  youju manager list | show U | add U password=P [type=admin] "
		"[domains=D,E] | set U f=v... | del U\n"
		"fields are the ExtMail column names (docs/webadmin.md); "
		"quotas in bytes or with K/M/G\n");
	(void)what;
	return 2;
}

/* "alice@example.com" -> local, domain (pointers into a copy) */
static char *split_addr(const char *a, const char **local_r,
			const char **domain_r)
{
	char *c = xstrdup(a);
	char *at = strrchr(c, '@');
	if (at == NULL) {
		free(c);
		return NULL;
	}
	*at = '\0';
	*local_r = c;
	*domain_r = at + 1;
	return c;
}

static int read_file(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		fprintf(stderr, "youju: %s: %s\n", path, strerror(errno));
		return -1;
	}
	char chunk[65536];
	size_t n;
	int rc = 0;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (buf_append(b, chunk, n) < 0) {
			fprintf(stderr, "youju: %s: too large\n", path);
			rc = -1;
			break;
		}
	fclose(f);
	return rc;
}

int cli_admin(int argc, char **argv)
{
	const char *kind = argv[0];
	if (argc < 2)
		return usage(kind);
	const char *verb = argv[1];
	struct api a;
	if (api_open(&a) < 0)
		return 1;
	struct buf path, body;
	buf_init(&path, 4096);
	buf_init(&body, ADMIN_BODY_MAX);
	int rc = 2;
	const char *method = NULL, *ctype = "application/json";
	bool has_body = false;
	bool is_domain = strcmp(kind, "domain") == 0;
	bool is_user = strcmp(kind, "user") == 0;
	bool is_alias = strcmp(kind, "alias") == 0;
	const char *coll = is_user ? "mailboxes" : "aliases";
	int e = 0;
	char *copy = NULL;
	const char *local = NULL, *dom = NULL;

	if (strcmp(verb, "list") == 0) {
		method = "GET";
		if (is_domain || strcmp(kind, "manager") == 0) {
			e |= buf_printf(&path, "/api/%ss?q=",
					is_domain ? "domain" : "manager");
			if (argc > 2)
				e |= url_seg(&path, argv[2]);
		} else {
			if (argc < 3)
				goto out;
			e |= buf_append_str(&path, "/api/domains/");
			e |= url_seg(&path, argv[2]);
			e |= buf_printf(&path, "/%s?q=", coll);
			if (argc > 3)
				e |= url_seg(&path, argv[3]);
		}
	} else if ((strcmp(verb, "import") == 0 ||
		    strcmp(verb, "export") == 0) &&
		   (is_user || is_alias)) {
		if (argc < 3 || (verb[0] == 'i' && argc < 4))
			goto out;
		e |= buf_append_str(&path, "/api/domains/");
		e |= url_seg(&path, argv[2]);
		e |= buf_printf(&path, "/%s?type=%s", verb,
				is_user ? "mailboxes" : "aliases");
		if (verb[0] == 'e')
			method = "GET";
		else {
			method = "POST";
			if (argc > 4 && strcmp(argv[4], "dry-run") == 0)
				e |= buf_append_str(&path, "&dry_run=1");
			if (read_file(argv[3], &body) < 0) {
				rc = 1;
				goto out;
			}
			ctype = "text/csv";
			has_body = true;
		}
	} else if (argc >= 3 &&
		   (strcmp(verb, "show") == 0 || strcmp(verb, "add") == 0 ||
		    strcmp(verb, "set") == 0 || strcmp(verb, "del") == 0)) {
		const char *name = argv[2];
		bool add = strcmp(verb, "add") == 0;
		method = verb[0] == 's' && verb[1] == 'h' ? "GET"
			 : add				  ? "POST"
			 : strcmp(verb, "set") == 0	  ? "PUT"
							  : "DELETE";
		if (is_domain || strcmp(kind, "manager") == 0) {
			e |= buf_printf(&path, "/api/%ss",
					is_domain ? "domain" : "manager");
			if (!add) {
				e |= buf_append_char(&path, '/');
				e |= url_seg(&path, name);
			}
		} else {
			if ((copy = split_addr(name, &local, &dom)) == NULL) {
				fprintf(stderr, "youju: %s: not an address\n",
					name);
				rc = 1;
				goto out;
			}
			e |= buf_append_str(&path, "/api/domains/");
			e |= url_seg(&path, dom);
			e |= buf_printf(&path, "/%s", coll);
			if (!add) {
				e |= buf_append_char(&path, '/');
				/* an alias is named by its whole address */
				e |= url_seg(&path, is_alias ? name : local);
			}
		}
		if (strcmp(verb, "del") == 0 && argc > 3 &&
		    strcmp(argv[3], "purge") == 0)
			e |= buf_append_str(&path, "?purge=1");
		if (add || strcmp(verb, "set") == 0) {
			const char *k0 = NULL, *v0 = NULL;
			if (add) {
				k0 = is_domain	? "domain"
				     : is_user	? "uid"
				     : is_alias ? "address"
						: "username";
				v0 = is_user ? local : name;
			}
			if (fields_json(&body, argc - 3, argv + 3, k0, v0) <
			    0) {
				rc = 2;
				goto out;
			}
			has_body = true;
		}
	} else
		goto out;
	if (e != 0) {
		fprintf(stderr, "youju: argument too long\n");
		rc = 1;
		goto out;
	}
	rc = call(&a, method, buf_cstr(&path), ctype,
		  has_body ? buf_cstr(&body) : NULL, body.len);
out:
	if (rc == 2)
		usage(kind);
	free(copy);
	explicit_bzero(a.token, sizeof a.token);
	buf_wipe(&body);
	buf_deinit(&body);
	buf_deinit(&path);
	return rc;
}
