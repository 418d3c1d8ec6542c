-- session: the memberships' update time is indexed, so that the session
-- reconcile (ListStaleSessions) reads only the memberships changed since
-- its last pass.
CREATE INDEX IF NOT EXISTS ssokit_memberships_updated ON ssokit_memberships (updated_at);
