-- youju demo data: the rows of ExtMail's extman/docs/init.sql.
--
-- Load it after sql/schema.sql:
--     mariadb extmail < sql/init.sql
-- INSERT IGNORE makes a second run a no-op (rows that exist are kept as
-- they are, even if changed since).
--
-- Accounts (clear-text passwords as ExtMail documented them):
--     mailbox postmaster@extmail.org   password: extmail
--     manager root@extmail.org         password: extmail*123*   (type admin)
-- Both are stored as MD5-crypt ($1$), as ExtMan writes them.  Change them
-- before exposing an instance to anyone.
--
-- The rows are positional, as in ExtMail's file, so this also checks that
-- the column order of schema.sql is ExtMail's.
--
-- The dates are ExtMail's: the domain and mailbox "expire" on
-- 2010-11-08.  The manager's expiredate is '0000-00-00' (never) instead:
-- youju-webadmin enforces manager expiry (webadmin_check_expiry), and
-- the demo administrator must be able to log in.  Mailbox expiry is
-- enforced by youju-authd only with authd_check_expiry (off by default;
-- ExtMan only had a cron script, expireusers.pl), so the demo mailbox
-- works.
-- ExtMail's init.sql has no domain_manager rows (root is an 'admin', who
-- manages every domain), and neither does this file.

SET NAMES utf8mb4;

-- domain, description, hashdirpath, maxalias, maxusers, maxquota,
-- maxnetdiskquota, transport, can_signup, default_quota,
-- default_netdiskquota, default_expire, disablesmtpd, disablesmtp,
-- disablewebmail, disablenetdisk, disableimap, disablepop3, createdate,
-- expiredate, active
INSERT IGNORE INTO domain VALUES (
	'extmail.org', 'virtualDomain for extmail.org', 'A0/B0',
	50, 50, '1073741824', '1073741824', NULL, 1,
	'5242880', '5242880', '1y',
	0, 0, 0, 0, 1, 0,
	'2007-02-14 15:10:04', '2010-11-08', 1);

-- username, uid, password, clearpwd, name, mailhost, maildir, homedir,
-- quota, netdiskquota, domain, uidnumber, gidnumber, createdate,
-- expiredate, active, disablepwdchange, disablesmtpd, disablesmtp,
-- disablewebmail, disablenetdisk, disableimap, disablepop3, question,
-- answer
INSERT IGNORE INTO mailbox VALUES (
	'postmaster@extmail.org', 'postmaster',
	'$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0', '', 'PostMaster', '',
	'extmail.org/postmaster/Maildir/', 'extmail.org/postmaster',
	'104857600S', '52428800S', 'extmail.org', 1000, 1000,
	'2007-02-14 15:10:04', '2010-11-08', 1,
	0, 0, 0, 0, 0, 0, 0,
	'my question', 'my answer');

-- address, goto, domain, createdate, active
INSERT IGNORE INTO alias VALUES (
	'support@extmail.org', 'postmaster@extmail.org', 'extmail.org',
	'2007-02-14 15:10:04', 1);

-- username, password, type, uid, name, question, answer,
-- disablepwdchange, createdate, expiredate, active
INSERT IGNORE INTO manager VALUES (
	'root@extmail.org', '$1$BrT9qxfB$Ha81Mb5YVV6rNKNN5jmtj1', 'admin',
	'root', 'Super User', 'my question', 'my answer', 0,
	'2007-02-14 15:10:04', '0000-00-00', 1);
