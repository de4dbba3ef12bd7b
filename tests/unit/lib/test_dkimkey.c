/*
 * Unit tests for lib/dkimkey: names (domain and selector rules, the
 * longest selector and one more byte, empty), making RSA and Ed25519 keys
 * in a temporary directory (modes, EEXIST), the TXT value and the zone
 * line (split into 255-byte strings), listing (sorted, other domains and
 * dotted names left out) and removing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dkimkey.h"
#include "test.h"

int main(void)
{
	test_begin("dkimkey: names");
	test_assert(dkimkey_domain_ok("example.com"));
	test_assert(dkimkey_domain_ok("a-b.example.co.uk"));
	test_assert(!dkimkey_domain_ok("localhost"));
	test_assert(!dkimkey_domain_ok(""));
	test_assert(!dkimkey_domain_ok("Example.com"));
	test_assert(!dkimkey_domain_ok(".example.com"));
	test_assert(!dkimkey_domain_ok("example..com"));
	test_assert(!dkimkey_domain_ok("example.com."));
	test_assert(!dkimkey_domain_ok("ex/ample.com"));
	test_assert(dkimkey_selector_ok("y202612"));
	test_assert(dkimkey_selector_ok("s_1-a"));
	test_assert(!dkimkey_selector_ok("a.b"));
	test_assert(!dkimkey_selector_ok("-a"));
	test_assert(!dkimkey_selector_ok(""));
	test_assert(!dkimkey_selector_ok("a b"));
	test_assert(!dkimkey_selector_ok("a\nb"));
	char sel[DKIMKEY_SELECTOR_MAX + 2];
	memset(sel, 's', sizeof(sel) - 1);
	sel[DKIMKEY_SELECTOR_MAX] = '\0';
	test_assert(dkimkey_selector_ok(sel));
	sel[DKIMKEY_SELECTOR_MAX] = 's';
	sel[DKIMKEY_SELECTOR_MAX + 1] = '\0';
	test_assert(!dkimkey_selector_ok(sel));

	test_begin("dkimkey: generate, record, list, remove");
	char dir[] = "/tmp/youju-dkimkey-XXXXXX";
	test_assert(mkdtemp(dir) != NULL);
	char kd[128], err[4400];
	snprintf(kd, sizeof(kd), "%s/dkim", dir);
	test_assert(dkimkey_generate(kd, "example.com", "b2", false, err,
				     sizeof(err)) == 0);
	test_assert(dkimkey_generate(kd, "example.com", "a1", true, err,
				     sizeof(err)) == 0);
	test_assert(dkimkey_generate(kd, "example.org", "a1", true, err,
				     sizeof(err)) == 0);
	errno = 0;
	test_assert(dkimkey_generate(kd, "example.com", "b2", false, err,
				     sizeof(err)) < 0);
	test_assert(errno == EEXIST);
	test_assert(dkimkey_generate(kd, "example.com", "bad.sel", false, err,
				     sizeof(err)) < 0);
	struct stat st;
	char p[256];
	snprintf(p, sizeof(p), "%s/example.com.b2.key", kd);
	test_assert(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
	test_assert(stat(kd, &st) == 0 && (st.st_mode & 0777) == 0700);
	/* a file another program left: not a key of example.com */
	snprintf(p, sizeof(p), "%s/example.com.x.y.pub", kd);
	FILE *f = fopen(p, "w");
	test_assert(f != NULL);
	if (f != NULL)
		fclose(f);

	char **sels;
	size_t n = dkimkey_list(kd, "example.com", &sels);
	test_assert(n == 2);
	test_assert(n == 2 && strcmp(sels[0], "a1") == 0 &&
		    strcmp(sels[1], "b2") == 0);
	for (size_t i = 0; i < n; i++)
		free(sels[i]);
	free(sels);

	char *pem = dkimkey_read_pub(kd, "example.com", "b2");
	test_assert(pem != NULL);
	char txt[DKIMKEY_RECORD_MAX], rec[DKIMKEY_RECORD_MAX];
	test_assert(dkimkey_txt(pem, txt, sizeof(txt)) == 0);
	test_assert(strncmp(txt, "v=DKIM1; k=rsa; p=MII", 21) == 0);
	test_assert(
	    dkimkey_record("example.com", "b2", pem, rec, sizeof(rec)) == 0);
	/* an RSA-2048 value is longer than 255: two strings */
	const char *pre = "b2._domainkey.example.com. IN TXT \"v=DKIM1; k=rsa;";
	test_assert(strncmp(rec, pre, strlen(pre)) == 0);
	test_assert(strstr(rec, "\" \"") != NULL);
	/* too small an output */
	test_assert(dkimkey_record("example.com", "b2", pem, rec, 40) < 0);
	test_assert(dkimkey_txt(pem, txt, 20) < 0);
	free(pem);
	pem = dkimkey_read_pub(kd, "example.com", "a1");
	test_assert(pem != NULL && dkimkey_txt(pem, txt, sizeof(txt)) == 0 &&
		    strncmp(txt, "v=DKIM1; k=ed25519; p=", 22) == 0 &&
		    strlen(txt) == 22 + 44);
	free(pem);
	test_assert(dkimkey_txt("not a key", txt, sizeof(txt)) < 0);
	test_assert(dkimkey_txt("", txt, sizeof(txt)) < 0);
	test_assert(dkimkey_read_pub(kd, "example.com", "zz") == NULL);

	test_assert(dkimkey_remove(kd, "example.com", "a1") == 0);
	n = dkimkey_list(kd, "example.com", &sels);
	test_assert(n == 1);
	for (size_t i = 0; i < n; i++)
		free(sels[i]);
	free(sels);
	test_assert(dkimkey_list("/nonexistent/x", "example.com", &sels) == 0);

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	test_assert(system(cmd) == 0);
	return test_end();
}
