-- oidc: what a login asked of the IdP's authentication (MFA with the
-- acr_values sent, max_age, prompt=login), checked at the callback.
ALTER TABLE ssokit_oidc_flows ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE ssokit_oidc_flows ADD COLUMN acr_values TEXT NOT NULL DEFAULT '';
ALTER TABLE ssokit_oidc_flows ADD COLUMN max_age_seconds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ssokit_oidc_flows ADD COLUMN force_authn BOOLEAN NOT NULL DEFAULT FALSE;
