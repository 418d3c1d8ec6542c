-- saml: the paths of connections' own ACS, SLO and metadata URLs, one row
-- per path, so that the primary key keeps two connections from claiming
-- one path even when they are saved at the same moment on two replicas.
CREATE TABLE IF NOT EXISTS ssokit_saml_endpoint_paths (
  path TEXT PRIMARY KEY,
  connection_id TEXT NOT NULL,
  claimed_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS ssokit_saml_endpoint_paths_conn ON ssokit_saml_endpoint_paths (connection_id);
