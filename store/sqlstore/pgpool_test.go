package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// The conformance suite wants a fresh, empty store per case, and migrating a
// new PostgreSQL schema for each of a few hundred cases dominates the run.
// pgSchemas keeps migrated schemas for the life of the test binary: a case
// takes one, and its cleanup empties every table and returns it. Each schema
// is still used by one case at a time. TestMain drops them all at the end.
var pgSchemas schemaPool

type schemaPool struct {
	mu   sync.Mutex
	free []*pooledSchema
	all  []*pooledSchema
}

type pooledSchema struct {
	name  string
	db    *sql.DB
	store *sqlstore.Store
}

func TestMain(m *testing.M) {
	code := m.Run()
	pgSchemas.dropAll()
	removeSQLiteTemplate()
	os.Exit(code)
}

// get returns a migrated, empty store on a schema of its own for the
// duration of t.
func (p *schemaPool) get(t *testing.T) *sqlstore.Store {
	t.Helper()
	dsn := testdb.PostgresDSN(t)
	p.mu.Lock()
	var ps *pooledSchema
	if n := len(p.free); n > 0 {
		ps, p.free = p.free[n-1], p.free[:n-1]
	}
	p.mu.Unlock()
	if ps == nil {
		ps = p.create(t, dsn)
	}
	t.Cleanup(func() { p.put(ps) })
	return ps.store
}

func (p *schemaPool) create(t *testing.T, dsn string) *pooledSchema {
	t.Helper()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	defer admin.Close()
	name := "t_" + strings.ToLower(opaque.NewID(""))[:20]
	if _, err := admin.Exec("CREATE SCHEMA " + name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	ps := &pooledSchema{name: name}
	p.mu.Lock()
	p.all = append(p.all, ps)
	p.mu.Unlock()
	ps.db, err = sql.Open("pgx", testdb.WithSearchPath(dsn, name))
	if err != nil {
		t.Fatalf("open schema: %v", err)
	}
	ps.store = open(t, ps.db, sqlstore.Postgres)
	return ps
}

// put empties the schema's tables and makes it available again; a schema
// that cannot be emptied is not reused.
func (p *schemaPool) put(ps *pooledSchema) {
	ctx := context.Background()
	rows, err := ps.db.QueryContext(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'ssokit_migrations'`)
	if err != nil {
		return
	}
	var tables []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			tables = append(tables, `"`+n+`"`)
		}
	}
	if rows.Close() != nil || rows.Err() != nil {
		return
	}
	if len(tables) > 0 {
		if _, err := ps.db.ExecContext(ctx, fmt.Sprintf("TRUNCATE %s RESTART IDENTITY CASCADE", strings.Join(tables, ", "))); err != nil {
			return
		}
	}
	p.mu.Lock()
	p.free = append(p.free, ps)
	p.mu.Unlock()
}

func (p *schemaPool) dropAll() {
	dsn := os.Getenv(testdb.PostgresEnv)
	if dsn == "" || len(p.all) == 0 {
		return
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return
	}
	defer admin.Close()
	for _, ps := range p.all {
		if ps.db != nil {
			ps.db.Close()
		}
		admin.Exec("DROP SCHEMA " + ps.name + " CASCADE")
	}
}
