-- emailcode: sign-in challenges (code, link and browser nonce as SHA-256 only) and windowed counters
CREATE TABLE IF NOT EXISTS ssokit_email_challenges (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL,
  user_id TEXT NOT NULL,
  code_hash TEXT NOT NULL,
  link_hash TEXT NOT NULL UNIQUE,
  browser_hash TEXT NOT NULL,
  org TEXT NOT NULL,
  return_to TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS ssokit_email_challenges_email ON ssokit_email_challenges (email);
CREATE INDEX IF NOT EXISTS ssokit_email_challenges_expires ON ssokit_email_challenges (expires_at);
CREATE TABLE IF NOT EXISTS ssokit_email_counters (
  key TEXT PRIMARY KEY,
  n INTEGER NOT NULL,
  window_start BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS ssokit_email_counters_start ON ssokit_email_counters (window_start);
-- the account lookup of an email sign-in: verified users by address
CREATE INDEX IF NOT EXISTS ssokit_users_email_verified ON ssokit_users (email_lower, created_at, id);
