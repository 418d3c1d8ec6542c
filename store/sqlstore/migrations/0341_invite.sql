-- invite: invitations (token as SHA-256 only), auto-join policies and join requests
CREATE TABLE IF NOT EXISTS ssokit_invitations (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  email TEXT NOT NULL,
  roles TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  invited_by TEXT NOT NULL,
  accepted_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS ssokit_invitations_org ON ssokit_invitations (org_id, created_at);
CREATE TABLE IF NOT EXISTS ssokit_auto_join (
  org_id TEXT PRIMARY KEY,
  mode TEXT NOT NULL,
  role TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS ssokit_join_requests (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  email TEXT NOT NULL,
  role TEXT NOT NULL,
  status TEXT NOT NULL,
  decided_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS ssokit_join_requests_org ON ssokit_join_requests (org_id, status, created_at);
CREATE UNIQUE INDEX IF NOT EXISTS ssokit_join_requests_pending ON ssokit_join_requests (org_id, user_id) WHERE status = 'pending';
