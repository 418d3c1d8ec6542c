-- passkey: discoverable WebAuthn credentials used to sign in, and their ceremonies
CREATE TABLE IF NOT EXISTS ssokit_passkeys (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  name TEXT NOT NULL,
  data TEXT NOT NULL,
  sign_count BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS ssokit_passkeys_user ON ssokit_passkeys (user_id, created_at);
CREATE TABLE IF NOT EXISTS ssokit_passkey_ceremonies (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  data TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
