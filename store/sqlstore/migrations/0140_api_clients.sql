-- API clients: machine identities of organizations (client credentials, token exchange)
CREATE TABLE ssokit_api_clients (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  name TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  prev_secret_hash TEXT NOT NULL,
  prev_expires_at BIGINT NOT NULL,
  scopes TEXT NOT NULL,
  exchange BOOLEAN NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  disabled_at BIGINT NOT NULL
);
CREATE INDEX ssokit_api_clients_org ON ssokit_api_clients (org_id, created_at, id);
