-- a login started as the step-up of a session (sso.StepUp, JSON), checked
-- by login completion: SAML requests and OIDC flows keep it server side
ALTER TABLE ssokit_saml_requests ADD COLUMN step_up TEXT NOT NULL DEFAULT '';
ALTER TABLE ssokit_oidc_flows ADD COLUMN step_up TEXT NOT NULL DEFAULT '';
