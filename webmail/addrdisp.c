/*
 * The sender as the message list and the conversation view show it
 * (reading.h): `"Zhang, San" <z@example.com>` is shown as
 * `Zhang, San <z@example.com>`.  The field is parsed as an RFC 5322
 * address list first (lib/addrlist unquotes the quoted-string of the
 * display name), and only then is the name RFC 2047-decoded, so that an
 * encoded comma or quote in the name cannot change where the address is.
 */
#include <string.h>

#include "addrlist.h"
#include "buf.h"
#include "mime.h"
#include "reading.h"
#include "xalloc.h"

/* The field's decoded text, for a From that has no readable address. */
static char *whole(struct str v)
{
	struct buf b;
	buf_init(&b, 16384);
	(void)!mime_header_decode(v, &b);
	char *s = xstrdup(buf_cstr(&b));
	buf_deinit(&b);
	return s;
}

char *wm_from_display(struct str v)
{
	struct addrlist l;
	addrlist_parse(v.p, v.len, &l);
	const struct addrlist_addr *a = NULL;
	for (size_t i = 0; i < l.n && a == NULL; i++)
		if (l.v[i].kind == ADDRLIST_MAILBOX && l.v[i].domain != NULL &&
		    l.v[i].local_len > 0)
			a = &l.v[i];
	if (a == NULL) {
		addrlist_free(&l);
		return whole(v);
	}
	struct buf b;
	buf_init(&b, 16384);
	int rc = 0;
	if (a->name != NULL && a->name_len > 0) {
		struct buf name;
		buf_init(&name, 8192);
		(void)!mime_header_decode((struct str){a->name, a->name_len},
					  &name);
		/* the name is shown as text; NULs and line breaks would only
		   confuse the list */
		for (size_t i = 0; i < name.len; i++)
			if ((unsigned char)name.p[i] < 0x20)
				name.p[i] = ' ';
		if (name.len > 0)
			rc = buf_printf(&b, "%s <", buf_cstr(&name));
		buf_deinit(&name);
	}
	bool angle = b.len > 0;
	rc |= buf_append(&b, a->local, a->local_len);
	rc |= buf_append_char(&b, '@');
	rc |= buf_append(&b, a->domain, a->domain_len);
	if (angle)
		rc |= buf_append_char(&b, '>');
	addrlist_free(&l);
	if (rc != 0) {
		buf_deinit(&b);
		return whole(v);
	}
	/* valid UTF-8 for JSON: the local part may carry raw bytes */
	struct buf u;
	buf_init(&u, 4 * b.len + 16);
	(void)!mime_to_utf8(NULL, b.p, b.len, &u);
	char *s = xstrdup(buf_cstr(&u));
	buf_deinit(&u);
	buf_deinit(&b);
	return s;
}
