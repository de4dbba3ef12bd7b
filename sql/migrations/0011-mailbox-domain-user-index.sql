-- 0011: index mailbox (domain, username) for webadmin's paged lists.
--
-- youju-webadmin pages a domain's mailboxes by address ("the 50 after
-- user050000@example.com").  The domain index of 0002 holds the primary
-- key too, but MariaDB 10.11 plans "domain = ? AND username > ?" on it as
-- a lookup of the whole domain (a scan of up to every mailbox); on this
-- two-column index the same condition is a range of 50 entries.  The
-- queries name the index (FORCE INDEX), so its name is part of the
-- contract.  Like 0002, it does not change the column list.
ALTER TABLE mailbox ADD KEY youju_domain_user (domain, username);
