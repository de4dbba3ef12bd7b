/*
 * POST /api/mdn {"folder", "uid"}: the read receipt a message asked for
 * (Disposition-Notification-To), sent when the reader says so (RFC 8098:
 * "manual-action/MDN-sent-manually; displayed"), once: the message then
 * carries the keyword $MDNSent, as Dovecot and Thunderbird mark it, and
 * "Ignore" in the app sets the same keyword without sending.  The MDN goes
 * to the addresses of that header only, from the reader's own address,
 * with the null envelope sender (RFC 8098 2.1), through youju-mta's local
 * submission like any message sent from webmail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compose.h"
#include "log.h"
#include "mailbox.h"
#include "mime.h"
#include "msghtml.h"
#include "msgopen.h"
#include "rfc2047.h"
#include "str.h"
#include "webjson.h"
#include "wm.h"
#include "xalloc.h"

#define MDN_KEYWORD "$MDNSent"
/* addresses of one Disposition-Notification-To */
#define MDN_RCPTS_MAX 5

/* The first header name of hdr, raw, into out (unfolded); false if none. */
static bool header_raw(const char *hdr, size_t len, const char *name,
		       struct buf *out)
{
	size_t pos = 0;
	struct str n, v;
	while (mime_header_next(hdr, len, &pos, &n, &v)) {
		if (!str_case_eq_cstr(n, name))
			continue;
		for (size_t i = 0; i < v.len; i++)
			(void)!buf_append_char(
			    out,
			    v.p[i] == '\r' || v.p[i] == '\n' ? ' ' : v.p[i]);
		return true;
	}
	return false;
}

/* The addresses of an address list (commas outside quotes and <>). */
static size_t addresses(const char *s, char rcpts[][256], size_t max)
{
	size_t n = 0;
	bool q = false;
	int angle = 0;
	const char *start = s;
	for (const char *p = s;; p++) {
		if (*p == '"')
			q = !q;
		else if (*p == '<' && !q)
			angle++;
		else if (*p == '>' && !q && angle > 0)
			angle--;
		if (*p == '\0' || (*p == ',' && !q && angle == 0)) {
			char one[1024];
			size_t l = (size_t)(p - start);
			if (l < sizeof one && n < max) {
				memcpy(one, start, l);
				one[l] = '\0';
				if (wm_rcpt_addr(one, rcpts[n], 256))
					n++;
			}
			start = p + 1;
		}
		if (*p == '\0')
			break;
	}
	return n;
}

void wm_mdn(struct http_req *req)
{
	struct wm *wm = http_req_app(req);
	const struct wm_caller *me = wm_caller(req);
	struct wm_msg om;
	if (wm_msg_open_body(req, &om) < 0) {
		wm_msg_close(&om);
		return;
	}
	struct buf dnt, mid, subj, subj8, out;
	buf_init(&dnt, 8192);
	buf_init(&mid, 1024);
	buf_init(&subj, 2048);
	buf_init(&subj8, 4096);
	buf_init(&out, 256 * 1024);
	struct maildir_folder *f = om.f;
	struct maildir_msg *m = om.m;
	const char *hdr = om.raw.p + om.root->hdr_off;
	size_t hlen = om.root->hdr_len;
	char rcpts[MDN_RCPTS_MAX][256];
	size_t nr = 0;
	if (header_raw(hdr, hlen, "Disposition-Notification-To", &dnt))
		nr = addresses(buf_cstr(&dnt), rcpts, MDN_RCPTS_MAX);
	if (nr == 0) {
		webjson_error(req, 400, "no_receipt",
			      "the message asks for no read receipt", "uid");
		goto out;
	}
	/* once per message */
	int kw = maildir_keywords_find(&f->kw, str_from_cstr(MDN_KEYWORD));
	if (kw >= 0 && (maildir_keyword_bits(str_from_cstr(m->letters)) &
			(1u << kw)) != 0) {
		webjson_error(req, 409, "already_sent",
			      "the read receipt was sent or ignored", "uid");
		goto out;
	}
	(void)header_raw(hdr, hlen, "Message-ID", &mid);
	if (header_raw(hdr, hlen, "Subject", &subj))
		(void)!mime_header_decode(str_from_cstr(buf_cstr(&subj)),
					  &subj8);
	char *rcpt_ptr[MDN_RCPTS_MAX];
	for (size_t i = 0; i < nr; i++)
		rcpt_ptr[i] = rcpts[i];

	char date[64], rnd[33];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
	if (websession_random_hex(rnd, 16) < 0) {
		webjson_error(req, 500, "internal", "no random bytes", NULL);
		goto out;
	}
	const char *dom = strrchr(me->acct.user, '@');
	int r = buf_printf(&out, "From: <%s>\r\nTo: ", me->acct.user);
	for (size_t i = 0; i < nr; i++)
		r |= buf_printf(&out, "%s<%s>", i > 0 ? ", " : "", rcpts[i]);
	r |= buf_append_str(&out, "\r\n");
	struct buf s2;
	buf_init(&s2, 8192);
	(void)!buf_printf(&s2, "Read: %s", buf_cstr(&subj8));
	r |= rfc2047_header(&out, "Subject", buf_cstr(&s2));
	buf_deinit(&s2);
	r |= buf_printf(&out,
			"Date: %s\r\nMessage-ID: <%lld.%s.mdn@%s>\r\n"
			"MIME-Version: 1.0\r\nUser-Agent: youju-webmail\r\n",
			date, (long long)now, rnd,
			dom != NULL ? dom + 1 : wm->myhostname);
	const char *midp = buf_cstr(&mid);
	while (*midp == ' ' || *midp == '\t')
		midp++;
	bool mid_ok =
	    midp[0] == '<' && strchr(midp, '>') != NULL && strlen(midp) < 998;
	if (mid_ok)
		r |= buf_printf(&out, "In-Reply-To: %s\r\nReferences: %s\r\n",
				midp, midp);
	r |= buf_printf(&out,
			"Content-Type: multipart/report;\r\n"
			" report-type=disposition-notification;\r\n"
			" boundary=\"=_youju_m_%.24s\"\r\n\r\n"
			"--=_youju_m_%.24s\r\n",
			rnd, rnd);
	struct buf text;
	buf_init(&text, 8192);
	(void)!buf_printf(&text,
			  "This is a read receipt for the message sent to %s "
			  "with the subject \"%s\".\n\nIt was displayed; "
			  "that does not mean that it was read or "
			  "understood.\n",
			  me->acct.user, buf_cstr(&subj8));
	r |= buf_append_str(&out, "Content-Type: text/plain; charset=UTF-8\r\n"
				  "Content-Transfer-Encoding: "
				  "quoted-printable\r\n\r\n");
	r |= wm_qp_body(&out, text.p, text.len);
	buf_deinit(&text);
	/* RFC 8098 3.1: the machine-readable part */
	r |= buf_printf(&out,
			"--=_youju_m_%.24s\r\n"
			"Content-Type: message/disposition-notification\r\n\r\n"
			"Reporting-UA: %s; youju-webmail\r\n"
			"Final-Recipient: rfc822;%s\r\n",
			rnd, wm->myhostname, me->acct.user);
	if (mid_ok)
		r |= buf_printf(&out, "Original-Message-ID: %.*s\r\n",
				(int)(strchr(midp, '>') - midp + 1), midp);
	r |= buf_printf(&out,
			"Disposition: manual-action/MDN-sent-manually; "
			"displayed\r\n\r\n--=_youju_m_%.24s--\r\n",
			rnd);
	if (r != 0) {
		webjson_error(req, 500, "internal", "cannot build the receipt",
			      NULL);
		goto out;
	}
	char qid[64] = "";
	if (wm_submit(req, "mdn", "", rcpt_ptr, nr, &out, qid, sizeof qid) < 0)
		goto out;
	log_info("webmail: mdn: user=<%s>, client=%s, queue_id=%s, nrcpt=%zu",
		 me->acct.user, http_req_client(req), qid, nr);
	/* remembered: the prompt does not come back */
	struct str k = str_from_cstr(MDN_KEYWORD);
	uint32_t bits = 0;
	if (mailbox_keywords(f, &k, 1, &bits) < 0 ||
	    mailbox_msg_flags(f, m, MAILBOX_FLAGS_ADD, 0, bits) < 0)
		log_warning("webmail: mdn: user=<%s>: cannot set %s: %s",
			    me->acct.user, MDN_KEYWORD, strerror(errno));
	json_t *o = json_object();
	json_object_set_new(o, "queue_id", json_string(qid));
	json_object_set_new(o, "flags", wm_flags_json(f, m));
	webjson_reply(req, 200, o);
out:
	wm_msg_close(&om);
	buf_deinit(&dnt);
	buf_deinit(&mid);
	buf_deinit(&subj);
	buf_deinit(&subj8);
	buf_deinit(&out);
}
