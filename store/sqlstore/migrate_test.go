package sqlstore_test

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlmfa"
	"github.com/ssokit/ssokit/store/sqlstore/sqloidc"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsaml"
)

// prefixMigration is the version of migrations/0090_prefix_tables.sql, which
// renames the SAML, OIDC and MFA tables to carry the ssokit_ prefix.
const prefixMigration = 90

// prefixedTables are the tables 0090 renames, by their new name.
var prefixedTables = []string{
	"ssokit_saml_requests", "ssokit_saml_replay", "ssokit_saml_metadata",
	"ssokit_oidc_flows", "ssokit_oidc_replay",
	"ssokit_mfa_totp", "ssokit_mfa_recovery_codes", "ssokit_mfa_attempts",
	"ssokit_mfa_webauthn_credentials", "ssokit_mfa_ceremonies",
}

// TestMigratePrefixTables upgrades a database that an older release
// migrated, holding rows in the unprefixed tables, and checks the rows
// survive the rename and that every relation the store owns is prefixed.
func TestMigratePrefixTables(t *testing.T) {
	t.Parallel()
	fresh := map[string]func(t *testing.T) (*sql.DB, sqlstore.Dialect){
		"sqlite": func(t *testing.T) (*sql.DB, sqlstore.Dialect) { return testdb.SQLite(t), sqlstore.SQLite },
		"postgres": func(t *testing.T) (*sql.DB, sqlstore.Dialect) {
			db, _ := testdb.PostgresSchema(t) // skips when SSOKIT_TEST_POSTGRES is unset
			return db, sqlstore.Postgres
		},
	}
	for name, mk := range fresh {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, d := mk(t)
			ctx := t.Context()
			now := time.Now().UTC().Truncate(time.Microsecond)
			s, err := sqlstore.New(db, d, sqlstore.WithClock(func() time.Time { return now }))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.MigrateTo(ctx, prefixMigration-1); err != nil {
				t.Fatalf("migrate to %d: %v", prefixMigration-1, err)
			}

			// Rows as the previous release wrote them.
			exp := now.Add(time.Hour).UnixMicro()
			created := now.Add(-time.Minute).UnixMicro()
			credID := []byte{0xfb, 0xff, 0x01, 0x02}
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO saml_requests (id, connection_id, binding_hash, return_to, test, created_at, expires_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7)`, []any{"req_1", "conn_1", "bh", "/home", false, created, exp}},
				{`INSERT INTO saml_replay (issuer, assertion_id, expires_at) VALUES ($1, $2, $3)`,
					[]any{"https://idp.example", "assert_1", exp}},
				{`INSERT INTO saml_metadata (connection_id, xml, fetched_at, expires_at, last_error, failures)
					VALUES ($1, $2, $3, $4, $5, $6)`, []any{"conn_1", "<md/>", created, exp, "", 0}},
				{`INSERT INTO oidc_flows (id, browser_hash, connection_id, org_id, issuer, redirect_uri, verifier,
					nonce, return_to, test, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
					[]any{"flow_1", "bh", "conn_2", "org_1", "https://op.example", "https://rp.example/cb", "verifier_1",
						"nonce_1", "/", false, created, exp}},
				{`INSERT INTO oidc_replay (replay_key, expires_at) VALUES ($1, $2)`, []any{"jti_1", exp}},
				{`INSERT INTO mfa_totp (user_id, secret, active, last_step, created_at, confirmed_at, last_used_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7)`, []any{"user_1", "sealed", true, int64(42), created, created, created}},
				{`INSERT INTO mfa_recovery_codes (user_id, hash, created_at, used_at) VALUES ($1, $2, $3, 0), ($1, $4, $3, 0)`,
					[]any{"user_1", "h1", created, "h2"}},
				{`INSERT INTO mfa_attempts (user_id, failures, last_failure_at, locked_until) VALUES ($1, $2, $3, 0)`,
					[]any{"user_1", 3, created}},
				{`INSERT INTO mfa_webauthn_credentials (id, user_id, name, data, sign_count, created_at, last_used_at)
					VALUES ($1, $2, $3, $4, $5, $6, 0)`,
					[]any{base64.RawURLEncoding.EncodeToString(credID), "user_1", "key 1", "{}", int64(7), created}},
				{`INSERT INTO mfa_ceremonies (id, user_id, session_id, kind, data, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
					[]any{"cer_1", "user_1", "sess_1", "login", "{}", exp}},
			} {
				if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
					t.Fatalf("seed old table: %v\n%s", err, q.sql)
				}
			}

			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			sm, oi, mf := sqlsaml.New(s), sqloidc.New(s), sqlmfa.New(s)

			// SAML.
			if r, err := sm.TakeAuthnRequest(ctx, "req_1"); err != nil || r.ConnectionID != "conn_1" || r.ReturnTo != "/home" {
				t.Errorf("TakeAuthnRequest = %+v, %v", r, err)
			}
			if err := sm.MarkAssertionUsed(ctx, "https://idp.example", "assert_1", now.Add(time.Hour)); !errors.Is(err, sso.ErrConflict) {
				t.Errorf("MarkAssertionUsed on a migrated replay entry: got %v, want ErrConflict", err)
			}
			if m, err := sm.GetMetadata(ctx, "conn_1"); err != nil || m.XML != "<md/>" {
				t.Errorf("GetMetadata = %+v, %v", m, err)
			}
			// OIDC.
			if f, err := oi.TakeFlow(ctx, "flow_1"); err != nil || f.Verifier != "verifier_1" || f.Nonce != "nonce_1" {
				t.Errorf("TakeFlow = %+v, %v", f, err)
			}
			if err := oi.UseOnce(ctx, "jti_1", now.Add(time.Hour)); !errors.Is(err, sso.ErrConflict) {
				t.Errorf("UseOnce on a migrated replay key: got %v, want ErrConflict", err)
			}
			// MFA.
			if f, err := mf.GetTOTP(ctx, "user_1"); err != nil || !f.Active || f.Secret != "sealed" || f.LastStep != 42 {
				t.Errorf("GetTOTP = %+v, %v", f, err)
			}
			if n, err := mf.CountRecoveryCodes(ctx, "user_1"); err != nil || n != 2 {
				t.Errorf("CountRecoveryCodes = %d, %v; want 2", n, err)
			}
			if err := mf.UseRecoveryCode(ctx, "user_1", "h1", now); err != nil {
				t.Errorf("UseRecoveryCode: %v", err)
			}
			if a, err := mf.GetAttempts(ctx, "user_1"); err != nil || a.Failures != 3 {
				t.Errorf("GetAttempts = %+v, %v", a, err)
			}
			// A new credential must take the next sequence value, after the
			// migrated one (on PostgreSQL the sequence was renamed).
			if err := mf.CreateWebAuthnCredential(ctx, &mfa.WebAuthnCredential{ID: []byte("cred-2"), UserID: "user_1",
				Name: "key 2", Data: []byte("{}"), CreatedAt: now}); err != nil {
				t.Fatalf("CreateWebAuthnCredential: %v", err)
			}
			creds, err := mf.ListWebAuthnCredentials(ctx, "user_1")
			if err != nil || len(creds) != 2 || !bytes.Equal(creds[0].ID, credID) || creds[0].SignCount != 7 || string(creds[1].ID) != "cred-2" {
				t.Errorf("ListWebAuthnCredentials = %+v, %v", creds, err)
			}
			if c, err := mf.TakeCeremony(ctx, "cer_1"); err != nil || c.SessionID != "sess_1" {
				t.Errorf("TakeCeremony = %+v, %v", c, err)
			}

			tables, others := ownedRelations(t, db, d)
			have := map[string]bool{}
			for _, n := range tables {
				have[n] = true
			}
			for _, n := range prefixedTables {
				if !have[n] {
					t.Errorf("table %s missing after Migrate; tables: %q", n, tables)
				}
			}
			for _, n := range append(tables, others...) {
				if !strings.HasPrefix(n, "ssokit_") {
					t.Errorf("relation %q lacks the ssokit_ prefix", n)
				}
			}
		})
	}
}

// ownedRelations lists the tables, and separately the indexes, sequences
// and constraints, in the store's database (PostgreSQL: its schema).
// SQLite's internal names are reported without their sqlite_ / sqlite_autoindex_
// part, which must then carry the prefix too.
func ownedRelations(t *testing.T, db *sql.DB, d sqlstore.Dialect) (tables, others []string) {
	t.Helper()
	query := func(q string) []string {
		rows, err := db.QueryContext(t.Context(), q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		sort.Strings(out)
		return out
	}
	if d == sqlstore.SQLite {
		for _, n := range query(`SELECT name FROM sqlite_master WHERE type = 'table'`) {
			if n != "sqlite_sequence" {
				tables = append(tables, n)
			}
		}
		for _, n := range query(`SELECT name FROM sqlite_master WHERE type <> 'table'`) {
			others = append(others, strings.TrimPrefix(n, "sqlite_autoindex_"))
		}
		others = append(others, query(`SELECT name FROM sqlite_sequence`)...)
		return tables, others
	}
	tables = query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
	others = query(`SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind NOT IN ('r', 'v', 'p')`)
	others = append(others, query(`SELECT c.conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
		WHERE n.nspname = current_schema()`)...)
	return tables, others
}
