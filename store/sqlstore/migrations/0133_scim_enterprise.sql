-- SCIM enterprise User extension: the attributes filters may name, kept
-- in columns like the core ones. The *_lc columns hold values lower-cased
-- in Go (strings.ToLower); manager_id (manager.value, a SCIM ID) is case
-- exact. Existing users are filled from their stored attributes with the
-- database's lower(), which agrees with Go's for ASCII; the next write of
-- a user stores Go's lower-casing.

ALTER TABLE ssokit_scim_users ADD COLUMN employee_number_lc TEXT NOT NULL DEFAULT ''; -- sqlite
ALTER TABLE ssokit_scim_users ADD COLUMN employee_number_lc TEXT COLLATE "C" NOT NULL DEFAULT ''; -- postgres
ALTER TABLE ssokit_scim_users ADD COLUMN cost_center_lc TEXT NOT NULL DEFAULT ''; -- sqlite
ALTER TABLE ssokit_scim_users ADD COLUMN cost_center_lc TEXT COLLATE "C" NOT NULL DEFAULT ''; -- postgres
ALTER TABLE ssokit_scim_users ADD COLUMN organization_lc TEXT NOT NULL DEFAULT ''; -- sqlite
ALTER TABLE ssokit_scim_users ADD COLUMN organization_lc TEXT COLLATE "C" NOT NULL DEFAULT ''; -- postgres
ALTER TABLE ssokit_scim_users ADD COLUMN division_lc TEXT NOT NULL DEFAULT ''; -- sqlite
ALTER TABLE ssokit_scim_users ADD COLUMN division_lc TEXT COLLATE "C" NOT NULL DEFAULT ''; -- postgres
ALTER TABLE ssokit_scim_users ADD COLUMN department_lc TEXT NOT NULL DEFAULT ''; -- sqlite
ALTER TABLE ssokit_scim_users ADD COLUMN department_lc TEXT COLLATE "C" NOT NULL DEFAULT ''; -- postgres
ALTER TABLE ssokit_scim_users ADD COLUMN manager_id TEXT NOT NULL DEFAULT ''; -- sqlite
ALTER TABLE ssokit_scim_users ADD COLUMN manager_id TEXT COLLATE "C" NOT NULL DEFAULT ''; -- postgres

UPDATE ssokit_scim_users SET -- sqlite
    employee_number_lc = lower(COALESCE(json_extract(attrs, '$."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".employeeNumber'), '')), -- sqlite
    cost_center_lc = lower(COALESCE(json_extract(attrs, '$."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".costCenter'), '')), -- sqlite
    organization_lc = lower(COALESCE(json_extract(attrs, '$."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".organization'), '')), -- sqlite
    division_lc = lower(COALESCE(json_extract(attrs, '$."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".division'), '')), -- sqlite
    department_lc = lower(COALESCE(json_extract(attrs, '$."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".department'), '')), -- sqlite
    manager_id = COALESCE(json_extract(attrs, '$."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".manager.value'), '') -- sqlite
    WHERE instr(attrs, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User') > 0; -- sqlite

UPDATE ssokit_scim_users SET -- postgres
    employee_number_lc = lower(COALESCE(attrs::jsonb -> 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' ->> 'employeeNumber', '')), -- postgres
    cost_center_lc = lower(COALESCE(attrs::jsonb -> 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' ->> 'costCenter', '')), -- postgres
    organization_lc = lower(COALESCE(attrs::jsonb -> 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' ->> 'organization', '')), -- postgres
    division_lc = lower(COALESCE(attrs::jsonb -> 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' ->> 'division', '')), -- postgres
    department_lc = lower(COALESCE(attrs::jsonb -> 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' ->> 'department', '')), -- postgres
    manager_id = COALESCE(attrs::jsonb -> 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' -> 'manager' ->> 'value', '') -- postgres
    WHERE strpos(attrs, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User') > 0; -- postgres

CREATE INDEX ssokit_scim_users_employee ON ssokit_scim_users (org_id, employee_number_lc);

CREATE INDEX ssokit_scim_users_department ON ssokit_scim_users (org_id, department_lc);

CREATE INDEX ssokit_scim_users_manager ON ssokit_scim_users (org_id, manager_id);

-- Sorted SCIM lists (sortBy): the primary email (else the first) in a
-- column, and indexes in the order of the most used sorts, for live users:
-- (no value, value, ID), as sqlscim orders.
ALTER TABLE ssokit_scim_users ADD COLUMN primary_email_lc TEXT NOT NULL DEFAULT ''; -- sqlite
ALTER TABLE ssokit_scim_users ADD COLUMN primary_email_lc TEXT COLLATE "C" NOT NULL DEFAULT ''; -- postgres

UPDATE ssokit_scim_users SET primary_email_lc = COALESCE((SELECT e.value_lc FROM ssokit_scim_emails e
    WHERE e.org_id = ssokit_scim_users.org_id AND e.user_id = ssokit_scim_users.user_id
    ORDER BY e.is_primary DESC, e.pos LIMIT 1), '');

CREATE INDEX ssokit_scim_users_sort_name ON ssokit_scim_users (org_id, (user_name_lc = ''), user_name_lc, user_id) WHERE NOT deleted;

CREATE INDEX ssokit_scim_users_sort_email ON ssokit_scim_users (org_id, (primary_email_lc = ''), primary_email_lc, user_id) WHERE NOT deleted;

CREATE INDEX ssokit_scim_users_sort_created ON ssokit_scim_users (org_id, created_at, user_id) WHERE NOT deleted;

CREATE INDEX ssokit_scim_users_sort_modified ON ssokit_scim_users (org_id, last_modified, user_id) WHERE NOT deleted;

CREATE INDEX ssokit_scim_groups_sort_display ON ssokit_scim_groups (org_id, (display_name_lc = ''), display_name_lc, group_id);

-- SCIM sync status: an organization's recent failed requests, a ring of
-- slots (seq modulo the number kept) overwritten in one statement.
CREATE TABLE ssokit_scim_sync_failures (
    org_id TEXT NOT NULL, -- sqlite
    org_id TEXT COLLATE "C" NOT NULL, -- postgres
    slot INTEGER NOT NULL,
    seq BIGINT NOT NULL,
    failed_at BIGINT NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    PRIMARY KEY (org_id, slot)
);
