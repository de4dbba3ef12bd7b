/*
 * youju-mailgraph's running totals for webadmin's GET /metrics: the
 * counters of the RRD files (since the daemon started) plus what no RRD
 * holds: SMTP connections, authentication failures and the delivery delay
 * histogram.  The daemon rewrites them, in Prometheus text format, into
 * mailgraph_rrd_directory/youju-mailgraph.prom (write and rename) at most
 * once a second; webadmin appends that file to its own metrics.
 */
#ifndef YOUJU_MG_METRICS_H
#define YOUJU_MG_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "classify.h"

#define MG_METRICS_FILE	 "youju-mailgraph.prom"
#define MG_DELAY_BUCKETS 10

struct mg_metrics {
	int64_t started;  /* Unix time */
	uint64_t lines;	  /* log lines read */
	double mail[4];	  /* sent, recv, bounced, rejected */
	double virus[2];  /* virus, spam */
	double bytes[2];  /* in, out */
	double logins[4]; /* imapd_ssl, imapd, pop3d_ssl, pop3d */
	double webmail[4];
	uint64_t connections;
	uint64_t auth_failed[3]; /* enum mg_service */
	/* delivery delays: counts per bucket (not cumulative), sum */
	uint64_t delay[MG_DELAY_BUCKETS + 1];
	uint64_t delay_count;
	double delay_sum;
	bool dirty;
};

/* The events that no RRD counts (connections, failures, delays). */
void mg_metrics_event(struct mg_metrics *m, const struct mg_event *ev);

/* Writes the text into dir/MG_METRICS_FILE (lib/file's file_replace(),
   mode 0644, without fsync).  0 or -1 (errno). */
int mg_metrics_write(const struct mg_metrics *m, const char *dir);

#endif
