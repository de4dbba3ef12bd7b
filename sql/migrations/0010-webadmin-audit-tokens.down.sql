-- 0010 down: drop webadmin's audit log and API tokens.
DROP TABLE IF EXISTS youju_api_token;
DROP TABLE IF EXISTS youju_audit;
