/*
 * lib/sieve_filters: the webmail's filter form becomes a script that
 * compiles and does what the form says (rules with every condition and
 * action, black and white lists, auto-reply with dates, forwarding with
 * and without a copy, a reject rule that turns the auto-reply off for its
 * messages); the script parses back to the same form, and a script edited
 * by hand, or not ours, does not; bad forms are refused naming the field;
 * the maximum is honoured.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "sieve.h"
#include "sieve_filters.h"
#include "test.h"
#include "webjson.h"

static const char form_json[] =
    "{\"rules\": ["
    " {\"name\": \"reports\", \"match\": \"all\", \"conditions\": ["
    "   {\"field\": \"subject\", \"op\": \"contains\", \"value\": \"report\"},"
    "   {\"field\": \"from\", \"op\": \"not_contains\", \"value\": \"boss\"}],"
    "  \"actions\": [{\"type\": \"fileinto\", \"value\": \"Work/Reports\"},"
    "   {\"type\": \"mark_read\"}, {\"type\": \"stop\"}]},"
    " {\"name\": \"big\", \"conditions\": ["
    "   {\"field\": \"size\", \"op\": \"over\", \"value\": \"1M\"}],"
    "  \"actions\": [{\"type\": \"flag\"}]},"
    " {\"name\": \"list\", \"match\": \"any\", \"conditions\": ["
    "   {\"field\": \"header\", \"header\": \"List-Id\", \"op\": \"contains\","
    "    \"value\": \"devel\"},"
    "   {\"field\": \"to\", \"op\": \"is\", \"value\": \"list@x.org\"}],"
    "  \"actions\": [{\"type\": \"redirect_copy\", \"value\": \"a@b.org\"},"
    "   {\"type\": \"fileinto\", \"value\": \"Lists\"}]},"
    " {\"name\": \"pest \\\"q\\\"\", \"conditions\": ["
    "   {\"field\": \"from\", \"op\": \"contains\", \"value\": \"pest\"}],"
    "  \"actions\": [{\"type\": \"reject\", \"value\": \"Go \\\"away\\\"\\n"
    "now\"}]},"
    " {\"name\": \"off\", \"enabled\": false, \"conditions\": [],"
    "  \"actions\": [{\"type\": \"discard\"}]}"
    "],"
    "\"blacklist\": [\"spam@ex.com\", \"@bad.example\"],"
    "\"whitelist\": [\"friend.example\"],"
    "\"vacation\": {\"enabled\": true, \"subject\": \"Away\", \"body\": "
    "\"Back\\nsoon\", \"days\": 3, \"start\": \"2000-01-01\", \"end\": "
    "\"2999-12-31\", \"addresses\": [\"me@alias.org\"]},"
    "\"forward\": {\"enabled\": true, \"to\": [\"fw@else.org\"], \"keep\": "
    "true}}";

static const char *const kinds[] = {"keep",    "fileinto", "redirect",
				    "discard", "reject",   "vacation"};

/* The actions of a run as "kind:arg[flags];..." */
static void run(const char *script, size_t len, const char *from,
		const char *subject, const char *extra, char *out, size_t outsz)
{
	char err[SIEVE_ERROR_MAX], msg[2048];
	struct sieve_program *p = sieve_compile(script, len, err, sizeof(err));
	if (p == NULL) {
		snprintf(out, outsz, "COMPILE %s", err);
		return;
	}
	snprintf(msg, sizeof(msg),
		 "From: <%s>\nTo: me@example.org\nSubject: %s\n%s\nhi\n", from,
		 subject, extra);
	struct sieve_msg m = {msg, strlen(msg), from, "me@example.org",
			      "me@example.org"};
	struct sieve_env env = {.delimiter = "", .now = 1700000000};
	struct sieve_result r;
	out[0] = '\0';
	if (sieve_run(p, &m, &env, &r, err, sizeof(err)) < 0) {
		snprintf(out, outsz, "ERROR %s", err);
	} else {
		size_t o = 0;
		for (size_t i = 0; i < r.n; i++) {
			const struct sieve_action *a = &r.v[i];
			int n = snprintf(
			    out + o, outsz - o, "%s%s%s%s%s%s%s", i ? ";" : "",
			    kinds[a->kind],
			    a->arg && a->kind != SIEVE_ACT_VACATION ? ":" : "",
			    a->arg && a->kind != SIEVE_ACT_VACATION ? a->arg
								    : "",
			    a->flags && a->flags[0] ? "[" : "",
			    a->flags ? a->flags : "",
			    a->flags && a->flags[0] ? "]" : "");
			if (n < 0 || (size_t)n >= outsz - o)
				break;
			o += (size_t)n;
		}
		sieve_result_free(&r);
	}
	sieve_free(&p);
}

static json_t *parse(const char *s)
{
	char e[128];
	json_t *o = webjson_parse_object(s, strlen(s), e, sizeof e);
	if (o == NULL)
		fprintf(stderr, "json: %s\n", e);
	return o;
}

/* generate s; returns 0 or -1 with the field in field */
static int gen(const char *s, struct buf *b, char *field, size_t fsz)
{
	char err[200];
	json_t *o = parse(s);
	buf_reset(b);
	int rc = o == NULL ? -2
			   : sieve_filters_generate(o, b, err, sizeof err,
						    field, fsz);
	json_decref(o);
	return rc;
}

static void collect(void *ctx, const char *addr, size_t len, bool copy)
{
	char *out = ctx;
	size_t o = strlen(out);
	snprintf(out + o, 512 - o, "%s%.*s%s", o ? "," : "", (int)len, addr,
		 copy ? "+copy" : "");
}

/* sieve_redirects (lib/sieve_inspect.c), which webadmin shows */
static void redirects(void)
{
	static const char s[] =
	    "require [\"copy\", \"variables\"];\n"
	    "redirect \"a@x.org\";\n"
	    "if header :contains \"subject\" \"x\" {\n"
	    "  if true { redirect :copy \"b@y.org\"; }\n"
	    "} elsif false { redirect \"c@z.org\"; } else { keep; }\n"
	    "set \"t\" \"d@w.org\"; redirect \"${t}\";\n";
	char err[SIEVE_ERROR_MAX], out[512] = "";
	struct sieve_program *p =
	    sieve_compile(s, sizeof s - 1, err, sizeof err);
	test_assert(p != NULL);
	test_assert(sieve_redirects(p, collect, out) == 4);
	test_assert(strcmp(out, "a@x.org,b@y.org+copy,c@z.org,${t}") == 0);
	sieve_free(&p);
	p = sieve_compile("keep;", 5, err, sizeof err);
	out[0] = '\0';
	test_assert(p != NULL && sieve_redirects(p, collect, out) == 0);
	sieve_free(&p);
}

int main(void)
{
	test_begin("sieve_filters");
	redirects();
	struct buf b;
	buf_init(&b, SIEVE_SCRIPT_MAX);
	char field[300], out[2048];
	test_assert(gen(form_json, &b, field, sizeof field) == 0);

	static const struct {
		const char *from, *subject, *extra, *want;
	} cases[] = {
	    {"spam@ex.com", "x", "", ""},
	    {"a@bad.example", "x", "", ""},
	    /* white list: auto-reply and forward, then keep */
	    {"x@friend.example", "report", "",
	     "vacation;redirect:fw@else.org;keep"},
	    {"a@example.net", "weekly report", "",
	     "vacation;redirect:fw@else.org;fileinto:Work/Reports[\\Seen]"},
	    {"boss@example.net", "weekly report", "",
	     "vacation;redirect:fw@else.org;keep"},
	    {"a@example.net", "hi", "List-Id: <devel.x.org>\n",
	     "vacation;redirect:fw@else.org;redirect:a@b.org;fileinto:Lists"},
	    /* the reject rule: no auto-reply, no forward */
	    {"pest@example.net", "hi", "", "reject:Go \"away\"\nnow"},
	    {"a@example.net", "plain", "",
	     "vacation;redirect:fw@else.org;keep"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(b.p, b.len, cases[i].from, cases[i].subject, cases[i].extra,
		    out, sizeof out);
		bool ok = strcmp(out, cases[i].want) == 0;
		if (!ok)
			fprintf(stderr, "case %zu: got \"%s\"\n%s\n", i, out,
				b.p);
		test_assert(ok);
	}

	/* the script parses back to the same form, and again to the same
	   script */
	json_t *f = sieve_filters_parse(b.p, b.len);
	test_assert(f != NULL);
	struct buf again;
	buf_init(&again, SIEVE_SCRIPT_MAX);
	char err[200];
	test_assert(sieve_filters_generate(f, &again, err, sizeof err, field,
					   sizeof field) == 0);
	test_assert(again.len == b.len && memcmp(again.p, b.p, b.len) == 0);
	json_t *r0 = json_array_get(json_object_get(f, "rules"), 4);
	test_assert(json_is_false(json_object_get(r0, "enabled")));
	json_decref(f);
	buf_deinit(&again);

	/* edited by hand: not the form's any more */
	char *edited = strdup(b.p);
	char *k = strstr(edited, "discard;");
	test_assert(k != NULL);
	memcpy(k, "keep;   ", 8);
	test_assert(sieve_filters_parse(edited, b.len) == NULL);
	free(edited);
	static const char plain[] = "require \"fileinto\";\nkeep;\n";
	test_assert(sieve_filters_parse(plain, sizeof plain - 1) == NULL);
	test_assert(sieve_filters_parse("", 0) == NULL);
	static const char fake[] = "# youju-filters-v1 {\"rules\": 5}\nkeep;\n";
	test_assert(sieve_filters_parse(fake, sizeof fake - 1) == NULL);

	/* the empty form: a script that keeps, and back */
	json_t *e = sieve_filters_empty();
	buf_reset(&b);
	test_assert(sieve_filters_generate(e, &b, err, sizeof err, field,
					   sizeof field) == 0);
	run(b.p, b.len, "a@b.c", "x", "", out, sizeof out);
	test_assert(strcmp(out, "keep") == 0);
	json_t *e2 = sieve_filters_parse(b.p, b.len);
	test_assert(e2 != NULL && json_equal(e, e2));
	json_decref(e);
	json_decref(e2);

	/* an auto-reply out of its dates is not sent */
	test_assert(gen("{\"vacation\": {\"enabled\": true, \"body\": \"x\", "
			"\"end\": \"2001-01-01\"}}",
			&b, field, sizeof field) == 0);
	run(b.p, b.len, "a@b.c", "x", "", out, sizeof out);
	test_assert(strcmp(out, "keep") == 0);
	/* forward without a copy stops before the rules */
	test_assert(gen("{\"forward\": {\"enabled\": true, \"to\": [\"x@y.z\"],"
			" \"keep\": false}, \"rules\": [{\"actions\": "
			"[{\"type\": \"fileinto\", \"value\": \"A\"}]}]}",
			&b, field, sizeof field) == 0);
	run(b.p, b.len, "a@b.c", "x", "", out, sizeof out);
	test_assert(strcmp(out, "redirect:x@y.z") == 0);

	/* bad forms name the field */
	static const struct {
		const char *json, *field;
	} bad[] = {
	    {"{\"bogus\": 1}", "bogus"},
	    {"{\"rules\": 3}", "rules"},
	    {"{\"rules\": [{\"actions\": []}]}", "rules[0].actions"},
	    {"{\"rules\": [{\"actions\": [{\"type\": \"explode\"}]}]}",
	     "rules[0].actions[0].type"},
	    {"{\"rules\": [{\"actions\": [{\"type\": \"redirect\", \"value\": "
	     "\"no address\"}]}]}",
	     "rules[0].actions[0].value"},
	    {"{\"rules\": [{\"actions\": [{\"type\": \"reject\", \"value\": "
	     "\"x\"}, {\"type\": \"fileinto\", \"value\": \"A\"}]}]}",
	     "rules[0].actions"},
	    {"{\"rules\": [{\"conditions\": [{\"field\": \"size\", \"op\": "
	     "\"over\", \"value\": \"12Q\"}], \"actions\": [{\"type\": "
	     "\"discard\"}]}]}",
	     "rules[0].conditions[0].value"},
	    {"{\"rules\": [{\"conditions\": [{\"field\": \"subject\", \"op\": "
	     "\"over\", \"value\": \"1\"}], \"actions\": [{\"type\": "
	     "\"discard\"}]}]}",
	     "rules[0].conditions[0].op"},
	    {"{\"rules\": [{\"conditions\": [{\"field\": \"header\", "
	     "\"header\": \"a:b\", \"value\": \"1\"}], \"actions\": "
	     "[{\"type\": \"discard\"}]}]}",
	     "rules[0].conditions[0].header"},
	    {"{\"rules\": [{\"name\": \"a\\nb\", \"actions\": [{\"type\": "
	     "\"discard\"}]}]}",
	     "rules[0].name"},
	    {"{\"vacation\": {\"enabled\": true, \"body\": \"\"}}",
	     "vacation.body"},
	    {"{\"vacation\": {\"days\": 0}}", "vacation.days"},
	    {"{\"vacation\": {\"start\": \"2026-13-01\"}}", "vacation.start"},
	    {"{\"vacation\": {\"start\": \"2026-02-01\", \"end\": "
	     "\"2026-01-01\"}}",
	     "vacation.end"},
	    {"{\"forward\": {\"enabled\": true}}", "forward.to"},
	    {"{\"blacklist\": [\"a b\"]}", "blacklist[0]"},
	    {"{\"whitelist\": [\"\\u0001x@y.z\"]}", "whitelist[0]"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		field[0] = '\0';
		int rc = gen(bad[i].json, &b, field, sizeof field);
		bool ok = rc == -1 && strcmp(field, bad[i].field) == 0;
		if (!ok)
			fprintf(stderr, "bad %zu: rc %d field \"%s\"\n", i, rc,
				field);
		test_assert(ok);
	}

	/* the maximum is honoured */
	struct buf small;
	buf_init(&small, 200);
	json_t *o = parse(form_json);
	test_assert(sieve_filters_generate(o, &small, err, sizeof err, field,
					   sizeof field) == -1);
	test_assert(small.len <= 200);
	json_decref(o);
	buf_deinit(&small);
	buf_deinit(&b);
	return test_end();
}
