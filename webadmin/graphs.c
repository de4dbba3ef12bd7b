/*
 * GET /api/graphs/{graph}.png?period=day|week|month|year[&domain=D]
 * [&width=W&height=H]: the
 * mailgraph_ext graphs (web.md §3, ExtMan's GraphLog.pm) drawn from
 * youju-mailgraph's RRD files with librrd's rrd_graph_v into memory.
 * rrd_graph_v is not thread-safe in rrdtool 1.7 (shared Pango font map,
 * getopt state: oetiker/rrdtool-1.x #865, PR #1098), so every rendering
 * runs under one mutex, and PNGs are cached per graph, period, size and
 * domain for a minute (the files change once a minute).  Graph names come from
 * a fixed table, never a path from the request; a domain is used in a path only
 * after a strict name check and the role check (a postmaster sees its own
 * domains' graphs, the admin all).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <rrd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "conf.h"
#include "log.h"
#include "wa.h"
#include "webjson.h"

/* a broken invariant (STYLE.md: active in release builds) */
#define GR_ASSERT(c)                                                           \
	do {                                                                   \
		if (!(c))                                                      \
			abort();                                               \
	} while (0)
#define GR_CACHE      128
#define GR_TTL	      60
#define GR_ARGS	      128
#define GR_DOMAIN_MAX 253
/* the bounds of a requested image size (the whole PNG, in pixels) */
#define GR_W_MIN 320
#define GR_W_MAX 2000
#define GR_H_MIN 200
#define GR_H_MAX 1200
#define GR_W_DEF 640
#define GR_H_DEF 320

enum gr_kind {
	GR_MAIL,
	GR_ERRORS,
	GR_TRAFFIC,
	GR_QUEUE,
	GR_LOGINS,
	GR_WEBMAIL
};

static const struct {
	const char *name;
	const char *title;
	bool per_domain;
} gr_graphs[] = {
    [GR_MAIL] = {"mail", "Successes", true},
    [GR_ERRORS] = {"errors", "Errors", true},
    [GR_TRAFFIC] = {"traffic", "Traffic", true},
    [GR_QUEUE] = {"queue", "Queues", false},
    [GR_LOGINS] = {"logins", "IMAP/POP Login", false},
    [GR_WEBMAIL] = {"webmail", "WebMail Login", false},
};
#define GR_NGRAPHS (sizeof gr_graphs / sizeof gr_graphs[0])

static const struct {
	const char *name;
	long range;
} gr_periods[] = {
    {"day", 86400},
    {"week", 604800},
    {"month", 2678400},
    {"year", 31536000},
};

struct gr_png {
	char key[GR_DOMAIN_MAX + 32];
	time_t made;
	unsigned char *data;
	size_t len;
};

static pthread_mutex_t gr_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gr_png gr_cache[GR_CACHE];

/* a hosted domain name as youju-mailgraph names its files */
static bool gr_domain_ok(const char *d)
{
	size_t n = strlen(d);
	if (n == 0 || n > GR_DOMAIN_MAX || d[0] == '.' || d[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = d[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.'))
			return false;
		if (c == '.' && i > 0 && d[i - 1] == '.')
			return false;
	}
	return true;
}

/* A decimal size in [lo, hi], or 0. */
static int gr_dim(const char *s, int lo, int hi)
{
	int v = 0;
	if (*s == '\0' || strlen(s) > 5)
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (*s - '0');
	}
	return v >= lo && v <= hi ? v : 0;
}

/* The arguments of one graph: "DEF", "CDEF" ... built into store (owned
   by the caller) and pointed at from argv. */
struct gr_args {
	char *argv[GR_ARGS];
	int argc;
	char store[GR_ARGS][PATH_MAX + 96];
};

__attribute__((format(printf, 2, 3))) static void gr_add(struct gr_args *a,
							 const char *fmt, ...)
{
	/* the longest graph (4 DS on a narrow graph) needs 70 */
	GR_ASSERT(a->argc < GR_ARGS);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(a->store[a->argc], sizeof a->store[a->argc], fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof a->store[a->argc])
		return; /* rrd_graph_v then reports the missing piece */
	a->argv[a->argc] = a->store[a->argc];
	a->argc++;
}

/* f (PATH_MAX) := dir/name; wa_graph checked that every name fits */
#define GR_PATH(f, ...)                                                        \
	do {                                                                   \
		int n_ = snprintf(f, PATH_MAX, __VA_ARGS__);                   \
		GR_ASSERT(n_ > 0 && n_ < PATH_MAX);                            \
	} while (0)

/* One data source as a per-minute line or area with mailgraph_ext's
   legend: total, average and maximum per minute.  Minutes the file does
   not cover count as 0 in the legend (not "nan").  A narrow graph puts
   the average and maximum on a second line. */
static void gr_ds(struct gr_args *a, const char *file, const char *ds,
		  const char *v, const char *draw, const char *color,
		  const char *label, double scale, bool narrow)
{
	gr_add(a, "DEF:%s=%s:%s:AVERAGE", v, file, ds);
	gr_add(a, "DEF:m%s=%s:%s:MAX", v, file, ds);
	gr_add(a, "CDEF:r%s=%s,%g,*", v, v, 60.0 / scale);
	gr_add(a, "CDEF:z%s=%s,UN,0,%s,IF", v, v, v);
	gr_add(a, "CDEF:zr%s=r%s,UN,0,r%s,IF", v, v, v);
	gr_add(a, "CDEF:zm%s=m%s,UN,0,m%s,IF,%g,*", v, v, v, 60.0 / scale);
	gr_add(a, "VDEF:t%s=z%s,TOTAL", v, v);
	gr_add(a, "VDEF:a%s=zr%s,AVERAGE", v, v);
	gr_add(a, "VDEF:x%s=zm%s,MAXIMUM", v, v);
	/* "STACK": an area on top of the one before */
	if (strcmp(draw, "STACK") == 0)
		gr_add(a, "AREA:r%s#%s:%-9s:STACK", v, color, label);
	else
		gr_add(a, "%s:r%s#%s:%-9s", draw, v, color, label);
	if (scale > 1) /* bytes: with an SI prefix */
		gr_add(a, "GPRINT:t%s:total %%6.1lf %%sB%s", v,
		       narrow ? "\\l" : "");
	else
		gr_add(a, "GPRINT:t%s:total %%8.0lf%s", v, narrow ? "\\l" : "");
	if (narrow) {
		gr_add(a, "COMMENT:   ");
		gr_add(a, "GPRINT:a%s:avg %%.2lf/min", v);
		gr_add(a, "GPRINT:x%s:max %%.0lf/min\\l", v);
		return;
	}
	gr_add(a, "GPRINT:a%s:avg %%7.2lf/min", v);
	gr_add(a, "GPRINT:x%s:max %%6.0lf/min\\l", v);
}

static void gr_define(struct gr_args *a, enum gr_kind k, const char *dir,
		      const char *domain, bool narrow)
{
	char f[PATH_MAX];
	bool dom = domain != NULL;
#define FILE_(name)                                                            \
	do {                                                                   \
		if (dom)                                                       \
			GR_PATH(f, "%s/domain/%s.rrd", dir, domain);           \
		else                                                           \
			GR_PATH(f, "%s/%s", dir, name);                        \
	} while (0)
	switch (k) {
	case GR_MAIL:
		FILE_("mailgraph.rrd");
		gr_ds(a, f, "sent", "sent", "AREA", "000099", "Sent", 1,
		      narrow);
		gr_ds(a, f, "recv", "recv", "LINE2", "009900", "Received", 1,
		      narrow);
		break;
	case GR_ERRORS:
		FILE_("mailgraph.rrd");
		gr_ds(a, f, "rejected", "rejected", "AREA", "AA0000",
		      "Rejected", 1, narrow);
		gr_ds(a, f, "bounced", "bounced", "STACK", "000000", "Bounced",
		      1, narrow);
		if (!dom) {
			GR_PATH(f, "%s/mailgraph_virus.rrd", dir);
			gr_ds(a, f, "virus", "virus", "STACK", "DDBB00",
			      "Viruses", 1, narrow);
			gr_ds(a, f, "spam", "spam", "STACK", "999999", "Spam",
			      1, narrow);
		}
		break;
	case GR_TRAFFIC:
		FILE_("mailgraph_bytes.rrd");
		gr_ds(a, f, "bytesin", "bin", "AREA", "00FFFF", "In", 1024,
		      narrow);
		gr_ds(a, f, "bytesout", "bout", "LINE2", "D88132", "Out", 1024,
		      narrow);
		break;
	case GR_QUEUE:
		GR_PATH(f, "%s/mailgraph_queue.rrd", dir);
		gr_ds(a, f, "active", "active", "AREA", "00ff00", "Active", 1,
		      narrow);
		gr_ds(a, f, "hold", "hold", "STACK", "ff0000", "Hold", 1,
		      narrow);
		gr_ds(a, f, "deferred", "deferred", "STACK", "0000ff",
		      "Deferred", 1, narrow);
		gr_ds(a, f, "incoming", "incoming", "STACK", "336699",
		      "Incoming", 1, narrow);
		break;
	case GR_LOGINS:
		GR_PATH(f, "%s/mailgraph_courier.rrd", dir);
		gr_ds(a, f, "pop3d_login", "pop", "LINE1", "DD0000", "POP3", 1,
		      narrow);
		gr_ds(a, f, "pop3d_ssl_login", "pops", "STACK", "770000",
		      "POP3/SSL", 1, narrow);
		gr_ds(a, f, "imapd_login", "imap", "LINE2", "00DD00", "IMAP", 1,
		      narrow);
		gr_ds(a, f, "imapd_ssl_login", "imaps", "STACK", "007700",
		      "IMAP/SSL", 1, narrow);
		break;
	case GR_WEBMAIL:
		GR_PATH(f, "%s/mailgraph_webmail.rrd", dir);
		gr_ds(a, f, "wmstat0", "ok", "LINE2", "009900", "LoginOK", 1,
		      narrow);
		gr_ds(a, f, "wmstat1", "fail", "LINE2", "AA0000", "Failed", 1,
		      narrow);
		gr_ds(a, f, "wmstat2", "dis", "LINE2", "999999", "Disabled", 1,
		      narrow);
		gr_ds(a, f, "wmstat3", "deact", "LINE2", "0000ff", "Deactive",
		      1, narrow);
		break;
	}
#undef FILE_
}

/* Renders under gr_lock (held by the caller); owned PNG or NULL.
   width and height 0: the classic 540x160 plot with the legend around
   it; otherwise the whole image is width x height (--full-size-mode). */
static unsigned char *gr_render(enum gr_kind k, long range, const char *dir,
				const char *domain, int width, int height,
				size_t *len_r, const char **err_r)
{
	static struct gr_args a; /* under gr_lock */
	a.argc = 0;
	gr_add(&a, "graphv");
	gr_add(&a, "-");
	gr_add(&a, "--imgformat=PNG");
	gr_add(&a, "--start=-%ld", range);
	gr_add(&a, "--end=-%ld", range / 100);
	if (width > 0) {
		gr_add(&a, "--full-size-mode");
		gr_add(&a, "--width=%d", width);
		gr_add(&a, "--height=%d", height);
	} else {
		gr_add(&a, "--width=540");
		gr_add(&a, "--height=160");
	}
	gr_add(&a, "--slope-mode");
	gr_add(&a, "--units-exponent=0");
	gr_add(&a, "--lower-limit=0");
	gr_add(&a, "--title=%s%s%s", gr_graphs[k].title,
	       domain != NULL ? " - " : "", domain != NULL ? domain : "");
	gr_add(&a, "--vertical-label=%s",
	       k == GR_TRAFFIC			   ? "K/min"
	       : k == GR_LOGINS || k == GR_WEBMAIL ? "logins/min"
						   : "msgs/min");
	gr_define(&a, k, dir, domain, width > 0 && width < 560);
	time_t now = time(NULL);
	struct tm tm;
	char when[64] = "";
	if (localtime_r(&now, &tm) != NULL)
		strftime(when, sizeof when, "%Y-%m-%d %H\\:%M\\:%S", &tm);
	gr_add(&a, "COMMENT:graph created on %s\\r", when);
	rrd_clear_error();
	rrd_info_t *info = rrd_graph_v(a.argc, a.argv);
	if (info == NULL) {
		*err_r = rrd_get_error();
		return NULL;
	}
	unsigned char *png = NULL;
	for (rrd_info_t *i = info; i != NULL; i = i->next)
		if (strcmp(i->key, "image") == 0 && i->type == RD_I_BLO &&
		    i->value.u_blo.size > 0) {
			png = malloc(i->value.u_blo.size);
			if (png != NULL) {
				memcpy(png, i->value.u_blo.ptr,
				       i->value.u_blo.size);
				*len_r = i->value.u_blo.size;
			}
		}
	rrd_info_free(info);
	if (png == NULL)
		*err_r = "no image";
	return png;
}

void wa_graph(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	const struct wa_caller *me = wa_caller(req);
	const char *p = http_req_param(req, 0);
	size_t pl = strlen(p);
	size_t k = GR_NGRAPHS;
	for (size_t i = 0; i < GR_NGRAPHS; i++) {
		size_t n = strlen(gr_graphs[i].name);
		if (pl == n + 4 && memcmp(p, gr_graphs[i].name, n) == 0 &&
		    strcmp(p + n, ".png") == 0)
			k = i;
	}
	if (k == GR_NGRAPHS) {
		webjson_error(req, 404, "not_found", "no such graph", NULL);
		return;
	}
	const char *period = http_req_query(req, "period");
	long range = 0;
	for (size_t i = 0; i < sizeof gr_periods / sizeof gr_periods[0]; i++)
		if (period == NULL ? i == 0
				   : strcmp(period, gr_periods[i].name) == 0)
			range = gr_periods[i].range;
	if (range == 0) {
		webjson_error(req, 400, "invalid",
			      "period is day, week, "
			      "month or year",
			      "period");
		return;
	}
	int width = 0, height = 0;
	const char *ws = http_req_query(req, "width");
	const char *hs = http_req_query(req, "height");
	if (ws != NULL || hs != NULL) {
		width = ws != NULL ? gr_dim(ws, GR_W_MIN, GR_W_MAX) : GR_W_DEF;
		height = hs != NULL ? gr_dim(hs, GR_H_MIN, GR_H_MAX) : GR_H_DEF;
		if (width == 0 || height == 0) {
			webjson_error(req, 400, "invalid",
				      "width is 320..2000 and height "
				      "200..1200 pixels",
				      width == 0 ? "width" : "height");
			return;
		}
	}
	const char *domain = http_req_query(req, "domain");
	if (domain != NULL) {
		if (!gr_domain_ok(domain)) {
			webjson_error(req, 400, "invalid", "bad domain",
				      "domain");
			return;
		}
		if (!gr_graphs[k].per_domain) {
			webjson_error(req, 404, "not_found",
				      "this graph has no per-domain form",
				      NULL);
			return;
		}
		struct sqlconn *c = wa_db(req);
		if (c == NULL)
			return;
		bool ok = wa_can_domain(req, c, domain);
		wa_db_put(req, &c, false);
		if (!ok)
			return;
	} else if (!me->admin) {
		webjson_error(req, 403, "forbidden",
			      "the whole server's graphs are the admin's",
			      NULL);
		return;
	}
	const char *dir = conf_str(wa->conf, "mailgraph_rrd_directory");
	char probe[PATH_MAX];
	int n =
	    domain != NULL
		? snprintf(probe, sizeof probe, "%s/domain/%s.rrd", dir, domain)
		: snprintf(probe, sizeof probe, "%s/mailgraph.rrd", dir);
	struct stat st;
	/* the longest name drawn from is 64 bytes shorter than PATH_MAX */
	if (n < 0 || (size_t)n >= sizeof probe - 64 || stat(probe, &st) < 0) {
		webjson_error(req, 404, "not_found",
			      "no statistics yet (is youju-mailgraph "
			      "running?)",
			      NULL);
		return;
	}

	char key[sizeof gr_cache[0].key];
	n = snprintf(key, sizeof key, "%zu/%ld/%dx%d/%s", k, range, width,
		     height, domain != NULL ? domain : "");
	GR_ASSERT(n > 0 && (size_t)n < sizeof key);
	time_t now = time(NULL);
	pthread_mutex_lock(&gr_lock);
	struct gr_png *slot = NULL, *oldest = &gr_cache[0];
	for (size_t i = 0; i < GR_CACHE; i++) {
		if (strcmp(gr_cache[i].key, key) == 0)
			slot = &gr_cache[i];
		if (gr_cache[i].made < oldest->made)
			oldest = &gr_cache[i];
	}
	if (slot == NULL || now - slot->made >= GR_TTL || slot->data == NULL) {
		if (slot == NULL)
			slot = oldest;
		free(slot->data);
		memset(slot, 0, sizeof *slot);
		const char *err = NULL;
		size_t len = 0;
		unsigned char *png =
		    gr_render(k, range, dir, domain, width, height, &len, &err);
		if (png == NULL) {
			log_error("webadmin: graph %s: %s", key,
				  err != NULL ? err : "failed");
			pthread_mutex_unlock(&gr_lock);
			webjson_error(req, 500, "internal",
				      "the graph could not be drawn", NULL);
			return;
		}
		memcpy(slot->key, key, sizeof key);
		slot->made = now;
		slot->data = png;
		slot->len = len;
	}
	http_reply_header(req, "Cache-Control", "private, max-age=60");
	http_reply_raw(req, 200, "image/png", (const char *)slot->data,
		       slot->len);
	pthread_mutex_unlock(&gr_lock);
}
