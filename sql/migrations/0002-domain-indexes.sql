-- 0002: index mailbox.domain and alias.domain.
--
-- ExtMail indexes only the name columns, so "all mailboxes / aliases of a
-- domain" (webadmin lists, quota budgets, domain deletion checks) scans
-- the whole table.  Indexes do not change the column list, so positional
-- INSERTs from old dumps still load.  The names carry a youju_ prefix so
-- that an index an operator added by hand (often called "domain") does not
-- clash; a second index on the same column only costs some disk space.
ALTER TABLE mailbox ADD KEY youju_domain (domain);
ALTER TABLE alias ADD KEY youju_domain (domain);
