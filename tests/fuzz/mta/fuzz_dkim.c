/*
 * Fuzz target for the sender-check parsers: the input is a message in
 * queue form, split into header fields and canonicalised (relaxed and
 * simple) over an h= list taken from its first line; its tag-list parser
 * reads the first field's value; the From: domain, the spam verdict
 * reader, the policy service reply parser and the SPF macro expander each
 * get the whole input.  No DNS is asked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../mta/dkim.h"
#include "../../../mta/dkim_sign.h"
#include "../../../mta/dkim_verify.h"
#include "../../../mta/junk.h"
#include "../../../mta/policysvc.h"
#include "../../../mta/spf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);
	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	struct dkim_msg *m = malloc(sizeof(*m));
	if (m == NULL) {
		free(p);
		return 0;
	}
	dkim_msg_parse(p, size, m);
	if (m->nf > DKIM_FIELDS_MAX || m->body < p || m->body > p + size)
		abort();
	/* h= from the first line, NUL-terminated */
	const char *nl = memchr(p, '\n', size);
	size_t hl = nl ? (size_t)(nl - p) : size;
	char *h = malloc(hl + 1);
	memcpy(h, p, hl);
	h[hl] = '\0';
	struct buf out;
	buf_init(&out, 1 << 20);
	(void)dkim_headers_data(m, h, true, &out);
	buf_reset(&out);
	(void)dkim_headers_data(m, h, false, &out);
	unsigned char hash[32];
	dkim_body_hash(m->body, m->body_len, true, -1, hash);
	dkim_body_hash(m->body, m->body_len, false, (long long)(size % 7),
		       hash);
	if (m->nf > 0) {
		char v[256];
		const struct dkim_field *f = &m->f[0];
		(void)dkim_tag(f->p, f->len, "b", v, sizeof(v));
		(void)dkim_tag(f->p, f->len, "h", v, sizeof(v));
	}
	char dom[256];
	if (dkim_from_domain(p, size, dom, sizeof(dom)) &&
	    strlen(dom) >= sizeof(dom))
		abort();
	(void)junk_verdict(p, size);
	char action[128];
	if (policysvc_parse_reply(p, size, action, sizeof(action)) > 0 &&
	    strlen(action) >= sizeof(action))
		abort();
	char exp[512];
	if (spf_expand(h, "192.0.2.1", "example.com", "a@example.org",
		       "helo.example", exp, sizeof(exp)) == 0 &&
	    strlen(exp) >= sizeof(exp))
		abort();
	(void)spf_expand(h, "2001:db8::1", "example.com", "", "h", exp,
			 sizeof(exp));
	buf_deinit(&out);
	free(h);
	free(m);
	free(p);
	return 0;
}
