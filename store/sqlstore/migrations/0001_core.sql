-- Core schema: organizations, domains, connections, users, memberships,
-- identities, audit events and SCIM tokens. Times are BIGINT Unix
-- microseconds (0 = unset); nested configuration is JSON in TEXT columns.
-- Keys that are compared or ordered use the "C" collation on PostgreSQL so
-- that ordering is bytewise, as on SQLite and in Go.

CREATE TABLE ssokit_orgs (
    id TEXT NOT NULL PRIMARY KEY, -- sqlite
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY, -- postgres
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE ssokit_domains (
    org_id TEXT NOT NULL, -- sqlite
    org_id TEXT COLLATE "C" NOT NULL, -- postgres
    name TEXT NOT NULL, -- sqlite
    name TEXT COLLATE "C" NOT NULL, -- postgres
    token TEXT NOT NULL,
    state TEXT NOT NULL,
    verified_at BIGINT NOT NULL,
    last_checked_at BIGINT NOT NULL,
    consecutive_failures INTEGER NOT NULL,
    failing_since BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, name)
);

-- A domain name routes to at most one organization: the database refuses a
-- second verified holder, whatever the concurrency.
CREATE UNIQUE INDEX ssokit_domains_verified_name ON ssokit_domains (name) WHERE state = 'verified';

CREATE INDEX ssokit_domains_to_check ON ssokit_domains (last_checked_at) WHERE state IN ('verified', 'failed');

CREATE TABLE ssokit_connections (
    id TEXT NOT NULL PRIMARY KEY, -- sqlite
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY, -- postgres
    org_id TEXT NOT NULL,
    protocol TEXT NOT NULL,
    status TEXT NOT NULL,
    display_name TEXT NOT NULL,
    saml TEXT NOT NULL,
    oidc TEXT NOT NULL,
    mapping TEXT NOT NULL,
    group_roles TEXT NOT NULL,
    last_test TEXT NOT NULL,
    last_test_ok BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX ssokit_connections_org ON ssokit_connections (org_id, created_at, id);

CREATE INDEX ssokit_connections_active ON ssokit_connections (protocol, id) WHERE status = 'active';

CREATE INDEX ssokit_connections_active_any ON ssokit_connections (id) WHERE status = 'active';

CREATE TABLE ssokit_users (
    id TEXT NOT NULL PRIMARY KEY,
    email TEXT NOT NULL,
    email_lower TEXT NOT NULL,
    email_verified BOOLEAN NOT NULL,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX ssokit_users_email ON ssokit_users (email_lower);

CREATE TABLE ssokit_memberships (
    org_id TEXT NOT NULL, -- sqlite
    org_id TEXT COLLATE "C" NOT NULL, -- postgres
    user_id TEXT NOT NULL, -- sqlite
    user_id TEXT COLLATE "C" NOT NULL, -- postgres
    roles TEXT NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    external_id TEXT NOT NULL,
    break_glass BOOLEAN NOT NULL,
    joined_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);

CREATE INDEX ssokit_memberships_user ON ssokit_memberships (user_id, org_id);

CREATE TABLE ssokit_identities (
    id TEXT NOT NULL PRIMARY KEY, -- sqlite
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY, -- postgres
    org_id TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_login_at BIGINT NOT NULL,
    UNIQUE (org_id, issuer, subject)
);

CREATE INDEX ssokit_identities_user ON ssokit_identities (user_id, created_at, id);

-- The head of each organization's audit chain. AppendEvent locks it, so
-- concurrent appends to one chain serialize and never fork it.
CREATE TABLE ssokit_event_heads (
    org_id TEXT NOT NULL PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);

CREATE TABLE ssokit_events (
    id TEXT NOT NULL PRIMARY KEY,
    org_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    type TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (org_id, seq)
);

CREATE INDEX ssokit_events_type ON ssokit_events (org_id, type, seq);

CREATE INDEX ssokit_events_actor ON ssokit_events (org_id, actor_id, seq);

CREATE INDEX ssokit_events_time ON ssokit_events (org_id, at);

CREATE TABLE ssokit_scim_tokens (
    id TEXT NOT NULL PRIMARY KEY, -- sqlite
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY, -- postgres
    org_id TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL
);

CREATE INDEX ssokit_scim_tokens_org ON ssokit_scim_tokens (org_id, created_at);
