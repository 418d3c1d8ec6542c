package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

// migrations holds the versioned schema, one file per step named
// NNNN_name.sql. Files are shared by both dialects; a line ending in
// "-- sqlite" or "-- postgres" is applied only for that dialect, so a whole
// statement kept on one line ("DROP INDEX x; -- sqlite") is dialect-specific.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrationLockID is the first key of the PostgreSQL advisory lock that
// serializes concurrent Migrate calls across replicas; the second is the
// hash of the current schema.
const migrationLockID = 0x55_0c_1d_4b

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("sqlstore: bad migration file name %q", name)
		}
		b, err := migrations.ReadFile("migrations/" + name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("sqlstore: duplicate migration version %d", ms[i].version)
		}
	}
	return ms, nil
}

// forDialect keeps the lines of a migration that apply to d, without their
// dialect marker, so that a statement ending on a marked line still ends in
// ";\n" for splitStatements.
func forDialect(src string, d Dialect) string {
	var b strings.Builder
	for _, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasSuffix(t, "-- sqlite"):
			if d != SQLite {
				continue
			}
			line = strings.TrimRight(strings.TrimSuffix(strings.TrimRight(line, " \t\r"), "-- sqlite"), " \t")
		case strings.HasSuffix(t, "-- postgres"):
			if d != Postgres {
				continue
			}
			line = strings.TrimRight(strings.TrimSuffix(strings.TrimRight(line, " \t\r"), "-- postgres"), " \t")
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// Migrate brings the schema up to date. It is idempotent, and safe when
// several processes call it at once: on PostgreSQL a session advisory lock
// serializes them; on SQLite each step runs in a write transaction that
// re-checks the applied version.
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrateTo(ctx, math.MaxInt)
}

// migrateTo applies the migrations whose version is at most upTo. Tests use
// it to build a database as an older release left it.
func (s *Store) migrateTo(ctx context.Context, upTo int) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return sqlbase.Wrap(err)
	}
	defer conn.Close()
	if s.dialect == Postgres {
		// The lock is per schema: replicas sharing a schema serialize, while
		// independent schemas in one database (tenants, tests) do not wait
		// for each other.
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1, hashtext(current_schema()))`, migrationLockID); err != nil {
			return sqlbase.Wrap(err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, hashtext(current_schema()))`, migrationLockID)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS ssokit_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at BIGINT NOT NULL)`); err != nil {
		return sqlbase.Wrap(err)
	}
	for _, m := range ms {
		if m.version > upTo {
			break
		}
		if err := s.applyMigration(ctx, conn, m); err != nil {
			return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
		}
	}
	return nil
}

func (s *Store) applyMigration(ctx context.Context, conn *sql.Conn, m migration) (err error) {
	q, done, err := s.beginMigration(ctx, conn)
	if err != nil {
		return sqlbase.Wrap(err)
	}
	defer func() { err = done(err) }()
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM ssokit_migrations WHERE version = $1`, m.version).Scan(&n); err != nil {
		return sqlbase.Wrap(err)
	}
	if n > 0 {
		return nil
	}
	for _, stmt := range splitStatements(forDialect(m.sql, s.dialect)) {
		if _, err := q.ExecContext(ctx, stmt); err != nil {
			return sqlbase.Wrap(err)
		}
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO ssokit_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.version, m.name, sqlbase.TS(s.now())); err != nil {
		return sqlbase.Wrap(err)
	}
	return nil
}

// beginMigration starts the transaction of one migration step on conn and
// returns what runs its statements and done, which commits when the step
// succeeded and rolls back otherwise. On SQLite it is BEGIN IMMEDIATE: the
// write lock is taken before the step reads which migrations are applied,
// so two processes cannot both decide to apply one step, and a second one
// waits (busy_timeout) instead of failing when it would have to upgrade a
// read lock another writer has passed.
func (s *Store) beginMigration(ctx context.Context, conn *sql.Conn) (sqlbase.Querier, func(error) error, error) {
	if s.dialect != SQLite {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return nil, nil, err
		}
		return tx, func(err error) error {
			if err != nil {
				_ = tx.Rollback()
				return err
			}
			return sqlbase.Wrap(tx.Commit())
		}, nil
	}
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return nil, nil, err
	}
	return conn, func(err error) error {
		if err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
			return err
		}
		if _, err = conn.ExecContext(ctx, `COMMIT`); err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		}
		return sqlbase.Wrap(err)
	}, nil
}

// splitStatements splits a migration on semicolons at line ends. Migrations
// keep one statement per ";\n" and use no semicolons inside literals.
func splitStatements(src string) []string {
	var out []string
	for _, part := range strings.Split(src, ";\n") {
		var lines []string
		for _, l := range strings.Split(part, "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
				lines = append(lines, l)
			}
		}
		if stmt := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(strings.Join(lines, "\n")), ";")); stmt != "" {
			out = append(out, stmt)
		}
	}
	return out
}
