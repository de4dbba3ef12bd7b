/*
 * Jansson glue of the web APIs (see webjson.h).  Jansson rejects invalid
 * UTF-8 and "\u0000" unless told otherwise; JSON_REJECT_DUPLICATES makes
 * {"a":1,"a":2} an error instead of "last one wins", which two layers
 * could read differently.  Depth is checked after parsing: Jansson's own
 * cap (2048) is far above anything a form sends.
 */
#include "webjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int depth_of(json_t *v, int limit)
{
	if (limit < 0)
		return 1;
	int max = 0;
	if (json_is_object(v)) {
		const char *k;
		json_t *e;
		json_object_foreach(v, k, e)
		{
			int d = depth_of(e, limit - 1);
			if (d > max)
				max = d;
		}
		return max + 1;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			int d = depth_of(e, limit - 1);
			if (d > max)
				max = d;
		}
		return max + 1;
	}
	return 0;
}

json_t *webjson_parse_object(const char *data, size_t len, char *err,
			     size_t errsz)
{
	json_error_t je;
	json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (v == NULL) {
		snprintf(err, errsz, "invalid JSON: %s", je.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		snprintf(err, errsz, "a JSON object is expected");
		return NULL;
	}
	if (depth_of(v, WEBJSON_DEPTH_MAX) > WEBJSON_DEPTH_MAX) {
		json_decref(v);
		snprintf(err, errsz, "JSON nested too deeply");
		return NULL;
	}
	return v;
}

json_t *webjson_request(struct http_req *req)
{
	size_t len;
	const char *body = http_req_body(req, &len);
	char err[200];
	json_t *v = webjson_parse_object(body, len, err, sizeof err);
	if (v == NULL)
		webjson_error(req, 400, "bad_json", err, NULL);
	return v;
}

void webjson_reply(struct http_req *req, unsigned status, json_t *value)
{
	if (value == NULL) {
		webjson_error(req, 500, "internal", "out of memory", NULL);
		return;
	}
	char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(value);
	if (text == NULL) {
		webjson_error(req, 500, "internal", "cannot encode", NULL);
		return;
	}
	http_reply_raw(req, status, "application/json; charset=utf-8", text,
		       strlen(text));
	free(text);
}

void webjson_error(struct http_req *req, unsigned status, const char *code,
		   const char *message, const char *field)
{
	json_t *e = json_object();
	json_object_set_new(e, "code", json_string(code));
	/* a message may quote input: json_string refuses bad UTF-8 */
	json_t *m = json_string(message);
	json_object_set_new(e, "message",
			    m != NULL ? m : json_string("invalid input"));
	if (field != NULL) {
		json_t *f = json_string(field);
		if (f != NULL)
			json_object_set_new(e, "field", f);
	}
	json_t *top = json_object();
	json_object_set_new(top, "error", e);
	char *text = json_dumps(top, JSON_COMPACT);
	json_decref(top);
	if (text == NULL) {
		static const char oom[] =
		    "{\"error\":{\"code\":\"internal\",\"message\":\"oom\"}}";
		http_reply_raw(req, 500, "application/json", oom,
			       sizeof oom - 1);
		return;
	}
	http_reply_raw(req, status, "application/json; charset=utf-8", text,
		       strlen(text));
	free(text);
}

static int bad_field(struct http_req *req, const char *field, const char *what)
{
	char msg[300];
	snprintf(msg, sizeof msg, "%s: %s", field, what);
	webjson_error(req, 400, "invalid", msg, field);
	return -1;
}

int webjson_get_str(struct http_req *req, json_t *obj, const char *field,
		    bool required, size_t maxlen, const char **out)
{
	json_t *v = json_object_get(obj, field);
	if (v == NULL || json_is_null(v)) {
		if (required)
			return bad_field(req, field, "required");
		return 0;
	}
	if (!json_is_string(v))
		return bad_field(req, field, "must be a string");
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (len > maxlen)
		return bad_field(req, field, "too long");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return bad_field(req, field,
					 "control characters not allowed");
	if (required && len == 0)
		return bad_field(req, field, "required");
	*out = s;
	return 1;
}

int webjson_get_int(struct http_req *req, json_t *obj, const char *field,
		    bool required, int64_t min, int64_t max, int64_t *out)
{
	json_t *v = json_object_get(obj, field);
	if (v == NULL || json_is_null(v)) {
		if (required)
			return bad_field(req, field, "required");
		return 0;
	}
	if (!json_is_integer(v))
		return bad_field(req, field, "must be an integer");
	json_int_t n = json_integer_value(v);
	if (n < min || n > max) {
		char msg[120];
		snprintf(msg, sizeof msg, "must be from %lld to %lld",
			 (long long)min, (long long)max);
		return bad_field(req, field, msg);
	}
	*out = (int64_t)n;
	return 1;
}

int webjson_get_bool(struct http_req *req, json_t *obj, const char *field,
		     bool required, bool *out)
{
	json_t *v = json_object_get(obj, field);
	if (v == NULL || json_is_null(v)) {
		if (required)
			return bad_field(req, field, "required");
		return 0;
	}
	if (json_is_boolean(v))
		*out = json_is_true(v);
	else if (json_is_integer(v) &&
		 (json_integer_value(v) == 0 || json_integer_value(v) == 1))
		*out = json_integer_value(v) == 1;
	else
		return bad_field(req, field, "must be true or false");
	return 1;
}

int webjson_only(struct http_req *req, json_t *obj, const char *const *allowed)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i] != NULL && !ok; i++)
			ok = strcmp(allowed[i], k) == 0;
		if (!ok) {
			bad_field(req, k, "unknown field");
			return -1;
		}
	}
	return 0;
}
