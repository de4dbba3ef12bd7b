/* Unit tests for mta/maps: text, cidr, regexp, pcre and mysql tables,
   networks, and mta/anvil's connection counting. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../../mta/anvil.h"
#include "../../../mta/maps.h"
#include "test.h"

static enum map_status look(struct map *m, const char *key, char *v)
{
	return map_lookup(m, key, v, MAP_VALUE_MAX + 1);
}

static void test_net(void)
{
	struct map_net n;
	test_begin("map_net");
	test_assert(map_net_parse("192.0.2.0/24", 12, &n));
	test_assert(map_net_match(&n, "192.0.2.255"));
	test_assert(!map_net_match(&n, "192.0.3.0"));
	test_assert(map_net_match(&n, "::ffff:192.0.2.1"));
	test_assert(!map_net_parse("192.0.2.1/24", 12, &n)); /* host bits */
	test_assert(!map_net_parse("192.0.2.0/33", 12, &n));
	test_assert(!map_net_parse("", 0, &n));
	test_assert(!map_net_parse("/8", 2, &n));
	test_assert(map_net_parse("[2001:db8::]/32", 15, &n));
	test_assert(map_net_match(&n, "2001:db8:ffff::1"));
	test_assert(!map_net_match(&n, "2001:db9::1"));
	test_assert(map_net_parse("0.0.0.0/0", 9, &n));
	test_assert(map_net_match(&n, "203.0.113.9"));
	test_assert(!map_net_match(&n, "garbage"));
	/* an embedded NUL ends the text */
	test_assert(!map_net_parse("10.0.0.0\0/8", 11, &n));
}

static void test_text(void)
{
	char err[256], v[MAP_VALUE_MAX + 1];
	test_begin("text tables");
	static const char t[] = "# comment\n"
				"Key1 value one\n"
				"key2\tcontinued\n"
				"  on the next line\n"
				"\n"
				"   # indented comment\n"
				"key3 v3\r\n"
				"empty\n";
	struct map *m =
	    map_from_text("hash", t, sizeof(t) - 1, err, sizeof(err));
	test_assert(m != NULL && map_is_fixed(m));
	test_assert(look(m, "key1", v) == MAP_FOUND &&
		    strcmp(v, "value one") == 0);
	test_assert(look(m, "KEY1", v) == MAP_FOUND);
	test_assert(look(m, "key2", v) == MAP_FOUND &&
		    strcmp(v, "continued on the next line") == 0);
	test_assert(look(m, "key3", v) == MAP_FOUND && strcmp(v, "v3") == 0);
	test_assert(look(m, "empty", v) == MAP_FOUND && v[0] == '\0');
	test_assert(look(m, "key", v) == MAP_NOTFOUND);
	test_assert(look(m, "", v) == MAP_NOTFOUND);
	map_free(&m);
	test_assert(m == NULL);
	m = map_from_text("texthash", "", 0, err, sizeof(err));
	test_assert(m != NULL && look(m, "x", v) == MAP_NOTFOUND);
	map_free(&m);
	test_assert(map_from_text("mysql", "", 0, err, sizeof(err)) == NULL);
	test_assert(strstr(err, "unsupported map type mysql") != NULL);
	test_assert(map_open("ldap:/etc/x", err, sizeof(err)) == NULL);
	test_assert(map_open("hash:relative", err, sizeof(err)) == NULL);
}

static void test_cidr(void)
{
	char err[256], v[MAP_VALUE_MAX + 1];
	test_begin("cidr tables");
	static const char t[] = "10.0.0.0/8 first\n"
				"10.1.0.0/16 never (first wins)\n"
				"192.0.2.7 exact\n"
				"[::1] loop6\n"
				"2001:db8::/32 v6\n";
	struct map *m =
	    map_from_text("cidr", t, sizeof(t) - 1, err, sizeof(err));
	test_assert(m != NULL && !map_is_fixed(m));
	test_assert(look(m, "10.1.2.3", v) == MAP_FOUND &&
		    strcmp(v, "first") == 0);
	test_assert(look(m, "192.0.2.7", v) == MAP_FOUND &&
		    strcmp(v, "exact") == 0);
	test_assert(look(m, "192.0.2.8", v) == MAP_NOTFOUND);
	test_assert(look(m, "::1", v) == MAP_FOUND);
	test_assert(look(m, "2001:db8::5", v) == MAP_FOUND &&
		    strcmp(v, "v6") == 0);
	test_assert(look(m, "not-an-address", v) == MAP_NOTFOUND);
	map_free(&m);
	static const char bad[] = "10.0.0.1/8 x\n";
	test_assert(map_from_text("cidr", bad, sizeof(bad) - 1, err,
				  sizeof(err)) == NULL);
	test_assert(strstr(err, "line 1") != NULL);
}

static void test_regexp(const char *type)
{
	char err[256], v[MAP_VALUE_MAX + 1];
	test_begin(type);
	static const char t[] = "/^(spam)([0-9]+)@/ REJECT $1 number $2\n"
				"!/@example\\.net$/ OK not ours\n"
				"#/x/ comment\n"
				"/^CASE@/ found ${1}case\n"
				"/^exact@example\\.net$/i SENSITIVE\n"
				"|a/b@example.net| delim\n";
	struct map *m = map_from_text(type, t, sizeof(t) - 1, err, sizeof(err));
	test_assert(m != NULL);
	test_assert(look(m, "spam42@example.net", v) == MAP_FOUND &&
		    strcmp(v, "REJECT spam number 42") == 0);
	test_assert(look(m, "x@elsewhere.example", v) == MAP_FOUND &&
		    strcmp(v, "OK not ours") == 0);
	test_assert(look(m, "case@example.net", v) == MAP_FOUND &&
		    strcmp(v, "found case") == 0);
	/* 'i' toggles the default case-insensitivity off */
	test_assert(look(m, "exact@example.net", v) == MAP_FOUND &&
		    strcmp(v, "SENSITIVE") == 0);
	test_assert(look(m, "EXACT@example.net", v) == MAP_NOTFOUND);
	test_assert(look(m, "a/b@example.net", v) == MAP_FOUND &&
		    strcmp(v, "delim") == 0);
	test_assert(look(m, "nothing@example.net", v) == MAP_NOTFOUND);
	map_free(&m);
	static const char bad[] = "/unclosed REJECT\n";
	test_assert(map_from_text(type, bad, sizeof(bad) - 1, err,
				  sizeof(err)) == NULL);
	static const char bad2[] = "/(/ REJECT\n";
	test_assert(map_from_text(type, bad2, sizeof(bad2) - 1, err,
				  sizeof(err)) == NULL);
	test_assert(strstr(err, "line 1") != NULL);
}

/* if/endif blocks (regexp_table(5), pcre_table(5), cidr_table(5)) */
static void test_if_endif(const char *type)
{
	char err[256], v[MAP_VALUE_MAX + 1];
	test_begin("if/endif");
	static const char t[] = "if /@example\\.net$/\n"
				"/^spam/ REJECT spam at example.net\n"
				"if !/^ok/\n"
				"/^x/ REJECT not ok x\n"
				"endif\n"
				"endif\n"
				"IF /@empty\\.test$/\n"
				"ENDIF\n"
				"/^spam/ DUNNO elsewhere\n"
				"/^x/ OUTER x\n";
	struct map *m = map_from_text(type, t, sizeof(t) - 1, err, sizeof(err));
	test_assert(m != NULL);
	test_assert(look(m, "spam@example.net", v) == MAP_FOUND &&
		    strcmp(v, "REJECT spam at example.net") == 0);
	test_assert(look(m, "spam@example.org", v) == MAP_FOUND &&
		    strcmp(v, "DUNNO elsewhere") == 0);
	test_assert(look(m, "x1@example.net", v) == MAP_FOUND &&
		    strcmp(v, "REJECT not ok x") == 0);
	test_assert(look(m, "x1@example.org", v) == MAP_FOUND &&
		    strcmp(v, "OUTER x") == 0);
	test_assert(look(m, "x@empty.test", v) == MAP_FOUND &&
		    strcmp(v, "OUTER x") == 0);
	test_assert(look(m, "ok@example.net", v) == MAP_NOTFOUND);
	map_free(&m);
	static const char *const bad[] = {
	    "if /a/\n/b/ X\n",	      /* no endif */
	    "/b/ X\nendif\n",	      /* endif without if */
	    "if /a/ REJECT\nendif\n", /* if with an action */
	    "if /a/\nendif x\n",      /* text after endif */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		test_assert(map_from_text(type, bad[i], strlen(bad[i]), err,
					  sizeof(err)) == NULL);
		test_assert(strstr(err, "line ") != NULL);
	}
	static const char cidr[] = "if 192.0.2.0/24\n"
				   "!192.0.2.1 not-one\n"
				   "endif\n"
				   "0.0.0.0/0 rest\n";
	m = map_from_text("cidr", cidr, sizeof(cidr) - 1, err, sizeof(err));
	test_assert(m != NULL);
	test_assert(look(m, "192.0.2.5", v) == MAP_FOUND &&
		    strcmp(v, "not-one") == 0);
	test_assert(look(m, "192.0.2.1", v) == MAP_FOUND &&
		    strcmp(v, "rest") == 0);
	test_assert(look(m, "10.0.0.1", v) == MAP_FOUND &&
		    strcmp(v, "rest") == 0);
	map_free(&m);
}

static void test_reload(void)
{
	char err[256], v[MAP_VALUE_MAX + 1], spec[64];
	char path[] = "/tmp/youju-test-map-XXXXXX";
	test_begin("reload on change");
	int fd = mkstemp(path);
	test_assert(fd >= 0);
	test_assert(write(fd, "a 1\n", 4) == 4);
	close(fd);
	snprintf(spec, sizeof(spec), "hash:%s", path);
	struct map *m = map_open(spec, err, sizeof(err));
	test_assert(m != NULL && strcmp(map_spec(m), spec) == 0);
	test_assert(look(m, "a", v) == MAP_FOUND && strcmp(v, "1") == 0);
	FILE *f = fopen(path, "w");
	test_assert(f != NULL);
	fputs("a 2\nb 3\n", f);
	fclose(f);
	test_assert(look(m, "a", v) == MAP_FOUND && strcmp(v, "2") == 0);
	test_assert(look(m, "b", v) == MAP_FOUND);
	/* a broken edit keeps the old contents */
	snprintf(spec, sizeof(spec), "cidr:%s", path);
	struct map *c = map_open(spec, err, sizeof(err));
	test_assert(c == NULL); /* "a" is no network */
	unlink(path);
	test_assert(look(m, "b", v) == MAP_FOUND); /* gone: kept */
	map_free(&m);
}

static void test_anvil(void)
{
	unsigned count, rate;
	test_begin("anvil");
	struct anvil *a = anvil_new();
	anvil_connect(a, "192.0.2.1", 1000, 60000, &count, &rate);
	test_assert(count == 1 && rate == 1);
	anvil_connect(a, "192.0.2.1", 2000, 60000, &count, &rate);
	test_assert(count == 2 && rate == 2);
	anvil_connect(a, "192.0.2.2", 2000, 60000, &count, &rate);
	test_assert(count == 1 && rate == 1);
	anvil_disconnect(a, "192.0.2.1");
	anvil_disconnect(a, "192.0.2.1");
	anvil_disconnect(a, "192.0.2.1"); /* one too many: ignored */
	anvil_connect(a, "192.0.2.1", 3000, 60000, &count, &rate);
	test_assert(count == 1 && rate == 3);
	anvil_connect(a, "192.0.2.1", 70000, 60000, &count, &rate);
	test_assert(count == 2 && rate == 1); /* a new window */
	anvil_free(&a);
	test_assert(a == NULL);
}

/* A stand-in for youju-authd: answers MAPLOOKUP by the key's first
   word: "found" -> VALUE, "missing" -> FAIL, anything else -> close. */
struct fake_authd {
	int fd;
	int n; /* connections to serve */
	char last[4096];
};

static void *fake_authd_run(void *arg)
{
	struct fake_authd *f = arg;
	for (int i = 0; i < f->n; i++) {
		int c = accept(f->fd, NULL, NULL);
		if (c < 0)
			break;
		char line[4096];
		size_t len = 0;
		while (len + 1 < sizeof(line)) {
			ssize_t r = read(c, line + len, 1);
			if (r <= 0 || line[len] == '\n')
				break;
			len++;
		}
		line[len] = '\0';
		memcpy(f->last, line, len + 1);
		const char *key = strrchr(line, ' ');
		const char *reply = "";
		if (key != NULL && strncmp(key + 1, "found", 5) == 0)
			reply = "VALUE=REJECT from sql\n.\n";
		else if (key != NULL && strncmp(key + 1, "missing", 7) == 0)
			reply = "FAIL\n";
		if (write(c, reply, strlen(reply)) < 0)
			perror("write");
		close(c);
	}
	return NULL;
}

static void test_mysql(void)
{
	char err[256], v[MAP_VALUE_MAX + 1];
	char dir[] = "/tmp/youju-maps-XXXXXX";
	test_begin("mysql tables (through youju-authd)");
	/* no socket known yet */
	struct map *m = map_open("mysql:/etc/x.cf", err, sizeof(err));
	test_assert(m == NULL && strstr(err, "authd_socket") != NULL);
	test_assert(mkdtemp(dir) != NULL);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/socket", dir);
	struct fake_authd f = {.n = 5};
	f.fd = socket(AF_UNIX, SOCK_STREAM, 0);
	test_assert(bind(f.fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    listen(f.fd, 8) == 0);
	pthread_t th;
	test_assert(pthread_create(&th, NULL, fake_authd_run, &f) == 0);
	map_set_authd_socket(sa.sun_path);

	test_assert(map_open("mysql:relative.cf", err, sizeof(err)) == NULL);
	m = map_open("mysql:/etc/postfix/my access.cf", err, sizeof(err));
	test_assert(m != NULL && map_is_fixed(m));
	test_assert(look(m, "Found.Example", v) == MAP_FOUND &&
		    strcmp(v, "REJECT from sql") == 0);
	/* the key is folded and both words are encoded */
	test_assert(strcmp(f.last, "MAPLOOKUP /etc/postfix/my%20access.cf "
				   "found.example") == 0);
	test_assert(look(m, "missing x%y", v) == MAP_NOTFOUND);
	test_assert(strcmp(f.last, "MAPLOOKUP /etc/postfix/my%20access.cf "
				   "missing%20x%25y") == 0);
	test_assert(look(m, "down", v) == MAP_TEMPFAIL);
	/* a value that does not fit is a temporary failure, not a cut */
	test_assert(map_lookup(m, "found", v, 5) == MAP_TEMPFAIL);
	/* the longest key goes out; one more byte is not looked up */
	char key[MAP_KEY_MAX + 2];
	memset(key, 'm', sizeof(key));
	memcpy(key, "missing", 7);
	key[MAP_KEY_MAX] = '\0';
	test_assert(look(m, key, v) == MAP_NOTFOUND);
	key[MAP_KEY_MAX] = 'm';
	key[MAP_KEY_MAX + 1] = '\0';
	test_assert(look(m, key, v) == MAP_NOTFOUND);
	map_free(&m);
	pthread_join(th, NULL);
	close(f.fd);
	/* nobody listening: temporary failure */
	m = map_open("mysql:/etc/x.cf", err, sizeof(err));
	test_assert(m != NULL && look(m, "found", v) == MAP_TEMPFAIL);
	map_free(&m);
	unlink(sa.sun_path);
	rmdir(dir);
}

int main(void)
{
	test_net();
	test_text();
	test_cidr();
	test_regexp("regexp");
	test_regexp("pcre");
	test_if_endif("regexp");
	test_if_endif("pcre");
	test_reload();
	test_mysql();
	test_anvil();
	return test_end();
}
