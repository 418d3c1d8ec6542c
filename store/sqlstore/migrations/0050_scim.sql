-- SCIM directory sync: users and groups per organization. The *_lc
-- columns hold values lower-cased in Go (strings.ToLower), so that
-- case-insensitive filters behave the same on SQLite, PostgreSQL and in
-- memstore. On PostgreSQL they use the "C" collation, so btree indexes
-- also serve LIKE 'prefix%' and ordering is bytewise as in Go.

CREATE TABLE ssokit_scim_users (
    org_id TEXT NOT NULL, -- sqlite
    org_id TEXT COLLATE "C" NOT NULL, -- postgres
    user_id TEXT NOT NULL, -- sqlite
    user_id TEXT COLLATE "C" NOT NULL, -- postgres
    user_name TEXT NOT NULL,
    user_name_lc TEXT NOT NULL, -- sqlite
    user_name_lc TEXT COLLATE "C" NOT NULL, -- postgres
    external_id TEXT NOT NULL, -- sqlite
    external_id TEXT COLLATE "C" NOT NULL, -- postgres
    display_name_lc TEXT NOT NULL, -- sqlite
    display_name_lc TEXT COLLATE "C" NOT NULL, -- postgres
    given_name_lc TEXT NOT NULL, -- sqlite
    given_name_lc TEXT COLLATE "C" NOT NULL, -- postgres
    family_name_lc TEXT NOT NULL, -- sqlite
    family_name_lc TEXT COLLATE "C" NOT NULL, -- postgres
    active BOOLEAN NOT NULL,
    deleted BOOLEAN NOT NULL,
    attrs TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_modified BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);

-- userName is unique per organization among live (not deleted) users.
CREATE UNIQUE INDEX ssokit_scim_users_name_live ON ssokit_scim_users (org_id, user_name_lc) WHERE NOT deleted;

CREATE INDEX ssokit_scim_users_name ON ssokit_scim_users (org_id, user_name_lc);

CREATE INDEX ssokit_scim_users_external ON ssokit_scim_users (org_id, external_id);

CREATE INDEX ssokit_scim_users_display ON ssokit_scim_users (org_id, display_name_lc);

CREATE INDEX ssokit_scim_users_given ON ssokit_scim_users (org_id, given_name_lc);

CREATE INDEX ssokit_scim_users_family ON ssokit_scim_users (org_id, family_name_lc);

CREATE INDEX ssokit_scim_users_modified ON ssokit_scim_users (org_id, last_modified);

CREATE TABLE ssokit_scim_emails (
    org_id TEXT NOT NULL, -- sqlite
    org_id TEXT COLLATE "C" NOT NULL, -- postgres
    user_id TEXT NOT NULL, -- sqlite
    user_id TEXT COLLATE "C" NOT NULL, -- postgres
    pos INTEGER NOT NULL,
    value_lc TEXT NOT NULL, -- sqlite
    value_lc TEXT COLLATE "C" NOT NULL, -- postgres
    type_lc TEXT NOT NULL,
    is_primary BOOLEAN NOT NULL,
    PRIMARY KEY (org_id, user_id, pos)
);

CREATE INDEX ssokit_scim_emails_value ON ssokit_scim_emails (org_id, value_lc);

CREATE TABLE ssokit_scim_groups (
    org_id TEXT NOT NULL, -- sqlite
    org_id TEXT COLLATE "C" NOT NULL, -- postgres
    group_id TEXT NOT NULL, -- sqlite
    group_id TEXT COLLATE "C" NOT NULL, -- postgres
    display_name TEXT NOT NULL,
    display_name_lc TEXT NOT NULL, -- sqlite
    display_name_lc TEXT COLLATE "C" NOT NULL, -- postgres
    external_id TEXT NOT NULL, -- sqlite
    external_id TEXT COLLATE "C" NOT NULL, -- postgres
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_modified BIGINT NOT NULL,
    PRIMARY KEY (org_id, group_id)
);

CREATE INDEX ssokit_scim_groups_display ON ssokit_scim_groups (org_id, display_name_lc);

CREATE INDEX ssokit_scim_groups_external ON ssokit_scim_groups (org_id, external_id);

CREATE INDEX ssokit_scim_groups_modified ON ssokit_scim_groups (org_id, last_modified);

CREATE TABLE ssokit_scim_members (
    org_id TEXT NOT NULL, -- sqlite
    org_id TEXT COLLATE "C" NOT NULL, -- postgres
    group_id TEXT NOT NULL, -- sqlite
    group_id TEXT COLLATE "C" NOT NULL, -- postgres
    user_id TEXT NOT NULL, -- sqlite
    user_id TEXT COLLATE "C" NOT NULL, -- postgres
    PRIMARY KEY (org_id, group_id, user_id)
);

CREATE INDEX ssokit_scim_members_user ON ssokit_scim_members (org_id, user_id, group_id);

CREATE TABLE ssokit_scim_rate (
    rate_key TEXT NOT NULL PRIMARY KEY,
    window_start BIGINT NOT NULL,
    n BIGINT NOT NULL
);
