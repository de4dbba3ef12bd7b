/*
 * The SMTP server's policy settings, built from youju.cf: the restriction
 * lists of every stage, smtpd_delay_reject, the error and client limits,
 * header/body checks.  A policy is immutable once loaded and reference
 * counted (loop thread only): a session keeps the one it started with,
 * and SIGHUP swaps a newly loaded one in only when loading succeeded.
 */
#ifndef MTA_POLICY_H
#define MTA_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milter.h"
#include "local_login.h"
#include "psl.h"
#include "restrict.h"
#include "sender_login.h"

struct conf;
struct map;
struct dkim_keys;

struct smtpd_policy {
	unsigned refs;
	struct restrict_list *stage[RESTRICT_NSTAGES];
	bool delay_reject;
	bool peername_lookup;	      /* smtpd_peername_lookup */
	unsigned peername_timeout_ms; /* smtpd_peername_lookup_timeout */
	bool reject_over_quota;	      /* smtpd_reject_over_quota */
	/* RCPT runs on the loop thread: its restriction lists need nothing
	   that blocks (restrict_nonblocking) and no maildirsize is read;
	   but an authenticated client's RCPT goes to a worker at once when
	   a list checks the sender login (youju-authd lookups) */
	bool rcpt_on_loop, rcpt_auth_worker;
	uint64_t mailbox_limit; /* virtual_mailbox_limit (0: none) */
	bool limit_override;	/* virtual_mailbox_limit_override */
	bool helo_required;
	unsigned error_sleep_ms;
	unsigned soft_error_limit;
	unsigned hard_error_limit;
	unsigned conn_count_limit; /* 0: none */
	unsigned conn_rate_limit;  /* 0: none */
	unsigned rate_unit_s;
	struct netlist *limit_exceptions; /* smtpd_client_event_limit_... */
	size_t header_size_limit;
	struct map *header_checks; /* NULL: none */
	struct map *body_checks;
	struct netlist *mynetworks;
	struct sender_login_maps login_maps; /* smtpd_sender_login_maps */
	struct dkim_keys *dkim;		     /* NULL: no signing keys */
	/* smtpd_sender_authentication and its policy settings */
	bool auth_dkim, auth_spf, auth_dmarc;
	bool spf_reject;    /* smtpd_spf_fail_action = reject */
	bool dmarc_enforce; /* smtpd_dmarc_enforce */
	/* local_login_sender_maps (owned), or NULL: anyone may use any
	   sender on the pickup socket */
	struct local_login *local_login;
	struct psl *psl; /* dmarc_public_suffix_list (owned), or NULL */
	/* smtpd_milters, non_smtpd_milters (owned copies) */
	char *milters[MILTER_MAX], *np_milters[MILTER_MAX];
	size_t nmilters, nnp_milters;
	struct milter_cfg milter;
	char *milter_macros[MILTER_M_STAGES]; /* milter_*_macros (owned) */
};

/* Builds a policy from c.  NULL with a message in err (errsz bytes) that
   names the parameter. */
struct smtpd_policy *policy_load(const struct conf *c, char *err, size_t errsz);
/* Adds a reference; returns p. */
struct smtpd_policy *policy_ref(struct smtpd_policy *p);
/* Drops a reference (frees at zero) and sets *p = NULL. */
void policy_unref(struct smtpd_policy **p);

#endif
