-- invite: one pending invitation per organization and address. Of the
-- pending invitations an address already has (expired ones keep the
-- pending status, and a race could make two live ones), the newest stays
-- pending and the others are marked expired, keeping their token hash so
-- that their links report the expiry; then a partial unique index keeps it
-- so. The column holds the lower-cased address, as the store contract
-- requires, so it is indexed as stored: lower() differs between SQLite
-- (ASCII only) and PostgreSQL.
UPDATE ssokit_invitations SET status = 'expired'
WHERE status = 'pending' AND EXISTS (SELECT 1 FROM ssokit_invitations n
  WHERE n.org_id = ssokit_invitations.org_id AND n.email = ssokit_invitations.email AND n.status = 'pending'
    AND (n.created_at > ssokit_invitations.created_at OR (n.created_at = ssokit_invitations.created_at AND n.id > ssokit_invitations.id)));
CREATE UNIQUE INDEX IF NOT EXISTS ssokit_invitations_pending ON ssokit_invitations (org_id, email) WHERE status = 'pending';
