-- mfa: TOTP factors, recovery codes, failure counters, WebAuthn credentials and ceremonies
CREATE TABLE mfa_totp (
	user_id TEXT PRIMARY KEY,
	secret TEXT NOT NULL,
	active BOOLEAN NOT NULL,
	last_step BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	confirmed_at BIGINT NOT NULL,
	last_used_at BIGINT NOT NULL
);
CREATE TABLE mfa_recovery_codes (
	user_id TEXT NOT NULL,
	hash TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	used_at BIGINT NOT NULL,
	PRIMARY KEY (user_id, hash)
);
CREATE TABLE mfa_attempts (
	user_id TEXT PRIMARY KEY,
	failures INTEGER NOT NULL,
	last_failure_at BIGINT NOT NULL,
	locked_until BIGINT NOT NULL
);
CREATE TABLE mfa_webauthn_credentials (
	seq INTEGER PRIMARY KEY AUTOINCREMENT, -- sqlite
	seq BIGSERIAL PRIMARY KEY, -- postgres
	id TEXT NOT NULL UNIQUE,
	user_id TEXT NOT NULL,
	name TEXT NOT NULL,
	data TEXT NOT NULL,
	sign_count BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	last_used_at BIGINT NOT NULL
);
CREATE INDEX mfa_webauthn_credentials_user ON mfa_webauthn_credentials (user_id, seq);
CREATE TABLE mfa_ceremonies (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	session_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	data TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX mfa_ceremonies_expires ON mfa_ceremonies (expires_at);
