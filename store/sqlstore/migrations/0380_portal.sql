-- portal: setup links (only their token hash), portal sessions (only their
-- cookie hash) and the form tokens a session has submitted, so that every
-- replica sees the same links and sessions.
CREATE TABLE IF NOT EXISTS ssokit_portal_links (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  sections TEXT NOT NULL,
  created_by_type TEXT NOT NULL,
  created_by_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT NOT NULL,
  revoked_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS ssokit_portal_links_org ON ssokit_portal_links (org_id, created_at);
CREATE TABLE IF NOT EXISTS ssokit_portal_sessions (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  org_id TEXT NOT NULL,
  actor_type TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  link_id TEXT NOT NULL,
  sections TEXT NOT NULL,
  csrf TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS ssokit_portal_sessions_expiry ON ssokit_portal_sessions (expires_at);
CREATE TABLE IF NOT EXISTS ssokit_portal_forms (
  session_id TEXT NOT NULL,
  token TEXT NOT NULL,
  location TEXT NOT NULL,
  PRIMARY KEY (session_id, token)
);
