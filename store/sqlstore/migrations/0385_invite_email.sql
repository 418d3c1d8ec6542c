-- invite: pending invitations by address, for a sign-in that admits an invited person
CREATE INDEX IF NOT EXISTS ssokit_invitations_email ON ssokit_invitations (email, status);
