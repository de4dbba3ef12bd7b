/*
 * JSON in and out of youju's web APIs, on Jansson 2.14 (DESIGN §10).
 * Request bodies are parsed with duplicate keys refused, invalid UTF-8
 * and NUL refused (Jansson's defaults) and a depth cap; replies are
 * dumped compactly; errors have the contract's shape
 *   {"error": {"code": "...", "message": "...", "field": "..."}}.
 * The field getters name the field in the error they set, so handlers
 * validate every field with one line each.  Ownership: webjson_reply()
 * steals its value (one decref path: here).
 */
#ifndef YOUJU_WEBJSON_H
#define YOUJU_WEBJSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

/* nesting accepted in a request body */
#define WEBJSON_DEPTH_MAX 16

/*
 * Parses len bytes as one JSON object.  Returns it (owned: json_decref),
 * or NULL with a short reason in err (errsz bytes): not JSON, duplicate
 * key, invalid UTF-8, not an object, too deep.
 */
json_t *webjson_parse_object(const char *data, size_t len, char *err,
			     size_t errsz);
/* The request body as an object, or NULL after replying 400. */
json_t *webjson_request(struct http_req *req);

/* Replies status with value (stolen; NULL replies 500). */
void webjson_reply(struct http_req *req, unsigned status, json_t *value);
/* Replies status with the error object; field may be NULL. */
void webjson_error(struct http_req *req, unsigned status, const char *code,
		   const char *message, const char *field);

/*
 * Field getters on a request object.  Each returns 1 when the field is
 * present and valid (*out set), 0 when absent (and not required; *out
 * untouched), -1 after replying 400 naming the field (absent but
 * required, wrong type, out of range, too long, control characters).
 */
int webjson_get_str(struct http_req *req, json_t *obj, const char *field,
		    bool required, size_t maxlen, const char **out);
int webjson_get_int(struct http_req *req, json_t *obj, const char *field,
		    bool required, int64_t min, int64_t max, int64_t *out);
int webjson_get_bool(struct http_req *req, json_t *obj, const char *field,
		     bool required, bool *out);
/*
 * Refuses (400, naming the first one) any key of obj not in the
 * NULL-terminated list allowed.  Returns 0 or -1.
 */
int webjson_only(struct http_req *req, json_t *obj, const char *const *allowed);

#endif
