-- Every connection of a protocol, whatever its status, in ID order: the
-- SAML SP lists them to keep connections' own ACS URLs unique and to route
-- a POST to one.
CREATE INDEX IF NOT EXISTS ssokit_connections_protocol ON ssokit_connections (protocol, id);
