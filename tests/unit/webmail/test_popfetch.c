/*
 * Unit tests for webmail/popfetch's address policy (the SSRF guard of POP3
 * fetch): loopback, private, link-local, CGNAT, unique-local, multicast,
 * unspecified and IPv4-mapped addresses are refused; public ones pass.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "../../../webmail/popfetch.h"
#include "test.h"

static bool priv(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1)
			return false;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		if (inet_pton(AF_INET, ip, &s4->sin_addr) != 1)
			return false;
	}
	return wm_popfetch_addr_private((const struct sockaddr *)&ss);
}

int main(void)
{
	test_begin("private addresses refused");
	static const char *const bad[] = {"127.0.0.1",
					  "127.255.1.1",
					  "10.1.2.3",
					  "172.16.0.1",
					  "172.31.255.255",
					  "192.168.1.1",
					  "169.254.169.254",
					  "100.64.0.1",
					  "0.0.0.0",
					  "224.0.0.1",
					  "255.255.255.255",
					  "192.0.0.8",
					  "::1",
					  "::",
					  "fe80::1",
					  "fd00::1",
					  "fc00::1",
					  "ff02::1",
					  "::ffff:127.0.0.1",
					  "::ffff:10.0.0.1",
					  "64:ff9b::a00:1",
					  "2001:db8::1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		test_assert(priv(bad[i]));
	test_begin("public addresses pass");
	static const char *const good[] = {
	    "8.8.8.8",	   "172.32.0.1", "172.15.255.255",  "192.169.0.1",
	    "100.128.0.1", "1.1.1.1",	 "2606:4700::1111", "::ffff:8.8.8.8"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		test_assert(!priv(good[i]));
	struct sockaddr other = {.sa_family = AF_UNIX};
	test_assert(wm_popfetch_addr_private(&other));
	return test_end();
}
