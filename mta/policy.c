/*
 * Loading the SMTP server policy (see policy.h).  Everything that can be
 * wrong in the restriction parameters is found here, so that a bad edit
 * stops the daemon at start-up, or is refused (old policy kept) on SIGHUP.
 */
#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "dkim_sign.h"
#include "dnscheck.h"
#include "log.h"
#include "maps.h"
#include "xalloc.h"

static const char *const stage_params[RESTRICT_NSTAGES] = {
    [RESTRICT_CLIENT] = "smtpd_client_restrictions",
    [RESTRICT_HELO] = "smtpd_helo_restrictions",
    [RESTRICT_SENDER] = "smtpd_sender_restrictions",
    [RESTRICT_RELAY] = "smtpd_relay_restrictions",
    [RESTRICT_RECIPIENT] = "smtpd_recipient_restrictions",
    [RESTRICT_DATA] = "smtpd_data_restrictions",
    [RESTRICT_EOD] = "smtpd_end_of_data_restrictions",
};

static const struct conf_table *const *tables(void)
{
	return conf_tables_for("mta");
}

/* Parameters the table may not declare (yet) fall back to Postfix's. */
static int64_t int_or(const struct conf *c, const char *name, int64_t def)
{
	const struct conf_param *p = conf_find_param(tables(), name);
	if (p == NULL)
		return def;
	return p->type == CONF_TIME ? conf_time(c, name) : conf_int(c, name);
}

static bool list_has(const struct conf *c, const char *param, const char *word)
{
	size_t n;
	const char *const *items = conf_list(c, param, &n);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(items[i], word) == 0)
			return true;
	}
	return false;
}

static struct map *open_checks(const struct conf *c, const char *param,
			       char *err, size_t errsz, bool *bad)
{
	const char *spec = conf_str(c, param);
	char merr[512];
	if (spec[0] == '\0')
		return NULL;
	if (strncmp(spec, "mysql:", 6) == 0) {
		/* checked line by line in the event loop, where a round
		   trip to youju-authd must not block */
		snprintf(err, errsz,
			 "%s: mysql: tables are not supported "
			 "here (use regexp: or pcre:)",
			 param);
		*bad = true;
		return NULL;
	}
	struct map *m = map_open(spec, merr, sizeof(merr));
	if (m == NULL) {
		snprintf(err, errsz, "%s: %s", param, merr);
		*bad = true;
	}
	return m;
}

struct smtpd_policy *policy_load(const struct conf *c, char *err, size_t errsz)
{
	struct smtpd_policy *p = xcalloc(1, sizeof(*p));
	struct restrict_opts o;
	const char *bad = "";
	size_t n;
	const char *const *items;
	bool failed = false;
	p->refs = 1;

	restrict_opts_default(&o);
	o.reject_code = (unsigned)int_or(c, "reject_code", 554);
	o.defer_code = (unsigned)int_or(c, "defer_code", 450);
	o.access_map_reject_code =
	    (unsigned)int_or(c, "access_map_reject_code", 554);
	o.access_map_defer_code =
	    (unsigned)int_or(c, "access_map_defer_code", 450);
	o.relay_domains_reject_code =
	    (unsigned)int_or(c, "relay_domains_reject_code", 554);
	o.unknown_address_reject_code =
	    (unsigned)int_or(c, "unknown_address_reject_code", 450);
	o.unknown_client_reject_code =
	    (unsigned)int_or(c, "unknown_client_reject_code", 450);
	o.unknown_hostname_reject_code =
	    (unsigned)int_or(c, "unknown_hostname_reject_code", 450);
	o.maps_rbl_reject_code =
	    (unsigned)int_or(c, "maps_rbl_reject_code", 554);
	o.non_fqdn_reject_code =
	    (unsigned)int_or(c, "non_fqdn_reject_code", 504);
	o.invalid_hostname_reject_code =
	    (unsigned)int_or(c, "invalid_hostname_reject_code", 501);
	if (conf_find_param(tables(), "recipient_delimiter")) {
		const char *d = conf_str(c, "recipient_delimiter");
		if (strlen(d) >= sizeof(o.recipient_delimiter)) {
			snprintf(err, errsz,
				 "recipient_delimiter: too long: %s", d);
			free(p);
			return NULL;
		}
		memcpy(o.recipient_delimiter, d, strlen(d) + 1);
	}
	if (conf_find_param(tables(), "smtpd_policy_service_timeout")) {
		o.policy_timeout_ms =
		    1000 *
		    (unsigned)conf_time(c, "smtpd_policy_service_timeout");
		snprintf(o.policy_default_action,
			 sizeof(o.policy_default_action), "%s",
			 conf_str(c, "smtpd_policy_service_default_action"));
	}
	if (conf_find_param(tables(), "smtpd_sender_login_maps")) {
		char lerr[600];
		items = conf_list(c, "smtpd_sender_login_maps", &n);
		if (sender_login_maps_parse(&p->login_maps, items, n, lerr,
					    sizeof(lerr)) < 0) {
			snprintf(err, errsz, "smtpd_sender_login_maps: %s",
				 lerr);
			free(p);
			return NULL;
		}
	}
	if (conf_find_param(tables(), "parent_domain_matches_subdomains"))
		o.parent_matches_subdomains = list_has(
		    c, "parent_domain_matches_subdomains", "smtpd_access_maps");

	for (int s = 0; s < RESTRICT_NSTAGES && !failed; s++) {
		char rerr[600];
		if (conf_find_param(tables(), stage_params[s]) == NULL)
			continue;
		items = conf_list(c, stage_params[s], &n);
		p->stage[s] =
		    restrict_parse_list(items, n, s, &o, rerr, sizeof(rerr));
		if (p->stage[s] == NULL) {
			snprintf(err, errsz, "%s: %s", stage_params[s], rerr);
			failed = true;
		}
	}
	if (!failed && !restrict_has_relay_guard(p->stage[RESTRICT_RELAY]) &&
	    !restrict_has_relay_guard(p->stage[RESTRICT_RECIPIENT])) {
		snprintf(err, errsz,
			 "in parameter smtpd_relay_restrictions or "
			 "smtpd_recipient_restrictions, specify at least one "
			 "working instance of: reject_unauth_destination, "
			 "defer_unauth_destination, reject, defer or "
			 "defer_if_permit");
		failed = true;
	}

	p->delay_reject =
	    conf_find_param(tables(), "smtpd_delay_reject") == NULL ||
	    conf_bool(c, "smtpd_delay_reject");
	p->peername_lookup =
	    conf_find_param(tables(), "smtpd_peername_lookup") == NULL ||
	    conf_bool(c, "smtpd_peername_lookup");
	p->peername_timeout_ms =
	    1000 * (unsigned)int_or(c, "smtpd_peername_lookup_timeout", 5);
	p->reject_over_quota =
	    conf_find_param(tables(), "smtpd_reject_over_quota") != NULL &&
	    conf_bool(c, "smtpd_reject_over_quota");
	/* the lists RCPT evaluates (smtpd_check.c smtpd_rcpt_check) */
	int login = 0;
	p->rcpt_on_loop = !failed && !p->reject_over_quota;
	for (int st = RESTRICT_CLIENT; st <= RESTRICT_RECIPIENT; st++) {
		if (!p->delay_reject && st < RESTRICT_RELAY)
			continue;
		p->rcpt_on_loop &= restrict_nonblocking(p->stage[st]);
		int l = restrict_sender_login(p->stage[st]);
		login = l > login ? l : login;
	}
	/* reject_sender_login_mismatch asks youju-authd for every client,
	   the authenticated_ one for authenticated clients */
	p->rcpt_on_loop &= login < 2;
	p->rcpt_auth_worker = login == 1;
	p->mailbox_limit = (uint64_t)int_or(c, "virtual_mailbox_limit", 0);
	p->limit_override =
	    conf_find_param(tables(), "virtual_mailbox_limit_override") ==
		NULL ||
	    conf_bool(c, "virtual_mailbox_limit_override");
	p->helo_required = conf_bool(c, "smtpd_helo_required");
	p->error_sleep_ms =
	    (unsigned)int_or(c, "smtpd_error_sleep_time", 1) * 1000;
	p->soft_error_limit = (unsigned)int_or(c, "smtpd_soft_error_limit", 10);
	p->hard_error_limit = (unsigned)int_or(c, "smtpd_hard_error_limit", 20);
	p->conn_count_limit =
	    (unsigned)int_or(c, "smtpd_client_connection_count_limit", 50);
	p->conn_rate_limit =
	    (unsigned)int_or(c, "smtpd_client_connection_rate_limit", 0);
	p->rate_unit_s = (unsigned)int_or(c, "anvil_rate_time_unit", 60);
	p->header_size_limit = (size_t)int_or(c, "header_size_limit", 102400);

	items = conf_list(c, "mynetworks", &n);
	p->mynetworks = netlist_parse(items, n, &bad);
	if (!failed && p->mynetworks == NULL) {
		snprintf(err, errsz, "mynetworks: bad network: %s", bad);
		failed = true;
	}
	if (!failed &&
	    conf_find_param(tables(), "smtpd_client_event_limit_exceptions")) {
		items = conf_list(c, "smtpd_client_event_limit_exceptions", &n);
		p->limit_exceptions = netlist_parse(items, n, &bad);
		if (p->limit_exceptions == NULL) {
			snprintf(err, errsz,
				 "smtpd_client_event_limit_exceptions: bad "
				 "network: %s",
				 bad);
			failed = true;
		}
	}
	if (!failed && conf_find_param(tables(), "header_checks")) {
		p->header_checks =
		    open_checks(c, "header_checks", err, errsz, &failed);
		if (!failed)
			p->body_checks =
			    open_checks(c, "body_checks", err, errsz, &failed);
	}
	if (!failed && conf_find_param(tables(), "smtpd_dns_server") &&
	    !dns_set_server(conf_str(c, "smtpd_dns_server"))) {
		snprintf(err, errsz, "smtpd_dns_server: bad address: %s",
			 conf_str(c, "smtpd_dns_server"));
		failed = true;
	}
	if (!failed &&
	    conf_find_param(tables(), "smtpd_sender_authentication")) {
		items = conf_list(c, "smtpd_sender_authentication", &n);
		for (size_t i = 0; i < n && !failed; i++) {
			if (strcmp(items[i], "dkim") == 0)
				p->auth_dkim = true;
			else if (strcmp(items[i], "spf") == 0)
				p->auth_spf = true;
			else if (strcmp(items[i], "dmarc") == 0)
				p->auth_dmarc = true;
			else {
				snprintf(err, errsz,
					 "smtpd_sender_authentication: unknown "
					 "check %s (want dkim, spf, dmarc)",
					 items[i]);
				failed = true;
			}
		}
		const char *a = conf_str(c, "smtpd_spf_fail_action");
		if (strcmp(a, "reject") == 0)
			p->spf_reject = true;
		else if (!failed && strcmp(a, "ignore") != 0) {
			snprintf(
			    err, errsz,
			    "smtpd_spf_fail_action: want ignore or reject: "
			    "%s",
			    a);
			failed = true;
		}
		p->dmarc_enforce = conf_bool(c, "smtpd_dmarc_enforce");
		const char *pl = conf_str(c, "dmarc_public_suffix_list");
		if (p->auth_dmarc && pl[0] != '\0' &&
		    (p->psl = psl_load(pl)) == NULL)
			log_warning("dmarc_public_suffix_list: %s: %s: "
				    "organizational domains are guessed",
				    pl, strerror(errno));
	}
	if (!failed && conf_find_param(tables(), "smtpd_milters")) {
		static const char *const lists[2] = {"smtpd_milters",
						     "non_smtpd_milters"};
		for (int l = 0; l < 2 && !failed; l++) {
			items = conf_list(c, lists[l], &n);
			char **dst = l ? p->np_milters : p->milters;
			size_t *cnt = l ? &p->nnp_milters : &p->nmilters;
			for (size_t i = 0; i < n && !failed; i++) {
				if (!milter_spec_ok(items[i]) ||
				    *cnt >= MILTER_MAX) {
					snprintf(
					    err, errsz,
					    "%s: want at most %d of "
					    "inet:host:port or unix:/path: "
					    "%s",
					    lists[l], MILTER_MAX, items[i]);
					failed = true;
					break;
				}
				dst[(*cnt)++] = xstrdup(items[i]);
			}
		}
		if (!failed &&
		    !milter_action_parse(conf_str(c, "milter_default_action"),
					 &p->milter.default_action)) {
			snprintf(
			    err, errsz,
			    "milter_default_action: want accept, tempfail, "
			    "reject or quarantine: %s",
			    conf_str(c, "milter_default_action"));
			failed = true;
		}
		p->milter.protocol = (unsigned)conf_int(c, "milter_protocol");
		p->milter.connect_ms =
		    1000 * (unsigned)conf_time(c, "milter_connect_timeout");
		p->milter.command_ms =
		    1000 * (unsigned)conf_time(c, "milter_command_timeout");
		p->milter.content_ms =
		    1000 * (unsigned)conf_time(c, "milter_content_timeout");
		static const char *const mac[MILTER_M_STAGES] = {
		    [MILTER_M_CONNECT] = "milter_connect_macros",
		    [MILTER_M_HELO] = "milter_helo_macros",
		    [MILTER_M_MAIL] = "milter_mail_macros",
		    [MILTER_M_RCPT] = "milter_rcpt_macros",
		    [MILTER_M_DATA] = "milter_data_macros",
		    [MILTER_M_EOM] = "milter_end_of_data_macros",
		    [MILTER_M_EOH] = "milter_end_of_header_macros",
		};
		for (int k = 0; k < MILTER_M_STAGES; k++) {
			p->milter_macros[k] = xstrdup(conf_str(c, mac[k]));
			p->milter.macros[k] = p->milter_macros[k];
		}
	}
	if (!failed && conf_find_param(tables(), "local_login_sender_maps")) {
		char lerr[600];
		p->local_login = local_login_new(
		    conf_str(c, "local_login_sender_maps"),
		    conf_str(
			c, "empty_address_local_login_sender_maps_lookup_key"),
		    conf_str(c, "myorigin"), o.recipient_delimiter, lerr,
		    sizeof(lerr));
		if (p->local_login == NULL) {
			snprintf(err, errsz, "local_login_sender_maps: %s",
				 lerr);
			failed = true;
		}
	}
	if (!failed && conf_find_param(tables(), "dkim_key_directory")) {
		char derr[600];
		if (dkim_keys_load(conf_str(c, "dkim_key_directory"), &p->dkim,
				   derr, sizeof(derr)) < 0) {
			snprintf(err, errsz, "dkim_key_directory: %s", derr);
			failed = true;
		}
	}
	if (failed) {
		p->refs = 1;
		policy_unref(&p);
		return NULL;
	}
	return p;
}

struct smtpd_policy *policy_ref(struct smtpd_policy *p)
{
	p->refs++;
	return p;
}

void policy_unref(struct smtpd_policy **pp)
{
	struct smtpd_policy *p = *pp;
	if (p == NULL)
		return;
	*pp = NULL;
	if (--p->refs > 0)
		return;
	for (int s = 0; s < RESTRICT_NSTAGES; s++)
		restrict_free(&p->stage[s]);
	netlist_free(&p->limit_exceptions);
	netlist_free(&p->mynetworks);
	map_free(&p->header_checks);
	map_free(&p->body_checks);
	sender_login_maps_free(&p->login_maps);
	local_login_free(&p->local_login);
	dkim_keys_free(&p->dkim);
	psl_free(&p->psl);
	for (int k = 0; k < MILTER_M_STAGES; k++)
		free(p->milter_macros[k]);
	for (size_t i = 0; i < p->nmilters; i++)
		free(p->milters[i]);
	for (size_t i = 0; i < p->nnp_milters; i++)
		free(p->np_milters[i]);
	free(p);
}
