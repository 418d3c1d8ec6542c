-- social: identities at social providers (Google, Microsoft, GitHub); they belong to no organization
CREATE TABLE IF NOT EXISTS ssokit_social_identities (
  provider TEXT NOT NULL,
  subject TEXT NOT NULL,
  user_id TEXT NOT NULL,
  email TEXT NOT NULL,
  email_verified BOOLEAN NOT NULL,
  created_at BIGINT NOT NULL,
  last_login_at BIGINT NOT NULL,
  PRIMARY KEY (provider, subject)
);
CREATE INDEX IF NOT EXISTS ssokit_social_identities_user ON ssokit_social_identities (user_id, created_at);
