/*
 * Queue file reader and progress records (see qfile.h, docs/queue.md).
 * Strict about the envelope (a file that does not parse goes to
 * corrupt/), lenient about what follows the end record: unknown record
 * types are skipped and a partial last line is a crash in the middle of
 * an append, not corruption.
 */
#include "qfile.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "str.h"
#include "xalloc.h"

#define QFILE_MAGIC	"YOUJU-QUEUE "
#define QFILE_MAGIC_LEN 12
#define QFILE_RCPT_MAX	100000
#define QFILE_FINAL_MAX 100000

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static uint32_t crc_soft(uint32_t crc, const unsigned char *b, size_t n)
{
	while (n-- > 0)
		crc = crc_table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* SSE 4.2's crc32 instruction computes CRC-32C (Castagnoli) itself: 8
   bytes per instruction instead of a table lookup per byte.  Every
   queue file is summed when written and again when read. */
__attribute__((target("sse4.2"))) static uint32_t
crc_hw(uint32_t crc, const unsigned char *b, size_t n)
{
	uint64_t c = crc;
	for (; n >= 8; n -= 8, b += 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		c = __builtin_ia32_crc32di(c, w);
	}
	uint32_t c32 = (uint32_t)c;
	while (n-- > 0)
		c32 = __builtin_ia32_crc32qi(c32, *b++);
	return c32;
}
#define CRC_HW 1
#endif

static uint32_t (*crc_fn)(uint32_t, const unsigned char *, size_t) = crc_soft;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) != 0 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
#ifdef CRC_HW
	__builtin_cpu_init();
	if (__builtin_cpu_supports("sse4.2"))
		crc_fn = crc_hw;
#endif
}

uint32_t qfile_crc32c(uint32_t crc, const void *p, size_t n)
{
	pthread_once(&crc_once, crc_init);
	return ~crc_fn(~crc, p, n);
}

/*
 * The checksum a writer computed over [0, end): the bytes as first
 * written, i.e. with the format digit "1" (a progress append turns it
 * into "2") and the size field all "0" (filled in at commit).
 */
static uint32_t qfile_sum(const char *data, size_t end, size_t digits_off)
{
	static const char zeros[20] = "00000000000000000000";
	uint32_t c = qfile_crc32c(0, data, QFILE_MAGIC_LEN);
	c = qfile_crc32c(c, "1", 1);
	c = qfile_crc32c(c, data + QFILE_MAGIC_LEN + 1,
			 digits_off - QFILE_MAGIC_LEN - 1);
	c = qfile_crc32c(c, zeros, sizeof zeros);
	return qfile_crc32c(c, data + digits_off + sizeof zeros,
			    end - digits_off - sizeof zeros);
}

/* "C <8 hex digits>\n" at p matching sum; the length consumed, or -1. */
static int qfile_check_sum(const char *p, const char *end, uint32_t sum)
{
	if (end - p < 11 || p[0] != 'C' || p[1] != ' ' || p[10] != '\n')
		return -1;
	uint32_t v = 0;
	for (int i = 2; i < 10; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
					       : -1;
		if (d < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	return v == sum ? 11 : -1;
}

static char *qfile_dup(struct str s)
{
	return xmemdup0(s.p, s.len);
}

static void qfile_set(char **dst, struct str v)
{
	free(*dst);
	*dst = qfile_dup(v);
}

static const char *qfile_or_empty(char **p)
{
	if (*p == NULL)
		*p = xstrdup("");
	return *p;
}

static int qfile_attr(struct qfile *qf, struct str v)
{
	static const struct {
		const char *name;
		size_t off;
	} attrs[] = {
	    {"envid", offsetof(struct qfile, envid)},
	    {"ret", offsetof(struct qfile, ret)},
	    {"client_name", offsetof(struct qfile, client_name)},
	    {"client_address", offsetof(struct qfile, client_address)},
	    {"helo_name", offsetof(struct qfile, helo_name)},
	    {"protocol", offsetof(struct qfile, protocol)},
	};
	const char *eq = memchr(v.p, '=', v.len);
	if (eq == NULL)
		return 0; /* unknown shapes are ignored */
	struct str name = {v.p, (size_t)(eq - v.p)};
	struct str val = {eq + 1, v.len - name.len - 1};
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (str_eq_cstr(name, attrs[i].name))
			qfile_set((char **)((char *)qf + attrs[i].off), val);
	return 0;
}

static int qfile_time(struct qfile *qf, struct str v)
{
	const char *dot = memchr(v.p, '.', v.len);
	struct str sec = {v.p, dot != NULL ? (size_t)(dot - v.p) : v.len};
	uint64_t s, us = 0;
	if (str_to_u64(sec, 0, INT64_MAX, &s) < 0)
		return -1;
	if (dot != NULL) {
		struct str u = {dot + 1, v.len - sec.len - 1};
		if (str_to_u64(u, 0, 999999, &us) < 0)
			return -1;
	}
	qf->arrival_sec = (int64_t)s;
	qf->arrival_usec = (long)us;
	return 0;
}

/* "W <rcpt> <text>": the last reason wins; a W naming no recipient is
   informational only and ignored. */
static void qfile_why(struct qfile *qf, struct str v)
{
	const char *sp = memchr(v.p, ' ', v.len);
	if (sp == NULL)
		return;
	struct str addr = {v.p, (size_t)(sp - v.p)};
	struct str text = {sp + 1, v.len - addr.len - 1};
	for (size_t i = 0; i < qf->nrcpt; i++)
		if (str_eq_cstr(addr, qf->rcpts[i].addr))
			qfile_set(&qf->rcpts[i].why, text);
}

/* Trailing progress records; a partial last line (a crash in the middle
   of an append) is ignored. */
static int qfile_progress(struct qfile *qf, const char *p, const char *end,
			  const char **error_r)
{
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		struct str line = {p, (size_t)(nl - p)};
		p = nl + 1;
		if (line.len < 2 || line.p[1] != ' ') {
			*error_r = "bad progress record";
			return -1;
		}
		struct str v = {line.p + 2, line.len - 2};
		if (line.p[0] == 'D') {
			uint64_t idx;
			if (str_to_u64(v, 0, QFILE_RCPT_MAX, &idx) < 0 ||
			    idx >= qf->nrcpt) {
				*error_r = "bad D record";
				return -1;
			}
			qf->rcpts[idx].done = true;
		} else if (line.p[0] == 'W') {
			qfile_why(qf, v);
		} else if (line.p[0] == 'B' || line.p[0] == 'Y') {
			uint64_t n;
			if (str_to_u64(v, 0, INT64_MAX, &n) < 0) {
				*error_r = "bad B or Y record";
				return -1;
			}
			if (line.p[0] == 'B')
				qf->backoff = (int64_t)n;
			else
				qf->warned = (int64_t)n;
		} else if (line.p[0] == 'F') {
			if (qf->nfinal >= QFILE_FINAL_MAX) {
				*error_r = "too many F records";
				return -1;
			}
			qf->finals = xrealloc(qf->finals, (qf->nfinal + 1) *
							      sizeof(char *));
			qf->finals[qf->nfinal++] = qfile_dup(v);
		}
		/* other types: ignored (forward compatibility) */
	}
	return 0;
}

int qfile_parse(const char *data, size_t len, struct qfile *qf,
		const char **error_r)
{
	memset(qf, 0, sizeof(*qf));
	const char *p = data, *end = data + len;
	char *pend_orcpt = NULL;
	unsigned pend_notify = 0;
	bool have_id = false, have_time = false, have_sender = false;
	bool want_sum = false;
	size_t digits_off = 0;

	if (len < QFILE_MAGIC_LEN + 2 ||
	    memcmp(p, QFILE_MAGIC, QFILE_MAGIC_LEN) != 0 ||
	    (p[QFILE_MAGIC_LEN] != '1' && p[QFILE_MAGIC_LEN] != '2') ||
	    p[QFILE_MAGIC_LEN + 1] != '\n') {
		*error_r = "bad magic";
		return -1;
	}
	qf->version = (unsigned)(p[QFILE_MAGIC_LEN] - '0');
	p += QFILE_MAGIC_LEN + 2;
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || nl - p < 2 || p[1] != ' ') {
			*error_r = "bad envelope record";
			goto fail;
		}
		struct str v = {p + 2, (size_t)(nl - p - 2)};
		char type = p[0];
		p = nl + 1;
		if (type == 'M') {
			uint64_t size;
			if (v.len != 20 ||
			    str_to_u64(v, 0, QFILE_MAX, &size) < 0 ||
			    size > (uint64_t)(end - p)) {
				*error_r = "bad message size";
				goto fail;
			}
			digits_off = (size_t)(v.p - data);
			qf->msg = p;
			qf->msg_off = (size_t)(p - data);
			qf->msg_len = (size_t)size;
			p += size;
			break;
		}
		switch (type) {
		case 'I':
			if (v.len != QFILE_ID_LEN) {
				*error_r = "bad queue ID";
				goto fail;
			}
			memcpy(qf->id, v.p, QFILE_ID_LEN);
			qf->id[QFILE_ID_LEN] = '\0';
			have_id = true;
			break;
		case 'T':
			if (qfile_time(qf, v) < 0) {
				*error_r = "bad arrival time";
				goto fail;
			}
			have_time = true;
			break;
		case 'K':
			/* the file ends with a C record (other names:
			   a future algorithm, not checked here) */
			if (str_eq_cstr(v, "crc32c"))
				want_sum = true;
			break;
		case 'S':
			qfile_set(&qf->sender, v);
			have_sender = true;
			break;
		case 'A':
			(void)qfile_attr(qf, v);
			break;
		case 'O':
			free(pend_orcpt);
			pend_orcpt = qfile_dup(v);
			break;
		case 'N': {
			uint64_t bits;
			if (str_to_u64(v, 0, 15, &bits) < 0) {
				*error_r = "bad N record";
				goto fail;
			}
			pend_notify = (unsigned)bits;
			break;
		}
		case 'R':
			if (qf->nrcpt >= QFILE_RCPT_MAX) {
				*error_r = "too many recipients";
				goto fail;
			}
			qf->rcpts = xrealloc(qf->rcpts, (qf->nrcpt + 1) *
							    sizeof(*qf->rcpts));
			qf->rcpts[qf->nrcpt++] = (struct qfile_rcpt){
			    .addr = qfile_dup(v),
			    .orcpt =
				pend_orcpt != NULL ? pend_orcpt : xstrdup(""),
			    .notify = pend_notify,
			};
			pend_orcpt = NULL;
			pend_notify = 0;
			break;
		default:
			break; /* unknown before M: ignored */
		}
	}
	if (end - p < 3 || memcmp(p, "\nE\n", 3) != 0) {
		*error_r = "missing end record";
		goto fail;
	}
	p += 3;
	qf->end_off = (size_t)(p - data);
	if (want_sum) {
		/* a crash may leave a name whose bytes never reached the
		   disk (docs/queue.md): such a file is corrupt, never mail */
		int n = qfile_check_sum(
		    p, end, qfile_sum(data, qf->end_off, digits_off));
		if (n < 0) {
			*error_r = "checksum mismatch";
			goto fail;
		}
		p += n;
		qf->checked = true;
	}
	if (!have_id || !have_time || !have_sender || qf->nrcpt == 0) {
		*error_r = "incomplete envelope";
		goto fail;
	}
	if (p < end && qfile_progress(qf, p, end, error_r) < 0)
		goto fail;
	free(pend_orcpt);
	(void)qfile_or_empty(&qf->envid);
	(void)qfile_or_empty(&qf->ret);
	(void)qfile_or_empty(&qf->client_name);
	(void)qfile_or_empty(&qf->client_address);
	(void)qfile_or_empty(&qf->helo_name);
	(void)qfile_or_empty(&qf->protocol);
	return 0;
fail:
	free(pend_orcpt);
	return -1;
}

void qfile_free(struct qfile *qf)
{
	free(qf->sender);
	free(qf->envid);
	free(qf->ret);
	free(qf->client_name);
	free(qf->client_address);
	free(qf->helo_name);
	free(qf->protocol);
	for (size_t i = 0; i < qf->nrcpt; i++) {
		free(qf->rcpts[i].addr);
		free(qf->rcpts[i].orcpt);
		free(qf->rcpts[i].why);
	}
	free(qf->rcpts);
	for (size_t i = 0; i < qf->nfinal; i++)
		free(qf->finals[i]);
	free(qf->finals);
	memset(qf, 0, sizeof(*qf));
}

bool qfile_is_id(const char *name)
{
	size_t n = 0;
	for (; name[n] != '\0'; n++)
		if (n >= QFILE_ID_LEN || !((name[n] >= '0' && name[n] <= '9') ||
					   (name[n] >= 'A' && name[n] <= 'F')))
			return false;
	return n == QFILE_ID_LEN;
}

static int qfile_id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **qfile_list_ids(const char *dir, size_t *n_r)
{
	char **ids = NULL;
	size_t n = 0;
	*n_r = 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return NULL;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!qfile_is_id(de->d_name))
			continue;
		ids = xrealloc(ids, (n + 1) * sizeof(*ids));
		ids[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(ids, n, sizeof(*ids), qfile_id_cmp);
	*n_r = n;
	errno = 0;
	return ids;
}

void qfile_ids_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

bool qfile_final_done(const struct qfile *qf, const char *addr)
{
	for (size_t i = 0; i < qf->nfinal; i++)
		if (strcasecmp(qf->finals[i], addr) == 0)
			return true;
	return false;
}

size_t qfile_pending(const struct qfile *qf)
{
	size_t n = 0;
	for (size_t i = 0; i < qf->nrcpt; i++)
		if (!qf->rcpts[i].done)
			n++;
	return n;
}

int qfile_append(int fd, const char *text, size_t len)
{
	static const char v2 = '2';
	if (pwrite(fd, &v2, 1, QFILE_MAGIC_LEN) != 1)
		return -1;
	off_t end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		return -1;
	if (file_pwrite_all(fd, text, len, end) < 0)
		return -1;
	return fdatasync(fd);
}

int qfile_read_fd(int fd, char **data_r, size_t *len_r)
{
	/* pread from 0 (no lseek), exactly the size fstat gives (no read
	   that only finds the end): a queue file grows only by the queue
	   manager's progress records, never while it is being read there,
	   and another reader (youju queue) that races with an append gets
	   a prefix, whose incomplete last record format 2 ignores */
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	if ((uint64_t)st.st_size > QFILE_MAX) {
		errno = EFBIG;
		return -1;
	}
	size_t want = (size_t)st.st_size;
	char *p = xmalloc(want + 1);
	/* fewer bytes: truncated meanwhile, and parsing refuses it */
	ssize_t len = file_pread_all(fd, p, want, 0);
	if (len < 0) {
		int e = errno;
		free(p);
		errno = e;
		return -1;
	}
	p[len] = '\0';
	*data_r = p;
	*len_r = (size_t)len;
	return 0;
}
