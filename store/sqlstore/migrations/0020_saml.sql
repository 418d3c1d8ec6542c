-- saml: outstanding AuthnRequests, the assertion replay cache, cached IdP metadata
CREATE TABLE IF NOT EXISTS saml_requests (
  id TEXT PRIMARY KEY,
  connection_id TEXT NOT NULL,
  binding_hash TEXT NOT NULL,
  return_to TEXT NOT NULL,
  test BOOLEAN NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS saml_requests_expires ON saml_requests (expires_at);
CREATE TABLE IF NOT EXISTS saml_replay (
  issuer TEXT NOT NULL,
  assertion_id TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (issuer, assertion_id)
);
CREATE INDEX IF NOT EXISTS saml_replay_expires ON saml_replay (expires_at);
CREATE TABLE IF NOT EXISTS saml_metadata (
  connection_id TEXT PRIMARY KEY,
  xml TEXT NOT NULL,
  fetched_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  last_error TEXT NOT NULL,
  failures INTEGER NOT NULL
);
