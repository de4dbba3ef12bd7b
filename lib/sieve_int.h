/*
 * lib/sieve's internals, shared by the parser (sieve_parse.c), the
 * interpreter (sieve_run.c) and the matching code (sieve_match.c).  Not
 * for other modules: they use sieve.h.
 */
#ifndef YOUJU_SIEVE_INT_H
#define YOUJU_SIEVE_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "sieve.h"

enum sieve_ext {
	SIEVE_EXT_FILEINTO = 1u << 0,
	SIEVE_EXT_REJECT = 1u << 1,
	SIEVE_EXT_EREJECT = 1u << 2,
	SIEVE_EXT_ENVELOPE = 1u << 3,
	SIEVE_EXT_ENCODED = 1u << 4,
	SIEVE_EXT_RELATIONAL = 1u << 5,
	SIEVE_EXT_SUBADDRESS = 1u << 6,
	SIEVE_EXT_BODY = 1u << 7,
	SIEVE_EXT_COPY = 1u << 8,
	SIEVE_EXT_MAILBOX = 1u << 9,
	SIEVE_EXT_VARIABLES = 1u << 10,
	SIEVE_EXT_VACATION = 1u << 11,
	SIEVE_EXT_VACATION_SECONDS = 1u << 12,
	SIEVE_EXT_IMAP4FLAGS = 1u << 13,
	SIEVE_EXT_DATE = 1u << 14,
	SIEVE_EXT_INDEX = 1u << 15,
	SIEVE_EXT_EDITHEADER = 1u << 16,
	SIEVE_EXT_DUPLICATE = 1u << 17,
	SIEVE_EXT_NUMERIC = 1u << 18, /* comparator-i;ascii-numeric */
	SIEVE_EXT_OCTET = 1u << 19,   /* comparator-i;octet (implicit) */
	SIEVE_EXT_CASEMAP = 1u << 20, /* comparator-i;ascii-casemap */
};

enum sieve_cmd {
	/* commands */
	SC_REQUIRE,
	SC_IF,
	SC_ELSIF,
	SC_ELSE,
	SC_STOP,
	SC_KEEP,
	SC_DISCARD,
	SC_FILEINTO,
	SC_REDIRECT,
	SC_REJECT,
	SC_EREJECT,
	SC_VACATION,
	SC_SET,
	SC_ADDFLAG,
	SC_SETFLAG,
	SC_REMOVEFLAG,
	SC_ADDHEADER,
	SC_DELETEHEADER,
	/* tests */
	ST_ADDRESS,
	ST_ENVELOPE,
	ST_HEADER,
	ST_EXISTS,
	ST_SIZE,
	ST_ALLOF,
	ST_ANYOF,
	ST_NOT,
	ST_TRUE,
	ST_FALSE,
	ST_BODY,
	ST_STRING,
	ST_DATE,
	ST_CURRENTDATE,
	ST_HASFLAG,
	ST_DUPLICATE,
	ST_MAILBOXEXISTS,
};

enum sieve_mt { SIEVE_MT_IS, SIEVE_MT_CONTAINS, SIEVE_MT_MATCHES };
enum sieve_rel {
	SIEVE_REL_NONE,
	SIEVE_REL_GT,
	SIEVE_REL_GE,
	SIEVE_REL_LT,
	SIEVE_REL_LE,
	SIEVE_REL_EQ,
	SIEVE_REL_NE,
};
enum sieve_cmp { SIEVE_CMP_CASEMAP, SIEVE_CMP_OCTET, SIEVE_CMP_NUMERIC };
enum sieve_ap {
	SIEVE_AP_ALL,
	SIEVE_AP_LOCALPART,
	SIEVE_AP_DOMAIN,
	SIEVE_AP_USER,
	SIEVE_AP_DETAIL,
};
enum sieve_body { SIEVE_BODY_TEXT, SIEVE_BODY_RAW, SIEVE_BODY_CONTENT };

/* set's modifiers (RFC 5229 §4.1) */
enum sieve_mod {
	SIEVE_MOD_LOWER = 1u << 0,
	SIEVE_MOD_UPPER = 1u << 1,
	SIEVE_MOD_LOWERFIRST = 1u << 2,
	SIEVE_MOD_UPPERFIRST = 1u << 3,
	SIEVE_MOD_QUOTEWILDCARD = 1u << 4,
	SIEVE_MOD_LENGTH = 1u << 5,
};

struct sieve_str {
	char *p; /* owned, NUL-terminated (may hold NULs: use len) */
	size_t len;
	bool var; /* holds "${" and variables is required: expand */
};

struct sieve_list {
	struct sieve_str *v; /* owned */
	size_t n;
};

/* A raw argument as parsed, before the command's checks. */
enum sieve_arg_kind { SIEVE_ARG_TAG, SIEVE_ARG_NUM, SIEVE_ARG_STR };

struct sieve_arg {
	enum sieve_arg_kind kind;
	unsigned line;
	bool is_list; /* written as [ ... ] */
	char *tag;    /* SIEVE_ARG_TAG: the name without ':' (owned) */
	uint64_t num;
	struct sieve_list list; /* SIEVE_ARG_STR: one or more strings */
};

/* One command or test: what the parser read, then the checked fields. */
struct sieve_node {
	char *name; /* owned, lower case */
	unsigned line;
	struct sieve_arg *args; /* owned */
	size_t nargs;
	struct sieve_node *tests; /* owned: test or test-list */
	size_t ntests;
	struct sieve_node *block; /* owned: { commands } */
	size_t nblock;
	bool has_block;

	/* filled by the checks */
	enum sieve_cmd cmd;
	enum sieve_mt mt;
	enum sieve_rel rel; /* :value / :count */
	bool count;	    /* :count (else :value when rel set) */
	enum sieve_cmp cmp;
	enum sieve_ap ap;
	enum sieve_body body;
	int64_t index; /* :index, 0 = none */
	bool last;     /* :last */
	bool over;     /* size :over */
	bool copy, create, mime, originalzone, has_flags, has_zone;
	uint64_t num; /* size limit, vacation period in seconds */
	unsigned mods;
	/* positional and tagged string arguments, borrowed from args */
	const struct sieve_list *l1, *l2, *l3;
	const struct sieve_list *flags, *from, *subject, *handle, *addresses,
	    *zone, *content, *header, *uniqueid;
};

struct sieve_program {
	struct sieve_node *cmds; /* owned */
	size_t n;
	unsigned exts; /* enum sieve_ext required */
};

/* "line N: " and the message into err (size errsz), cut to fit: the one
   form of parse and run-time errors (sieve_parse.c). */
__attribute__((format(printf, 4, 0))) void
sieve_error_at(char *err, size_t errsz, unsigned line, const char *fmt,
	       va_list ap);

/* For buffer appends whose failure (a full buffer) leaves a value merely
   shorter. */
static inline void sieve_ign(int r)
{
	(void)r;
}

/* ---- sieve_match.c ------------------------------------------------------- */

/* Captures of a :matches (RFC 5229 §3.2): [0] the whole value. */
#define SIEVE_MATCH_VARS 10
struct sieve_captures {
	struct buf v[SIEVE_MATCH_VARS];
	size_t n;
};

/*
 * value against key with match type mt and comparator cmp.  caps (may be
 * NULL) gets the wildcards' texts of a successful :matches.  Matching is
 * O(len(value) * len(key)) at worst, never exponential.
 */
bool sieve_match(enum sieve_mt mt, enum sieve_cmp cmp, const char *value,
		 size_t vlen, const char *key, size_t klen,
		 struct sieve_captures *caps);
/* The relational comparison (RFC 5231) of a and b under cmp. */
bool sieve_relational(enum sieve_rel rel, enum sieve_cmp cmp, const char *a,
		      size_t alen, const char *b, size_t blen);

#endif
