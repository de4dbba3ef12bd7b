/*
 * The connect-time client name lookup of youju-mta (Postfix's name and
 * reverse_name: PTR, then A/AAAA to confirm it), on the event loop: UDP
 * queries on non-blocking sockets, no worker thread, so that lookups that
 * hang (a slow or hostile PTR zone, a flood of connections) never hold a
 * worker or the greeting of another client.  Connections from one address
 * share one lookup in flight; every waiter has its own deadline, after
 * which it gets DNS_RETRY, as Postfix's smtpd on a resolver timeout.
 * /etc/hosts answers first, then the name servers of resolv.conf (IPv4
 * and IPv6; both files re-read when they change), as getnameinfo()
 * through NSS; or smtpd_dns_server alone when it is set.  Loop thread
 * only.
 */
#ifndef MTA_PEERNAME_H
#define MTA_PEERNAME_H

#include <stdint.h>

#include "dnscheck.h"
#include "ev.h"

/* Most lookups (distinct client addresses) in flight; past it a new
   address gets DNS_RETRY at once ("unknown"), never a queue. */
#define PEERNAME_MAX_LOOKUPS 1024

struct peername;
struct peername_wait;

/*
 * The result: st as dns_client_name() (DNS_OK when name is forward-
 * confirmed), ptr_st the PTR lookup's own status, name the PTR name (""
 * unless ptr_st is DNS_OK; borrowed for the call).
 */
typedef void peername_fn(void *ctx, enum dns_status st, enum dns_status ptr_st,
			 const char *name);

struct peername *peername_new(struct ev_loop *loop);
/* Frees the service, every lookup and every wait not yet delivered (their
   fn is not called; wait pointers held become invalid). */
void peername_free(struct peername **pn);
/*
 * Looks up addr (IPv4 or IPv6 text), or joins the lookup for addr in
 * flight.  fn(ctx, ...) runs exactly once, from the loop (never from
 * inside this call), at most timeout_ms later, unless the returned wait
 * is cancelled first.  Never fails.
 */
struct peername_wait *peername_lookup(struct peername *pn, const char *addr,
				      uint64_t timeout_ms, peername_fn *fn,
				      void *ctx);
/* Forgets a wait whose fn has not run yet (its owner is going away) and
   clears the caller's pointer.  NULL-safe. */
void peername_cancel(struct peername_wait **w);

/*
 * The readers of the two files, for the fuzz target and the tests: text is
 * NUL-terminated.  peername_hosts_find: the canonical name of the first
 * line for bin (4 or 16 bytes) into name (namesz), when it passes
 * dns_name_ok().  peername_resolv_parse: up to max "nameserver" addresses
 * (port 53) into sv; returns how many.
 */
bool peername_hosts_find(const char *text, const unsigned char *bin,
			 size_t binlen, char *name, size_t namesz);
struct sockaddr_storage;
size_t peername_resolv_parse(const char *text, struct sockaddr_storage *sv,
			     size_t max);

#endif
