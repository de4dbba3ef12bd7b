/*
 * One row of an ExtMail table as webadmin edits it: the column values as
 * strings in the table's column order (extmail_*_cols), filled from
 * defaults (create) or from the stored row (update), then overwritten by
 * the request's fields after each is validated by its spec.  One UPDATE
 * or INSERT with every column then writes it, so the SQL text is fixed.
 */
#ifndef YOUJU_WA_RECORD_H
#define YOUJU_WA_RECORD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "sqlpool.h"

#define REC_COLS_MAX 32

enum rec_type {
	REC_STR,   /* text up to maxlen bytes, printable */
	REC_INT,   /* integer in [min, max] */
	REC_FLAG,  /* true/false or 0/1, stored "0"/"1" */
	REC_QUOTA, /* bytes in [0, EXTMAIL_QUOTA_MAX], stored "NNNS" */
	REC_DATE,  /* "YYYY-MM-DD" or "0000-00-00" */
	REC_FIXED, /* not settable through the API */
};

struct rec_field {
	const char *name;
	enum rec_type type;
	size_t maxlen;
	int64_t min, max;
};

struct record {
	const char *const *cols;	/* NULL-terminated, extmail_*_cols */
	const struct rec_field *fields; /* specs by name; NULL-terminated */
	char *v[REC_COLS_MAX];		/* owned; NULL = SQL NULL */
	size_t n;
};

/* The services a domain or a mailbox can be denied (ExtMail's disable*
   columns, the order of wa_services[]), as rows of a field table. */
/* clang-format off */
#define REC_SERVICE_FIELDS                                                     \
	{ "disablesmtpd", REC_FLAG, 0, 0, 0 },                                 \
	{ "disablesmtp", REC_FLAG, 0, 0, 0 },                                  \
	{ "disablewebmail", REC_FLAG, 0, 0, 0 },                               \
	{ "disablenetdisk", REC_FLAG, 0, 0, 0 },                               \
	{ "disableimap", REC_FLAG, 0, 0, 0 },                                  \
	{ "disablepop3", REC_FLAG, 0, 0, 0 }
/* clang-format on */

/*
 * Loads domain's row into d (extmail_domain_cols), locked FOR UPDATE in
 * the caller's transaction (mailboxes.c).  Returns 1, 0 when there is no
 * such domain (with answer_404 after replying 404), or -1 after replying.
 */
struct sqlconn;
struct http_req;
int wa_lock_domain(struct http_req *req, struct sqlconn *c, const char *domain,
		   struct record *d, bool answer_404);

/* the mailbox table's specs (mailboxes.c) */
extern const struct rec_field wa_mailbox_fields[];

/*
 * Sets column name from text (a CSV field) by its spec: integers, flags
 * (0/1/true/false/yes/no), quotas in bytes, dates, strings.  Returns 0, or
 * -1 with a message in *err_r (static) for a bad value, an unknown or
 * read-only column.
 */
int rec_apply_text(struct record *r, const char *name, const char *value,
		   const char **err_r);

void rec_init(struct record *r, const char *const *cols,
	      const struct rec_field *fields);
void rec_deinit(struct record *r);
/* Sets column name to a copy of value (NULL: SQL NULL). */
void rec_set(struct record *r, const char *name, const char *value);
const char *rec_get(const struct record *r, const char *name);
/* Copies every column of row (selected with the same column list). */
void rec_load(struct record *r, const struct sqlrow *row);
/*
 * Applies the request object's fields: each must have a spec that is not
 * REC_FIXED (else 400 naming it) and pass it.  Returns 0, or -1 after a
 * 400 naming the field.
 */
int rec_apply(struct http_req *req, struct record *r, json_t *in);
/* The record as JSON (wa_row_json: no passwords). */
json_t *rec_json(const struct record *r);
/* The values as an args array for sqlconn_query (borrowed). */
const char *const *rec_args(const struct record *r);
/* Bytes of a quota column (0 if unset or unparsable). */
uint64_t rec_quota(const struct record *r, const char *name);
/* Integer value of a column (0 if unset). */
int64_t rec_int(const struct record *r, const char *name);

#endif
