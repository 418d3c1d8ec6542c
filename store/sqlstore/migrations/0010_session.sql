-- sessions, refresh-token families, access-token revocations
CREATE TABLE ssokit_sessions (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL,
  user_id TEXT NOT NULL,
  org_id TEXT NOT NULL,
  connection_id TEXT NOT NULL,
  method TEXT NOT NULL,
  roles TEXT NOT NULL,
  mfa BOOLEAN NOT NULL,
  mfa_at BIGINT NOT NULL,
  auth_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  idle_timeout BIGINT NOT NULL,
  ip TEXT NOT NULL,
  user_agent TEXT NOT NULL,
  idp_session_index TEXT NOT NULL
);
CREATE UNIQUE INDEX ssokit_sessions_token_hash ON ssokit_sessions (token_hash);
CREATE INDEX ssokit_sessions_user ON ssokit_sessions (user_id, created_at, id);
CREATE INDEX ssokit_sessions_expires ON ssokit_sessions (expires_at);
CREATE TABLE ssokit_token_families (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT NOT NULL
);
CREATE INDEX ssokit_token_families_user ON ssokit_token_families (user_id);
CREATE INDEX ssokit_token_families_session ON ssokit_token_families (session_id);
CREATE INDEX ssokit_token_families_expires ON ssokit_token_families (expires_at);
CREATE TABLE ssokit_refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  family_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  org_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  roles TEXT NOT NULL,
  scopes TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT NOT NULL
);
CREATE INDEX ssokit_refresh_tokens_family ON ssokit_refresh_tokens (family_id);
CREATE TABLE ssokit_revocations (
  subject TEXT PRIMARY KEY,
  revoked_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX ssokit_revocations_expires ON ssokit_revocations (expires_at);
