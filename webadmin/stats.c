/*
 * Per-domain usage (mailboxes, aliases, quota sums) for the lists and the
 * overview, cached for a few seconds: with 100,000 mailboxes in a domain
 * each figure is a pass over its rows, and a console page asks for it on
 * every view.  A change made through webadmin drops the domain's entry at
 * once; rows written straight into SQL show within WA_STATS_TTL.  The
 * limit checks on create and update never use this cache: they count
 * inside their transaction with the domain row locked.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wa.h"

#define WA_STATS_TTL 5 /* seconds */
#define SLOTS	     512

struct slot {
	char domain[256];
	struct wa_stats st;
	int64_t at; /* CLOCK_MONOTONIC seconds; 0: empty */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[SLOTS];

static int64_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec + 1; /* never 0 */
}

static size_t slot_of(const char *d)
{
	size_t h = 5381;
	for (; *d; d++)
		h = h * 33 + (unsigned char)*d;
	return h % SLOTS;
}

int wa_mailbox_usage(struct http_req *req, struct sqlconn *c,
		     const char *domain, struct wa_stats *st)
{
	const char *args[1] = {domain};
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	if (wa_q(req, c,
		 "SELECT COUNT(*), COALESCE(SUM(CAST(quota AS UNSIGNED)), 0), "
		 "COALESCE(SUM(CAST(netdiskquota AS UNSIGNED)), 0) FROM "
		 "mailbox WHERE domain = ?",
		 args, 1, &res) < 0)
		return -1;
	st->users = st->quota = st->netdiskquota = 0;
	if (res.nrows == 1 && res.rows[0].ncols == 3) {
		char **v = res.rows[0].cols;
		st->users = v[0] != NULL ? strtoll(v[0], NULL, 10) : 0;
		st->quota = v[1] != NULL ? strtoll(v[1], NULL, 10) : 0;
		st->netdiskquota = v[2] != NULL ? strtoll(v[2], NULL, 10) : 0;
	}
	sqlresult_free(&res);
	return 0;
}

int wa_domain_stats(struct http_req *req, struct sqlconn *c, const char *domain,
		    struct wa_stats *out)
{
	size_t i = slot_of(domain);
	int64_t now = now_s();
	pthread_mutex_lock(&lock);
	if (slots[i].at != 0 && now - slots[i].at < WA_STATS_TTL &&
	    strcmp(slots[i].domain, domain) == 0) {
		*out = slots[i].st;
		pthread_mutex_unlock(&lock);
		return 0;
	}
	pthread_mutex_unlock(&lock);
	const char *args[1] = {domain};
	struct wa_stats st = {0, 0, 0, 0};
	if (wa_mailbox_usage(req, c, domain, &st) < 0)
		return -1;
	if (wa_q_int(req, c, "SELECT COUNT(*) FROM alias WHERE domain = ?",
		     args, 1, &st.aliases) < 0)
		return -1;
	pthread_mutex_lock(&lock);
	snprintf(slots[i].domain, sizeof slots[i].domain, "%s", domain);
	slots[i].st = st;
	slots[i].at = now;
	pthread_mutex_unlock(&lock);
	*out = st;
	return 0;
}

void wa_stats_forget(const char *domain)
{
	size_t i = slot_of(domain);
	pthread_mutex_lock(&lock);
	if (strcmp(slots[i].domain, domain) == 0)
		slots[i].at = 0;
	pthread_mutex_unlock(&lock);
}
