/*
 * The Prometheus text (format 0.0.4) of youju-mailgraph's totals; names
 * and labels are listed in docs/mailgraph.md "Metrics".
 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"

/* upper bounds of the delay buckets, in milliseconds */
static const int64_t mg_delay_le[MG_DELAY_BUCKETS] = {
    100, 500, 1000, 5000, 30000, 60000, 300000, 3600000, 21600000, 86400000,
};

void mg_metrics_event(struct mg_metrics *m, const struct mg_event *ev)
{
	switch (ev->kind) {
	case MG_CONNECT:
		m->connections++;
		break;
	case MG_AUTH_FAILED:
		if ((unsigned)ev->service < 3)
			m->auth_failed[ev->service]++;
		break;
	case MG_SENT:
	case MG_DELIVERED:
	case MG_BOUNCED:
		if (ev->delay_ms >= 0) {
			int b = 0;
			while (b < MG_DELAY_BUCKETS &&
			       ev->delay_ms > mg_delay_le[b])
				b++;
			m->delay[b]++;
			m->delay_count++;
			m->delay_sum += (double)ev->delay_ms / 1000.0;
		}
		break;
	default:
		return;
	}
	m->dirty = true;
}

static void mg_fam(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void mg_write(FILE *f, const struct mg_metrics *m)
{
	static const char *const mail[4] = {"sent", "recv", "bounced",
					    "rejected"};
	static const char *const login[4][2] = {
	    {"imap", "yes"}, {"imap", "no"}, {"pop3", "yes"}, {"pop3", "no"}};
	static const char *const wm[4] = {"loginok", "badlogin", "disabled",
					  "deactive"};
	static const char *const svc[3] = {"smtp", "imap", "pop3"};

	mg_fam(f, "youju_mailgraph_start_time_seconds", "gauge",
	       "Start of youju-mailgraph, Unix time; the counters below "
	       "count from then.");
	fprintf(f, "youju_mailgraph_start_time_seconds %lld\n",
		(long long)m->started);
	mg_fam(f, "youju_mailgraph_log_lines_total", "counter",
	       "Maillog lines read.");
	fprintf(f, "youju_mailgraph_log_lines_total %llu\n",
		(unsigned long long)m->lines);
	mg_fam(f, "youju_mail_messages_total", "counter",
	       "Messages by mailgraph.rrd and mailgraph_virus.rrd data "
	       "source.");
	for (int i = 0; i < 4; i++)
		fprintf(f, "youju_mail_messages_total{ds=\"%s\"} %.0f\n",
			mail[i], m->mail[i]);
	fprintf(f, "youju_mail_messages_total{ds=\"virus\"} %.0f\n",
		m->virus[0]);
	fprintf(f, "youju_mail_messages_total{ds=\"spam\"} %.0f\n",
		m->virus[1]);
	mg_fam(f, "youju_mail_bytes_total", "counter",
	       "Message bytes received by SMTP (in) and relayed (out), as "
	       "mailgraph_bytes.rrd.");
	fprintf(f, "youju_mail_bytes_total{direction=\"in\"} %.0f\n",
		m->bytes[0]);
	fprintf(f, "youju_mail_bytes_total{direction=\"out\"} %.0f\n",
		m->bytes[1]);
	mg_fam(f, "youju_logins_total", "counter",
	       "IMAP and POP3 logins, as mailgraph_courier.rrd.");
	for (int i = 0; i < 4; i++)
		fprintf(f,
			"youju_logins_total{service=\"%s\",tls=\"%s\"} "
			"%.0f\n",
			login[i][0], login[i][1], m->logins[i]);
	mg_fam(f, "youju_webmail_logins_total", "counter",
	       "Webmail logins by status, as mailgraph_webmail.rrd.");
	for (int i = 0; i < 4; i++)
		fprintf(f, "youju_webmail_logins_total{status=\"%s\"} %.0f\n",
			wm[i], m->webmail[i]);
	mg_fam(f, "youju_smtpd_connections_total", "counter",
	       "SMTP connections (smtpd \"connect from\").");
	fprintf(f, "youju_smtpd_connections_total %llu\n",
		(unsigned long long)m->connections);
	mg_fam(f, "youju_auth_failures_total", "counter",
	       "Failed logins: SMTP AUTH, IMAP, POP3.");
	for (int i = 0; i < 3; i++)
		fprintf(f, "youju_auth_failures_total{service=\"%s\"} %llu\n",
			svc[i], (unsigned long long)m->auth_failed[i]);
	mg_fam(f, "youju_delivery_delay_seconds", "histogram",
	       "delay= of the delivery lines (sent, bounced), seconds.");
	uint64_t cum = 0;
	for (int b = 0; b < MG_DELAY_BUCKETS; b++) {
		cum += m->delay[b];
		fprintf(f,
			"youju_delivery_delay_seconds_bucket{le=\"%g\"} "
			"%llu\n",
			(double)mg_delay_le[b] / 1000.0,
			(unsigned long long)cum);
	}
	fprintf(f, "youju_delivery_delay_seconds_bucket{le=\"+Inf\"} %llu\n",
		(unsigned long long)m->delay_count);
	fprintf(f, "youju_delivery_delay_seconds_sum %.3f\n", m->delay_sum);
	fprintf(f, "youju_delivery_delay_seconds_count %llu\n",
		(unsigned long long)m->delay_count);
}

int mg_metrics_write(const struct mg_metrics *m, const char *dir)
{
	char path[PATH_MAX];
	if (file_path(path, sizeof path, dir, MG_METRICS_FILE) < 0)
		return -1;
	char *data = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&data, &len);
	if (f == NULL)
		return -1;
	mg_write(f, m);
	if (ferror(f) | (fclose(f) != 0)) {
		int e = errno;
		free(data);
		return errno = e, -1;
	}
	/* rewritten every minute from the totals: no fsync */
	const struct file_replace_opts o = {.mode = 0644, .no_fsync = true};
	int rc = file_replace(path, data, len, &o);
	free(data);
	return rc;
}
