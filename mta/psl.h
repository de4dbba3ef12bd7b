/*
 * The Public Suffix List (https://publicsuffix.org/list/, Debian's
 * publicsuffix package: /usr/share/publicsuffix/public_suffix_list.dat)
 * for DMARC's organizational domain (RFC 7489 §3.2): the registrable
 * domain is the public suffix plus one label.  The list's text format:
 * one rule per line (the first word), "//" comments, "*." wildcards and
 * "!" exceptions; the prevailing rule is an exception if one matches,
 * else the matching rule with the most labels, else "*" (the last label).
 * Rules are compared in lower case, byte for byte (the list's UTF-8 IDN
 * rules match UTF-8 domains; A-label domains fall to the wildcard rules
 * and the default one).
 */
#ifndef MTA_PSL_H
#define MTA_PSL_H

#include <stdbool.h>
#include <stddef.h>

/* Longest rule and longest domain looked up (RFC 1035 §2.3.4). */
#define PSL_NAME_MAX 253
/* Most rules read from one list (the 2026 list has about 10,000). */
#define PSL_RULES_MAX 200000

struct psl;

/*
 * Parses the list's text (len bytes, need not be NUL-terminated).  Lines
 * that are empty, comments, or hold a rule longer than PSL_NAME_MAX or
 * with empty labels are skipped.  Returns the list (free with psl_free),
 * never NULL; psl_count() tells how many rules were kept.
 */
struct psl *psl_parse(const char *data, size_t len);

/* Reads and parses path.  NULL with errno when it cannot be read or
   holds no rule. */
struct psl *psl_load(const char *path);

size_t psl_count(const struct psl *l);

void psl_free(struct psl **l);

/*
 * The organizational domain of domain (a trailing dot is ignored, case
 * is folded) into out (outsz): its public suffix plus one label.  A
 * domain that is itself a public suffix, or longer than PSL_NAME_MAX, is
 * copied as it is (lower case).  Returns the length written, or 0 when
 * out is too small (then out is "").  Thread-safe: l is read only.
 */
size_t psl_org_domain(const struct psl *l, const char *domain, char *out,
		      size_t outsz);

#endif
