// Package sqlstore implements ssokit's core and session storage on a
// *sql.DB, for two dialects: SQLite (modernc.org/sqlite, pure Go, the
// embedded default) and PostgreSQL (github.com/jackc/pgx/v5/stdlib).
//
// The host opens the database with the driver of its choice and passes it to
// New, so a PostgreSQL host never links SQLite and vice versa. Call Migrate
// once at start; it is idempotent and safe when several replicas start at
// once.
//
//	db, _ := sql.Open("pgx", os.Getenv("DATABASE_URL"))
//	st, _ := sqlstore.New(db, sqlstore.Postgres)
//	if err := st.Migrate(ctx); err != nil { ... }
//
// For SQLite, open the file with WAL and a busy timeout, for example
// "file:ssokit.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)";
// see SQLiteDSN.
//
// # Capabilities
//
// A Store implements the core interfaces (sso.Store, health.Store,
// login.Loader) and
// the session stores (session.Store, session.TokenStore,
// session.RevocationStore, session.Sweeper). The state of each protocol lives
// in a subpackage whose New takes the Store and shares its database and
// clock, so a host links only the protocols it uses:
//
//	sqlsaml.New(st) // saml.Store: AuthnRequests, replay cache, metadata
//	sqloidc.New(st) // oidc.Store: login flows, replay cache
//	sqlscim.New(st) // scim.Store and scim.RateStore
//	sqlmfa.New(st)  // mfa.Store: TOTP, recovery codes, attempts, WebAuthn
//
// # Schema
//
// Tables are prefixed "ssokit_" so they can share the host's database.
// Times are stored as BIGINT Unix microseconds and nested configuration as
// JSON text; both dialects run the same embedded migrations. Migrate creates
// the tables of every capability, whichever subpackages the host uses.
//
// # Security notes
//
// Uniqueness that security depends on is enforced by the database, never by
// read-then-write: a partial unique index allows one verified holder per
// domain name, identities are unique on (org, issuer, subject), and slugs and
// SCIM token hashes are unique. Provision runs in one transaction, and so
// does an administrator's change with its events through WithEvents
// (audit.EventBinder), so the outbox never misses a change. AppendEvent
// is one INSERT without a lock; SealEvents (run by audit.Trail.Run, and
// before every ListEvents) chains the organization's new events under its
// head row, so concurrent appends never queue on, or fork, the hash chain.
// On PostgreSQL, logins with a session limit count themselves in a row per
// user and organization first, so concurrent logins cannot each keep their
// session and leave more than the limit. Every lookup is
// served by an index; TestQueryPlans checks the plans on both dialects.
package sqlstore

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

// Dialect selects the SQL dialect of the database behind a Store.
type Dialect int

// Supported dialects.
const (
	SQLite Dialect = iota + 1
	Postgres
)

// String returns the dialect's name: "sqlite" or "postgres".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// Store implements the core and session storage interfaces on a *sql.DB.
// The subpackages sqlsaml, sqloidc, sqlscim and sqlmfa add the protocol
// stores on the same database.
type Store struct {
	db      *sql.DB
	dialect Dialect
	now     func() time.Time
	// events are appended with every core write of a view WithEvents
	// returned; nil for the Store New returns.
	events []*sso.Event
}

// Option configures a Store.
type Option func(*Store)

// WithClock makes the store read time from now (for expiry) instead of
// time.Now.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns a Store on db. It does not touch the database; call Migrate.
func New(db *sql.DB, d Dialect, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: sqlstore: nil *sql.DB", sso.ErrInvalidConfig)
	}
	if d != SQLite && d != Postgres {
		return nil, fmt.Errorf("%w: sqlstore: unknown dialect %v", sso.ErrInvalidConfig, d)
	}
	s := &Store{db: db, dialect: d, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// DB returns the underlying database handle.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect returns the store's SQL dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// SQLiteDSN returns a modernc.org/sqlite data source name for the file at
// path with the settings sqlstore expects: WAL journal, a busy timeout and
// foreign keys on.
func SQLiteDSN(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
}

func init() {
	// The capability packages reach the database and clock of a Store
	// through sqlbase, so they share it without API on Store.
	sqlbase.Of = func(store any) sqlbase.Base {
		s := store.(*Store)
		if s == nil {
			panic("sqlstore: nil *Store")
		}
		return sqlbase.Base{DB: s.db, Now: s.now}
	}
}
