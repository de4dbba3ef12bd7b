/*
 * DKIM signing keys on disk, shared by `youju dkim` (cli/dkim.c) and the
 * webadmin console (webadmin/dkim.c): dkim_key_directory holds
 * DOMAIN.SELECTOR.key (PEM private key, mode 0600) and DOMAIN.SELECTOR.pub
 * (PEM public key); youju-mta signs with every .key (mta/dkim_sign.c).
 * The DNS record to publish is made from the .pub: the TXT value
 * "v=DKIM1; k=rsa; p=..." (RFC 6376 3.6.1; k=ed25519, RFC 8463 4.2) and
 * the zone-file line, where a value longer than one DNS character-string
 * (255 bytes, RFC 1035 3.3) is split into several quoted strings that
 * resolvers join (RFC 6376 3.6.2.2).
 */
#ifndef YOUJU_DKIMKEY_H
#define YOUJU_DKIMKEY_H

#include <stdbool.h>
#include <stddef.h>

/* Longest selector; most keys listed for one domain. */
#define DKIMKEY_SELECTOR_MAX 63
#define DKIMKEY_LIST_MAX     64
/* Room for a record line of an RSA-4096 key. */
#define DKIMKEY_RECORD_MAX 9000

/* A domain (dots allowed, at least one) or a selector (no dots): lower
   case a-z 0-9 - _, not starting with '.' or '-'. */
bool dkimkey_domain_ok(const char *s);
bool dkimkey_selector_ok(const char *s);

/* The TXT value for a public key (PEM text) into out.  0, or -1 when it
   is not an RSA or Ed25519 public key or out is too small. */
int dkimkey_txt(const char *pem, char *out, size_t outsz);
/* The zone-file line SELECTOR._domainkey.DOMAIN. IN TXT "..." ["..."]. */
int dkimkey_record(const char *domain, const char *selector, const char *pem,
		   char *out, size_t outsz);

/*
 * Makes a key (RSA-2048, or Ed25519) as dir/DOMAIN.SELECTOR.key (0600)
 * and .pub (0644), creating dir (0700) when missing.  Returns 0, or -1
 * with a reason in err (errno EEXIST when that selector has a key).
 */
int dkimkey_generate(const char *dir, const char *domain, const char *sel,
		     bool ed25519, char *err, size_t errsz);

/* The public key PEM of DOMAIN.SELECTOR (owned, free), or NULL. */
char *dkimkey_read_pub(const char *dir, const char *domain, const char *sel);

/* The selectors that have a .pub for domain, sorted (owned: free each and
   the array); their number, at most DKIMKEY_LIST_MAX. */
size_t dkimkey_list(const char *dir, const char *domain, char ***sels_r);

/* Removes DOMAIN.SELECTOR.key and .pub.  0, or -1 with errno. */
int dkimkey_remove(const char *dir, const char *domain, const char *sel);

#endif
