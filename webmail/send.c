/*
 * POST /api/send: a plain-text message from the logged-in user, built
 * here (RFC 5322 headers with RFC 2047 encoded words, Message-ID, Date,
 * quoted-printable UTF-8 text) and handed to youju-mta through its local
 * submission socket (sendmail_socket, the conversation `youju sendmail`
 * speaks, docs/mta.md "sendmail") with the user's address as envelope
 * sender and From:.  The pickup service trusts the local uid and logs it;
 * the user's identity is this daemon's to enforce: the sender is always
 * the session's address, never a field of the request, and each message
 * is logged with the user and the queue ID.  A copy, Bcc included, is
 * appended to Sent through lib/mailbox (quota counted, \Seen).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "compose.h"
#include "log.h"
#include "mailbox.h"
#include "rfc2047.h"
#include "submit.h"
#include "upload.h"
#include "webjson.h"
#include "websession.h"
#include "wm.h"
#include "xalloc.h"

#define ADDR_MAX 254
/* attachments of one message */
#define ATT_MAX 20
/* messages forwarded as attachments in one message */
#define FWD_MAX 20

/* Copies the address of "Name <a@b>" or "a@b" into out; false when it is
   not a plain address (no spaces, quotes, brackets or controls). */
bool wm_rcpt_addr(const char *s, char *out, size_t outsz)
{
	const char *lt = strrchr(s, '<');
	const char *b = s, *e = s + strlen(s);
	if (lt != NULL) {
		b = lt + 1;
		e = strchr(b, '>');
		if (e == NULL)
			return false;
	}
	while (b < e && (*b == ' ' || *b == '\t'))
		b++;
	while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	size_t n = (size_t)(e - b);
	if (n == 0 || n > ADDR_MAX || n >= outsz)
		return false;
	const char *at = NULL;
	for (const char *p = b; p < e; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7f || strchr("<>()[],;:\"\\", c))
			return false;
		if (c == '@')
			at = p;
	}
	if (at == NULL || at == b || at == e - 1)
		return false;
	memcpy(out, b, n);
	out[n] = '\0';
	return true;
}

/* The text as quoted-printable (RFC 2045 §6.7), CRLF line ends. */
int wm_qp_body(struct buf *m, const char *t, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c == '\r' && i + 1 < n && t[i + 1] == '\n')
			continue;
		if (c == '\n' || c == '\r') {
			if (buf_append_str(m, "\r\n") < 0)
				return -1;
			col = 0;
			continue;
		}
		bool last = i + 1 == n || t[i + 1] == '\n' || t[i + 1] == '\r';
		bool lit = (c >= 33 && c <= 126 && c != '=') ||
			   ((c == ' ' || c == '\t') && !last);
		/* a '.' at the start of a line is encoded too: no line of
		   the body can then be the end-of-data "." */
		if (c == '.' && col == 0)
			lit = false;
		size_t w = lit ? 1 : 3;
		if (col + w > 75) {
			if (buf_append_str(m, "=\r\n") < 0)
				return -1;
			col = 0;
			/* the '.' now starts a line */
			if (c == '.') {
				lit = false;
				w = 3;
			}
		}
		int r = lit ? buf_append_char(m, (char)c)
			    : buf_printf(m, "=%c%c", hex[c >> 4], hex[c & 15]);
		if (r < 0)
			return -1;
		col += w;
	}
	return buf_append_str(m, "\r\n");
}

/* data as base64 in lines of 76 (RFC 2045 §6.8). */
int wm_b64_body(struct buf *m, const char *data, size_t len)
{
	char line[80];
	for (size_t i = 0; i < len; i += 57) {
		size_t n = len - i < 57 ? len - i : 57;
		if (base64_encode(data + i, n, line, sizeof line) < 0 ||
		    buf_printf(m, "%s\r\n", line) < 0)
			return -1;
	}
	return 0;
}

/* One attachment part: the name as an RFC 2231 parameter (filename*) and,
   for the mail readers that know only that, an RFC 2047 word. */
static int attachment_part(struct buf *m, const char *boundary,
			   const struct wm_upload *u)
{
	/* a message (a forwarded one, back from a draft): as it is, with
	   CR LF (RFC 2046 5.2.1: never base64) */
	if (strcmp(u->type, "message/rfc822") == 0) {
		bool eight = false;
		for (size_t i = 0; i < u->len && !eight; i++)
			eight = (unsigned char)u->data[i] >= 0x80;
		int r = buf_printf(m,
				   "--%s\r\nContent-Type: message/rfc822\r\n"
				   "Content-Disposition: attachment; "
				   "filename=\"forwarded.eml\"\r\n%s\r\n",
				   boundary,
				   eight ? "Content-Transfer-Encoding: 8bit\r\n"
					 : "");
		for (size_t i = 0; i < u->len && r == 0; i++) {
			if (u->data[i] == '\n' &&
			    (i == 0 || u->data[i - 1] != '\r'))
				r = buf_append_char(m, '\r');
			if (r == 0)
				r = buf_append_char(m, u->data[i]);
		}
		if (r == 0 && u->len > 0 && u->data[u->len - 1] != '\n')
			r = buf_append_str(m, "\r\n");
		return r;
	}
	bool ascii = true;
	for (const char *c = u->name; *c; c++)
		ascii = ascii && (unsigned char)*c >= 0x20 &&
			(unsigned char)*c < 0x7f && *c != '"' && *c != '\\';
	int r = buf_printf(m, "--%s\r\nContent-Type: %s", boundary, u->type);
	if (ascii) {
		r |= buf_printf(m,
				"; name=\"%s\"\r\n"
				"Content-Disposition: attachment; "
				"filename=\"%s\"\r\n",
				u->name, u->name);
	} else {
		char enc[400];
		static const char hex[] = "0123456789ABCDEF";
		if (base64_encode(u->name, strlen(u->name), enc, sizeof enc) <
		    0)
			return -1;
		r |= buf_printf(m,
				"; name=\"=?UTF-8?B?%s?=\"\r\n"
				"Content-Disposition: attachment;\r\n"
				" filename*=UTF-8''",
				enc);
		for (const unsigned char *c = (const unsigned char *)u->name;
		     *c; c++) {
			if ((*c >= 'a' && *c <= 'z') ||
			    (*c >= 'A' && *c <= 'Z') ||
			    (*c >= '0' && *c <= '9') || strchr("-._~", *c))
				r |= buf_append_char(m, (char)*c);
			else
				r |= buf_printf(m, "%%%c%c", hex[*c >> 4],
						hex[*c & 15]);
		}
		r |= buf_append_str(m, "\r\n");
	}
	r |= buf_append_str(m, "Content-Transfer-Encoding: base64\r\n\r\n");
	r |= wm_b64_body(m, u->data, u->len);
	return r != 0 ? -1 : 0;
}

int wm_submit(struct http_req *req, const char *what, const char *sender,
	      char **rcpts, size_t n, const struct buf *msg, char *qid,
	      size_t qidsz)
{
	const struct wm *wm = http_req_app(req);
	const struct wm_caller *me = wm_caller(req);
	struct submit_result r;
	if (submit_local(wm->sendmail_socket, "webmail", sender, rcpts, n, true,
			 msg->p != NULL ? msg->p : "", msg->len, &r) < 0) {
		char esc[300];
		log_warning(
		    "webmail: %s: user=<%s>, client=%s: not "
		    "accepted: %s",
		    what, me->acct.user, http_req_client(req),
		    log_escape(esc, sizeof esc, r.reply, strlen(r.reply)));
		webjson_error(req, 502, "not_sent", r.reply, NULL);
		return -1;
	}
	snprintf(qid, qidsz, "%s", r.queue_id);
	return 0;
}

/* Appends the addresses of list field to rcpts and a header line. */
static int rcpt_list(struct http_req *req, json_t *in, const char *field,
		     char **rcpts, size_t *n, struct buf *hdr)
{
	json_t *a = json_object_get(in, field);
	if (a == NULL || json_is_null(a))
		return 0;
	if (json_is_string(a)) { /* "a@b, c@d" from a simple form */
		json_t *arr = json_array();
		char *copy = xstrdup(json_string_value(a));
		char *save = NULL;
		for (char *t = strtok_r(copy, ",;", &save); t != NULL;
		     t = strtok_r(NULL, ",;", &save))
			if (strspn(t, " \t") != strlen(t))
				json_array_append_new(arr, json_string(t));
		free(copy);
		int r = 0;
		json_object_set_new(in, field, arr);
		r = rcpt_list(req, in, field, rcpts, n, hdr);
		return r;
	}
	if (!json_is_array(a)) {
		webjson_error(req, 400, "invalid", "a list of addresses",
			      field);
		return -1;
	}
	size_t i;
	json_t *v;
	bool first = true;
	json_array_foreach(a, i, v)
	{
		char addr[ADDR_MAX + 1];
		if (!json_is_string(v) ||
		    !wm_rcpt_addr(json_string_value(v), addr, sizeof addr)) {
			webjson_error(req, 400, "invalid", "not an address",
				      field);
			return -1;
		}
		if (*n >= WM_RCPTS_MAX) {
			webjson_error(req, 400, "invalid",
				      "too many recipients", field);
			return -1;
		}
		rcpts[(*n)++] = xstrdup(addr);
		if (buf_printf(hdr, "%s%s", first ? "" : ",\r\n ", addr) < 0)
			return -1;
		first = false;
	}
	return 0;
}

/* A References value: Message-IDs in <> separated by spaces, each
   without controls; at most 8000 bytes. */
static bool references_ok(const char *s)
{
	size_t n = strlen(s);
	if (n > 8000)
		return false;
	for (const char *p = s; *p != '\0';) {
		if (*p == ' ') {
			p++;
			continue;
		}
		if (*p != '<')
			return false;
		const char *gt = strchr(p, '>');
		if (gt == NULL || gt == p + 1)
			return false;
		for (const char *q = p + 1; q < gt; q++)
			if ((unsigned char)*q <= 0x20 || *q == '<' ||
			    *q == 0x7f)
				return false;
		p = gt + 1;
	}
	return true;
}

/* Appends "References:" with the ids of refs, folded between ids. */
static int references_header(struct buf *m, const char *refs)
{
	int r = buf_append_str(m, "References:");
	size_t col = 11;
	for (const char *p = refs; *p != '\0';) {
		if (*p == ' ') {
			p++;
			continue;
		}
		size_t l = (size_t)(strchr(p, '>') - p) + 1;
		if (col + 1 + l > 78 && col > 11) {
			r |= buf_append_str(m, "\r\n");
			col = 0;
		}
		r |= buf_append_char(m, ' ');
		r |= buf_append(m, p, l);
		col += 1 + l;
		p += l;
	}
	r |= buf_append_str(m, "\r\n");
	return r != 0 ? -1 : 0;
}

/* "attach_message": {"folder", "uid"}: that message of the caller's,
   read into out with CR LF line ends.  0, or -1 after replying. */
static int attached_message(struct http_req *req, json_t *v, struct buf *out)
{
	json_t *fv = json_object_get(v, "folder"),
	       *uv = json_object_get(v, "uid");
	if (!json_is_object(v) || json_object_size(v) != 2 ||
	    !json_is_string(fv) || !json_is_integer(uv) ||
	    json_integer_value(uv) < 1 || json_integer_value(uv) > UINT32_MAX) {
		webjson_error(req, 400, "invalid",
			      "attach_message: {\"folder\", \"uid\"} or a "
			      "list of them",
			      "attach_message");
		return -1;
	}
	struct maildir_folder *f = wm_folder_open(req, json_string_value(fv));
	if (f == NULL)
		return -1;
	long i = maildir_folder_find(f, (uint32_t)json_integer_value(uv));
	struct buf raw;
	buf_init(&raw, WM_MESSAGE_MAX);
	int rc = -1;
	if (i < 0 || maildir_msg_read(f, &f->msgs[i], &raw) < 0) {
		webjson_error(req, 404, "not_found", "no such message",
			      "attach_message");
		goto out;
	}
	for (size_t k = 0; k < raw.len; k++) {
		if (raw.p[k] == '\n' && (k == 0 || raw.p[k - 1] != '\r') &&
		    buf_append_char(out, '\r') < 0)
			break;
		if (buf_append_char(out, raw.p[k]) < 0)
			break;
	}
	if (out->len > 0 && out->p[out->len - 1] != '\n')
		(void)!buf_append_str(out, "\r\n");
	rc = 0;
out:
	buf_deinit(&raw);
	maildir_folder_free(&f);
	return rc;
}

/* "attach_message": one {"folder", "uid"} or a list of up to FWD_MAX
   (several messages forwarded as attachments, as ExtMail and Roundcube
   do), each read into fwd[*n].  Their sizes together stay under limit.
   0, or -1 after replying. */
static int attached_messages(struct http_req *req, json_t *v, struct buf *fwd,
			     size_t *n, uint64_t limit)
{
	size_t count = json_is_array(v) ? json_array_size(v) : 1;
	if (count == 0 || count > FWD_MAX) {
		webjson_error(req, 400, "invalid",
			      "attach_message: 1 to 20 messages",
			      "attach_message");
		return -1;
	}
	uint64_t total = 0;
	for (size_t k = 0; k < count; k++) {
		json_t *e = json_is_array(v) ? json_array_get(v, k) : v;
		buf_init(&fwd[*n], WM_MESSAGE_MAX + WM_MESSAGE_MAX / 8);
		(*n)++;
		if (attached_message(req, e, &fwd[*n - 1]) < 0)
			return -1;
		total += fwd[*n - 1].len;
		if (total > limit) {
			webjson_error(req, 413, "too_large",
				      "the messages are larger than the "
				      "server accepts",
				      "attach_message");
			return -1;
		}
	}
	return 0;
}

/*
 * The message of a compose request, sent (draft false: POST /api/send)
 * or stored in Drafts (POST /api/draft, drafts.c).  Both share every
 * field and check; a draft needs no recipient and keeps its Bcc.
 */
static void compose(struct http_req *req, bool draft)
{
	struct wm *wm = http_req_app(req);
	const struct wm_caller *me = wm_caller(req);
	static const char *const allowed[] = {"to",
					      "cc",
					      "bcc",
					      "subject",
					      "text",
					      "html",
					      "attachments",
					      "in_reply_to",
					      "references",
					      "draft_uid",
					      "attach_message",
					      "inline",
					      "priority",
					      "receipt",
					      NULL};
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	char *rcpts[WM_RCPTS_MAX];
	size_t nr = 0;
	struct wm_upload ups[ATT_MAX];
	size_t nups = 0;
	/* the images of the HTML (compose_html.c) */
	struct wm_upload *inl = xcalloc(WM_INLINE_MAX, sizeof *inl);
	size_t ninl = 0;
	struct buf clean, plain;
	buf_init(&clean, WM_TEXT_MAX + 65536);
	buf_init(&plain, WM_TEXT_MAX + 65536);
	const char *priority = NULL;
	json_t *rv = NULL;
	struct buf to, cc, bcc, msg, wire;
	buf_init(&to, 65536);
	buf_init(&cc, 65536);
	buf_init(&bcc, 65536);
	buf_init(&msg, 6 * WM_TEXT_MAX + 262144 +
			   (size_t)(wm->message_size_limit / 3 * 4 + 65536));
	buf_init(&wire, 0);
	const char *subject = "", *irt = NULL, *refs = NULL;
	int64_t draft_uid = 0;
	struct buf fwd[FWD_MAX];
	size_t nfwd = 0;
	json_t *fw = json_object_get(in, "attach_message");
	json_t *tv = json_object_get(in, "text");
	json_t *hv = json_object_get(in, "html");
	json_t *av = json_object_get(in, "attachments");
	if (webjson_only(req, in, allowed) < 0 ||
	    webjson_get_str(req, in, "subject", false, 900, &subject) < 0 ||
	    webjson_get_str(req, in, "in_reply_to", false, 900, &irt) < 0 ||
	    webjson_get_str(req, in, "references", false, 8000, &refs) < 0 ||
	    webjson_get_str(req, in, "priority", false, 10, &priority) < 0 ||
	    webjson_get_int(req, in, "draft_uid", false, 1, UINT32_MAX,
			    &draft_uid) < 0)
		goto out;
	if (refs != NULL && !references_ok(refs)) {
		webjson_error(req, 400, "invalid",
			      "Message-IDs in <> separated by spaces",
			      "references");
		goto out;
	}
	if (fw != NULL && !json_is_null(fw) &&
	    attached_messages(req, fw, fwd, &nfwd, wm->message_size_limit) < 0)
		goto out;
	if (tv != NULL &&
	    (!json_is_string(tv) || json_string_length(tv) > WM_TEXT_MAX)) {
		webjson_error(req, 400, "invalid", "text: at most 4 MiB",
			      "text");
		goto out;
	}
	if (hv != NULL && !json_is_null(hv) &&
	    (!json_is_string(hv) || json_string_length(hv) > WM_TEXT_MAX)) {
		webjson_error(req, 400, "invalid", "html: at most 4 MiB",
			      "html");
		goto out;
	}
	if (priority != NULL && strcmp(priority, "high") != 0 &&
	    strcmp(priority, "normal") != 0 && strcmp(priority, "low") != 0) {
		webjson_error(req, 400, "invalid", "high, normal or low",
			      "priority");
		goto out;
	}
	rv = json_object_get(in, "receipt");
	if (rv != NULL && !json_is_null(rv) && !json_is_boolean(rv)) {
		webjson_error(req, 400, "invalid", "true or false", "receipt");
		goto out;
	}
	json_t *iv = json_object_get(in, "inline");
	if (iv != NULL && !json_is_null(iv) &&
	    (!json_is_array(iv) || json_array_size(iv) > WM_INLINE_MAX)) {
		webjson_error(req, 400, "invalid",
			      "inline: a list of upload IDs", "inline");
		goto out;
	}
	if (av != NULL && !json_is_null(av) &&
	    (!json_is_array(av) || json_array_size(av) > ATT_MAX)) {
		webjson_error(req, 400, "invalid",
			      "attachments: a list of upload IDs",
			      "attachments");
		goto out;
	}
	size_t total = 0;
	for (size_t i = 0;
	     av != NULL && json_is_array(av) && i < json_array_size(av); i++) {
		json_t *v = json_array_get(av, i);
		if (!json_is_string(v) ||
		    wm_upload_read(me->acct.maildir, json_string_value(v),
				   (size_t)wm->message_size_limit,
				   &ups[nups]) < 0) {
			webjson_error(req, 400, "invalid",
				      "attachments: no such upload",
				      "attachments");
			goto out;
		}
		total += ups[nups++].len;
		if (total > wm->message_size_limit) {
			webjson_error(req, 413, "too_large",
				      "the attachments are larger than the "
				      "server accepts",
				      "attachments");
			goto out;
		}
	}
	/* the inline images: uploads that are PNG, JPEG, GIF or WebP */
	for (size_t i = 0;
	     iv != NULL && json_is_array(iv) && i < json_array_size(iv); i++) {
		json_t *v = json_array_get(iv, i);
		if (!json_is_string(v) ||
		    wm_upload_read(me->acct.maildir, json_string_value(v),
				   (size_t)wm->message_size_limit,
				   &inl[ninl]) < 0) {
			webjson_error(req, 400, "invalid",
				      "inline: no such upload", "inline");
			goto out;
		}
		total += inl[ninl].len;
		ninl++;
		if (wm_image_type(inl[ninl - 1].data, inl[ninl - 1].len) ==
		    NULL) {
			webjson_error(req, 400, "invalid",
				      "inline: not a PNG, JPEG, GIF or WebP "
				      "image",
				      "inline");
			goto out;
		}
		if (total > wm->message_size_limit) {
			webjson_error(req, 413, "too_large",
				      "the images are larger than the "
				      "server accepts",
				      "inline");
			goto out;
		}
	}
	bool html =
	    hv != NULL && json_is_string(hv) && json_string_length(hv) > 0;
	if (ninl > 0 && !html) {
		webjson_error(req, 400, "invalid", "inline images need html",
			      "inline");
		goto out;
	}
	if (html) {
		uint64_t left = wm->message_size_limit - total;
		if (wm_compose_sanitize(req, json_string_value(hv),
					json_string_length(hv), inl, &ninl,
					&left, &clean) < 0)
			goto out;
		wm_html_plain(clean.p != NULL ? clean.p : "", clean.len,
			      &plain);
	}
	if (irt != NULL && irt[0] != '\0' &&
	    (irt[0] != '<' || irt[strlen(irt) - 1] != '>' ||
	     strpbrk(irt, " \t\r\n") != NULL)) {
		webjson_error(req, 400, "invalid", "a Message-ID in <>",
			      "in_reply_to");
		goto out;
	}
	if (rcpt_list(req, in, "to", rcpts, &nr, &to) < 0 ||
	    rcpt_list(req, in, "cc", rcpts, &nr, &cc) < 0 ||
	    rcpt_list(req, in, "bcc", rcpts, &nr, &bcc) < 0)
		goto out;
	if (nr == 0 && !draft) {
		webjson_error(req, 400, "invalid", "no recipient", "to");
		goto out;
	}
	const char *text = tv != NULL ? json_string_value(tv) : "";
	size_t tlen = tv != NULL ? json_string_length(tv) : 0;
	if (html) { /* the text alternative is the HTML's */
		text = buf_cstr(&plain);
		tlen = plain.len;
	}

	/* the message */
	char date[64], rnd[33], mid[400];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
	const char *dom = strrchr(me->acct.user, '@');
	if (websession_random_hex(rnd, 16) < 0) {
		webjson_error(req, 500, "internal", "no random bytes", NULL);
		goto out;
	}
	snprintf(mid, sizeof mid, "<%lld.%s@%s>", (long long)now, rnd,
		 dom != NULL ? dom + 1 : wm->myhostname);
	/* "try local charset" (ExtMail): the text part, the Subject and the
	   display name in the user's charset when all of them fit it;
	   drafts stay UTF-8 */
	const char *cs = NULL;
	struct buf ltext;
	buf_init(&ltext, 4 * tlen + 64);
	if (!draft && me->prefs.local_charset[0] != '\0') {
		const char *texts[] = {text, subject, me->name};
		size_t lens[] = {tlen, strlen(subject), strlen(me->name)};
		if (wm_out_charset_fits(me->prefs.local_charset, texts, lens,
					3) &&
		    wm_out_convert(me->prefs.local_charset, text, tlen,
				   &ltext) == 0)
			cs = me->prefs.local_charset;
	}
	struct buf from;
	buf_init(&from, 2048);
	if (me->name[0] != '\0') {
		bool plain = true;
		for (const char *c = me->name; *c; c++)
			plain = plain && ((*c >= 'a' && *c <= 'z') ||
					  (*c >= 'A' && *c <= 'Z') ||
					  (*c >= '0' && *c <= '9') ||
					  *c == ' ' || *c == '.' || *c == '-');
		if (plain)
			(void)!buf_printf(&from, "\"%s\" <%s>", me->name,
					  me->acct.user);
		else if (cs != NULL) {
			if (wm_out_words(&from, cs, me->name) < 0)
				buf_reset(&from);
			(void)!buf_printf(&from, " <%s>", me->acct.user);
		} else {
			char enc[700];
			size_t nl =
			    strlen(me->name) > 300 ? 300 : strlen(me->name);
			if (base64_encode(me->name, nl, enc, sizeof enc) >= 0)
				(void)!buf_printf(&from, "=?UTF-8?B?%s?= <%s>",
						  enc, me->acct.user);
			else
				(void)!buf_printf(&from, "<%s>", me->acct.user);
		}
	} else
		(void)!buf_printf(&from, "<%s>", me->acct.user);
	int r = buf_printf(&msg, "From:%s%s\r\n",
			   from.len > 0 && from.p[0] == ' ' ? "" : " ",
			   buf_cstr(&from));
	buf_deinit(&from);
	if (to.len > 0)
		r |= buf_printf(&msg, "To: %s\r\n", buf_cstr(&to));
	if (cc.len > 0)
		r |= buf_printf(&msg, "Cc: %s\r\n", buf_cstr(&cc));
	if (draft && bcc.len > 0)
		r |= buf_printf(&msg, "Bcc: %s\r\n", buf_cstr(&bcc));
	bool ascii = true;
	for (const char *c = subject; *c; c++)
		ascii = ascii && (unsigned char)*c < 0x80;
	if (cs != NULL && !ascii)
		r |= buf_printf(&msg, "Subject:") < 0 ||
		     wm_out_words(&msg, cs, subject) < 0;
	else
		r |= rfc2047_header(&msg, "Subject", subject);
	r |= buf_printf(&msg, "Date: %s\r\nMessage-ID: %s\r\n", date, mid);
	if (irt != NULL && irt[0] != '\0')
		r |= buf_printf(&msg, "In-Reply-To: %s\r\n", irt);
	/* RFC 5322 §3.6.4: the parent's References and its Message-ID (the
	   app sends them); In-Reply-To alone when they are missing */
	if (refs != NULL && strpbrk(refs, "<") != NULL)
		r |= references_header(&msg, refs);
	else if (irt != NULL && irt[0] != '\0')
		r |= buf_printf(&msg, "References: %s\r\n", irt);
	r |= buf_printf(&msg,
			"MIME-Version: 1.0\r\nUser-Agent: youju-webmail\r\n");
	/* priority as Outlook and Thunderbird write it; a read receipt to
	   the sender's own address (RFC 8098 2.1) */
	if (priority != NULL && strcmp(priority, "high") == 0)
		r |= buf_append_str(&msg, "X-Priority: 1 (Highest)\r\n"
					  "Importance: high\r\n");
	else if (priority != NULL && strcmp(priority, "low") == 0)
		r |= buf_append_str(&msg, "X-Priority: 5 (Lowest)\r\n"
					  "Importance: low\r\n");
	if (rv != NULL && json_is_true(rv))
		r |= buf_printf(&msg, "Disposition-Notification-To: <%s>\r\n",
				me->acct.user);
	char boundary[80];
	snprintf(boundary, sizeof boundary, "=_youju_%.24s", rnd);
	bool multi = nups > 0 || nfwd > 0;
	if (multi)
		r |= buf_printf(&msg,
				"Content-Type: multipart/mixed;\r\n"
				" boundary=\"%s\"\r\n\r\n"
				"This is a multi-part message in MIME format."
				"\r\n\r\n--%s\r\n",
				boundary, boundary);
	if (cs != NULL)
		r |= wm_compose_body_cs(
		    &msg, rnd, cs, buf_cstr(&ltext), ltext.len,
		    html ? buf_cstr(&clean) : NULL, clean.len, inl, ninl);
	else
		r |= wm_compose_body(&msg, rnd, text, tlen,
				     html ? buf_cstr(&clean) : NULL, clean.len,
				     inl, ninl);
	buf_deinit(&ltext);
	for (size_t i = 0; i < nups; i++)
		r |= attachment_part(&msg, boundary, &ups[i]);
	for (size_t k = 0; k < nfwd; k++) {
		/* forward as attachment (RFC 2046 §5.2.1: 7bit or 8bit);
		   several are forwarded-1.eml, forwarded-2.eml ... */
		const struct buf *fb = &fwd[k];
		bool eight = false;
		for (size_t i = 0; i < fb->len && !eight; i++)
			eight = (unsigned char)fb->p[i] >= 0x80;
		char fname[40] = "forwarded.eml";
		if (nfwd > 1)
			snprintf(fname, sizeof fname, "forwarded-%zu.eml",
				 k + 1);
		r |= buf_printf(&msg,
				"--%s\r\nContent-Type: message/rfc822\r\n"
				"Content-Disposition: attachment; "
				"filename=\"%s\"\r\n%s\r\n",
				boundary, fname,
				eight ? "Content-Transfer-Encoding: 8bit\r\n"
				      : "");
		r |= buf_append(&msg, fb->p != NULL ? fb->p : "", fb->len);
	}
	if (multi)
		r |= buf_printf(&msg, "--%s--\r\n", boundary);
	if (r != 0 || msg.len > wm->message_size_limit) {
		webjson_error(req, 413, "too_large",
			      "the message is larger than the server accepts",
			      "text");
		goto out;
	}
	if (draft) {
		wm_draft_store(req, &msg, (uint32_t)draft_uid, mid);
		goto out;
	}
	char qid[64] = "";
	if (wm_submit(req, "send", me->acct.user, rcpts, nr, &msg, qid,
		      sizeof qid) < 0)
		goto out;
	log_info("webmail: sent: user=<%s>, client=%s, queue_id=%s, "
		 "nrcpt=%zu",
		 me->acct.user, http_req_client(req), qid, nr);
	for (size_t i = 0; i < nups + ninl; i++) {
		const char *up = i < nups ? ups[i].path : inl[i - nups].path;
		/* an image that came as a data: URL has no file */
		if (strchr(up, '/') != NULL && unlink(up) < 0 &&
		    errno != ENOENT)
			log_warning("webmail: %s: %s", up, strerror(errno));
	}

	/* the copy in Sent, with its Bcc */
	buf_init(&wire, msg.len + bcc.len + 64);
	if (bcc.len > 0)
		(void)!buf_printf(&wire, "Bcc: %s\r\n", buf_cstr(&bcc));
	(void)!buf_append(&wire, msg.p, msg.len);
	if (maildir_folder_create(me->acct.maildir, "Sent") < 0 &&
	    errno != EEXIST)
		log_warning("webmail: %s: cannot create Sent: %s",
			    me->acct.maildir, strerror(errno));
	char sent[4200];
	snprintf(sent, sizeof sent, "%s/.Sent", me->acct.maildir);
	struct mailbox_append ap = {
	    .data = wire.p, .len = wire.len, .flags = MAILDIR_SEEN};
	const char *err = NULL;
	uint32_t uid = 0;
	bool saved = mailbox_append(&me->mu, sent, &ap, NULL, &uid, &err) == 0;
	if (!saved)
		log_warning("webmail: %s: copy to Sent: %s: %s", me->acct.user,
			    err != NULL ? err : "", strerror(errno));
	/* the draft this message was written from goes */
	if (draft_uid > 0)
		wm_draft_remove(req, (uint32_t)draft_uid);
	json_t *o = json_object();
	json_object_set_new(o, "queue_id", json_string(qid));
	json_object_set_new(o, "message_id", json_string(mid));
	json_object_set_new(o, "sent_saved", json_boolean(saved));
	if (saved)
		json_object_set_new(o, "sent_uid", json_integer(uid));
	webjson_reply(req, 200, o);
out:
	for (size_t i = 0; i < nr; i++)
		free(rcpts[i]);
	for (size_t i = 0; i < nups; i++)
		wm_upload_free(&ups[i]);
	for (size_t i = 0; i < ninl; i++)
		wm_upload_free(&inl[i]);
	free(inl);
	buf_deinit(&clean);
	buf_deinit(&plain);
	buf_deinit(&to);
	buf_deinit(&cc);
	buf_deinit(&bcc);
	buf_deinit(&msg);
	buf_deinit(&wire);
	for (size_t k = 0; k < nfwd; k++)
		buf_deinit(&fwd[k]);
	json_decref(in);
}

void wm_send(struct http_req *req)
{
	compose(req, false);
}

void wm_draft_save(struct http_req *req)
{
	compose(req, true);
}
