-- protocol config: a connection's protocol configuration is one versioned
-- document owned by its protocol package, no longer a column per protocol.
-- Existing SAML and OIDC documents move unchanged (they are version 1).
ALTER TABLE ssokit_connections ADD COLUMN config TEXT NOT NULL DEFAULT 'null';
ALTER TABLE ssokit_connections ADD COLUMN config_version INTEGER NOT NULL DEFAULT 0;
UPDATE ssokit_connections SET config = CASE protocol WHEN 'saml' THEN saml WHEN 'oidc' THEN oidc ELSE 'null' END, config_version = 1;
ALTER TABLE ssokit_connections DROP COLUMN saml;
ALTER TABLE ssokit_connections DROP COLUMN oidc;
