-- prefix: every table the store owns carries ssokit_, so the store can share a host application's database.
-- Renames keep the rows; the statements run in the migration's transaction.
ALTER TABLE saml_requests RENAME TO ssokit_saml_requests;
ALTER TABLE saml_replay RENAME TO ssokit_saml_replay;
ALTER TABLE saml_metadata RENAME TO ssokit_saml_metadata;
ALTER TABLE oidc_flows RENAME TO ssokit_oidc_flows;
ALTER TABLE oidc_replay RENAME TO ssokit_oidc_replay;
ALTER TABLE mfa_totp RENAME TO ssokit_mfa_totp;
ALTER TABLE mfa_recovery_codes RENAME TO ssokit_mfa_recovery_codes;
ALTER TABLE mfa_attempts RENAME TO ssokit_mfa_attempts;
ALTER TABLE mfa_webauthn_credentials RENAME TO ssokit_mfa_webauthn_credentials;
ALTER TABLE mfa_ceremonies RENAME TO ssokit_mfa_ceremonies;
-- SQLite cannot rename an index: drop and re-create it under the new name
-- (its sqlite_autoindex_* and sqlite_sequence entries follow the table).
DROP INDEX saml_requests_expires; -- sqlite
CREATE INDEX ssokit_saml_requests_expires ON ssokit_saml_requests (expires_at); -- sqlite
DROP INDEX saml_replay_expires; -- sqlite
CREATE INDEX ssokit_saml_replay_expires ON ssokit_saml_replay (expires_at); -- sqlite
DROP INDEX oidc_flows_expires; -- sqlite
CREATE INDEX ssokit_oidc_flows_expires ON ssokit_oidc_flows (expires_at); -- sqlite
DROP INDEX oidc_replay_expires; -- sqlite
CREATE INDEX ssokit_oidc_replay_expires ON ssokit_oidc_replay (expires_at); -- sqlite
DROP INDEX mfa_webauthn_credentials_user; -- sqlite
CREATE INDEX ssokit_mfa_webauthn_credentials_user ON ssokit_mfa_webauthn_credentials (user_id, seq); -- sqlite
DROP INDEX mfa_ceremonies_expires; -- sqlite
CREATE INDEX ssokit_mfa_ceremonies_expires ON ssokit_mfa_ceremonies (expires_at); -- sqlite
-- PostgreSQL renames in place: indexes, the constraints (with their
-- indexes) it named after the tables, and the BIGSERIAL sequence, which the
-- column default references by OID.
ALTER INDEX saml_requests_expires RENAME TO ssokit_saml_requests_expires; -- postgres
ALTER INDEX saml_replay_expires RENAME TO ssokit_saml_replay_expires; -- postgres
ALTER INDEX oidc_flows_expires RENAME TO ssokit_oidc_flows_expires; -- postgres
ALTER INDEX oidc_replay_expires RENAME TO ssokit_oidc_replay_expires; -- postgres
ALTER INDEX mfa_webauthn_credentials_user RENAME TO ssokit_mfa_webauthn_credentials_user; -- postgres
ALTER INDEX mfa_ceremonies_expires RENAME TO ssokit_mfa_ceremonies_expires; -- postgres
ALTER TABLE ssokit_saml_requests RENAME CONSTRAINT saml_requests_pkey TO ssokit_saml_requests_pkey; -- postgres
ALTER TABLE ssokit_saml_replay RENAME CONSTRAINT saml_replay_pkey TO ssokit_saml_replay_pkey; -- postgres
ALTER TABLE ssokit_saml_metadata RENAME CONSTRAINT saml_metadata_pkey TO ssokit_saml_metadata_pkey; -- postgres
ALTER TABLE ssokit_oidc_flows RENAME CONSTRAINT oidc_flows_pkey TO ssokit_oidc_flows_pkey; -- postgres
ALTER TABLE ssokit_oidc_replay RENAME CONSTRAINT oidc_replay_pkey TO ssokit_oidc_replay_pkey; -- postgres
ALTER TABLE ssokit_mfa_totp RENAME CONSTRAINT mfa_totp_pkey TO ssokit_mfa_totp_pkey; -- postgres
ALTER TABLE ssokit_mfa_recovery_codes RENAME CONSTRAINT mfa_recovery_codes_pkey TO ssokit_mfa_recovery_codes_pkey; -- postgres
ALTER TABLE ssokit_mfa_attempts RENAME CONSTRAINT mfa_attempts_pkey TO ssokit_mfa_attempts_pkey; -- postgres
ALTER TABLE ssokit_mfa_webauthn_credentials RENAME CONSTRAINT mfa_webauthn_credentials_pkey TO ssokit_mfa_webauthn_credentials_pkey; -- postgres
ALTER TABLE ssokit_mfa_webauthn_credentials RENAME CONSTRAINT mfa_webauthn_credentials_id_key TO ssokit_mfa_webauthn_credentials_id_key; -- postgres
ALTER TABLE ssokit_mfa_ceremonies RENAME CONSTRAINT mfa_ceremonies_pkey TO ssokit_mfa_ceremonies_pkey; -- postgres
ALTER SEQUENCE mfa_webauthn_credentials_seq_seq RENAME TO ssokit_mfa_webauthn_credentials_seq_seq; -- postgres
