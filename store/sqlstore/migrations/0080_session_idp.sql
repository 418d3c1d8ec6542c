-- sessions findable by the IdP that opened them, for IdP-initiated logout
ALTER TABLE ssokit_sessions ADD COLUMN idp_subject TEXT NOT NULL DEFAULT '';
CREATE INDEX ssokit_sessions_idp_subject ON ssokit_sessions (connection_id, idp_subject);
CREATE INDEX ssokit_sessions_idp_index ON ssokit_sessions (connection_id, idp_session_index);
