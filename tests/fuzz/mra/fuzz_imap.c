/*
 * Fuzz target: the IMAP command parser and literal framing, on arbitrary
 * bytes.  The first line goes through imap_frame_line() as the session
 * would, then the whole input through imap_parse() and, when it parses,
 * every argument through the FETCH attribute parser and the sequence-set
 * checks, string arguments through the CATENATE URL parser, and the
 * argument list through the ESEARCH RETURN options and the SEARCH key
 * parser (evaluated on a small message).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../mra/imap_fetch.h"
#include "../../../mra/imap_parse.h"
#include "../../../mra/imap_search.h"
#include "../../../mra/imap_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *nl = memchr(p, '\n', size);
	struct str line = {p, nl ? (size_t)(nl - p) : size};
	uint64_t n;
	bool sync;
	(void)imap_frame_line(line, 1u << 20, &n, &sync);

	struct imap_cmd cmd;
	const char *err;
	if (imap_parse(p, size, &cmd, &err) == 0) {
		for (size_t i = 0; i < cmd.nargs; i++) {
			struct imap_fetch_items it;
			if (imap_fetch_parse(&cmd.args[i], true, &it, &err) ==
			    0)
				imap_fetch_items_free(&it);
			if (cmd.args[i].type == IMAP_ARG_ATOM &&
			    imap_seqset_ok(cmd.args[i].s))
				(void)imap_seqset_has(cmd.args[i].s, 3, 10);
			struct imap_url u;
			if (cmd.args[i].type != IMAP_ARG_LIST)
				(void)imap_url_parse(cmd.args[i].s, &u);
		}
		const struct imap_arg *ra = cmd.args;
		size_t rn = cmd.nargs;
		struct imap_esearch es;
		if (imap_esearch_parse(&ra, &rn, &es) == 0)
			imap_esearch_add(&es, 1);
		free(es.v);
		struct imap_search *s;
		if (imap_search_parse(cmd.args, cmd.nargs, &s, &err) == 0) {
			static const char msg[] =
			    "Subject: =?utf-8?q?a=C3=A9?=\nDate: 1 Jan 2024"
			    "\nContent-Transfer-Encoding: base64\n\naGk=\n";
			struct imap_search_msg m = {
			    .seq = 3,
			    .uid = 7,
			    .max_seq = 10,
			    .max_uid = 70,
			    .letters = "FS",
			    .size = 99,
			    .internal_date = 1700000000,
			    .text = msg,
			    .len = sizeof msg - 1,
			};
			(void)imap_search_match(s, &m);
			imap_search_free(&s);
		}
	}
	imap_cmd_free(&cmd);
	return 0;
}
