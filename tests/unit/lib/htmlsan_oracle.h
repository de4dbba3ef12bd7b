/*
 * What a sanitized message may hold, written down again here apart from
 * lib/htmlsan.c's own tables, so that the unit test and the fuzz target
 * that re-parse its output check it against an independent list (a test
 * reading the sanitizer's table could not catch a wrong entry in it):
 * the elements, with the html, head and body a parser adds and our one
 * <style>.
 */
#ifndef YOUJU_TEST_HTMLSAN_ORACLE_H
#define YOUJU_TEST_HTMLSAN_ORACLE_H

#include <stdbool.h>
#include <string.h>

static const char *const oracle_elements[] = {
    "a",       "abbr",	     "address", "article",    "aside",	  "b",
    "bdi",     "bdo",	     "big",	"blockquote", "br",	  "caption",
    "center",  "cite",	     "code",	"col",	      "colgroup", "dd",
    "del",     "details",    "dfn",	"div",	      "dl",	  "dt",
    "em",      "figcaption", "figure",	"font",	      "footer",	  "h1",
    "h2",      "h3",	     "h4",	"h5",	      "h6",	  "header",
    "hr",      "i",	     "img",	"ins",	      "kbd",	  "li",
    "main",    "mark",	     "nav",	"ol",	      "p",	  "pre",
    "q",       "rp",	     "rt",	"ruby",	      "s",	  "samp",
    "section", "small",	     "span",	"strike",     "strong",	  "sub",
    "summary", "sup",	     "table",	"tbody",      "td",	  "tfoot",
    "th",      "thead",	     "time",	"tr",	      "tt",	  "u",
    "ul",      "var",	     "wbr",	"html",	      "head",	  "body",
    "style",
};

/* True when element name may stand in a sanitized message. */
static inline bool oracle_element_ok(const char *name)
{
	for (size_t i = 0;
	     i < sizeof(oracle_elements) / sizeof(oracle_elements[0]); i++)
		if (strcmp(oracle_elements[i], name) == 0)
			return true;
	return false;
}

#endif
