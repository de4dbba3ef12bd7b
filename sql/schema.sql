-- youju database schema: the ExtMail tables.
--
-- These are the five tables of ExtMail 1.2 / ExtMan 1.1 (extman/docs/extmail.sql):
-- domain, mailbox, alias, manager, domain_manager.  Column names, types,
-- defaults and ORDER are ExtMail's, unchanged: old init.sql files and
-- mysqldump output insert rows positionally ("INSERT INTO mailbox VALUES
-- (...)" without a column list), so a column must never be moved, and
-- youju's own additions go in new tables or after the last ExtMail column,
-- always through sql/migrations/ (see docs/database.md).
--
-- Load it into an existing, empty database, e.g.:
--     mariadb -e 'CREATE DATABASE extmail CHARACTER SET utf8mb4'
--     mariadb extmail < sql/schema.sql
--     scripts/db-migrate.sh up -- extmail
-- It uses CREATE TABLE IF NOT EXISTS, so running it again is harmless (it
-- never alters a table that already exists).
--
-- Deliberate differences from ExtMail's file:
--   * ENGINE=InnoDB instead of TYPE=MyISAM: crash-safe and transactional,
--     row locks instead of table locks.  ExtMail relied on nothing
--     MyISAM-specific.
--   * DEFAULT CHARSET=utf8mb4: ExtMail declared none (latin1 on most servers).
--     varchar(255) keys are 1020 bytes in utf8mb4; InnoDB's DYNAMIC row
--     format (the default) allows 3072-byte keys.
--   * No CREATE DATABASE, no MySQL accounts, no GRANTs: the instance
--     scripts (or the operator) create those; see docs/database.md.
--   * Indexes on mailbox.domain and alias.domain are added by migration
--     0002, not here, so that databases taken over from ExtMail get them too.
--
-- Dates: ExtMail uses '0000-00-00' for "never" and zero createdates.  The
-- server's sql_mode must not contain NO_ZERO_DATE or NO_ZERO_IN_DATE when
-- rows use these defaults.  MariaDB 10.11's default sql_mode
-- (STRICT_TRANS_TABLES, ERROR_FOR_DIVISION_BY_ZERO, NO_AUTO_CREATE_USER,
-- NO_ENGINE_SUBSTITUTION) is fine.  The tables themselves are created with
-- a known sql_mode below, so this file also loads on servers that enable
-- NO_ZERO_DATE (MySQL 5.7 and later).
--
-- "text NOT NULL DEFAULT ''" needs MariaDB >= 10.2.1.

SET @youju_saved_sql_mode = @@SESSION.sql_mode;
SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

-- ExtMan administrators.  type is 'admin' (super administrator) or
-- 'postmaster' (domain administrator, see domain_manager).
CREATE TABLE IF NOT EXISTS manager (
	username varchar(255) NOT NULL DEFAULT '',
	password varchar(255) NOT NULL DEFAULT '',
	type varchar(64) NOT NULL DEFAULT 'postmaster',
	uid varchar(255) NOT NULL DEFAULT '',
	name varchar(255) NOT NULL DEFAULT '',
	question text NOT NULL DEFAULT '',
	answer text NOT NULL DEFAULT '',
	disablepwdchange smallint(1),
	createdate datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
	expiredate date NOT NULL DEFAULT '0000-00-00',
	active tinyint(1) NOT NULL DEFAULT '1',
	PRIMARY KEY (username),
	KEY username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
  COMMENT='Ext/Webman - Admin Accounts';

-- Virtual aliases.  address '@domain' is a catch-all; goto is a
-- comma-separated list of destinations.
CREATE TABLE IF NOT EXISTS alias (
	address varchar(255) NOT NULL DEFAULT '',
	goto text NOT NULL,
	domain varchar(255) NOT NULL DEFAULT '',
	createdate datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
	active tinyint(1) NOT NULL DEFAULT '1',
	PRIMARY KEY (address),
	KEY address (address)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
  COMMENT='ExtMail - Virtual Aliases';

-- Virtual domains.  maxquota/maxnetdiskquota are byte strings (may end in
-- 'S'); 0 means unlimited.  The disable* columns are the service template
-- new mailboxes inherit; NULL counts as 0.
CREATE TABLE IF NOT EXISTS domain (
	domain varchar(255) NOT NULL DEFAULT '',
	description varchar(255) NOT NULL DEFAULT '',
	hashdirpath varchar(255) NOT NULL DEFAULT '',
	maxalias int(10) NOT NULL DEFAULT '0',
	maxusers int(10) NOT NULL DEFAULT '0',
	maxquota varchar(16) NOT NULL DEFAULT '0',
	maxnetdiskquota varchar(16) NOT NULL DEFAULT '0',
	transport varchar(255) DEFAULT NULL,
	can_signup tinyint(1) NOT NULL DEFAULT '0',
	default_quota varchar(255) DEFAULT NULL,
	default_netdiskquota varchar(255) DEFAULT NULL,
	default_expire varchar(12) DEFAULT NULL,
	disablesmtpd smallint(1),
	disablesmtp smallint(1),
	disablewebmail smallint(1),
	disablenetdisk smallint(1),
	disableimap smallint(1),
	disablepop3 smallint(1),
	createdate datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
	expiredate date NOT NULL DEFAULT '0000-00-00',
	active tinyint(1) NOT NULL DEFAULT '1',
	PRIMARY KEY (domain),
	KEY domain (domain)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
  COMMENT='ExtMail - Virtual Domains';

-- Which domains a 'postmaster' manager administers: one row per domain.
-- ExtMail gives this table no primary key; kept that way.
CREATE TABLE IF NOT EXISTS domain_manager (
	username varchar(255) NOT NULL DEFAULT '',
	domain varchar(255) NOT NULL DEFAULT '',
	createdate datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
	active tinyint(1) NOT NULL DEFAULT '1',
	KEY username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
  COMMENT='Ext/Webman - Domain Admins';

-- Virtual mailboxes.  username is the full address and the login.
-- maildir ('domain/user/Maildir/') and homedir ('domain/user') are relative
-- to virtual_mailbox_base.  quota/netdiskquota are Maildir++ strings such
-- as '104857600S' (the 'S' may be missing; 0 means unlimited).  The
-- disable* flags: 1 = disabled, 0 or NULL = allowed.
CREATE TABLE IF NOT EXISTS mailbox (
	username varchar(255) NOT NULL DEFAULT '',
	uid varchar(255) NOT NULL DEFAULT '',
	password varchar(255) NOT NULL DEFAULT '',
	clearpwd varchar(128) NOT NULL DEFAULT '',
	name varchar(255) NOT NULL DEFAULT '',
	mailhost varchar(255) NOT NULL DEFAULT '',
	maildir varchar(255) NOT NULL DEFAULT '',
	homedir varchar(255) NOT NULL DEFAULT '',
	quota varchar(16) NOT NULL DEFAULT '0',
	netdiskquota varchar(16) NOT NULL DEFAULT '0',
	domain varchar(255) NOT NULL DEFAULT '',
	uidnumber int(6) NOT NULL DEFAULT '1000',
	gidnumber int(6) NOT NULL DEFAULT '1000',
	createdate datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
	expiredate date NOT NULL DEFAULT '0000-00-00',
	active smallint(1) NOT NULL DEFAULT '1',
	disablepwdchange smallint(1),
	disablesmtpd smallint(1),
	disablesmtp smallint(1),
	disablewebmail smallint(1),
	disablenetdisk smallint(1),
	disableimap smallint(1),
	disablepop3 smallint(1),
	question text NOT NULL DEFAULT '',
	answer text NOT NULL DEFAULT '',
	PRIMARY KEY (username),
	KEY username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
  COMMENT='ExtMail - Virtual Mailboxes';

SET SESSION sql_mode = @youju_saved_sql_mode;
