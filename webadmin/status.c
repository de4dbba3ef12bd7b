/*
 * GET /api/status and GET /metrics: what ExtMan's system page showed
 * (daemons, queue, load, memory, disks), read-only.  Everything comes
 * from files an unprivileged process may read: the daemons' pid files and
 * /proc, the queue directories, statvfs, the certificate, and MariaDB's
 * own answers.  There is no start/stop and no root helper (ExtMan's
 * cmdserver ran init scripts as root on a shared secret).  /metrics adds
 * youju-mailgraph's totals (mailgraph/metrics.h) to its own gauges.
 * docs/webadmin.md "Status", "Metrics".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/opensslv.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <rrd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "wa.h"
#include "webjson.h"

#ifndef YOUJU_VERSION
#define YOUJU_VERSION "0.1"
#endif

#define ST_PROM_MAX (256 * 1024) /* youju-mailgraph.prom read at most */

static pthread_mutex_t st_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const st_daemons[] = {
    "youju-authd",    "youju-mta",	 "youju-mra", "youju-webmail",
    "youju-webadmin", "youju-mailgraph", NULL,
};
static const char *const st_queues[] = {"incoming", "active", "deferred",
					"hold", NULL};

/* The whole of a small file under /proc (NUL-terminated), or -1. */
static ssize_t st_read(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, size - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

/* Seconds since boot (/proc/uptime), or -1. */
static double st_boot_uptime(void)
{
	char b[128];
	if (st_read("/proc/uptime", b, sizeof b) <= 0)
		return -1;
	return strtod(b, NULL);
}

/* Seconds pid has been running (/proc/PID/stat field 22), or -1. */
static long st_proc_uptime(pid_t pid)
{
	char path[64], b[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (st_read(path, b, sizeof b) <= 0)
		return -1;
	/* the command name may hold spaces and ')': skip to the last ')' */
	char *p = strrchr(b, ')');
	if (p == NULL)
		return -1;
	p++;
	/* fields 3.. follow; starttime is field 22 */
	for (int f = 3; f < 22; f++) {
		while (*p == ' ')
			p++;
		while (*p != '\0' && *p != ' ')
			p++;
		if (*p == '\0')
			return -1;
	}
	unsigned long long start = strtoull(p, NULL, 10);
	long hz = sysconf(_SC_CLK_TCK);
	double up = st_boot_uptime();
	if (hz <= 0 || up < 0)
		return -1;
	double s = up - (double)start / (double)hz;
	return s < 0 ? 0 : (long)s;
}

static json_t *st_daemon(const struct wa *wa, const char *name)
{
	char path[PATH_MAX];
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(name));
	int n =
	    snprintf(path, sizeof path, "%s/%s.pid", wa->run_directory, name);
	bool up = false;
	pid_t pid = 0;
	if (n > 0 && (size_t)n < sizeof path) {
		pid = daemon_pidfile_read(path);
		up = pid > 0 && daemon_is_running(path);
	}
	json_object_set_new(o, "running", json_boolean(up));
	json_object_set_new(o, "pid", up ? json_integer(pid) : json_null());
	long u = up ? st_proc_uptime(pid) : -1;
	json_object_set_new(o, "uptime",
			    u >= 0 ? json_integer(u) : json_null());
	json_object_set_new(o, "version",
			    up ? json_string(YOUJU_VERSION) : json_null());
	return o;
}

/* Files in a queue directory (and one level of hashed subdirectories),
   or -1 when it cannot be read. */
static long st_count(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (e->d_type == DT_DIR && depth < 1) {
			char sub[PATH_MAX];
			int k =
			    snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
			long m = k > 0 && (size_t)k < sizeof sub
				     ? st_count(sub, depth + 1)
				     : -1;
			if (m > 0)
				n += m;
		} else if (e->d_type != DT_DIR) {
			n++;
		}
	}
	closedir(d);
	return n;
}

static long st_queue(const struct wa *wa, const char *name)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof path, "%s/%s",
			 conf_str(wa->conf, "queue_directory"), name);
	if (n < 0 || (size_t)n >= sizeof path)
		return -1;
	return st_count(path, 0);
}

static json_t *st_disk(const char *name, const char *path)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "path", json_string(path));
	struct statvfs sv;
	if (statvfs(path, &sv) == 0) {
		json_object_set_new(
		    o, "free",
		    json_integer(
			(json_int_t)((uint64_t)sv.f_bavail * sv.f_frsize)));
		json_object_set_new(
		    o, "total",
		    json_integer(
			(json_int_t)((uint64_t)sv.f_blocks * sv.f_frsize)));
	} else {
		json_object_set_new(o, "error", json_string(strerror(errno)));
	}
	return o;
}

/* "Key:   123 kB" of /proc/meminfo in bytes, or -1 */
static json_int_t st_meminfo(const char *text, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, key, kl) == 0 && p[kl] == ':')
			return (json_int_t)strtoll(p + kl + 1, NULL, 10) * 1024;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

static json_t *st_memory(void)
{
	json_t *o = json_object();
	char *text = malloc(8192);
	if (text == NULL || st_read("/proc/meminfo", text, 8192) <= 0) {
		free(text);
		return o;
	}
	static const char *const keys[][2] = {
	    {"total", "MemTotal"},
	    {"available", "MemAvailable"},
	    {"swap_total", "SwapTotal"},
	    {"swap_free", "SwapFree"},
	};
	for (size_t i = 0; i < 4; i++) {
		json_int_t v = st_meminfo(text, keys[i][1]);
		if (v >= 0)
			json_object_set_new(o, keys[i][0], json_integer(v));
	}
	free(text);
	return o;
}

static json_t *st_cpu(void)
{
	json_t *o = json_object();
	char *text = malloc(1 << 16);
	long count = sysconf(_SC_NPROCESSORS_ONLN);
	if (count > 0)
		json_object_set_new(o, "count", json_integer(count));
	if (text != NULL && st_read("/proc/cpuinfo", text, 1 << 16) > 0) {
		char *p = strstr(text, "model name");
		if (p != NULL && (p = strchr(p, ':')) != NULL) {
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
			size_t n = strcspn(p, "\n");
			p[n] = '\0';
			json_object_set_new(o, "model", json_string(p));
		}
	}
	free(text);
	return o;
}

/* The certificate of smtpd_tls_cert_file: subject, expiry, days left. */
static json_t *st_cert(const struct wa *wa)
{
	const char *path = conf_str(wa->conf, "smtpd_tls_cert_file");
	json_t *o = json_object();
	json_object_set_new(o, "file", json_string(path));
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		json_object_set_new(o, "error", json_string(strerror(errno)));
		return o;
	}
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		json_object_set_new(o, "error",
				    json_string("not a PEM certificate"));
		return o;
	}
	const ASN1_TIME *na = X509_get0_notAfter(x);
	struct tm tm;
	int days = 0, secs = 0;
	if (ASN1_TIME_to_tm(na, &tm) == 1) {
		char when[32];
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_set_new(o, "not_after", json_string(when));
	}
	if (ASN1_TIME_diff(&days, &secs, NULL, na) == 1)
		json_object_set_new(o, "days_left", json_integer(days));
	char subj[256];
	if (X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof subj) !=
	    NULL)
		json_object_set_new(o, "subject", json_string(subj));
	X509_free(x);
	return o;
}

/* One value of a query that takes no input, or NULL (copied). */
static char *st_sql1(struct sqlconn *c, const char *sql, bool *broken)
{
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	const char *err = NULL;
	enum sqlpool_status s = sqlconn_query(c, sql, NULL, 0, 1, &res, &err);
	if (s != SQL_OK) {
		if (s == SQL_TEMPFAIL)
			*broken = true;
		return NULL;
	}
	char *v = NULL;
	if (res.nrows > 0 && res.rows[0].ncols > 0 &&
	    res.rows[0].cols[0] != NULL)
		v = strdup(res.rows[0].cols[0]);
	sqlresult_free(&res);
	return v;
}

/* The process started with --pid-file=pidf, for a pid file we may not
   read (its directory is the database user's): a pass over /proc. */
static pid_t st_pid_by_arg(const char *pidf)
{
	char want[PATH_MAX + 16];
	int n = snprintf(want, sizeof want, "--pid-file=%s", pidf);
	if (n < 0 || (size_t)n >= sizeof want)
		return 0;
	DIR *d = opendir("/proc");
	if (d == NULL)
		return 0;
	pid_t found = 0;
	struct dirent *e;
	static char buf[8192]; /* under st_lock */
	while (found == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		char path[64];
		snprintf(path, sizeof path, "/proc/%.20s/cmdline", e->d_name);
		ssize_t len = st_read(path, buf, sizeof buf);
		/* arguments are NUL-separated */
		for (ssize_t i = 0; i < len; i += (ssize_t)strlen(buf + i) + 1)
			if (strcmp(buf + i, want) == 0)
				found = (pid_t)strtol(e->d_name, NULL, 10);
	}
	closedir(d);
	return found;
}

/* MariaDB as a daemon row: up when a connection answers. */
static json_t *st_mariadb(struct wa *wa, json_t *totals)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string("mariadb"));
	const char *err = NULL;
	struct sqlconn *c = sqlpool_get(wa->pool, 3000, &err);
	bool broken = false;
	char *ver = NULL, *up = NULL, *pidf = NULL;
	if (c != NULL) {
		ver = st_sql1(c, "SELECT VERSION()", &broken);
		up = broken ? NULL
			    : st_sql1(c,
				      "SELECT VARIABLE_VALUE FROM "
				      "information_schema.GLOBAL_STATUS "
				      "WHERE VARIABLE_NAME = 'UPTIME'",
				      &broken);
		pidf = broken ? NULL : st_sql1(c, "SELECT @@pid_file", &broken);
		static const char *const counts[][2] = {
		    {"domains", "SELECT COUNT(*) FROM domain"},
		    {"mailboxes", "SELECT COUNT(*) FROM mailbox"},
		    {"aliases", "SELECT COUNT(*) FROM alias"},
		    {"managers", "SELECT COUNT(*) FROM manager"},
		};
		for (size_t i = 0; totals != NULL && i < 4 && !broken; i++) {
			char *v = st_sql1(c, counts[i][1], &broken);
			if (v != NULL)
				json_object_set_new(
				    totals, counts[i][0],
				    json_integer(strtoll(v, NULL, 10)));
			free(v);
		}
		sqlpool_put(wa->pool, &c, broken);
	}
	bool running = ver != NULL;
	json_object_set_new(o, "running", json_boolean(running));
	pid_t pid = 0;
	if (pidf != NULL) {
		pid = daemon_pidfile_read(pidf);
		if (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH)
			pid = 0;
		if (pid <= 0) {
			pthread_mutex_lock(&st_lock);
			pid = st_pid_by_arg(pidf);
			pthread_mutex_unlock(&st_lock);
		}
	}
	json_object_set_new(o, "pid",
			    pid > 0 ? json_integer(pid) : json_null());
	json_object_set_new(o, "uptime",
			    up != NULL ? json_integer(strtoll(up, NULL, 10))
				       : json_null());
	json_object_set_new(o, "version",
			    ver != NULL ? json_string(ver) : json_null());
	free(ver);
	free(up);
	free(pidf);
	return o;
}

void wa_status(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	const struct wa_caller *me = wa_caller(req);
	json_t *o = json_object();
	struct utsname u;
	if (uname(&u) == 0) {
		json_object_set_new(o, "hostname", json_string(u.nodename));
		json_object_set_new(o, "kernel", json_string(u.release));
		json_object_set_new(o, "machine", json_string(u.machine));
	}
	double up = st_boot_uptime();
	json_object_set_new(o, "uptime", json_integer(up >= 0 ? (long)up : 0));
	double load[3];
	if (getloadavg(load, 3) == 3) {
		json_t *l = json_array();
		for (int i = 0; i < 3; i++)
			json_array_append_new(l, json_real(load[i]));
		json_object_set_new(o, "loadavg", l);
	}
	if (!me->admin) {
		/* a postmaster: the database answers or not */
		const char *err = NULL;
		struct sqlconn *c = sqlpool_get(wa->pool, 3000, &err);
		json_object_set_new(o, "database",
				    json_string(c != NULL ? "up" : "down"));
		if (c != NULL)
			sqlpool_put(wa->pool, &c, false);
		webjson_reply(req, 200, o);
		return;
	}
	json_object_set_new(o, "version", json_string(YOUJU_VERSION));
	json_object_set_new(o, "cpu", st_cpu());
	json_object_set_new(o, "memory", st_memory());
	json_t *d = json_array();
	for (size_t i = 0; st_daemons[i] != NULL; i++)
		json_array_append_new(d, st_daemon(wa, st_daemons[i]));
	json_t *db = st_mariadb(wa, o);
	json_object_set_new(
	    o, "database",
	    json_string(json_is_true(json_object_get(db, "running")) ? "up"
								     : "down"));
	json_array_append_new(d, db);
	json_object_set_new(o, "daemons", d);
	json_t *q = json_object();
	for (size_t i = 0; st_queues[i] != NULL; i++) {
		long n = st_queue(wa, st_queues[i]);
		json_object_set_new(q, st_queues[i],
				    n >= 0 ? json_integer(n) : json_null());
	}
	json_object_set_new(o, "queue", q);
	json_t *disks = json_array();
	json_array_append_new(disks, st_disk("mailbox", wa->mailbox_base));
	json_array_append_new(
	    disks, st_disk("spool", conf_str(wa->conf, "queue_directory")));
	json_object_set_new(o, "disks", disks);
	struct statvfs sv;
	if (statvfs(wa->mailbox_base, &sv) == 0)
		json_object_set_new(
		    o, "mailbox_free",
		    json_integer(
			(json_int_t)((uint64_t)sv.f_bavail * sv.f_frsize)));
	json_object_set_new(o, "tls", st_cert(wa));
	json_t *v = json_object();
	json_object_set_new(v, "openssl",
			    json_string(OpenSSL_version(OPENSSL_VERSION)));
	json_object_set_new(v, "rrdtool", json_string(rrd_strversion()));
	json_object_set_new(o, "libraries", v);
	webjson_reply(req, 200, o);
}

/* ---- /metrics (Prometheus text format 0.0.4) ---- */

/* Appends youju-mailgraph's totals (its own file, one per minute at
   most a second old while it runs); nothing when there is none. */
static int st_prom_mailgraph(const struct wa *wa, struct buf *out)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof path, "%s/youju-mailgraph.prom",
			 conf_str(wa->conf, "mailgraph_rrd_directory"));
	if (n < 0 || (size_t)n >= sizeof path)
		return 0;
	char *text = malloc(ST_PROM_MAX + 1);
	if (text == NULL)
		return -1;
	ssize_t len = st_read(path, text, ST_PROM_MAX + 1);
	int e = 0;
	/* whole lines of printable ASCII only: it is our own file, but
	   a scraper must never get a broken exposition */
	if (len > 0 && (size_t)len < ST_PROM_MAX && text[len - 1] == '\n') {
		bool ok = true;
		for (ssize_t i = 0; i < len && ok; i++)
			ok = text[i] == '\n' ||
			     (text[i] >= ' ' && text[i] < 127);
		if (ok)
			e = buf_append_str(out, text);
	}
	free(text);
	return e;
}

void wa_metrics(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	struct buf out;
	buf_init(&out, 1 << 20);
	int e = 0;
	e |= buf_append_str(&out, "# HELP youju_up Whether the daemon's pid "
				  "file names a live process (mariadb: it "
				  "answers).\n"
				  "# TYPE youju_up gauge\n");
	for (size_t i = 0; st_daemons[i] != NULL; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s.pid", wa->run_directory,
			 st_daemons[i]);
		e |= buf_printf(&out, "youju_up{daemon=\"%s\"} %d\n",
				st_daemons[i], daemon_is_running(path) ? 1 : 0);
	}
	const char *err = NULL;
	struct sqlconn *c = sqlpool_get(wa->pool, 3000, &err);
	e |= buf_printf(&out, "youju_up{daemon=\"mariadb\"} %d\n",
			c != NULL ? 1 : 0);
	static const char *const queues[] = {"incoming", "active",  "deferred",
					     "hold",	 "corrupt", NULL};
	e |= buf_append_str(&out, "# HELP youju_queue_messages Files in "
				  "each queue directory.\n"
				  "# TYPE youju_queue_messages gauge\n");
	for (size_t i = 0; queues[i] != NULL; i++) {
		long n = st_queue(wa, queues[i]);
		if (n >= 0)
			e |= buf_printf(&out,
					"youju_queue_messages{queue=\"%s\"} "
					"%ld\n",
					queues[i], n);
	}
	static const char *const counts[][3] = {
	    {"youju_domains", "Hosted domains.", "SELECT COUNT(*) FROM domain"},
	    {"youju_mailboxes", "Mailboxes.", "SELECT COUNT(*) FROM mailbox"},
	    {"youju_mailboxes_active", "Active mailboxes.",
	     "SELECT COUNT(*) FROM mailbox WHERE active = 1"},
	    {"youju_aliases", "Aliases.", "SELECT COUNT(*) FROM alias"},
	};
	bool broken = false;
	for (size_t i = 0; c != NULL && i < 4 && !broken; i++) {
		char *v = st_sql1(c, counts[i][2], &broken);
		if (v != NULL)
			e |= buf_printf(
			    &out, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n",
			    counts[i][0], counts[i][1], counts[i][0],
			    counts[i][0], strtoll(v, NULL, 10));
		free(v);
	}
	if (c != NULL)
		sqlpool_put(wa->pool, &c, broken);
	static const char *const disks[][2] = {
	    {"mailbox", "virtual_mailbox_base"},
	    {"spool", "queue_directory"},
	};
	e |= buf_append_str(&out, "# HELP youju_disk_free_bytes Free space for "
				  "virtual_mailbox_base (mailbox) and "
				  "queue_directory (spool).\n"
				  "# TYPE youju_disk_free_bytes gauge\n");
	for (size_t i = 0; i < 2; i++) {
		struct statvfs sv;
		if (statvfs(conf_str(wa->conf, disks[i][1]), &sv) == 0)
			e |= buf_printf(&out,
					"youju_disk_free_bytes{disk=\"%s\"} "
					"%llu\n",
					disks[i][0],
					(unsigned long long)sv.f_bavail *
					    (unsigned long long)sv.f_frsize);
	}
	struct statvfs sv;
	if (statvfs(wa->mailbox_base, &sv) == 0)
		e |= buf_printf(&out,
				"# HELP youju_mailbox_free_bytes Free space "
				"for virtual_mailbox_base.\n"
				"# TYPE youju_mailbox_free_bytes gauge\n"
				"youju_mailbox_free_bytes %llu\n",
				(unsigned long long)sv.f_bavail *
				    (unsigned long long)sv.f_frsize);
	json_t *cert = st_cert(wa);
	json_t *left = json_object_get(cert, "days_left");
	if (json_is_integer(left))
		e |= buf_printf(&out,
				"# HELP youju_tls_cert_days_left Days until "
				"smtpd_tls_cert_file expires.\n"
				"# TYPE youju_tls_cert_days_left gauge\n"
				"youju_tls_cert_days_left %lld\n",
				(long long)json_integer_value(left));
	json_decref(cert);
	e |= buf_printf(&out,
			"# HELP youju_webadmin_start_time_seconds Start of "
			"youju-webadmin, Unix time.\n"
			"# TYPE youju_webadmin_start_time_seconds gauge\n"
			"youju_webadmin_start_time_seconds %lld\n",
			(long long)wa->started);
	e |= st_prom_mailgraph(wa, &out);
	if (e != 0)
		webjson_error(req, 500, "internal", "metrics too large", NULL);
	else
		http_reply_raw(req, 200, "text/plain; version=0.0.4",
			       buf_cstr(&out), out.len);
	buf_deinit(&out);
}
