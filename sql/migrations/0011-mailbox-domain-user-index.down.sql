-- 0011 down: drop the (domain, username) index again.
ALTER TABLE mailbox DROP KEY youju_domain_user;
