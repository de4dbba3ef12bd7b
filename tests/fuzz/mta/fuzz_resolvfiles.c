/*
 * Fuzz target for mta/peername's readers of /etc/hosts and
 * /etc/resolv.conf: the input (cut at its first NUL, as the files are read)
 * as a hosts file searched for an IPv4 and an IPv6 address, with a large
 * and a tiny name buffer, and as a resolv.conf.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../../mta/peername.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char v4[4] = {127, 0, 0, 1};
	static const unsigned char v6[16] = {[15] = 1};
	char name[256], tiny[4];
	struct sockaddr_storage sv[3];

	if (size > 65536)
		return 0;
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (peername_hosts_find(text, v4, 4, name, sizeof(name)) &&
	    (strlen(name) >= sizeof(name) || !dns_name_ok(name)))
		__builtin_trap();
	if (peername_hosts_find(text, v6, 16, name, sizeof(name)) &&
	    !dns_name_ok(name))
		__builtin_trap();
	if (peername_hosts_find(text, v4, 4, tiny, sizeof(tiny)) &&
	    strlen(tiny) >= sizeof(tiny))
		__builtin_trap();
	size_t n = peername_resolv_parse(text, sv, 3);
	if (n > 3)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if (sv[i].ss_family != AF_INET && sv[i].ss_family != AF_INET6)
			__builtin_trap();
	free(text);
	return 0;
}
