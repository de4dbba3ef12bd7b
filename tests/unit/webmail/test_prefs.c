/*
 * Unit tests for webmail/prefs' file parser: youju's keys with \n and \\
 * escapes, ExtMail's user.cf names, comments, blanks, spaces around '=',
 * CRLF, bad values skipped, unknown keys, a line with a NUL, empty input,
 * the signature's maximum and one past it, its HTML form's too.
 */
#include <stdlib.h>
#include <string.h>

#include "../../../webmail/prefs.h"
#include "test.h"

#define PARSE(p, lit, ext) wm_prefs_parse((p), (lit), sizeof(lit) - 1, (ext))

int main(void)
{
	struct wm_prefs p;
	test_begin("prefs parse");
	memset(&p, 0, sizeof p);
	test_assert(PARSE(&p, "", false) == 0);
	test_assert(
	    PARSE(&p, "# c\n\n  \npage_size = 20\r\nsort=from\n", false) == 2);
	test_assert(p.page_size == 20 && strcmp(p.sort, "from") == 0);
	test_assert(PARSE(&p,
			  "page_size = 4\npage_size = 201\nsort = x\n"
			  "lang = fr_FR\ndelete_mode = shred\n"
			  "timezone = ../etc\nbogus = 1\n",
			  false) == 0);
	test_assert(p.page_size == 20 && strcmp(p.sort, "from") == 0);
	test_assert(PARSE(&p, "signature = -- \\nme\\\\you\n", false) == 1);
	test_assert(strcmp(p.signature, "-- \nme\\you") == 0);
	test_assert(PARSE(&p,
			  "delete_mode = purge\nprefer_html = 1\n"
			  "lang = zh_CN\ntimezone = Asia/Shanghai\n"
			  "order = asc\nname = Zhang San\n",
			  false) == 6);
	test_assert(p.purge && p.prefer_html && strcmp(p.lang, "zh_CN") == 0 &&
		    strcmp(p.timezone, "Asia/Shanghai") == 0 &&
		    strcmp(p.order, "asc") == 0 &&
		    strcmp(p.name, "Zhang San") == 0);
	/* ExtMail's names; its values are taken as they are (no escapes) */
	test_assert(PARSE(&p,
			  "nick_name = Li Si\nshow_html = 0\n"
			  "name = ignored\ndelete_mode = trash\n",
			  true) == 2);
	test_assert(strcmp(p.name, "Li Si") == 0 && !p.prefer_html && p.purge);
	/* a line holding a NUL is skipped; the next one is read */
	static const char nul[] = "sort = da\0te\nsort = size\n";
	test_assert(wm_prefs_parse(&p, nul, sizeof nul - 1, false) == 1 &&
		    strcmp(p.sort, "size") == 0);
	/* bare CR inside a value is a control byte: refused */
	test_assert(PARSE(&p, "name = a\rb\n", false) == 0);
	/* the signature's maximum, and one past it */
	size_t n = WM_SIGNATURE_MAX + 20;
	char *s = malloc(n + 2);
	memcpy(s, "signature = ", 12);
	memset(s + 12, 'x', WM_SIGNATURE_MAX);
	s[12 + WM_SIGNATURE_MAX] = '\n';
	test_assert(wm_prefs_parse(&p, s, 12 + WM_SIGNATURE_MAX + 1, false) ==
		    1);
	test_assert(strlen(p.signature) == WM_SIGNATURE_MAX);
	s[12 + WM_SIGNATURE_MAX] = 'y';
	s[13 + WM_SIGNATURE_MAX] = '\n';
	test_assert(wm_prefs_parse(&p, s, 12 + WM_SIGNATURE_MAX + 2, false) ==
		    0);
	free(s);
	/* the HTML form: escapes as the text's, its own maximum */
	test_assert(
	    PARSE(&p, "signature_html = <b>a</b>\\n<i>b</i>\n", false) == 1);
	test_assert(strcmp(p.signature_html, "<b>a</b>\n<i>b</i>") == 0);
	test_assert(PARSE(&p, "signature_html = <b>x</b>\n", true) == 0);
	n = WM_SIGNATURE_HTML_MAX;
	s = malloc(n + 40);
	memcpy(s, "signature_html = ", 17);
	memset(s + 17, 'h', n);
	s[17 + n] = '\n';
	test_assert(wm_prefs_parse(&p, s, 17 + n + 1, false) == 1);
	test_assert(strlen(p.signature_html) == WM_SIGNATURE_HTML_MAX);
	s[17 + n] = 'h';
	s[18 + n] = '\n';
	test_assert(wm_prefs_parse(&p, s, 17 + n + 2, false) == 0);
	test_assert(strlen(p.signature_html) == WM_SIGNATURE_HTML_MAX);
	free(s);
	return test_end();
}
