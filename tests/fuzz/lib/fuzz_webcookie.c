/*
 * Fuzz target for the web layer's text parsers that see raw request
 * bytes: the Cookie header (websession_cookie_get), route patterns
 * (http_route_match) and static-file paths (http_static_path).  The first
 * byte picks the cookie name; the rest is the header, and, cut at its
 * first NUL, the URL path.  Checks: a found cookie value is made of
 * RFC 6265 cookie-octets and fits; a static path never climbs out (no
 * "..", no leading "/", no hidden segment); parameters never hold '/'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "websession.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {"youju_webadmin", "sid", "a", ""};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *name = names[data[0] % 4];
	const char *hdr = (const char *)data + 1;
	size_t len = size - 1;
	char out[65];
	if (websession_cookie_get(hdr, len, name, out, sizeof out)) {
		size_t n = strlen(out);
		if (n >= sizeof out)
			abort();
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)out[i] <= 0x20 || out[i] == ';' ||
			    out[i] == ',' || out[i] == '"' || out[i] == '\\' ||
			    (unsigned char)out[i] >= 0x7f)
				abort();
	}
	char *path = malloc(len + 1);
	if (path == NULL)
		return 0;
	memcpy(path, hdr, len);
	path[len] = '\0';
	char rel[1100];
	if (http_static_path(path, rel, sizeof rel) == 0) {
		if (rel[0] == '/' || strstr(rel, "..") != NULL ||
		    strstr(rel, "/.") != NULL || rel[0] == '.' ||
		    strstr(rel, "//") != NULL)
			abort();
	}
	static const char *const pats[] = {
	    "/api/domains/{}/mailboxes/{}",
	    "/api/domains/{}",
	    "/extman/*",
	    "/{}/{}/{}/{}",
	};
	char params[HTTP_PARAMS_MAX][HTTP_PARAM_MAX];
	size_t np = 0;
	for (size_t k = 0; k < 4; k++)
		if (http_route_match(pats[k], path, params, &np))
			for (size_t i = 0; i < np; i++)
				if (params[i][0] == '\0' ||
				    strchr(params[i], '/') != NULL)
					abort();
	free(path);
	return 0;
}
