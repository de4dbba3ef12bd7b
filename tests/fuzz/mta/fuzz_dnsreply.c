/*
 * Fuzz target for mta/dnscheck's reader of DNS replies: the input is one
 * reply as it comes off the wire (from a server, or from anyone who can
 * spoof one), read as the answer section, as a PTR answer (the client
 * name, with name compression through dn_expand), as A/AAAA answers (the
 * forward confirmation), as a block list's A and TXT answers, and with
 * the small name buffers a caller may pass.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../../../mta/dnscheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char v4[4] = {127, 0, 0, 2};
	static const unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	struct dns_rr rr[DNS_RR_MAX];
	size_t n = 0;
	char name[256], small[8], txt[DNS_TXT_MAX];
	struct dns_listing l;

	if (size > DNS_REPLY_MAX)
		return 0;
	if (dns_reply_answers(data, size, rr, DNS_RR_MAX, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if (rr[i].rdlen > 0 &&
			    (rr[i].rdata < data ||
			     rr[i].rdata + rr[i].rdlen > data + size))
				__builtin_trap();
	}
	if (dns_reply_ptr(data, size, name, sizeof(name)) == 1 &&
	    (strlen(name) >= sizeof(name) || !dns_name_ok(name)))
		__builtin_trap();
	if (dns_reply_ptr(data, size, small, sizeof(small)) == 1 &&
	    strlen(small) >= sizeof(small))
		__builtin_trap();
	(void)dns_reply_has_addr(data, size, v4, sizeof(v4));
	(void)dns_reply_has_addr(data, size, v6, sizeof(v6));
	memset(&l, 0, sizeof(l));
	if (dns_reply_listing(data, size, &l) == 0 && l.naddr > DNS_LISTED_MAX)
		__builtin_trap();
	dns_reply_txt(data, size, txt, sizeof(txt));
	for (const char *c = txt; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			__builtin_trap();
	dns_reply_txt(data, size, small, 1);
	if (small[0] != '\0')
		__builtin_trap();
	return 0;
}
