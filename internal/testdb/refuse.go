package testdb

import (
	"database/sql"
	"regexp"
	"strings"
	"testing"
)

var triggerName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// RefuseEvents makes the database behind a migrated store refuse every new
// audit event of type typ with a trigger named name, as a crash or a full
// disk between a change and its event would: a test then checks that the
// change was not stored either. postgres selects the dialect (SQLite
// otherwise).
func RefuseEvents(t testing.TB, db *sql.DB, postgres bool, name, typ string) {
	t.Helper()
	if !triggerName.MatchString(name) {
		t.Fatalf("testdb: bad trigger name %q", name)
	}
	lit := "'" + strings.ReplaceAll(typ, "'", "''") + "'"
	stmts := []string{`CREATE TRIGGER ` + name + ` BEFORE INSERT ON ssokit_events
		WHEN NEW.type = ` + lit + ` BEGIN SELECT RAISE(ABORT, 'event refused'); END`}
	if postgres {
		stmts = []string{`CREATE FUNCTION ` + name + `() RETURNS trigger AS $$
			BEGIN IF NEW.type = ` + lit + ` THEN RAISE EXCEPTION 'event refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER ` + name + ` BEFORE INSERT ON ssokit_events FOR EACH ROW EXECUTE FUNCTION ` + name + `()`}
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("testdb: refuse events of type %s: %v", typ, err)
		}
	}
}
