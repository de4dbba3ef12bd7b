/*
 * Threads (lib/mailthread, RFC 5256 §3), shared by IMAP THREAD and
 * webmail's conversations: a reply chain, siblings by date, a missing
 * parent kept as a dummy, threads gathered by base subject, reference
 * loops and duplicate Message-IDs, ORDEREDSUBJECT, and no messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailthread.h"
#include "test.h"

/* The tree as IMAP writes it: "(1 2 (3)(4))(5)". */
static void render(const struct mailthread *t, size_t k, char *out,
		   size_t outsz)
{
	for (size_t g = k; g != MAILTHREAD_NONE; g = mailthread_next(t, g)) {
		uint32_t id;
		size_t l = strlen(out);
		if (mailthread_id(t, g, &id))
			snprintf(out + l, outsz - l, "(%u", (unsigned)id);
		else
			snprintf(out + l, outsz - l, "(");
		render(t, mailthread_child(t, g), out, outsz);
		l = strlen(out);
		snprintf(out + l, outsz - l, ")");
	}
}

static void add(struct mailthread *t, uint32_t id, const char *hdr)
{
	mailthread_add(t, id, id, 0, hdr, strlen(hdr));
}

/* Builds t (again) and compares its tree with want. */
static void expect(struct mailthread *t, bool refs, const char *want)
{
	char out[1024] = "";
	mailthread_build(t, refs);
	render(t, mailthread_child(t, mailthread_root(t)), out, sizeof out);
	if (strcmp(out, want) != 0)
		fprintf(stderr, "got %s, want %s\n", out, want);
	test_assert(strcmp(out, want) == 0);
}

/* expect(), then frees t. */
static void check(struct mailthread *t, bool refs, const char *want)
{
	expect(t, refs, want);
	mailthread_free(&t);
	test_assert(t == NULL);
}

static void check_big(struct mailthread *t, const char *want)
{
	size_t cap = strlen(want) + 64;
	char *out = calloc(1, cap);
	test_assert(out != NULL);
	mailthread_build(t, true);
	render(t, mailthread_child(t, mailthread_root(t)), out, cap);
	if (strcmp(out, want) != 0)
		fprintf(stderr, "got %.300s\nwant %.300s\n", out, want);
	test_assert(strcmp(out, want) == 0);
	mailthread_free(&t);
	free(out);
}

static void test_references(void)
{
	test_begin("references");
	struct mailthread *t = mailthread_new();
	add(t, 1,
	    "Message-ID: <a@x>\nSubject: plan\n"
	    "Date: Mon, 2 Mar 2026 10:00:00 +0000\n");
	add(t, 2,
	    "Message-ID: <b@x>\nSubject: Re: plan\nIn-Reply-To: <a@x>\n"
	    "Date: Mon, 2 Mar 2026 11:00:00 +0000\n");
	add(t, 3,
	    "Message-ID: <c@x>\nSubject: other\nReferences: <a@x> <b@x>\n"
	    "Date: Mon, 2 Mar 2026 12:00:00 +0000\n");
	add(t, 4,
	    "Message-ID: <d@x>\nSubject: Re: plan\nReferences: <a@x>\n"
	    "Date: Mon, 2 Mar 2026 09:00:00 +0000\n");
	add(t, 5,
	    "Message-ID: <e@x>\nSubject: lunch\n"
	    "Date: Sun, 1 Mar 2026 10:00:00 +0000\n");
	/* siblings by date: 4 (09:00) before 2 (11:00); threads by date */
	check(t, true, "(5)(1(4)(2(3)))");
}

static void test_dummy_and_gather(void)
{
	test_begin("dummy and gather");
	struct mailthread *t = mailthread_new();
	/* two replies to a message that is not there: a dummy parent */
	add(t, 1,
	    "Message-ID: <b@x>\nSubject: Re: gone\nReferences: <a@x>\n"
	    "Date: Mon, 2 Mar 2026 11:00:00 +0000\n");
	add(t, 2,
	    "Message-ID: <c@x>\nSubject: Re: gone\nReferences: <a@x>\n"
	    "Date: Mon, 2 Mar 2026 12:00:00 +0000\n");
	/* same base subject, no references: gathered under the original */
	add(t, 3,
	    "Message-ID: <d@x>\nSubject: hello\n"
	    "Date: Mon, 2 Mar 2026 08:00:00 +0000\n");
	add(t, 4,
	    "Message-ID: <e@x>\nSubject: Re: hello\n"
	    "Date: Mon, 2 Mar 2026 09:00:00 +0000\n");
	check(t, true, "(3(4))((1)(2))");
}

static void test_broken(void)
{
	test_begin("broken references");
	struct mailthread *t = mailthread_new();
	/* a loop and a duplicate id: no hang, every message once */
	add(t, 1, "Message-ID: <a@x>\nReferences: <b@x>\nSubject: x\n");
	add(t, 2, "Message-ID: <b@x>\nReferences: <a@x>\nSubject: y\n");
	add(t, 3, "Message-ID: <a@x>\nSubject: z\n");
	add(t, 4, "References: <<<>>> <> no-brackets\nSubject: w\n");
	char out[1024] = "";
	mailthread_build(t, true);
	render(t, mailthread_child(t, mailthread_root(t)), out, sizeof out);
	for (int i = 1; i <= 4; i++) {
		char id[16];
		snprintf(id, sizeof id, "%d", i);
		test_assert(strstr(out, id) != NULL);
	}
	mailthread_free(&t);
	/* nothing at all, and a bare CR in a header */
	t = mailthread_new();
	check(t, true, "");
	t = mailthread_new();
	add(t, 1, "Subject: a\rReferences: <q@x>\n");
	check(t, true, "(1)");
}

static void test_ordered_subject(void)
{
	test_begin("orderedsubject");
	struct mailthread *t = mailthread_new();
	add(t, 1, "Subject: b\nDate: Mon, 2 Mar 2026 10:00:00 +0000\n");
	add(t, 2, "Subject: Re: a\nDate: Mon, 2 Mar 2026 12:00:00 +0000\n");
	add(t, 3, "Subject: a\nDate: Mon, 2 Mar 2026 11:00:00 +0000\n");
	add(t, 4, "Subject: [fwd: b]\nDate: Mon, 2 Mar 2026 13:00:00 +0000\n");
	check(t, false, "(1(4))(3(2))");
}

/*
 * Many threads under the root, gathered by subject in the middle of the
 * list (a new dummy in another's place, a reply moved under its
 * original, an original found after its reply) and reply chains: the
 * sibling lists stay whole.  Triples k of messages 3k+1..3k+3, dates
 * rising with the id.
 */
static void test_many(void)
{
	test_begin("many threads");
	enum { K = 600 };
	struct mailthread *t = mailthread_new();
	static char want[K * 40];
	size_t wl = 0;
	for (uint32_t k = 0; k < K; k++) {
		uint32_t a = 3 * k + 1, b = a + 1, c = a + 2;
		const char *subj[3] = {"", "", "Re: "};
		if (k % 4 == 1)
			subj[1] = "Re: ";
		else if (k % 4 == 2)
			subj[0] = "Re: ";
		char h[3][256];
		for (uint32_t i = 0; i < 3; i++) {
			/* c replies to a by References, except when k % 4 == 3
			 */
			char refs[64] = "";
			if (i == 2 && k % 4 != 3)
				snprintf(refs, sizeof refs,
					 "References: <m%u@x>\n", a);
			uint32_t sec = a + i;
			snprintf(h[i], sizeof h[i],
				 "Message-ID: <m%u@x>\nSubject: %ss%u\n%s"
				 "Date: Mon, 2 Mar 2026 %02u:%02u:%02u +0000\n",
				 a + i, subj[i], k, refs, sec / 3600,
				 sec / 60 % 60, sec % 60);
		}
		add(t, a, h[0]);
		add(t, b, h[1]);
		add(t, c, h[2]);
		switch (k % 4) {
		case 0: /* a and b plain: a dummy holds both */
			wl += (size_t)snprintf(want + wl, sizeof want - wl,
					       "((%u(%u))(%u))", a, c, b);
			break;
		case 1: /* b a reply: under a */
			wl += (size_t)snprintf(want + wl, sizeof want - wl,
					       "(%u(%u)(%u))", a, b, c);
			break;
		case 2: /* a the reply, b the original */
			wl += (size_t)snprintf(want + wl, sizeof want - wl,
					       "(%u(%u(%u)))", b, a, c);
			break;
		default: /* three plain-subject roots, c a reply by subject */
			wl += (size_t)snprintf(want + wl, sizeof want - wl,
					       "((%u)(%u)(%u))", a, b, c);
			break;
		}
	}
	check_big(t, want);
}

/* One long reply chain, in order and newest first: each message under
   its In-Reply-To, the chain written as one thread "(1 2 3 ...)" (in
   order: linked without walking the chain up for every message). */
static void test_chain(bool reverse)
{
	test_begin(reverse ? "long chain, newest first" : "long chain");
	enum { N = 3000 };
	struct mailthread *t = mailthread_new();
	for (uint32_t j = 0; j < N; j++) {
		uint32_t i = reverse ? N - j : j + 1;
		char h[256], irt[64] = "";
		if (i > 1)
			snprintf(irt, sizeof irt, "In-Reply-To: <c%u@x>\n",
				 i - 1);
		snprintf(h, sizeof h,
			 "Message-ID: <c%u@x>\nSubject: chain\n%s"
			 "Date: Mon, 2 Mar 2026 %02u:%02u:%02u +0000\n",
			 i, irt, i / 3600, i / 60 % 60, i % 60);
		/* sequence numbers ascend in either order */
		mailthread_add(t, j + 1, i, 0, h, strlen(h));
	}
	static char want[N * 8];
	size_t wl = 0;
	for (uint32_t i = 1; i <= N; i++)
		wl += (size_t)snprintf(want + wl, sizeof want - wl, "(%u", i);
	for (uint32_t i = 1; i <= N; i++)
		wl += (size_t)snprintf(want + wl, sizeof want - wl, ")");
	check_big(t, want);
}

/* ---- incremental builds ---------------------------------------------- */

static uint32_t lcg = 12345;

static uint32_t rnd(uint32_t n)
{
	lcg = lcg * 1103515245u + 12345u;
	return (lcg >> 8) % n;
}

/* Message i of a random folder: ids from a small pool (duplicates,
   replies to messages not there or coming later, loops), subjects from
   a few (gathering), dates with ties. */
static void rand_hdr(char *h, size_t hsz)
{
	static const char *const subj[] = {"a", "Re: a",     "b", "Fwd: b",
					   "c", "Re: Re: c", ""};
	int n =
	    snprintf(h, hsz, "Subject: %s\r\nDate: %u Mar 2026 10:00 +0000\r\n",
		     subj[rnd(7)], 1 + rnd(5));
	if (rnd(8) != 0)
		n += snprintf(h + n, hsz - (size_t)n, "Message-ID: <m%u@x>\r\n",
			      rnd(40));
	uint32_t nr = rnd(4);
	if (nr > 0) {
		n += snprintf(h + n, hsz - (size_t)n, "References:");
		for (uint32_t r = 0; r < nr; r++)
			n += snprintf(h + n, hsz - (size_t)n, " <m%u@x>",
				      rnd(50));
		n += snprintf(h + n, hsz - (size_t)n, "\r\n");
	}
	if (rnd(3) == 0)
		n += snprintf(h + n, hsz - (size_t)n,
			      "In-Reply-To: <m%u@x>\r\n", rnd(50));
	snprintf(h + n, hsz - (size_t)n, "\r\n");
}

static void render_top(const struct mailthread *t, char *out, size_t outsz)
{
	out[0] = '\0';
	render(t, mailthread_child(t, mailthread_root(t)), out, outsz);
}

/* Built in stages (messages added after each build) the threads are
   those of one build of all the messages (mailthread.h), for both
   algorithms. */
static void test_incremental(void)
{
	test_begin("incremental builds equal a build from scratch");
	enum { FOLDERS = 300, MSGS = 40 };
	static char hdr[MSGS][256];
	static char want[8192], got[8192];
	bool all_ok = true;
	for (int f = 0; f < FOLDERS && all_ok; f++) {
		size_t n = 1 + rnd(MSGS);
		for (size_t i = 0; i < n; i++)
			rand_hdr(hdr[i], sizeof hdr[i]);
		for (int refs = 0; refs < 2; refs++) {
			struct mailthread *full = mailthread_new();
			for (size_t i = 0; i < n; i++)
				add(full, (uint32_t)i + 1, hdr[i]);
			mailthread_build(full, refs);
			render_top(full, want, sizeof want);
			mailthread_free(&full);
			/* stages: a random cut, then one at a time */
			struct mailthread *t = mailthread_new();
			size_t cut = rnd((uint32_t)n + 1);
			for (size_t i = 0; i < n; i++) {
				add(t, (uint32_t)i + 1, hdr[i]);
				if (i + 1 >= cut) {
					mailthread_build(t, refs);
					if (i % 3 == 0)
						mailthread_drop_tree(t);
				}
			}
			mailthread_build(t, refs);
			render_top(t, got, sizeof got);
			test_assert(mailthread_count(t) == n);
			test_assert(mailthread_bytes(t) > 0);
			mailthread_free(&t);
			if (strcmp(got, want) != 0) {
				fprintf(stderr,
					"folder %d refs %d cut %zu:\n got %s\n"
					"want %s\n",
					f, refs, cut, got, want);
				for (size_t i = 0; i < n; i++)
					fprintf(stderr, "%zu: %s", i + 1,
						hdr[i]);
				all_ok = false;
			}
		}
	}
	test_assert(all_ok);
	/* a reply before its parent, then the parent: the parent fills the
	   dummy, and a later reply to an existing root joins it */
	struct mailthread *t = mailthread_new();
	add(t, 1,
	    "Subject: Re: p\r\nMessage-ID: <r@x>\r\nReferences: <p@x>\r\n"
	    "Date: 2 Mar 2026 10:00 +0000\r\n\r\n");
	expect(t, true, "(1)");
	add(t, 2,
	    "Subject: p\r\nMessage-ID: <p@x>\r\n"
	    "Date: 1 Mar 2026 10:00 +0000\r\n\r\n");
	expect(t, true, "(2(1))");
	add(t, 3,
	    "Subject: Re: p\r\nMessage-ID: <s@x>\r\nIn-Reply-To: <p@x>\r\n"
	    "Date: 3 Mar 2026 10:00 +0000\r\n\r\n");
	expect(t, true, "(2(1)(3))");
	mailthread_free(&t);
}

int main(void)
{
	test_incremental();
	test_chain(false);
	test_chain(true);
	test_many();
	test_references();
	test_dummy_and_gather();
	test_broken();
	test_ordered_subject();
	return test_end();
}
