/*
 * The cache generation file (see generation.h).  The master creates and
 * maps it as root, next to the socket in the 0750 directory; the server
 * processes inherit the shared mapping across fork() and bump the
 * counter with atomic adds, so the drop to mail_owner needs no write
 * access to the file.  A file left by an earlier authd is opened in place
 * (never truncated or renamed over): clients that mapped it go on seeing
 * it, and the new server's first bump voids what they kept.
 */
#include "generation.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "authc_cache.h"
#include "privsep.h"
#include "xalloc.h"

struct authd_gen {
	unsigned char *map; /* AUTHC_GEN_SIZE bytes, shared */
};

static struct authd_gen *gen_cur;

static uint64_t *counter(struct authd_gen *g)
{
	return (uint64_t *)(void *)(g->map + AUTHC_GEN_OFFSET);
}

struct authd_gen *authd_gen_open(const char *socket_path, const char *owner,
				 const char **err_r)
{
	size_t sl = strlen(socket_path);
	char *path = xmalloc(sl + sizeof(AUTHC_GEN_SUFFIX));
	memcpy(path, socket_path, sl);
	memcpy(path + sl, AUTHC_GEN_SUFFIX, sizeof(AUTHC_GEN_SUFFIX));
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	free(path);
	if (fd < 0) {
		*err_r = "open";
		return NULL;
	}
	struct stat st;
	uid_t uid;
	gid_t gid;
	const char *err = NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		err = "not a regular file";
	else if (st.st_size < AUTHC_GEN_SIZE &&
		 ftruncate(fd, AUTHC_GEN_SIZE) < 0)
		err = "ftruncate";
	else if (fchmod(fd, 0640) < 0)
		err = "fchmod";
	/* readable by the mail group, as the socket's directory */
	else if (geteuid() == 0 && privsep_lookup(owner, &uid, &gid) == 1 &&
		 fchown(fd, 0, gid) < 0)
		err = "fchown";
	void *m = MAP_FAILED;
	if (err == NULL) {
		m = mmap(NULL, AUTHC_GEN_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			err = "mmap";
	}
	int e = errno;
	close(fd);
	if (err != NULL) {
		errno = e;
		*err_r = err;
		return NULL;
	}
	struct authd_gen *g = xcalloc(1, sizeof(*g));
	g->map = m;
	if (memcmp(g->map, AUTHC_GEN_MAGIC, AUTHC_GEN_MAGIC_LEN) != 0) {
		/* a new file: start from the clock, so that a generation
		   seen in a file made earlier is unlikely to come again */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		__atomic_store_n(counter(g),
				 (uint64_t)ts.tv_sec * 1000000000u +
				     (uint64_t)ts.tv_nsec,
				 __ATOMIC_RELEASE);
		memcpy(g->map, AUTHC_GEN_MAGIC, AUTHC_GEN_MAGIC_LEN);
	}
	return g;
}

void authd_gen_close(struct authd_gen **gp)
{
	struct authd_gen *g = *gp;
	if (g == NULL)
		return;
	if (gen_cur == g)
		gen_cur = NULL;
	(void)munmap(g->map, AUTHC_GEN_SIZE);
	free(g);
	*gp = NULL;
}

void authd_gen_use(struct authd_gen *g)
{
	gen_cur = g;
}

void authd_gen_bump(void)
{
	if (gen_cur != NULL)
		(void)__atomic_add_fetch(counter(gen_cur), 1, __ATOMIC_ACQ_REL);
}
