package scim_test

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// refuseEvents makes the database refuse every new audit event of type
// typ, as a crash or a full disk between the change and its event would.
func refuseEvents(t *testing.T, db *sql.DB, d sqlstore.Dialect, name, typ string) {
	t.Helper()
	stmts := []string{`CREATE TRIGGER ` + name + ` BEFORE INSERT ON ssokit_events
		WHEN NEW.type = '` + typ + `' BEGIN SELECT RAISE(ABORT, 'event refused'); END`}
	if d == sqlstore.Postgres {
		stmts = []string{`CREATE FUNCTION ` + name + `() RETURNS trigger AS $$
			BEGIN IF NEW.type = '` + typ + `' THEN RAISE EXCEPTION 'event refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER ` + name + ` BEFORE INSERT ON ssokit_events FOR EACH ROW EXECUTE FUNCTION ` + name + `()`}
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
}

// TestChangeAndEventCommitTogether: on SQLite and PostgreSQL, when the
// audit event of a SCIM create or deactivation cannot be written, the
// change is not stored either (the client gets an error and may retry),
// so the outbox never misses a change; a write whose event is stored is
// stored.
func TestChangeAndEventCommitTogether(t *testing.T) {
	t.Parallel()
	for name, d := range map[string]sqlstore.Dialect{"sqlite": sqlstore.SQLite, "postgres": sqlstore.Postgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var db *sql.DB
			if d == sqlstore.SQLite {
				db = testdb.SQLite(t)
			} else {
				db = testdb.Postgres(t)
			}
			e := newEnvOn(t, openSQL(t, db, d))
			id := e.createUser("kept@acme.test")
			refuseEvents(t, db, d, "refuse_created", scim.EventUserCreated)
			req, _ := http.NewRequest("POST", e.base+"/Users", strings.NewReader(`{"userName":"lost@acme.test"}`))
			req.Header.Set("Authorization", "Bearer "+e.token)
			req.Header.Set("Content-Type", "application/scim+json")
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode < 500 {
				t.Fatalf("create whose event was refused: status %d, want a server error", res.StatusCode)
			}
			if r := e.do("GET", "/Users?filter="+urlq(`userName eq "lost@acme.test"`), ""); !strings.Contains(r.raw, `"totalResults":0`) {
				t.Fatalf("the user was stored without its event: %s", r.raw)
			}
			if _, err := e.st.FindMemberByEmail(context.Background(), e.org.ID, "lost@acme.test"); err == nil {
				t.Fatal("the membership was stored without its event")
			}

			refuseEvents(t, db, d, "refuse_deactivated", scim.EventUserDeactivated)
			req, _ = http.NewRequest("PATCH", e.base+"/Users/"+id, strings.NewReader(patchOps(`{"op":"replace","path":"active","value":false}`)))
			req.Header.Set("Authorization", "Bearer "+e.token)
			req.Header.Set("Content-Type", "application/scim+json")
			if res, err = e.srv.Client().Do(req); err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode < 500 {
				t.Fatalf("deactivation whose event was refused: status %d", res.StatusCode)
			}
			if r := e.do("GET", "/Users/"+id, ""); r.body["active"] != true {
				t.Fatalf("the user was deactivated without its event: %s", r.raw)
			}
			if m := e.membership(id); m.Status != sso.MembershipActive {
				t.Fatalf("membership %s without its event", m.Status)
			}
			e.rev.mu.Lock()
			revoked := len(e.rev.calls)
			e.rev.mu.Unlock()
			if revoked != 0 {
				t.Fatal("sessions revoked for a deactivation that was not stored")
			}
		})
	}
}
