-- One row per user and organization that logs in with a session limit, on
-- PostgreSQL only (SQLite runs one writer at a time). Every login there
-- updates its row first and holds the row's lock until it commits, so two
-- logins of one user never count the sessions past the limit each without
-- the other's: a later one sees the earlier's session, and the one-statement
-- login detects from n that another committed meanwhile and takes the locked
-- path instead. Rows are never deleted: a recreated row could restart n at a
-- value a login read before.
CREATE TABLE ssokit_session_heads ( -- postgres
  user_id TEXT NOT NULL, -- postgres
  org_id TEXT NOT NULL, -- postgres
  n BIGINT NOT NULL, -- postgres
  PRIMARY KEY (user_id, org_id) -- postgres
); -- postgres
