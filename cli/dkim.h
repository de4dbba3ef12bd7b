/*
 * `youju dkim`: DKIM signing keys of the hosted domains (docs/mta.md,
 * "DKIM").  Keys live in dkim_key_directory as DOMAIN.SELECTOR.key (PEM
 * private key, 0600) and DOMAIN.SELECTOR.pub (PEM public key).
 */
#ifndef YOUJU_CLI_DKIM_H
#define YOUJU_CLI_DKIM_H

#include <stddef.h>

/*
 * youju dkim [-c config] keygen DOMAIN [--selector S] [--ed25519]
 * youju dkim [-c config] show DOMAIN
 * keygen makes a key (RSA-2048, or Ed25519 per RFC 8463) and prints its
 * DNS record; show prints one zone-file line per key of DOMAIN:
 *   SELECTOR._domainkey.DOMAIN. IN TXT "v=DKIM1; k=rsa; p=..."
 * Exit status 0; 1 on an error; 2 on a usage error.
 */
int cli_dkim(int argc, char **argv);

/* The zone-file line for a public key (PEM text pem) of domain and
   selector into out (outsz bytes).  0, or -1 when it is not a usable key
   or out is too small. */
int cli_dkim_record(const char *domain, const char *selector, const char *pem,
		    char *out, size_t outsz);

#endif
