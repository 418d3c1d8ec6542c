-- sessions keep the sealed logout hint of their login (the OIDC ID token,
-- sent as id_token_hint when the app's logout ends the IdP session too)
ALTER TABLE ssokit_sessions ADD COLUMN idp_logout_hint TEXT NOT NULL DEFAULT '';
