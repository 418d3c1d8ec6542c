package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlmfa"
	"github.com/ssokit/ssokit/store/sqlstore/sqloidc"
	"github.com/ssokit/ssokit/store/sqlstore/sqlportal"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsaml"
	"github.com/ssokit/ssokit/store/sqlstore/sqlscim"
	"github.com/ssokit/ssokit/store/storetest"
)

// open returns a migrated store on db.
func open(t testing.TB, db *sql.DB, d sqlstore.Dialect) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.New(db, d)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func newSQLite(t *testing.T) storetest.Stores   { return stores(newSQLiteCopy(t)) }
func newPostgres(t *testing.T) storetest.Stores { return stores(pgSchemas.get(t)) }

// stores provides every capability of sqlstore and its capability
// packages, all on the database of one Store.
func stores(s *sqlstore.Store) storetest.Stores {
	sc := sqlscim.New(s)
	return storetest.Stores{
		Core: s, Health: s, LoginLoader: s,
		Sessions: s, Tokens: s, Revocations: s, Sweeper: s, Clients: s,
		SAML: sqlsaml.New(s), OIDC: sqloidc.New(s), MFA: sqlmfa.New(s), SCIM: sc, SCIMRate: sc,
		Portal: sqlportal.New(s),
	}
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, newSQLite)
}

func TestSQLiteConcurrency(t *testing.T) {
	t.Parallel()
	storetest.RunConcurrency(t, newSQLite)
}

func TestPostgres(t *testing.T) {
	testdb.PostgresDSN(t)
	t.Parallel()
	storetest.Run(t, newPostgres)
}

func TestPostgresConcurrency(t *testing.T) {
	testdb.PostgresDSN(t)
	t.Parallel()
	storetest.RunConcurrency(t, newPostgres)
}

func TestNew(t *testing.T) {
	t.Parallel()
	if _, err := sqlstore.New(nil, sqlstore.SQLite); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Errorf("nil db: got %v, want ErrInvalidConfig", err)
	}
	if _, err := sqlstore.New(testdb.SQLite(t), sqlstore.Dialect(9)); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Errorf("bad dialect: got %v, want ErrInvalidConfig", err)
	}
}

// dialects yields each dialect with a function opening a fresh database and
// a second, independent *sql.DB on the same database.
func dialects(t *testing.T) map[string]func(t *testing.T) (*sql.DB, *sql.DB, sqlstore.Dialect) {
	return map[string]func(t *testing.T) (*sql.DB, *sql.DB, sqlstore.Dialect){
		"sqlite": func(t *testing.T) (*sql.DB, *sql.DB, sqlstore.Dialect) {
			dsn := sqlstore.SQLiteDSN(filepath.Join(t.TempDir(), "ssokit.db"))
			return sqlOpen(t, "sqlite", dsn), sqlOpen(t, "sqlite", dsn), sqlstore.SQLite
		},
		"postgres": func(t *testing.T) (*sql.DB, *sql.DB, sqlstore.Dialect) {
			db, dsn := testdb.PostgresSchema(t)
			return db, sqlOpen(t, "pgx", dsn), sqlstore.Postgres
		},
	}
}

func sqlOpen(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", driver, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func appliedMigrations(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM ssokit_migrations`).Scan(&n); err != nil {
		t.Fatalf("count migrations: %v", err)
	}
	return n
}

func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	for name, mk := range dialects(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, _, d := mk(t)
			s := open(t, db, d)
			ctx := t.Context()
			if err := s.CreateOrg(ctx, &sso.Organization{ID: "org_1", Slug: "acme"}); err != nil {
				t.Fatal(err)
			}
			n := appliedMigrations(t, db)
			if n == 0 {
				t.Fatal("no migration recorded")
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			if got := appliedMigrations(t, db); got != n {
				t.Errorf("second Migrate recorded %d migrations, first %d", got, n)
			}
			if _, err := s.GetOrg(ctx, "org_1"); err != nil {
				t.Errorf("data lost by second Migrate: %v", err)
			}
		})
	}
}

func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	for name, mk := range dialects(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db1, db2, d := mk(t)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, db := range []*sql.DB{db1, db2} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s, err := sqlstore.New(db, d)
					if err == nil {
						err = s.Migrate(t.Context())
					}
					errs[i] = err
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("replica %d: Migrate: %v", i, err)
				}
			}
			n1, n2 := appliedMigrations(t, db1), appliedMigrations(t, db2)
			if n1 == 0 || n1 != n2 {
				t.Errorf("migrations recorded: %d and %d", n1, n2)
			}
			s := open(t, db2, d)
			if err := s.CreateUser(t.Context(), &sso.User{ID: "u1"}); err != nil {
				t.Errorf("store unusable after concurrent migrations: %v", err)
			}
		})
	}
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	t.Run("closed sqlite", func(t *testing.T) {
		t.Parallel()
		db := testdb.SQLite(t)
		s := open(t, db, sqlstore.SQLite)
		db.Close()
		_, err := s.GetOrg(t.Context(), "org_1")
		if !errors.Is(err, sso.ErrUnavailable) {
			t.Errorf("GetOrg on a closed DB: got %v, want ErrUnavailable", err)
		}
		if err := s.CreateOrg(t.Context(), &sso.Organization{ID: "o", Slug: "o"}); !errors.Is(err, sso.ErrUnavailable) {
			t.Errorf("CreateOrg on a closed DB: got %v, want ErrUnavailable", err)
		}
		if err := s.Provision(t.Context(), &sso.User{ID: "u"}, &sso.Membership{OrgID: "o", UserID: "u", Status: sso.MembershipActive}, nil); !errors.Is(err, sso.ErrUnavailable) {
			t.Errorf("Provision on a closed DB: got %v, want ErrUnavailable", err)
		}
	})
	t.Run("unreachable postgres", func(t *testing.T) {
		t.Parallel()
		// Port 1 on loopback refuses connections at once.
		db := sqlOpen(t, "pgx", "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5")
		s, err := sqlstore.New(db, sqlstore.Postgres)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(t.Context()); !errors.Is(err, sso.ErrUnavailable) {
			t.Errorf("Migrate: got %v, want ErrUnavailable", err)
		}
		if _, err := s.FindVerifiedDomain(t.Context(), "example.com"); !errors.Is(err, sso.ErrUnavailable) {
			t.Errorf("FindVerifiedDomain: got %v, want ErrUnavailable", err)
		}
		if err := s.AppendEvent(t.Context(), &sso.Event{ID: "e", Type: "t"}); !errors.Is(err, sso.ErrUnavailable) {
			t.Errorf("AppendEvent: got %v, want ErrUnavailable", err)
		}
	})
	t.Run("canceled context", func(t *testing.T) {
		t.Parallel()
		s := open(t, testdb.SQLite(t), sqlstore.SQLite)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := s.GetOrg(ctx, "org_1"); !errors.Is(err, context.Canceled) {
			t.Errorf("GetOrg with a canceled context: got %v, want context.Canceled", err)
		}
	})
}

// TestBytewiseOrder checks that listing order and afterID paging compare
// bytes on both dialects (PostgreSQL columns use the "C" collation), as
// memstore does.
func TestBytewiseOrder(t *testing.T) {
	t.Parallel()
	for name, mk := range dialects(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, _, d := mk(t)
			s := open(t, db, d)
			for i, id := range []string{"org_b", "org_B", "org_a", "org_A", "org__"} {
				if err := s.CreateOrg(t.Context(), &sso.Organization{ID: id, Slug: fmt.Sprintf("s%d", i)}); err != nil {
					t.Fatal(err)
				}
			}
			list, err := s.ListOrgs(t.Context(), "org_B", 10)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range list {
				got = append(got, o.ID)
			}
			want := []string{"org__", "org_a", "org_b"}
			if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
				t.Errorf("ListOrgs after org_B = %q, want %q", got, want)
			}
		})
	}
}
