/*
 * Fuzz target for webmail's preferences parser (user.cf in the Maildir,
 * which the user can write through IMAP or the netdisk): the signature
 * must stay within WM_SIGNATURE_MAX and the page size within its range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../webmail/prefs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wm_prefs pr;
	memset(&pr, 0, sizeof pr);
	(void)wm_prefs_parse(&pr, (const char *)data, size, false);
	(void)wm_prefs_parse(&pr, (const char *)data, size, true);
	if (strlen(pr.signature) > WM_SIGNATURE_MAX || pr.page_size > 200)
		abort();
	return 0;
}
