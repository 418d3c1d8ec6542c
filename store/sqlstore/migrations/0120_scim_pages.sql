-- SCIM keyset pages: an organization's live users in ID order, so that a
-- page ("user_id > last seen ORDER BY user_id LIMIT n") is an index seek
-- and a count of the live users reads this index alone.
CREATE INDEX ssokit_scim_users_live ON ssokit_scim_users (org_id, user_id) WHERE NOT deleted;
