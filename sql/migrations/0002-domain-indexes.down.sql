-- 0002 down: drop the domain indexes again.
ALTER TABLE mailbox DROP KEY youju_domain;
ALTER TABLE alias DROP KEY youju_domain;
