/*
 * Validated rows for the ExtMail tables (see record.h).  Every value the
 * API accepts goes through one spec here, so a field is checked the same
 * way on create and update, and the error names it.
 */
#include "record.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extmail_sql.h"
#include "str.h"
#include "wa.h"
#include "webjson.h"
#include "xalloc.h"

void rec_init(struct record *r, const char *const *cols,
	      const struct rec_field *fields)
{
	memset(r, 0, sizeof *r);
	r->cols = cols;
	r->fields = fields;
	while (cols[r->n] != NULL)
		r->n++;
	if (r->n > REC_COLS_MAX)
		r->n = REC_COLS_MAX;
}

void rec_deinit(struct record *r)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i] != NULL) {
			explicit_bzero(r->v[i], strlen(r->v[i]));
			free(r->v[i]);
		}
		r->v[i] = NULL;
	}
}

static ssize_t col_index(const struct record *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->cols[i], name) == 0)
			return (ssize_t)i;
	return -1;
}

void rec_set(struct record *r, const char *name, const char *value)
{
	ssize_t i = col_index(r, name);
	if (i < 0)
		return;
	free(r->v[i]);
	r->v[i] = value != NULL ? xstrdup(value) : NULL;
}

const char *rec_get(const struct record *r, const char *name)
{
	ssize_t i = col_index(r, name);
	return i < 0 ? NULL : r->v[i];
}

void rec_load(struct record *r, const struct sqlrow *row)
{
	for (size_t i = 0; i < r->n && i < row->ncols; i++) {
		free(r->v[i]);
		r->v[i] = row->cols[i] != NULL ? xstrdup(row->cols[i]) : NULL;
	}
}

static const struct rec_field *spec(const struct record *r, const char *name)
{
	for (const struct rec_field *f = r->fields; f->name != NULL; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

static int bad(struct http_req *req, const char *field, const char *what)
{
	char msg[300];
	snprintf(msg, sizeof msg, "%s: %s", field, what);
	webjson_error(req, 400, "invalid", msg, field);
	return -1;
}

int rec_apply(struct http_req *req, struct record *r, json_t *in)
{
	const char *k;
	json_t *v;
	json_object_foreach(in, k, v)
	{
		const struct rec_field *f = spec(r, k);
		if (f == NULL || f->type == REC_FIXED || col_index(r, k) < 0)
			return bad(req, k, "unknown or read-only field");
		char num[32];
		switch (f->type) {
		case REC_STR: {
			const char *s = NULL;
			if (json_is_null(v)) {
				rec_set(r, k, "");
				break;
			}
			if (webjson_get_str(req, in, k, false, f->maxlen, &s) <
			    0)
				return -1;
			rec_set(r, k, s);
			break;
		}
		case REC_INT: {
			int64_t x = 0;
			if (webjson_get_int(req, in, k, true, f->min, f->max,
					    &x) < 0)
				return -1;
			snprintf(num, sizeof num, "%" PRId64, x);
			rec_set(r, k, num);
			break;
		}
		case REC_FLAG: {
			bool b = false;
			if (webjson_get_bool(req, in, k, true, &b) < 0)
				return -1;
			rec_set(r, k, b ? "1" : "0");
			break;
		}
		case REC_QUOTA: {
			int64_t x = 0;
			if (webjson_get_int(req, in, k, true, 0,
					    (int64_t)EXTMAIL_QUOTA_MAX, &x) < 0)
				return -1;
			extmail_quota_format((uint64_t)x, num);
			rec_set(r, k, num);
			break;
		}
		case REC_DATE: {
			const char *s = NULL;
			if (webjson_get_str(req, in, k, true, 10, &s) < 0)
				return -1;
			if (!extmail_date_valid(s))
				return bad(req, k,
					   "must be a date YYYY-MM-DD or "
					   "0000-00-00 (never)");
			rec_set(r, k, s);
			break;
		}
		case REC_FIXED:
			break;
		}
	}
	return 0;
}

json_t *rec_json(const struct record *r)
{
	struct sqlrow row;
	row.ncols = r->n;
	row.cols = (char **)r->v;
	row.lens = NULL;
	return wa_row_json(r->cols, &row);
}

const char *const *rec_args(const struct record *r)
{
	return (const char *const *)r->v;
}

uint64_t rec_quota(const struct record *r, const char *name)
{
	uint64_t b = 0;
	if (extmail_quota_bytes(rec_get(r, name), &b) < 0)
		return 0;
	return b;
}

int64_t rec_int(const struct record *r, const char *name)
{
	const char *s = rec_get(r, name);
	int64_t x = 0;
	if (s == NULL || str_parse_i64(s, INT64_MIN, INT64_MAX, &x) < 0)
		return 0;
	return x;
}

int rec_apply_text(struct record *r, const char *name, const char *value,
		   const char **err_r)
{
	const struct rec_field *f = spec(r, name);
	if (f == NULL || f->type == REC_FIXED || col_index(r, name) < 0) {
		*err_r = "unknown or read-only column";
		return -1;
	}
	char num[32];
	int64_t x = 0;
	switch (f->type) {
	case REC_STR:
		if (strlen(value) > f->maxlen) {
			*err_r = "too long";
			return -1;
		}
		for (const char *c = value; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f) {
				*err_r = "control characters not allowed";
				return -1;
			}
		rec_set(r, name, value);
		return 0;
	case REC_INT:
		if (str_parse_i64(value, f->min, f->max, &x) < 0) {
			*err_r = "not an integer in range";
			return -1;
		}
		snprintf(num, sizeof num, "%" PRId64, x);
		rec_set(r, name, num);
		return 0;
	case REC_FLAG:
		if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0 ||
		    strcmp(value, "yes") == 0)
			rec_set(r, name, "1");
		else if (strcmp(value, "0") == 0 ||
			 strcmp(value, "false") == 0 ||
			 strcmp(value, "no") == 0 || value[0] == '\0')
			rec_set(r, name, "0");
		else {
			*err_r = "must be 0 or 1";
			return -1;
		}
		return 0;
	case REC_QUOTA:
		if (str_parse_i64(value, 0, (int64_t)EXTMAIL_QUOTA_MAX, &x) <
		    0) {
			*err_r = "must be a number of bytes";
			return -1;
		}
		extmail_quota_format((uint64_t)x, num);
		rec_set(r, name, num);
		return 0;
	case REC_DATE:
		if (!extmail_date_valid(value)) {
			*err_r = "must be a date YYYY-MM-DD or 0000-00-00";
			return -1;
		}
		rec_set(r, name, value);
		return 0;
	case REC_FIXED:
		break;
	}
	*err_r = "read-only column";
	return -1;
}
