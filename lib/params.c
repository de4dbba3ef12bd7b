/*
 * Every program's parameter table (DESIGN §5), in one file so that `youju
 * conf` and docs/configuration.md can show them all.  Names and meanings
 * follow Postfix where Postfix has the concept; the rest carry their
 * program's prefix.  Defaults describe a development instance on 127.0.0.1
 * with the DESIGN §4 ports; directories hang off $youju_home, which the loader
 * fills in from conf_home().
 */
#include "conf.h"

#include <string.h>

/* The tables read best laid out by hand. */
/* clang-format off */

#define HOUR_ (3600)
#define DAY_  (86400)
#define TIB_  (INT64_C(1) << 40)

#define P_STR(n, d, desc) { (n), CONF_STR, (d), 0, 0, 0, (desc) }
#define P_LIST(n, d, desc) { (n), CONF_LIST, (d), 0, 0, 0, (desc) }
#define P_BOOL(n, d, desc) { (n), CONF_BOOL, (d), 0, 0, 0, (desc) }
#define P_INT(n, d, lo, hi, desc) { (n), CONF_INT, (d), (lo), (hi), 0, (desc) }
#define P_SIZE(n, d, lo, hi, desc) \
	{ (n), CONF_SIZE, (d), (lo), (hi), 0, (desc) }
#define P_TIME(n, d, lo, hi, desc) \
	{ (n), CONF_TIME, (d), (lo), (hi), 's', (desc) }
#define P_END { NULL, CONF_STR, NULL, 0, 0, 0, NULL }

static const struct conf_param common_params[] = {
	P_STR("youju_home", "",
		"The instance directory (read-only: $YOUJU_HOME, else the "
		"checkout's var/)."),
	P_STR("config_directory", "$youju_home/etc",
		"Directory of youju.cf, TLS files and secrets."),
	P_STR("queue_directory", "$youju_home/spool",
		"The mail queue (incoming, active, deferred, hold, corrupt)."),
	P_STR("data_directory", "$youju_home/run",
		"Writable state: pid files and sockets."),
	P_STR("run_directory", "$youju_home/run",
		"Pid files, the authd socket and the MariaDB socket."),
	P_STR("log_file", "$youju_home/log/maillog",
		"The mail log file (empty: no file)."),
	P_BOOL("syslog_enable", "no",
		 "Also send log lines to syslog, facility mail."),
	P_STR("syslog_name", "youju",
		"Prefix of the program name in log lines (youju/smtpd ...)."),
	P_BOOL("debug", "no", "Log debug lines."),
	P_STR("myhostname", "localhost.localdomain",
		"This host's fully qualified name (HELO, Received:, banners); "
		"default: the system host name, with .localdomain if it has no dot."),
	P_STR("mydomain", "localdomain",
		"This host's domain; default: myhostname after its first dot."),
	P_STR("myorigin", "$myhostname",
		"Domain appended to locally posted mail without one."),
	P_STR("mail_owner", "vmail",
		"Unprivileged user the daemons run as when started as root."),
	P_LIST("inet_interfaces", "127.0.0.1",
		 "Addresses the daemons listen on by default."),
	P_STR("virtual_mailbox_base", "$youju_home/mailbox",
		"Prefix of every mailbox's maildir path."),
	P_STR("smtpd_tls_cert_file", "$config_directory/tls/youju.crt",
		"PEM certificate (chain) for every TLS service."),
	P_STR("smtpd_tls_key_file", "$config_directory/tls/youju.key",
		"PEM private key of smtpd_tls_cert_file."),
	P_SIZE("message_size_limit", "10240000", 0, TIB_,
		 "Largest message accepted, in bytes (0: no limit)."),
	P_STR("mysql_host", "",
		"MySQL server host (empty: connect through mysql_socket)."),
	P_INT("mysql_port", "3306", 0, 65535, "MySQL server TCP port."),
	P_STR("mysql_socket", "$run_directory/mysqld/mysqld.sock",
		"MySQL Unix socket, used when mysql_host is empty."),
	P_STR("mysql_dbname", "extmail", "Database with the ExtMail schema."),
	P_STR("mysql_user", "extmail", "MySQL user of youju-authd."),
	P_STR("mysql_password_file", "$config_directory/secrets/mysql-extmail",
		"File holding mysql_user's password (must not be "
		"world-readable)."),
	P_TIME("mysql_connect_timeout", "5s", 1, HOUR_,
		 "Time limit for connecting to MySQL."),
	P_TIME("mysql_query_timeout", "5s", 1, HOUR_,
		 "Time limit for one MySQL query."),
	P_BOOL("mysql_private", "yes",
		 "Start a private MariaDB under $youju_home/db."),
	P_STR("authd_socket", "$run_directory/authdaemon/socket",
		"Unix socket of youju-authd (courier authdaemon protocol)."),
	P_END,
};

static const struct conf_param authd_params[] = {
	P_INT("authd_workers", "8", 1, 256,
		"Worker threads for queries and password hashing."),
	P_INT("authd_pool_size", "8", 1, 256, "MySQL connections kept open."),
	P_TIME("authd_cache_ttl", "5s", 0, HOUR_,
		 "How long a found user stays cached (0: no cache)."),
	P_TIME("authd_negative_cache_ttl", "2s", 0, HOUR_,
		 "How long a user not found stays cached."),
	P_TIME("authd_request_timeout", "10s", 1, HOUR_,
		 "Time limit for answering one request."),
	P_INT("authd_max_clients", "1024", 1, 65536,
		"Most client connections at once."),
	P_STR("authd_default_options", "",
		"Options for every account, as courier's DEFAULTOPTIONS."),
	P_BOOL("authd_check_expiry", "no",
		 "Refuse accounts past their expiredate."),
	P_BOOL("authd_check_domain_active", "yes",
		 "Refuse accounts of inactive domains."),
	P_STR("authd_uid", "",
		"Fixed uid for every account (empty: authd_uid_field)."),
	P_STR("authd_gid", "",
		"Fixed gid for every account (empty: authd_gid_field)."),
	P_STR("authd_password_scheme", "sha512-crypt",
		"Scheme for passwords that authd writes."),
	P_BOOL("authd_plain_fallback", "no",
		 "Accept clear-text passwords from authd_clear_pwfield."),
	P_BOOL("authd_md5crypt_batch", "yes",
		 "Hash concurrent $1$ checks together in SIMD lanes."),
	P_BOOL("authd_user_batch", "yes",
	       "Look up concurrent users in one SQL statement."),
	P_STR("authd_user_table", "mailbox", "Table of the accounts."),
	P_STR("authd_login_field", "username", "Column with the login name."),
	P_STR("authd_crypt_pwfield", "password",
		"Column with the hashed password."),
	P_STR("authd_clear_pwfield", "",
		"Column with a clear-text password (empty: none)."),
	P_STR("authd_uid_field", "uidnumber", "Column with the uid."),
	P_STR("authd_gid_field", "gidnumber", "Column with the gid."),
	P_STR("authd_home_field", "homedir", "Column with the home directory."),
	P_STR("authd_maildir_field", "maildir", "Column with the maildir."),
	P_STR("authd_quota_field", "quota", "Column with the quota."),
	P_STR("authd_name_field", "name", "Column with the full name."),
	P_STR("authd_where_clause", "",
		"Extra SQL condition ANDed to user queries (as "
		"MYSQL_WHERE_CLAUSE)."),
	P_STR("authd_default_domain", "",
		"Domain added to login names without one."),
	P_INT("authd_alias_max_depth", "8", 1, 64,
		"Most alias levels followed in one lookup."),
	P_TIME("authd_failure_delay", "1s", 0, 60,
		 "Delay before answering a failed login; doubled for each "
		 "earlier failure from the client (Dovecot's auth penalty)."),
	P_TIME("authd_failure_delay_max", "15s", 0, 300,
		 "Longest delay before answering a failed login."),
	P_INT("authd_failure_limit_user", "10", 0, 1000000,
		"Failed logins per user from one client address within "
		"authd_failure_window before that address is locked out for "
		"the user (0: no limit); past it from many addresses, the "
		"user's failures are only slowed down."),
	P_INT("authd_failure_limit_client", "30", 0, 1000000,
		"Failed logins per client address within authd_failure_window "
		"before lockout (0: no limit)."),
	P_TIME("authd_failure_window", "10m", 1, DAY_,
		 "Window in which failed logins are counted."),
	P_TIME("authd_lockout_time", "10m", 0, DAY_,
		 "How long a locked-out user or client is refused."),
	P_END,
};

static const struct conf_param mta_params[] = {
	P_STR("smtpd_banner", "$myhostname ESMTP",
		"Text after the 220 code of the SMTP greeting."),
	P_LIST("smtp_listen", "127.0.0.1:2525",
		 "SMTP (port 25 service) listen addresses, host:port."),
	P_LIST("submission_listen", "127.0.0.1:2587",
		 "Submission (STARTTLS) listen addresses, host:port."),
	P_LIST("smtps_listen", "127.0.0.1:2465",
		 "SMTPS (implicit TLS) listen addresses, host:port."),
	P_STR("sendmail_socket", "$run_directory/mta/submit",
		"Unix socket (mode 0666) where youju-mta takes mail from the "
		"sendmail command (empty: none)."),
	P_LIST("mynetworks", "127.0.0.0/8 [::1]/128",
		 "Trusted client networks (permit_mynetworks)."),
	P_LIST("mydestination", "",
		 "Domains delivered locally other than virtual ones."),
	P_LIST("smtpd_recipient_restrictions",
		 "permit_mynetworks, permit_sasl_authenticated, "
		 "reject_unauth_destination",
		 "Restrictions applied to RCPT TO."),
	P_BOOL("smtpd_sasl_auth_enable", "yes", "Offer SMTP AUTH."),
	P_BOOL("smtpd_tls_auth_only", "yes", "Offer AUTH only over TLS."),
	P_BOOL("smtpd_tls_ask_ccert", "no",
	       "Ask TLS clients for a certificate (reported to milters as "
	       "{cert_subject} and {cert_issuer}, never trusted)."),
	P_BOOL("smtpd_helo_required", "no", "Require HELO or EHLO first."),
	P_BOOL("disable_vrfy_command", "no", "Refuse the VRFY command."),
	P_TIME("smtpd_timeout", "300s", 1, HOUR_,
		 "Time limit for a client's next command or data."),
	P_TIME("maximal_queue_lifetime", "5d", 0, 100 * DAY_,
		 "Age at which an undeliverable message bounces."),
	P_TIME("bounce_queue_lifetime", "5d", 0, 100 * DAY_,
		 "Age at which an undeliverable bounce is dropped."),
	P_TIME("minimal_backoff_time", "300s", 1, 100 * DAY_,
		 "Shortest wait before retrying a deferred message."),
	P_TIME("maximal_backoff_time", "4000s", 1, 100 * DAY_,
		 "Longest wait before retrying a deferred message."),
	P_TIME("queue_run_delay", "300s", 1, DAY_,
		 "Interval between scans of the deferred queue."),
	P_STR("relayhost", "",
		"Next hop for remote mail (empty: direct MX delivery)."),
	P_INT("smtpd_recipient_limit", "1000", 1, 100000,
		"Most recipients of one message."),
	P_INT("line_length_limit", "2048", 1, 1048576,
		"Longest message line kept whole; longer ones are split."),
	P_INT("header_size_limit", "102400", 1, 67108864,
		"Most bytes of one message header."),
	P_INT("smtpd_client_connection_count_limit", "50", 0, 65536,
		"Most connections from one client at once (0: no limit)."),
	/* receive-side restrictions and limits (docs/mta.md) */
	P_LIST("smtpd_client_restrictions", "",
		 "Restrictions on the client (at RCPT with smtpd_delay_reject)."),
	P_LIST("smtpd_helo_restrictions", "",
		 "Restrictions on the HELO/EHLO name."),
	P_LIST("smtpd_sender_restrictions",
		 "reject_authenticated_sender_login_mismatch",
		 "Restrictions on MAIL FROM."),
	P_LIST("smtpd_relay_restrictions", "",
		 "Relay control, before smtpd_recipient_restrictions."),
	P_LIST("smtpd_data_restrictions", "",
		 "Restrictions applied to the DATA command."),
	P_LIST("smtpd_end_of_data_restrictions", "",
		 "Restrictions applied after the message's final dot."),
	P_BOOL("smtpd_delay_reject", "yes",
		 "Apply client, helo and sender restrictions at RCPT "
		 "(no: at connect, HELO/EHLO and MAIL)."),
	P_BOOL("smtpd_reject_over_quota", "no",
		 "Reject RCPT for a hosted mailbox over its Maildir++ quota "
		 "(552 5.2.2 Mailbox full)."),
	P_BOOL("smtpd_peername_lookup", "yes",
		 "Look the client's name up (PTR, forward-confirmed) at "
		 "connect; no: every client is \"unknown\"."),
	P_TIME("smtpd_peername_lookup_timeout", "5s", 1, 60,
		 "Longest time the client name lookup may hold the greeting; "
		 "then the client is \"unknown\" (a temporary failure)."),
	P_TIME("smtpd_error_sleep_time", "1s", 0, HOUR_,
		 "Delay of each reply once the soft error limit is reached."),
	P_INT("smtpd_soft_error_limit", "10", 1, 100000,
		"Errors after which replies are delayed."),
	P_INT("smtpd_hard_error_limit", "20", 1, 100000,
		"Errors after which the session is closed (421)."),
	P_INT("smtpd_client_connection_rate_limit", "0", 0, 1000000,
		"Connections from one client per anvil_rate_time_unit "
		"(0: no limit)."),
	P_TIME("anvil_rate_time_unit", "60s", 1, DAY_,
		 "Time unit of the client rate limits."),
	P_LIST("smtpd_client_event_limit_exceptions", "$mynetworks",
		 "Clients exempt from the connection count and rate limits."),
	P_STR("header_checks", "",
		"regexp: or pcre: table applied to each message header."),
	P_STR("body_checks", "",
		"regexp: or pcre: table applied to each body line."),
	P_STR("recipient_delimiter", "",
		"Characters that start an address extension (user+ext@domain); "
		"empty: none."),
	P_LIST("parent_domain_matches_subdomains", "smtpd_access_maps",
		 "Where a parent domain entry also matches its subdomains."),
	P_INT("reject_code", "554", 400, 599, "Reply code of reject."),
	P_INT("defer_code", "450", 400, 599, "Reply code of defer."),
	P_INT("access_map_reject_code", "554", 400, 599,
		"Reply code of an access table REJECT."),
	P_INT("access_map_defer_code", "450", 400, 599,
		"Reply code of an access table DEFER."),
	P_INT("relay_domains_reject_code", "554", 400, 599,
		"Reply code of reject_unauth_destination."),
	P_INT("unknown_address_reject_code", "450", 400, 599,
		"Reply code of reject_unknown_sender/recipient_domain."),
	P_INT("unknown_client_reject_code", "450", 400, 599,
		"Reply code of reject_unknown_client_hostname."),
	P_INT("unknown_hostname_reject_code", "450", 400, 599,
		"Reply code of reject_unknown_helo_hostname."),
	P_INT("maps_rbl_reject_code", "554", 400, 599,
		"Reply code of reject_rbl_client and reject_rhsbl_*."),
	P_INT("non_fqdn_reject_code", "504", 400, 599,
		"Reply code of reject_non_fqdn_*."),
	P_INT("invalid_hostname_reject_code", "501", 400, 599,
		"Reply code of reject_invalid_helo_hostname."),
	P_STR("smtpd_dns_server", "",
		"DNS server (ip[:port]) for restriction lookups; empty: "
		"/etc/resolv.conf."),
	P_SIZE("virtual_mailbox_limit", "51200000", 0, TIB_,
		 "Largest mailbox delivered to, in bytes (0: no limit)."),
	P_BOOL("virtual_overquota_bounce", "yes",
		 "Bounce mail for a mailbox over quota instead of deferring."),
	P_STR("virtual_maildir_limit_message",
		"Sorry, the user's maildir has overdrawn his diskspace quota, "
		"please try again later.",
		"Reply text when a mailbox is over its Maildir++ quota."),
	P_INT("qmgr_message_active_limit", "20000", 1, 1000000,
		"Most messages the queue manager holds in memory at once."),
	P_INT("qmgr_delivery_threads", "8", 1, 256,
		"Messages delivered in parallel by the queue manager."),
	P_SIZE("bounce_size_limit", "50000", 0, TIB_,
		 "Largest original message returned whole in a bounce."),
	P_TIME("smtp_connect_timeout", "30s", 1, HOUR_,
		 "SMTP client: time to complete a TCP connection."),
	P_TIME("smtp_helo_timeout", "300s", 1, HOUR_,
		 "SMTP client: time to wait for each server reply."),
	P_TIME("smtp_data_done_timeout", "600s", 1, HOUR_,
		 "SMTP client: time to send the message and get its reply."),
	P_STR("smtp_tls_security_level", "may",
		"SMTP client TLS: none, may (opportunistic), encrypt, or "
		"verify/secure (certificate checked)."),
	/* delivery side: routing, concurrency, notices (docs/delivery.md) */
	P_STR("transport_maps", "",
		"Per-domain routes, transport(5) syntax (smtp:[host]:port, "
		"virtual:, error:text, discard:); empty: none."),
	P_INT("default_destination_concurrency_limit", "20", 1, 1000,
		"Most parallel SMTP deliveries to one destination."),
	P_INT("initial_destination_concurrency", "5", 1, 1000,
		"Parallel deliveries to a destination before slow start."),
	P_INT("default_destination_concurrency_failed_cohort_limit", "1", 0,
		1000,
		"Consecutive failures that make a destination dead for "
		"minimal_backoff_time (0: never)."),
	P_INT("default_destination_recipient_limit", "50", 1, 100000,
		"Most recipients in one SMTP transaction."),
	P_BOOL("smtp_connection_cache_on_demand", "yes",
		 "Keep SMTP connections open for the next message to the same "
		 "next hop."),
	P_TIME("smtp_connection_cache_time_limit", "2s", 1, HOUR_,
		 "How long an idle cached SMTP connection is kept."),
	P_TIME("smtp_connection_reuse_time_limit", "300s", 1, DAY_,
		 "How long one SMTP connection is reused at most."),
	P_STR("smtp_tls_CAfile", "",
		"CA certificates for smtp_tls_security_level = verify "
		"(empty: the system store)."),
	P_BOOL("smtp_sasl_auth_enable", "no",
		 "SMTP client AUTH with smtp_sasl_password_maps."),
	P_STR("smtp_sasl_password_maps", "",
		"Table: [host]:port or host -> user:password."),
	P_STR("smtp_tls_policy_maps", "",
		"Table: next hop ([host]:port, domain, .parent) -> TLS "
		"level (none, may, encrypt, verify, secure)."),
	P_INT("smtp_line_length_limit", "998", 0, 1048576,
		"SMTP client: longer message lines are folded with CR LF "
		"SPACE (0: never; at least 40)."),
	P_LIST("defer_transports", "",
		 "Transports (smtp, relay, virtual) whose mail waits until "
		 "`youju queue flush`."),
	{ "delay_warning_time", CONF_TIME, "0h", 0, 100 * DAY_, 'h',
	  "Age at which a delay warning is sent once (0: never)." },
	P_LIST("notify_classes", "resource, software, 2bounce",
		 "Problems reported to the postmaster: bounce (copies of "
		 "bounces), 2bounce (undeliverable bounces)."),
	P_STR("2bounce_notice_recipient", "postmaster",
		"Recipient of undeliverable bounces (notify_classes 2bounce)."),
	P_STR("bounce_notice_recipient", "postmaster",
		"Recipient of bounce copies (notify_classes bounce)."),
	P_STR("double_bounce_sender", "double-bounce",
		"Sender of postmaster notices; mail to it is discarded."),
	P_BOOL("virtual_mailbox_limit_override", "yes",
		 "Use the mailbox's own quota (mailbox.quota) instead of "
		 "virtual_mailbox_limit."),
	/* sender identity, DKIM, policy services (docs/mta.md) */
	P_LIST("smtpd_sender_login_maps", "extmail:",
		 "Who owns which sender address: extmail: (mailboxes and the "
		 "aliases that deliver to them) and/or tables address -> "
		 "logins."),
	P_STR("local_login_sender_maps", "static:*",
	      "Which envelope senders each local Unix user may give to "
	      "youju sendmail: tables login -> sender patterns (*, <>, "
	      "@domain, address).  Senders allowed by name get DKIM "
	      "signatures."),
	P_STR("empty_address_local_login_sender_maps_lookup_key", "<>",
	      "The local_login_sender_maps pattern that allows the null "
	      "sender."),
	P_TIME("smtpd_policy_service_timeout", "100s", 1, HOUR_,
		 "Time limit of one check_policy_service query."),
	P_STR("smtpd_policy_service_default_action",
		"451 4.3.5 Server configuration problem",
		"Action when a policy server cannot be reached or fails."),
	P_LIST("smtpd_sender_authentication", "dkim, spf, dmarc",
		 "Checks on mail from other servers, recorded in "
		 "Authentication-Results: (dkim spf dmarc; empty: none)."),
	P_STR("smtpd_spf_fail_action", "ignore",
		"SPF fail (-all): ignore (only recorded) or reject (550)."),
	P_BOOL("smtpd_dmarc_enforce", "yes",
		 "Apply the sender's DMARC policy: p=reject refused (550), "
		 "p=quarantine marked as spam."),
	P_STR("dmarc_public_suffix_list",
		"/usr/share/publicsuffix/public_suffix_list.dat",
		"The Public Suffix List (text form) for DMARC's "
		"organizational domain; empty: last two labels."),
	P_LIST("smtpd_milters", "",
		 "Milters (inet:host:port, unix:/path) for mail received "
		 "over SMTP."),
	P_LIST("non_smtpd_milters", "",
		 "Milters for mail from the sendmail command (pickup)."),
	P_STR("milter_default_action", "tempfail",
		"When a milter is down, slow or broken: accept, tempfail, "
		"reject or quarantine."),
	P_INT("milter_protocol", "6", 2, 6, "Milter protocol version offered."),
	P_TIME("milter_connect_timeout", "30s", 1, HOUR_,
		 "Time limit for connecting to a milter."),
	P_TIME("milter_command_timeout", "30s", 1, HOUR_,
		 "Time limit for a milter's answer to one command."),
	P_TIME("milter_content_timeout", "300s", 1, HOUR_,
		 "Time limit for sending the message and the milter's "
		 "answer."),
	/* the macros sent to milters at each step (Postfix's defaults) */
	P_STR("milter_connect_macros", "j {daemon_name} {daemon_addr} v _",
		"Macros sent to milters with the connection."),
	P_STR("milter_helo_macros",
		"{tls_version} {cipher} {cipher_bits} {cert_subject} "
		"{cert_issuer}",
		"Macros sent to milters with HELO/EHLO."),
	P_STR("milter_mail_macros",
		"i {auth_type} {auth_authen} {auth_author} {mail_addr} "
		"{mail_host} {mail_mailer}",
		"Macros sent to milters with MAIL FROM."),
	P_STR("milter_rcpt_macros", "i {rcpt_addr} {rcpt_host} {rcpt_mailer}",
		"Macros sent to milters with each RCPT TO."),
	P_STR("milter_data_macros", "i", "Macros sent to milters with DATA."),
	P_STR("milter_end_of_header_macros", "i",
		"Macros sent to milters at the end of the header."),
	P_STR("milter_end_of_data_macros", "i",
		"Macros sent to milters at the end of the message."),
	P_STR("dkim_key_directory", "$config_directory/dkim",
		"DKIM signing keys, DOMAIN.SELECTOR.key (youju dkim keygen)."),
	P_END,
};

static const struct conf_param mra_params[] = {
	P_LIST("imap_listen", "127.0.0.1:2143",
		 "IMAP (STARTTLS) listen addresses, host:port."),
	P_LIST("imaps_listen", "127.0.0.1:2993",
		 "IMAPS (implicit TLS) listen addresses, host:port."),
	P_LIST("pop3_listen", "127.0.0.1:2110",
		 "POP3 (STLS) listen addresses, host:port."),
	P_LIST("pop3s_listen", "127.0.0.1:2995",
		 "POP3S (implicit TLS) listen addresses, host:port."),
	P_LIST("managesieve_listen", "127.0.0.1:24190",
		 "ManageSieve (RFC 5804, STARTTLS) listen addresses, "
		 "host:port (4190 in production)."),
	P_SIZE("sieve_max_script_size", "262144", 1, 262144,
	       "ManageSieve: largest script PUTSCRIPT accepts, bytes (at "
	       "most 256 KiB, the parser's limit; Pigeonhole's name)."),
	P_INT("sieve_quota_max_scripts", "20", 0, 100000,
	      "ManageSieve: scripts per mailbox, 0 no limit (Pigeonhole's "
	      "name)."),
	P_BOOL("imap_login_disabled_without_tls", "yes",
		 "Refuse IMAP and POP3 plain-text logins without TLS, except "
		 "from the server's own address (Dovecot's "
		 "disable_plaintext_auth)."),
	P_TIME("imap_autologout", "30m", 60, DAY_,
		 "Idle time after which a session is closed."),
	P_INT("mra_max_userip_connections", "10", 1, 100000,
		"Most IMAP (and, separately, POP3) sessions of one user "
		"from one IP (Dovecot's mail_max_userip_connections)."),
	P_INT("mra_client_connection_count_limit", "1000", 0, 1000000,
		"Most connections from one IP, any state; 0: no limit."),
	P_TIME("mra_output_timeout", "60s", 1, HOUR_,
		 "A client that takes none of its queued output for this "
		 "long is disconnected."),
	P_INT("mra_process_count", "0", 0, 64,
		"Worker processes serving POP3 and IMAP; 0: one per online "
		"CPU."),
	P_END,
};

static const struct conf_param webmail_params[] = {
	P_LIST("webmail_listen", "127.0.0.1:8080",
		 "Webmail HTTP listen addresses, host:port."),
	P_STR("webmail_htdocs", "",
		"Webmail's static files (empty: htdocs/webmail of the "
		"checkout, else of the installed share directory)."),
	P_STR("webmail_access_log", "$youju_home/log/webmail_access.log",
		"One line per HTTP request (empty: in the mail log)."),
	P_TIME("webmail_session_idle_timeout", "30m", 60, DAY_,
		"A webmail session ends after this long without a request."),
	P_TIME("webmail_session_lifetime", "12h", 60, 30 * DAY_,
		"A webmail session ends this long after login."),
	P_INT("webmail_sessions_max", "10000", 1, 1000000,
		"Webmail sessions held at once (the oldest goes)."),
	P_INT("webmail_threads", "2", 1, 64,
		"HTTP threads (libmicrohttpd's epoll thread pool)."),
	P_INT("webmail_workers", "4", 1, 256,
		"Threads running the API requests (Maildir, authd, MTA)."),
	P_INT("webmail_connections_per_ip", "32", 1, 100000,
		"Open HTTP connections per client address."),
	P_INT("webmail_page_size", "50", 5, 500,
		"Messages per page of GET /api/messages."),
	P_INT("webmail_html_processes", "2", 1, 16,
		"Helper processes sanitizing message HTML (lib/htmlsan_pool)."),
	P_INT("webmail_html_timeout_ms", "5000", 1, 60000,
		"Time one message's HTML may take to sanitize; then the "
		"helper is killed and the text part is shown."),
	P_SIZE("webmail_html_memory_limit", "1073741824", 64 * 1048576,
		TIB_, "Address space of an HTML helper (RLIMIT_AS)."),
	P_BOOL("webmail_test_unsanitized_html", "no",
		"TEST ONLY: serve message HTML without the sanitizer, to show "
		"that the sandbox and CSP hold alone; ignored (with a warning) "
		"unless the binary is a sanitizer (ASan) test build."),
	P_INT("webmail_password_min_length", "8", 1, 128,
		"Shortest new password accepted by POST /api/password."),
	P_STR("webmail_popfetch_key_file",
		"$config_directory/webmail-popfetch.key",
		"Key (made at the first start, mode 0600) that encrypts the "
		"passwords of POP3 fetch accounts."),
	P_BOOL("webmail_popfetch_allow_private", "no",
		"Let POP3 fetch connect to loopback and private addresses "
		"on any port (testing, intranets); off: public addresses, "
		"ports 110 and 995 only."),
	P_END,
};

static const struct conf_param webadmin_params[] = {
	P_LIST("webadmin_listen", "127.0.0.1:8081",
		 "Webadmin HTTP listen addresses, host:port."),
	P_STR("webadmin_mysql_user", "webman", "MySQL user of webadmin."),
	P_STR("webadmin_mysql_password_file",
		"$config_directory/secrets/mysql-webman",
		"File holding webadmin_mysql_user's password."),
	P_STR("webadmin_htdocs", "",
		"The console's static files (empty: htdocs/webadmin of the "
		"checkout, else of the installed share directory)."),
	P_STR("webadmin_access_log", "$youju_home/log/webadmin_access.log",
		"One line per HTTP request (empty: in the mail log)."),
	P_TIME("webadmin_session_idle_timeout", "30m", 60, DAY_,
		"A console session ends after this long without a request."),
	P_TIME("webadmin_session_lifetime", "12h", 60, 30 * DAY_,
		"A console session ends this long after login."),
	P_SIZE("webadmin_body_limit", "1048576", 1024, 256 * 1048576,
		"Largest request body in bytes (413 beyond)."),
	P_INT("webadmin_threads", "2", 1, 64,
		"HTTP threads (libmicrohttpd's epoll thread pool)."),
	P_INT("webadmin_workers", "4", 1, 256,
		"Threads running the API requests (SQL, password hashing)."),
	P_INT("webadmin_pool_size", "4", 1, 256,
		"Database connections of youju-webadmin."),
	P_INT("webadmin_connections_per_ip", "32", 1, 100000,
		"Open HTTP connections per client address."),
	P_INT("webadmin_failure_limit_user", "10", 0, 100000,
		"Failed console logins of one account before a lockout "
		"(0: no limit)."),
	P_INT("webadmin_failure_limit_client", "30", 0, 100000,
		"Failed console logins from one address before a lockout "
		"(0: no limit)."),
	P_TIME("webadmin_lockout_time", "10m", 1, DAY_,
		"How long a throttled account or address is refused; also "
		"the window failures are counted in."),
	P_BOOL("webadmin_check_expiry", "yes",
		"Refuse console logins of managers past their expiredate."),
	P_STR("webadmin_groupmail_sender", "postmaster@$mydomain",
		"From: of group mail sent from the console (an address, or "
		"Name <address>)."),
	P_BOOL("webadmin_tls", "no",
		"Serve HTTPS with smtpd_tls_cert_file and smtpd_tls_key_file "
		"(libmicrohttpd's GnuTLS) instead of plain HTTP."),
	P_BOOL("webadmin_signup", "no",
		"Let people make mailboxes in domains with can_signup "
		"(POST /api/self/signup)."),
	P_END,
};

static const struct conf_param mailgraph_params[] = {
	P_STR("mailgraph_rrd_directory", "$youju_home/rrd",
		"Where youju-mailgraph keeps its RRD files (mailgraph_ext's "
		"names; per-domain files under domain/)."),
	P_BOOL("mailgraph_domains", "yes",
		 "Also keep per-domain RRD files for the hosted domains "
		 "(those with a directory under virtual_mailbox_base)."),
	P_END,
};

static const struct conf_table common_table = { "common", common_params };
static const struct conf_table authd_table = { "authd", authd_params };
static const struct conf_table mta_table = { "mta", mta_params };
static const struct conf_table mra_table = { "mra", mra_params };
static const struct conf_table webmail_table = { "webmail", webmail_params };
static const struct conf_table webadmin_table = { "webadmin",
						   webadmin_params };
static const struct conf_table mailgraph_table = { "mailgraph",
						    mailgraph_params };

const struct conf_table *const conf_all_tables[] = {
	&common_table, &authd_table, &mta_table, &mra_table,
	&webmail_table, &webadmin_table, &mailgraph_table, NULL,
};

static const struct conf_table *const common_only[] = {
	&common_table, NULL,
};
static const struct conf_table *const authd_tables[] = {
	&common_table, &authd_table, NULL,
};
static const struct conf_table *const mta_tables[] = {
	&common_table, &mta_table, NULL,
};
static const struct conf_table *const mra_tables[] = {
	&common_table, &mra_table, NULL,
};
/* webmail also reads youju-mta's sendmail_socket and message_size_limit */
static const struct conf_table *const webmail_tables[] = {
	&common_table, &webmail_table, &mta_table, NULL,
};
/* webadmin also reads youju-mta's sendmail_socket (group mail) and
   youju-mailgraph's RRD directory (graphs) */
static const struct conf_table *const webadmin_tables[] = {
	&common_table, &webadmin_table, &mta_table, &mailgraph_table, NULL,
};

static const struct conf_table *const mailgraph_tables[] = {
	&common_table, &mailgraph_table, NULL,
};

static const struct {
	const char *program;
	const struct conf_table *const *tables;
} params_by_program[] = {
	{ "common", common_only },
	{ "authd", authd_tables },
	{ "mta", mta_tables },
	{ "mra", mra_tables },
	{ "webmail", webmail_tables },
	{ "webadmin", webadmin_tables },
	{ "mailgraph", mailgraph_tables },
};

/* clang-format on */

const struct conf_table *const *conf_tables_for(const char *program)
{
	size_t n = sizeof params_by_program / sizeof params_by_program[0];
	for (size_t i = 0; i < n; i++)
		if (strcmp(params_by_program[i].program, program) == 0)
			return params_by_program[i].tables;
	return NULL;
}
