/*
 * Unit tests for lib/inotify_hub: many clients of one directory on one
 * kernel watch (more than the 128 inotify instances a user may have), one
 * callback per client per burst, events read by inotify_watch_take() still
 * reaching the other clients, a callback ending another pending watch
 * (ASan), and a deleted directory.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ev.h"
#include "inotify_hub.h"
#include "test.h"

#define MANY 200

struct client {
	struct ev_loop *loop;
	struct inotify_watch *w;
	struct inotify_watch **kill; /* ended by this client's callback */
	int calls;
	int *total, stop_at;
};

static void on_change(void *ctx)
{
	struct client *c = ctx;
	c->calls++;
	if (c->kill != NULL)
		inotify_hub_unwatch(c->kill);
	if (c->total != NULL && ++*c->total == c->stop_at)
		ev_loop_stop(c->loop);
}

static void on_timeout(struct ev_timer *t, void *ctx)
{
	ev_loop_stop(ctx);
}

static void run(struct ev_loop *loop, unsigned ms)
{
	struct ev_timer *t = ev_timer_new(loop, ms, on_timeout, loop);
	test_assert(ev_loop_run(loop) == 0);
	ev_timer_free(&t);
}

static void touch(const char *dir, const char *name)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	test_assert(fd >= 0);
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	char root[] = "/tmp/test_inotify_hub.XXXXXX";
	char a[64], b[64], c[64];
	static struct client cl[MANY];
	int total = 0;

	test_assert(mkdtemp(root) != NULL);
	snprintf(a, sizeof a, "%s/a", root);
	snprintf(b, sizeof b, "%s/b", root);
	snprintf(c, sizeof c, "%s/c", root);
	test_assert(mkdir(a, 0700) == 0 && mkdir(b, 0700) == 0 &&
		    mkdir(c, 0700) == 0);
	struct ev_loop *loop = ev_loop_new();
	struct inotify_hub *hub = inotify_hub_new(loop);
	test_assert(hub != NULL);
	if (hub == NULL)
		return test_end();

	test_begin("many clients, one watch");
	for (int i = 0; i < MANY; i++) {
		cl[i] = (struct client){
		    .loop = loop, .total = &total, .stop_at = MANY};
		cl[i].w = inotify_hub_watch(hub, a, on_change, &cl[i]);
		test_assert(cl[i].w != NULL);
	}
	struct client other = {.loop = loop};
	other.w = inotify_hub_watch(hub, b, on_change, &other);
	struct inotify_watch *plain = inotify_hub_watch(hub, a, NULL, NULL);
	test_assert(other.w != NULL && plain != NULL);
	test_assert(inotify_hub_dirs(hub) == 2);
	test_assert(inotify_hub_watch(hub, "/nonexistent/x", NULL, NULL) ==
		    NULL);
	test_assert(inotify_hub_watch(hub, "/etc/hostname", NULL, NULL) ==
		    NULL); /* not a directory */

	test_begin("a burst: one callback per client");
	for (int i = 0; i < 50; i++) {
		char n[32];
		snprintf(n, sizeof n, "f%d", i);
		touch(a, n);
	}
	run(loop, 2000);
	test_assert(total == MANY);
	int once = 0;
	for (int i = 0; i < MANY; i++)
		once += cl[i].calls == 1;
	test_assert(once == MANY);
	test_assert(other.calls == 0);
	test_assert(inotify_watch_take(plain));
	test_assert(!inotify_watch_take(plain));

	test_begin("a callback ends another pending watch");
	total = 0;
	for (int i = 0; i < MANY; i++)
		cl[i].calls = 0;
	cl[0].kill = &cl[1].w; /* whichever runs first */
	cl[1].kill = &cl[0].w;
	cl[0].stop_at = cl[1].stop_at = 0;
	for (int i = 2; i < MANY; i++)
		cl[i].stop_at = MANY - 1;
	touch(a, "g");
	run(loop, 2000);
	test_assert(cl[0].calls + cl[1].calls == 1);
	test_assert((cl[0].w == NULL) != (cl[1].w == NULL));
	test_assert(total == MANY - 1);

	test_begin("take() reads for everyone");
	struct client cc = {.loop = loop, .total = &total};
	cc.w = inotify_hub_watch(hub, c, on_change, &cc);
	struct inotify_watch *cplain = inotify_hub_watch(hub, c, NULL, NULL);
	test_assert(inotify_hub_dirs(hub) == 3);
	total = 0;
	cc.stop_at = 1;
	touch(c, "h");
	usleep(50 * 1000);
	test_assert(inotify_watch_take(cplain));
	run(loop, 2000);
	test_assert(cc.calls == 1);

	test_begin("a deleted directory");
	inotify_hub_unwatch(&cplain);
	char h[128];
	snprintf(h, sizeof h, "%s/h", c);
	test_assert(unlink(h) == 0);
	test_assert(rmdir(c) == 0);
	total = 0;
	cc.calls = 0;
	run(loop, 300);
	test_assert(cc.calls >= 1);
	test_assert(inotify_hub_dirs(hub) == 2);
	inotify_hub_unwatch(&cc.w);
	test_assert(cc.w == NULL);

	test_begin("the last client ends the kernel watch");
	for (int i = 0; i < MANY; i++)
		inotify_hub_unwatch(&cl[i].w);
	test_assert(inotify_hub_dirs(hub) == 2); /* plain still watches a */
	inotify_hub_unwatch(&plain);
	test_assert(inotify_hub_dirs(hub) == 1);
	inotify_hub_unwatch(&other.w);
	test_assert(inotify_hub_dirs(hub) == 0);
	inotify_hub_unwatch(&plain); /* NULL-safe */
	inotify_hub_free(&hub);
	test_assert(hub == NULL);
	ev_loop_free(&loop);

	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	test_assert(system(cmd) == 0);
	return test_end();
}
