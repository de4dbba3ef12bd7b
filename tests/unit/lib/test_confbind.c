/*
 * Tests for lib/confbind: every kind lands in its field, as the conf_*()
 * calls it replaces would put it there.
 */
#include "confbind.h"
#include "test.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct conf_param t_params[] = {
    {"t_str", CONF_STR, "hello", 0, 0, 0, "a string"},
    {"t_int", CONF_INT, "5", -10, 100, 0, "an int"},
    {"t_size", CONF_SIZE, "0", 0, 100000, 0, "a size"},
    {"t_time", CONF_TIME, "1h", 0, 7200, 's', "a time"},
    {"t_bool", CONF_BOOL, "no", 0, 0, 0, "a bool"},
    {NULL, CONF_STR, NULL, 0, 0, 0, NULL},
};
static const struct conf_table t_table = {"test", t_params};
static const struct conf_table *t_tables[] = {&t_table, NULL};

struct settings {
	const char *s;
	char *dup;
	bool b;
	unsigned u;
	uint64_t size;
	size_t sz;
	unsigned secs;
	uint64_t ms;
};

#define B(kind, name, field) CONF_BIND(kind, name, struct settings, field)
static const struct conf_bind binds[] = {
    B(CONF_B_STR, "t_str", s),	    B(CONF_B_STRDUP, "t_str", dup),
    B(CONF_B_BOOL, "t_bool", b),    B(CONF_B_UINT, "t_int", u),
    B(CONF_B_U64, "t_size", size),  B(CONF_B_SIZE, "t_size", sz),
    B(CONF_B_SECS, "t_time", secs), B(CONF_B_MS, "t_time", ms),
};
#undef B

int main(void)
{
	test_begin("bind");
	static const char text[] = "t_str = world\nt_bool = yes\nt_int = 42\n"
				   "t_size = 65536\nt_time = 2m\n";
	const char *err = NULL;
	struct conf *c = conf_parse("test.cf", text, sizeof text - 1, t_tables,
				    NULL, NULL, &err);
	test_assert(c != NULL);
	if (c == NULL)
		return test_end();
	struct settings st;
	memset(&st, 0, sizeof st);
	conf_bind_apply(c, binds, sizeof binds / sizeof *binds, &st);
	test_assert(strcmp(st.s, "world") == 0 && st.s == conf_str(c, "t_str"));
	test_assert(st.dup != NULL && strcmp(st.dup, "world") == 0 &&
		    st.dup != st.s);
	test_assert(st.b && st.u == 42 && st.size == 65536 && st.sz == 65536);
	test_assert(st.secs == 120 && st.ms == 120000);
	free(st.dup);
	conf_free(&c);
	return test_end();
}
