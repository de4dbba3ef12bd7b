-- 0001: youju's migration bookkeeping table.
--
-- One row per applied migration (sql/migrations/NNNN-name.sql), written by
-- scripts/db-migrate.sh after the migration's SQL succeeded.  The tool
-- creates this table itself before it looks at anything else (it has to
-- read it), so this file only documents it and records version 1; it is
-- written to be harmless when the table already exists.
CREATE TABLE IF NOT EXISTS youju_schema_version (
	version int NOT NULL,
	name varchar(255) NOT NULL DEFAULT '',
	applied_at datetime DEFAULT NULL,
	PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
  COMMENT='youju - applied schema migrations';
