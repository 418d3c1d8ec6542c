-- saml: what a login asked of the IdP's authentication (MFA with a
-- RequestedAuthnContext, ForceAuthn, a maximum age), checked at the ACS.
ALTER TABLE ssokit_saml_requests ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE ssokit_saml_requests ADD COLUMN force_authn BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE ssokit_saml_requests ADD COLUMN max_age_seconds BIGINT NOT NULL DEFAULT 0;
