/*
 * Unit tests for webmail/compose_html: the text/plain alternative made
 * from sanitized HTML (lines, lists, quotes, links, entities, white
 * space, <style> skipped, a cut UTF-8 sequence), the image types by their
 * bytes (SVG and HTML never an image), the body structure with and
 * without HTML and inline images, and images without a source replaced
 * by their alt text.
 */
#include <string.h>

#include "../../../webmail/compose.h"
#include "test.h"

static bool plain_is(const char *html, const char *want)
{
	struct buf out;
	buf_init(&out, 1 << 20);
	wm_html_plain(html, strlen(html), &out);
	bool ok = strcmp(buf_cstr(&out), want) == 0;
	if (!ok)
		fprintf(stderr, "got [%s]\nwant [%s]\n", buf_cstr(&out), want);
	buf_deinit(&out);
	return ok;
}

static bool drop_is(const char *html, const char *want, int n)
{
	struct buf out;
	buf_init(&out, 1 << 20);
	int got = wm_html_drop_empty_images(html, strlen(html), &out);
	bool ok = got == n && strcmp(buf_cstr(&out), want) == 0;
	if (!ok)
		fprintf(stderr, "got %d [%s]\nwant %d [%s]\n", got,
			buf_cstr(&out), n, want);
	buf_deinit(&out);
	return ok;
}

int main(void)
{
	test_begin("empty images");
	test_assert(drop_is("", "", 0));
	test_assert(drop_is("<p>no image</p>", "<p>no image</p>", 0));
	test_assert(drop_is("<img src=\"cid:a@b\" alt=\"x\">",
			    "<img src=\"cid:a@b\" alt=\"x\">", 0));
	test_assert(drop_is("a<img alt=\"logo &amp; co\" "
			    "data-youju-blocked=\"\">b",
			    "alogo &amp; cob", 1));
	test_assert(drop_is("<img data-youju-blocked=\"\"><img src=\"\">"
			    "<imgx src=\"\">",
			    "<imgx src=\"\">", 2));
	/* an alt value that names src is not a source */
	test_assert(drop_is("<img alt=\" src=&quot;x&quot;\">",
			    " src=&quot;x&quot;", 1));
	/* cut markup: copied as it is */
	test_assert(drop_is("<p><img alt=\"x\"", "<p><img alt=\"x\"", 0));
	struct buf small;
	buf_init(&small, 4);
	test_assert(wm_html_drop_empty_images("<p>longer</p>", 13, &small) < 0);
	buf_deinit(&small);

	test_begin("plain");
	test_assert(plain_is("", "\n"));
	test_assert(plain_is("hello", "hello\n"));
	test_assert(plain_is("<div>one</div><div><br></div><div>two</div>",
			     "one\n\ntwo\n"));
	test_assert(plain_is("<p>a</p><p>b</p>", "a\n\nb\n"));
	test_assert(plain_is("a<br>b<br><br>c", "a\nb\n\nc\n"));
	test_assert(plain_is("x  \n  y\t z", "x y z\n"));
	test_assert(plain_is("<b>bold</b> and <i>it</i>", "bold and it\n"));
	test_assert(plain_is("<ul><li>one</li><li>two</li></ul>after",
			     "* one\n* two\nafter\n"));
	test_assert(
	    plain_is("<ul><li>a<ul><li>b</li></ul></li></ul>", "* a\n  * b\n"));
	test_assert(plain_is("<blockquote>q1<br>q2</blockquote>me",
			     "> q1\n> q2\nme\n"));
	test_assert(plain_is("<blockquote>a<blockquote>b</blockquote>"
			     "</blockquote>",
			     "> a\n>> b\n"));
	test_assert(plain_is("<a href=\"https://e.example/x\">site</a>",
			     "site <https://e.example/x>\n"));
	test_assert(plain_is("<a href=\"https://e.example/\">"
			     "https://e.example/</a>",
			     "https://e.example/\n"));
	test_assert(plain_is("<a href=\"mailto:a@b.example\">a@b.example</a>",
			     "a@b.example\n"));
	test_assert(plain_is("<a href=\"https://e.example/?a=1&amp;b=2\">q</a>",
			     "q <https://e.example/?a=1&b=2>\n"));
	test_assert(plain_is("&lt;tag&gt; &amp; &quot;q&quot; &#39;s&#x41;",
			     "<tag> & \"q\" 'sA\n"));
	test_assert(plain_is("a&nbsp;&nbsp;b", "a  b\n"));
	test_assert(plain_is("a\xc2\xa0\xc2\xa0"
			     "b",
			     "a  b\n"));
	test_assert(plain_is("&#0;&#xd800;&#99999999;", "\xef\xbf\xbd"
							"\xef\xbf\xbd"
							"\xef\xbf\xbd\n"));
	test_assert(plain_is("&bogus; & x", "&bogus; & x\n"));
	test_assert(plain_is("<style>.a{color:red}</style>text", "text\n"));
	test_assert(plain_is("<img src=\"cid:x\" alt=\"pic\">", "[pic]\n"));
	test_assert(plain_is("<pre>a  b\n  c</pre>", "a  b\n  c\n"));
	test_assert(
	    plain_is("<table><tr><td>a</td><td>b</td></tr></table>", "a b\n"));
	test_assert(plain_is("你好<br>世界", "你好\n世界\n"));
	test_assert(plain_is("cut \xe4\xbd", "cut \xe4\xbd\n"));
	test_assert(plain_is("<unclosed", "\n"));

	test_begin("image type");
	test_assert(strcmp(wm_image_type("\x89PNG\r\n\x1a\n....", 12),
			   "image/png") == 0);
	test_assert(
	    strcmp(wm_image_type("\xff\xd8\xff\xe0", 4), "image/jpeg") == 0);
	test_assert(strcmp(wm_image_type("GIF89a..", 8), "image/gif") == 0);
	test_assert(strcmp(wm_image_type("RIFF\0\0\0\0WEBPVP8 ", 16),
			   "image/webp") == 0);
	test_assert(wm_image_type("<svg xmlns=\"http://www.w3.org/2000/svg\">",
				  40) == NULL);
	test_assert(wm_image_type("<html>", 6) == NULL);
	test_assert(wm_image_type("\x89PNG", 4) == NULL);
	test_assert(wm_image_type("", 0) == NULL);

	test_begin("body");
	struct buf m;
	buf_init(&m, 1 << 20);
	test_assert(wm_compose_body(&m, "0123456789abcdef0123456789abcdef",
				    "hi\n", 3, NULL, 0, NULL, 0) == 0);
	test_assert(strncmp(buf_cstr(&m), "Content-Type: text/plain;", 25) ==
		    0);
	buf_reset(&m);
	test_assert(wm_compose_body(&m, "0123456789abcdef0123456789abcdef",
				    "hi\n", 3, "<b>hi</b>", 9, NULL, 0) == 0);
	test_assert(strstr(buf_cstr(&m), "multipart/alternative") != NULL);
	test_assert(strstr(buf_cstr(&m), "multipart/related") == NULL);
	test_assert(strstr(buf_cstr(&m), "text/html") != NULL);
	test_assert(strstr(buf_cstr(&m), "--=_youju_a_0123456789abcdef01234567"
					 "--") != NULL);
	buf_reset(&m);
	struct wm_upload u = {.data = "\x89PNG\r\n\x1a\nxxxx", .len = 12};
	snprintf(u.path, sizeof u.path, "/m/tmp/webmail-upload.%s",
		 "00112233445566778899aabbccddeeff");
	snprintf(u.name, sizeof u.name, "my \"pic\".png");
	test_assert(wm_compose_body(&m, "0123456789abcdef0123456789abcdef",
				    "hi\n", 3, "<b>hi</b>", 9, &u, 1) == 0);
	const char *s = buf_cstr(&m);
	test_assert(strstr(s, "multipart/related") != NULL);
	test_assert(strstr(s, "Content-ID: <00112233445566778899aabbccddeeff"
			      "@inline.youju>") != NULL);
	test_assert(strstr(s, "name=\"mypic.png\"") != NULL);
	test_assert(strstr(s, "Content-Type: image/png") != NULL);
	/* not an image: refused */
	struct wm_upload bad = u;
	bad.data = "<svg>";
	bad.len = 5;
	buf_reset(&m);
	test_assert(wm_compose_body(&m, "0123456789abcdef0123456789abcdef",
				    "hi\n", 3, "x", 1, &bad, 1) < 0);
	buf_deinit(&m);
	return test_end();
}
