-- oidc: login flows (state hash -> PKCE verifier, nonce, binding) and the back-channel logout replay cache
CREATE TABLE oidc_flows (
	id TEXT PRIMARY KEY,
	browser_hash TEXT NOT NULL,
	connection_id TEXT NOT NULL,
	org_id TEXT NOT NULL,
	issuer TEXT NOT NULL,
	redirect_uri TEXT NOT NULL,
	verifier TEXT NOT NULL,
	nonce TEXT NOT NULL,
	return_to TEXT NOT NULL,
	test BOOLEAN NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX oidc_flows_expires ON oidc_flows (expires_at);
CREATE TABLE oidc_replay (
	replay_key TEXT PRIMARY KEY,
	expires_at BIGINT NOT NULL
);
CREATE INDEX oidc_replay_expires ON oidc_replay (expires_at);
