-- 0010: youju-webadmin's audit log and API tokens (issue 11).
--
-- youju_audit: one row per change made through webadmin, written in the
-- change's own transaction.  before_json/after_json hold the object as
-- the API shows it (never password hashes or recovery answers); domain is
-- the domain the object belongs to, so a postmaster reads its own rows.
--
-- youju_api_token: tokens for scripts (Authorization: Bearer).  Only the
-- SHA-256 of a token is stored; the token itself is shown once, when made.
CREATE TABLE IF NOT EXISTS youju_audit (
	id bigint unsigned NOT NULL AUTO_INCREMENT,
	ts datetime NOT NULL,
	username varchar(255) NOT NULL DEFAULT '',
	ip varchar(64) NOT NULL DEFAULT '',
	action varchar(64) NOT NULL DEFAULT '',
	object varchar(255) NOT NULL DEFAULT '',
	domain varchar(255) NOT NULL DEFAULT '',
	before_json mediumtext NULL,
	after_json mediumtext NULL,
	PRIMARY KEY (id),
	KEY youju_audit_ts (ts),
	KEY youju_audit_domain (domain),
	KEY youju_audit_object (object)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS youju_api_token (
	id bigint unsigned NOT NULL AUTO_INCREMENT,
	username varchar(255) NOT NULL,
	name varchar(64) NOT NULL DEFAULT '',
	token_hash char(64) NOT NULL,
	createdate datetime NOT NULL,
	lastused datetime NULL,
	PRIMARY KEY (id),
	UNIQUE KEY youju_api_token_hash (token_hash),
	KEY youju_api_token_user (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
