/*
 * ExtMail .mailfilter -> Sieve (see sieve_import.h).  ExtMail's format,
 * as its MailFilter.pm writes it: "#*whitelist", "#*blacklist",
 * "#*autoreply", "#*forward: ADDR", "#*forwardcc", "#*spam2junk" lines,
 * then per rule a block of "##Name:", "##From:", "##Recipient:",
 * "##Subject:", "##Folder:" (".Name" a folder, "." INBOX, "!addr" forward,
 * "*text" reject) and option lines ("##Delete", "##Continue",
 * "##Hasattach") ended by the first line not starting with "##".  The
 * maildrop code after the comments is ignored: the comments are what
 * ExtMail itself reads back.  Its semantics: whitelisted senders go to
 * INBOX (after the auto-reply and forward), blacklisted ones are dropped,
 * rules match From/Sender, To/Cc and Subject by substring, any condition
 * given is enough, and a rule ends the filtering unless "Continue".
 */
#include "sieve_import.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "str.h"
#include "xalloc.h"

#define IMPORT_RULES_MAX   256
#define IMPORT_FOLDERS_MAX 16

struct import_rule {
	struct str name, from, rcpt, subject;
	struct str folder[IMPORT_FOLDERS_MAX];
	size_t nfolder;
	bool del, cont, attach;
};

static int imp_quoted(struct buf *o, struct str s)
{
	if (buf_append_char(o, '"') < 0)
		return -1;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (c == '\r' || c == '\n' || c == '\0')
			c = ' ';
		if ((c == '"' || c == '\\') && buf_append_char(o, '\\') < 0)
			return -1;
		if (buf_append_char(o, c) < 0)
			return -1;
	}
	return buf_append_char(o, '"');
}

/* The lines of a list file as a Sieve string list of addresses (with
   '@') or domains (without); *n_r counts each kind. */
static int imp_list(struct buf *o, const char *p, size_t len, bool domains,
		    size_t *n_r)
{
	size_t i = 0;
	*n_r = 0;
	if (buf_append_char(o, '[') < 0)
		return -1;
	while (p != NULL && i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t e = nl != NULL ? (size_t)(nl - p) : len;
		struct str v = str_trim((struct str){p + i, e - i});
		i = e + 1;
		if (v.len > 0 && v.p[0] == '@') {
			v.p++;
			v.len--;
		}
		bool is_addr = memchr(v.p, '@', v.len) != NULL;
		if (v.len == 0 || v.p[0] == '#' || is_addr == domains)
			continue;
		if ((*n_r > 0 && buf_append_str(o, ", ") < 0) ||
		    imp_quoted(o, v) < 0)
			return -1;
		(*n_r)++;
	}
	return buf_append_char(o, ']');
}

/* The sender test of a list: addresses :all, domains :domain */
static int imp_list_test(struct buf *o, const char *p, size_t len)
{
	size_t na, nd;
	struct buf a, d;
	buf_init(&a, 1024 * 1024);
	buf_init(&d, 1024 * 1024);
	int rc =
	    imp_list(&a, p, len, false, &na) | imp_list(&d, p, len, true, &nd);
	if (rc == 0) {
		rc |= buf_append_str(o, "anyof (");
		rc |= buf_append_str(o, "address :all :is [\"from\", "
					"\"sender\"] ");
		rc |= buf_append(o, a.p, a.len);
		rc |=
		    buf_append_str(o, ",\n       envelope :all :is \"from\" ");
		rc |= buf_append(o, a.p, a.len);
		if (nd > 0) {
			rc |= buf_append_str(o, ",\n       address :domain :is "
						"[\"from\", \"sender\"] ");
			rc |= buf_append(o, d.p, d.len);
		}
		rc |= buf_append_str(o, ")");
	}
	buf_deinit(&a);
	buf_deinit(&d);
	return rc;
}

static struct str imp_after(const char *line, size_t len, size_t skip)
{
	return skip <= len ? (struct str){line + skip, len - skip}
			   : (struct str){"", 0};
}

static int imp_vacation(struct buf *o, const struct sieve_import_in *in)
{
	struct str subject = STR_LIT("Auto-Reply");
	struct str ctype = {NULL, 0}, cte = {NULL, 0};
	const char *p = in->autoreply;
	size_t len = p != NULL ? in->autoreply_len : 0, i = 0, body = 0;
	bool hdr = false;
	/* a header block first (mailbot -m); ExtMail wrote one */
	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t e = nl != NULL ? (size_t)(nl - p) : len;
		struct str ln = {p + i, e - i};
		if (ln.len > 0 && ln.p[ln.len - 1] == '\r')
			ln.len--;
		if (ln.len == 0) {
			body = e + 1 < len ? e + 1 : len;
			break;
		}
		const char *colon = memchr(ln.p, ':', ln.len);
		if (colon == NULL ||
		    memchr(ln.p, ' ', (size_t)(colon - ln.p))) {
			hdr = false;
			break;
		}
		hdr = true;
		struct str name = {ln.p, (size_t)(colon - ln.p)};
		struct str val =
		    str_trim(imp_after(ln.p, ln.len, name.len + 1));
		if (str_case_eq_cstr(name, "subject") && val.len > 0)
			subject = val;
		else if (str_case_eq_cstr(name, "content-type"))
			ctype = val;
		else if (str_case_eq_cstr(name, "content-transfer-encoding"))
			cte = val;
		i = e + 1;
	}
	if (!hdr)
		body = 0;
	struct str text = {p != NULL ? p + body : "", len - body};
	int rc = buf_append_str(o, "vacation :days 1 :subject ");
	rc |= imp_quoted(o, subject);
	if (ctype.p != NULL) {
		/* the text keeps its charset: a MIME entity (RFC 5230 :mime) */
		rc |= buf_append_str(o, " :mime text:\nContent-Type: ");
		rc |= buf_append(o, ctype.p, ctype.len);
		if (cte.p != NULL) {
			rc |=
			    buf_append_str(o, "\nContent-Transfer-Encoding: ");
			rc |= buf_append(o, cte.p, cte.len);
		}
		rc |= buf_append_str(o, "\n\n");
	} else {
		rc |= buf_append_str(o, " text:\n");
	}
	/* text: lines, dot-stuffed */
	size_t k = 0;
	while (k < text.len) {
		const char *nl = memchr(text.p + k, '\n', text.len - k);
		size_t e = nl != NULL ? (size_t)(nl - text.p) : text.len;
		if (text.p[k] == '.')
			rc |= buf_append_char(o, '.');
		rc |= buf_append(o, text.p + k, e - k);
		rc |= buf_append_char(o, '\n');
		k = e + 1;
	}
	rc |= buf_append_str(o, ".\n;\n");
	return rc;
}

static int imp_rule(struct buf *o, const struct import_rule *r)
{
	int rc = buf_append_str(o, "\n# ExtMail rule ");
	rc |= imp_quoted(o, r->name);
	rc |= buf_append_str(o, "\nif anyof (");
	size_t n = 0;
	if (r->from.len > 0) {
		rc |= buf_append_str(
		    o, "header :contains [\"from\", \"sender\"] ");
		rc |= imp_quoted(o, r->from);
		n++;
	}
	if (r->rcpt.len > 0) {
		rc |= buf_append_str(o, n++ ? ",\n          " : "");
		rc |= buf_append_str(o, "header :contains [\"to\", \"cc\"] ");
		rc |= imp_quoted(o, r->rcpt);
	}
	if (r->subject.len > 0) {
		rc |= buf_append_str(o, n++ ? ",\n          " : "");
		rc |= buf_append_str(o, "header :contains \"subject\" ");
		rc |= imp_quoted(o, r->subject);
	}
	if (r->attach) {
		rc |= buf_append_str(o, n++ ? ",\n          " : "");
		rc |= buf_append_str(o, "header :contains \"content-type\" "
					"\"multipart/mixed\"");
	}
	if (n == 0)
		rc |= buf_append_str(o, "false");
	rc |= buf_append_str(o, ") {\n");
	bool reject = false;
	for (size_t i = 0; i < r->nfolder; i++)
		reject = reject ||
			 (r->folder[i].len > 0 && r->folder[i].p[0] == '*');
	for (size_t i = 0; i < r->nfolder; i++) {
		struct str f = r->folder[i];
		if (f.len == 0)
			continue;
		if (f.p[0] == '.' && !reject) {
			if (f.len == 1) {
				rc |= buf_append_str(o, "    keep;\n");
			} else {
				rc |= buf_append_str(
				    o, r->cont ? "    fileinto :copy "
					       : "    fileinto ");
				rc |= imp_quoted(o, imp_after(f.p, f.len, 1));
				rc |= buf_append_str(o, ";\n");
			}
		} else if (f.p[0] == '!' && !reject) {
			rc |= buf_append_str(o, "    redirect :copy ");
			rc |= imp_quoted(o, imp_after(f.p, f.len, 1));
			rc |= buf_append_str(o, ";\n");
		} else if (f.p[0] == '*') {
			rc |= buf_append_str(o, "    reject ");
			rc |= imp_quoted(o, imp_after(f.p, f.len, 1));
			rc |= buf_append_str(o, ";\n");
		}
	}
	if (r->del && !reject)
		rc |= buf_append_str(o, "    discard;\n");
	if (!r->cont || reject)
		rc |= buf_append_str(o, "    stop;\n");
	rc |= buf_append_str(o, "}\n");
	return rc;
}

int sieve_import_extmail(const struct sieve_import_in *in, struct buf *out,
			 unsigned *rules_r)
{
	bool white = false, black = false, autoreply = false, spam = false,
	     fwdcc = false;
	struct str fwd = {NULL, 0};
	struct import_rule *rules = NULL;
	size_t nrules = 0;
	struct import_rule cur;
	bool in_rule = false;
	rules = xcalloc(IMPORT_RULES_MAX, sizeof(*rules));
	const char *p = in->mailfilter;
	size_t len = p != NULL ? in->mailfilter_len : 0, i = 0;
	while (i <= len && p != NULL) {
		const char *nl = i < len ? memchr(p + i, '\n', len - i) : NULL;
		size_t e = nl != NULL ? (size_t)(nl - p) : len;
		struct str ln = {p + i, e - i};
		if (ln.len > 0 && ln.p[ln.len - 1] == '\r')
			ln.len--;
		i = e + 1;
		if (str_has_prefix_case(ln, "#*")) {
			struct str x = imp_after(ln.p, ln.len, 2);
			if (str_eq_cstr(x, "whitelist"))
				white = true;
			else if (str_eq_cstr(x, "blacklist"))
				black = true;
			else if (str_eq_cstr(x, "autoreply"))
				autoreply = true;
			else if (str_eq_cstr(x, "spam2junk"))
				spam = true;
			else if (str_eq_cstr(x, "forwardcc"))
				fwdcc = true;
			else if (x.len > 9 && memcmp(x.p, "forward: ", 9) == 0)
				fwd = str_trim(imp_after(x.p, x.len, 9));
		}
		bool hash2 = ln.len >= 2 && ln.p[0] == '#' && ln.p[1] == '#';
		if (in_rule && !hash2) {
			if (nrules < IMPORT_RULES_MAX)
				rules[nrules++] = cur;
			in_rule = false;
		}
		if (in_rule) {
			struct str x = imp_after(ln.p, ln.len, 2);
			if (str_has_prefix_case(x, "From:"))
				cur.from = imp_after(x.p, x.len, 5);
			else if (str_has_prefix_case(x, "Recipient:"))
				cur.rcpt = imp_after(x.p, x.len, 10);
			else if (str_has_prefix_case(x, "Subject:"))
				cur.subject = imp_after(x.p, x.len, 8);
			else if (str_has_prefix_case(x, "Folder:")) {
				if (cur.nfolder < IMPORT_FOLDERS_MAX)
					cur.folder[cur.nfolder++] =
					    imp_after(x.p, x.len, 7);
			} else if (str_eq_cstr(x, "Delete"))
				cur.del = true;
			else if (str_eq_cstr(x, "Continue"))
				cur.cont = true;
			else if (str_eq_cstr(x, "Hasattach"))
				cur.attach = true;
		} else if (str_has_prefix_case(ln, "##Name:")) {
			memset(&cur, 0, sizeof(cur));
			cur.name = imp_after(ln.p, ln.len, 7);
			in_rule = true;
		}
		if (nl == NULL)
			break;
	}
	if (in_rule && nrules < IMPORT_RULES_MAX)
		rules[nrules++] = cur;

	struct buf *o = out;
	int rc =
	    buf_append_str(o, "# Imported from ExtMail's .mailfilter by "
			      "`youju sieve import` (docs/sieve.md).\n"
			      "require [\"fileinto\", \"copy\", "
			      "\"reject\", \"vacation\", \"envelope\"];\n");
	if (autoreply && fwd.p == NULL && !white)
		rc |= imp_vacation(o, in);
	if (white) {
		rc |= buf_append_str(o, "\n# whitelist.cf: straight to INBOX\n"
					"if ");
		rc |= imp_list_test(o, in->whitelist, in->whitelist_len);
		rc |= buf_append_str(o, " {\n");
		if (autoreply)
			rc |= imp_vacation(o, in);
		if (fwd.p != NULL) {
			rc |= buf_append_str(o, fwdcc ? "    redirect :copy "
						      : "    redirect ");
			rc |= imp_quoted(o, fwd);
			rc |= buf_append_str(o, ";\n");
		}
		rc |= buf_append_str(o, fwd.p != NULL && !fwdcc
					    ? "    stop;\n}\n"
					    : "    keep;\n    stop;\n}\n");
	}
	if (black) {
		rc |= buf_append_str(o, "\n# blacklist.cf: dropped\nif ");
		rc |= imp_list_test(o, in->blacklist, in->blacklist_len);
		rc |= buf_append_str(o, " {\n    discard;\n    stop;\n}\n");
	}
	if (autoreply && (fwd.p != NULL || white)) {
		rc |= buf_append_str(o, "\n# autoreply.cf\n");
		rc |= imp_vacation(o, in);
	}
	if (fwd.p != NULL) {
		rc |= buf_append_str(o, "\n# forwarding\n");
		rc |=
		    buf_append_str(o, fwdcc ? "redirect :copy " : "redirect ");
		rc |= imp_quoted(o, fwd);
		rc |= buf_append_str(o, fwdcc ? ";\n" : ";\nstop;\n");
	}
	for (size_t k = 0; k < nrules; k++)
		rc |= imp_rule(o, &rules[k]);
	if (spam)
		rc |= buf_append_str(
		    o, "\n# spam to Junk\nif anyof (header :contains "
		       "\"X-Spam-Flag\" \"YES\",\n          header :contains "
		       "\"X-DSPAM-Result\" \"Spam\") {\n    fileinto "
		       "\"Junk\";\n    stop;\n}\n");
	if (rules_r != NULL)
		*rules_r = (unsigned)nrules + white + black + autoreply + spam +
			   (fwd.p != NULL);
	free(rules);
	return rc != 0 ? -1 : 0;
}
