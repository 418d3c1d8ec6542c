-- password: credentials (argon2id PHC strings), single-use email tokens (SHA-256 only), throttle counters
CREATE TABLE IF NOT EXISTS ssokit_password_credentials (
  user_id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  hash TEXT NOT NULL,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS ssokit_password_tokens (
  hash TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  user_id TEXT NOT NULL,
  email TEXT NOT NULL,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS ssokit_password_tokens_user ON ssokit_password_tokens (user_id, kind);
CREATE INDEX IF NOT EXISTS ssokit_password_tokens_expires ON ssokit_password_tokens (expires_at);
CREATE TABLE IF NOT EXISTS ssokit_password_throttle (
  key TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  last_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS ssokit_password_throttle_last ON ssokit_password_throttle (last_at);
