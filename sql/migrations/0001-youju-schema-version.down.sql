-- 0001 down: remove youju's bookkeeping table.  After "db-migrate.sh down
-- 0" the database holds only ExtMail's tables again, as ExtMail left them.
DROP TABLE IF EXISTS youju_schema_version;
