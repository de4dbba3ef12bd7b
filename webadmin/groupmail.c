/*
 * Group mail (ExtMan's GroupMail.pm): one plain-text message to every
 * active mailbox of the chosen domains, sent in the background through
 * youju-mta's local submission socket (sendmail_socket, the one `youju
 * sendmail` uses), in batches of GROUPMAIL_BATCH recipients, each batch
 * one SMTP transaction with the recipients as envelope-only (Bcc) and
 * "To: undisclosed-recipients:;".  The request returns at once with the
 * count; the log has one line per batch.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "buf.h"
#include "conf.h"
#include "extmail_sql.h"
#include "log.h"
#include "rfc2047.h"
#include "submit.h"
#include "wa.h"
#include "webjson.h"
#include "xalloc.h"

#define GROUPMAIL_BATCH	      100
#define GROUPMAIL_TEXT_MAX    (256 * 1024)
#define GROUPMAIL_DOMAINS_MAX 1000

struct gm_job {
	char *socket_path;
	char *sender;
	struct buf msg; /* headers + body, CRLF, dot-stuffed, no final dot */
	char **rcpt;
	size_t n;
};

static int send_batch(struct gm_job *j, size_t from, size_t to)
{
	struct submit_result r;
	if (submit_local(j->socket_path, "webadmin", j->sender, j->rcpt + from,
			 to - from, false, j->msg.p != NULL ? j->msg.p : "",
			 j->msg.len, &r) < 0)
		return -1;
	char esc[200];
	log_info("webadmin: group mail: %zu of %zu recipients queued (%s)",
		 r.accepted, to - from,
		 log_escape(esc, sizeof esc, r.reply, strlen(r.reply)));
	return 0;
}

static void *gm_main(void *arg)
{
	struct gm_job *j = arg;
	for (size_t i = 0; i < j->n; i += GROUPMAIL_BATCH) {
		size_t to =
		    i + GROUPMAIL_BATCH < j->n ? i + GROUPMAIL_BATCH : j->n;
		if (send_batch(j, i, to) < 0)
			log_warning("webadmin: group mail: batch of %zu "
				    "recipients from %s not sent "
				    "(youju-mta's %s)",
				    to - i, j->rcpt[i], j->socket_path);
	}
	for (size_t i = 0; i < j->n; i++)
		free(j->rcpt[i]);
	free(j->rcpt);
	buf_deinit(&j->msg);
	free(j->socket_path);
	free(j->sender);
	free(j);
	return NULL;
}

static int build_message(struct buf *m, const char *from, const char *subject,
			 const char *text)
{
	char date[64];
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
	if (buf_printf(m,
		       "From: %s\r\nTo: undisclosed-recipients:;\r\n"
		       "Date: %s\r\nMIME-Version: 1.0\r\n"
		       "Content-Type: text/plain; charset=UTF-8\r\n"
		       "Content-Transfer-Encoding: 8bit\r\n",
		       from, date) < 0 ||
	    rfc2047_header(m, "Subject", subject) < 0 ||
	    buf_append_str(m, "\r\n") < 0)
		return -1;
	/* the text: CRLF line ends, lines starting with '.' doubled */
	const char *p = text;
	while (*p != '\0') {
		size_t n = strcspn(p, "\r\n");
		if (p[0] == '.' && buf_append_char(m, '.') < 0)
			return -1;
		if (buf_append(m, p, n) < 0 || buf_append_str(m, "\r\n") < 0)
			return -1;
		p += n;
		if (*p == '\r' && p[1] == '\n')
			p += 2;
		else if (*p != '\0')
			p++;
	}
	return 0;
}

/* POST /api/groupmail {"domains": [...], "subject", "text"} ->
   202 {"recipients"} */
void wa_groupmail(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	static const char *const allowed[] = {"domains", "subject", "text",
					      NULL};
	const char *subject = NULL, *text = NULL;
	struct sqlconn *c = NULL;
	struct gm_job *j = xcalloc(1, sizeof *j);
	buf_init(&j->msg, GROUPMAIL_TEXT_MAX + 16384);
	size_t cap = 0;
	json_t *doms = json_object_get(in, "domains");
	if (webjson_only(req, in, allowed) < 0 ||
	    webjson_get_str(req, in, "subject", true, 200, &subject) < 0)
		goto fail;
	json_t *tv = json_object_get(in, "text");
	if (tv == NULL || !json_is_string(tv) ||
	    json_string_length(tv) > GROUPMAIL_TEXT_MAX) {
		webjson_error(req, 400, "invalid",
			      "text: a string of at most 256 KiB", "text");
		goto fail;
	}
	text = json_string_value(tv);
	if (doms == NULL || !json_is_array(doms) ||
	    json_array_size(doms) == 0 ||
	    json_array_size(doms) > GROUPMAIL_DOMAINS_MAX) {
		webjson_error(req, 400, "invalid", "domains: a list of domains",
			      "domains");
		goto fail;
	}
	const char *sender = conf_str(wa->conf, "webadmin_groupmail_sender");
	if (build_message(&j->msg, sender, subject, text) < 0) {
		webjson_error(req, 400, "invalid", "text: too long", "text");
		goto fail;
	}
	if ((c = wa_db(req)) == NULL)
		goto fail;
	size_t i;
	json_t *dv;
	json_array_foreach(doms, i, dv)
	{
		const char *d = json_is_string(dv) ? json_string_value(dv) : "";
		if (!wa_can_domain(req, c, d))
			goto fail;
		char after[EXTMAIL_ADDRESS_MAX + 1] = "";
		for (;;) {
			struct sqlresult res;
			memset(&res, 0, sizeof res);
			const char *args[2] = {d, after};
			if (wa_q(req, c,
				 "SELECT username FROM mailbox FORCE INDEX "
				 "(youju_domain_user) WHERE domain = ? AND "
				 "username > ? AND active = 1 ORDER BY "
				 "username LIMIT 5000",
				 args, 2, &res) < 0)
				goto fail;
			for (size_t r = 0; r < res.nrows; r++) {
				if (j->n == cap) {
					cap = cap ? cap * 2 : 256;
					j->rcpt = xrealloc(
					    j->rcpt, cap * sizeof *j->rcpt);
				}
				j->rcpt[j->n++] = xstrdup(res.rows[r].cols[0]);
			}
			size_t got = res.nrows;
			if (got > 0)
				snprintf(after, sizeof after, "%s",
					 res.rows[got - 1].cols[0]);
			sqlresult_free(&res);
			if (got < 5000)
				break;
		}
	}
	wa_db_put(req, &c, false);
	j->socket_path = xstrdup(conf_str(wa->conf, "sendmail_socket"));
	/* the envelope sender: the address inside the From value */
	const char *lt = strchr(sender, '<'), *gt = strrchr(sender, '>');
	j->sender = lt != NULL && gt != NULL && gt > lt
			? xstrndup(lt + 1, (size_t)(gt - lt - 1))
			: xstrdup(sender);
	size_t count = j->n;
	char obj[300];
	snprintf(obj, sizeof obj, "%zu recipients", count);
	log_info("webadmin: group mail by %s to %zu domains, %zu recipients",
		 wa_caller(req)->username, json_array_size(doms), count);
	pthread_t t;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (count > 0 && pthread_create(&t, &at, gm_main, j) != 0) {
		pthread_attr_destroy(&at);
		webjson_error(req, 503, "busy", "cannot start the job", NULL);
		goto fail;
	}
	pthread_attr_destroy(&at);
	if (count == 0)
		gm_main(j);
	json_t *o = json_object();
	json_object_set_new(o, "recipients", json_integer((json_int_t)count));
	webjson_reply(req, 202, o);
	json_decref(in);
	return;
fail:
	wa_db_put(req, &c, false);
	for (size_t k = 0; k < j->n; k++)
		free(j->rcpt[k]);
	free(j->rcpt);
	buf_deinit(&j->msg);
	free(j->socket_path);
	free(j->sender);
	free(j);
	json_decref(in);
}
