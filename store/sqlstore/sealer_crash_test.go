package sqlstore_test

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// The crash test runs appenders and a sealer in a child process (this test
// binary again, selected by sealCrashEnv) and kills it with SIGKILL: once
// deterministically in the middle of a sealing batch (the events of the
// batch are updated, the head is not, nothing is committed), then at random
// moments while appends and sealing passes run. After each kill the parent
// checks that the database holds a consistent state and that every event
// the child acknowledged is there, then seals what the child left and
// verifies every chain, also against the heads saved after the previous
// round, so a chain that forked or lost its tail would fail.

const (
	sealCrashEnv     = "SSOKIT_SEAL_CRASH_CHILD" // mode: "midbatch" or "random"
	sealCrashDSN     = "SSOKIT_SEAL_CRASH_DSN"
	sealCrashDialect = "SSOKIT_SEAL_CRASH_DIALECT"
	sealCrashRound   = "SSOKIT_SEAL_CRASH_ROUND"
)

var crashOrgs = []string{"org_a", "org_b", "org_c"}

func TestEventSealerCrash(t *testing.T) {
	if mode := os.Getenv(sealCrashEnv); mode != "" {
		sealCrashChild(mode)
		return
	}
	if testing.Short() {
		t.Skip("starts and kills child processes")
	}
	t.Parallel()
	for _, d := range []struct {
		name    string
		dialect sqlstore.Dialect
		open    func(t *testing.T) (*sql.DB, string)
	}{
		{"sqlite", sqlstore.SQLite, func(t *testing.T) (*sql.DB, string) {
			dsn := sqlstore.SQLiteDSN(filepath.Join(t.TempDir(), "crash.db"))
			return sqlOpen(t, "sqlite", dsn), dsn
		}},
		{"postgres", sqlstore.Postgres, func(t *testing.T) (*sql.DB, string) { return testdb.PostgresSchema(t) }},
	} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			db, dsn := d.open(t)
			st := open(t, db, d.dialect)
			trail, err := audit.New(audit.Config{Store: st})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			acked := map[string]string{} // event ID -> org
			heads := map[string]audit.ChainHead{}
			for round := range 6 {
				mode := "random"
				if round == 0 {
					mode = "midbatch"
				}
				ids, killedAt := runCrashChild(t, d.dialect, dsn, mode, round)
				for id, org := range ids {
					acked[id] = org
				}
				// Right after the kill: sealed rows are exactly the chains
				// the heads describe (a sealing batch is all or nothing).
				sealed, pending := sealState(t, db, heads)
				t.Logf("round %d (%s): killed %s; %d events acknowledged in total; %d sealed, %d unsealed in the database",
					round, mode, killedAt, len(acked), sealed, pending)
				if mode == "midbatch" && sealed != 0 {
					t.Errorf("killed in the middle of the first sealing batch, %d events are sealed: the batch was not rolled back", sealed)
				}
				if mode == "midbatch" && pending < 100 {
					t.Errorf("only %d unsealed events at the mid-batch kill; the batch should have been large", pending)
				}
				// Recovery: readers seal what the child left; every chain
				// verifies, extends the heads saved after the last round
				// and holds every acknowledged event.
				for _, org := range crashOrgs {
					head, err := trail.VerifyAgainst(ctx, org, heads[org])
					if err != nil {
						t.Fatalf("round %d: %s: chain after the kill: %v (saved head %+v)", round, org, err, heads[org])
					}
					heads[org] = head
				}
				listed := map[string]string{}
				for _, org := range crashOrgs {
					for after := int64(0); ; {
						evs, err := st.ListEvents(ctx, sso.EventQuery{OrgID: org, AfterSeq: after, Limit: 1000})
						if err != nil {
							t.Fatal(err)
						}
						for _, e := range evs {
							if _, dup := listed[e.ID]; dup {
								t.Fatalf("event %s listed twice", e.ID)
							}
							listed[e.ID] = e.OrgID
						}
						if len(evs) < 1000 {
							break
						}
						after = evs[len(evs)-1].Seq
					}
				}
				for id, org := range acked {
					if listed[id] != org {
						t.Fatalf("round %d: acknowledged event %s of %s is lost", round, id, org)
					}
				}
				var rows, unsealed int
				if err := db.QueryRow(`SELECT COUNT(*), COUNT(*) - COUNT(seq) FROM ssokit_events`).Scan(&rows, &unsealed); err != nil {
					t.Fatal(err)
				}
				if rows != len(listed) || unsealed != 0 {
					t.Fatalf("round %d: %d rows, %d listed, %d unsealed after recovery", round, rows, len(listed), unsealed)
				}
				t.Logf("round %d: recovered: %d events in %d chains, all acknowledged ones present, heads %v", round, rows, len(crashOrgs), heads)
			}
		})
	}
}

// sealState checks, on the database as a killed child left it, that each
// organization's sealed events are exactly seqs 1..head (no sealed event
// beyond its head, none missing below it), and that the heads saved after
// the previous round are still there; it returns the sealed and unsealed
// counts.
func sealState(t *testing.T, db *sql.DB, saved map[string]audit.ChainHead) (sealed, pending int) {
	t.Helper()
	for _, org := range crashOrgs {
		// One statement, so one snapshot: the killed child's backend may
		// still commit a batch it sent before the kill, between two reads.
		var head, n, lo, hi int64
		if err := db.QueryRow(`SELECT COALESCE((SELECT seq FROM ssokit_event_heads WHERE org_id = $1), 0),
			COUNT(seq), COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) FROM ssokit_events WHERE org_id = $1`, org).
			Scan(&head, &n, &lo, &hi); err != nil {
			t.Fatal(err)
		}
		if n != head || (n > 0 && (lo != 1 || hi != head)) {
			t.Errorf("%s: head at seq %d, but %d sealed events with seqs %d..%d", org, head, n, lo, hi)
		}
		if head < saved[org].Seq {
			t.Errorf("%s: head went back from seq %d to %d", org, saved[org].Seq, head)
		}
		sealed += int(n)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM ssokit_events WHERE seq IS NULL`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	return sealed, pending
}

// runCrashChild starts the child, kills it with SIGKILL (at the mid-batch
// signal, or after a random time), and returns the events it acknowledged.
func runCrashChild(t *testing.T, dialect sqlstore.Dialect, dsn, mode string, round int) (map[string]string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestEventSealerCrash$", "-test.count=1")
	cmd.Env = append(os.Environ(), sealCrashEnv+"="+mode, sealCrashDSN+"="+dsn,
		sealCrashDialect+"="+dialect.String(), fmt.Sprintf("%s=r%d", sealCrashRound, round))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill := func() { _ = cmd.Process.Signal(syscall.SIGKILL) }
	killedAt := "at the mid-batch signal"
	// A random kill comes 50-650ms after the child's first acknowledged
	// append, while appends and sealing passes run.
	delay := time.Duration(50+rand.IntN(600)) * time.Millisecond
	if mode == "random" {
		killedAt = delay.String() + " after the first append"
	}
	watchdog := time.AfterFunc(60*time.Second, kill)
	defer watchdog.Stop()
	acked := map[string]string{}
	sc := bufio.NewScanner(out)
	midbatch := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 3 && f[0] == "ACK":
			if len(acked) == 0 && mode == "random" {
				defer time.AfterFunc(delay, kill).Stop()
			}
			acked[f[1]] = f[2]
		case len(f) == 1 && f[0] == "MIDBATCH":
			midbatch = true
			kill()
		}
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL: %v\n%s", err, stderr.String())
	}
	if mode == "midbatch" && !midbatch {
		t.Fatalf("child died before the mid-batch signal\n%s", stderr.String())
	}
	if len(acked) == 0 {
		t.Fatalf("child acknowledged no event before the kill\n%s", stderr.String())
	}
	return acked, killedAt
}

// sealCrashChild appends events from several goroutines, printing "ACK id
// org" once AppendEvent returned, and seals continuously, until it is
// killed. In mode "midbatch" it seals once, after enough events for a big
// batch, and stops inside that batch: it prints MIDBATCH when the batch's
// head update is about to run and blocks there.
func sealCrashChild(mode string) {
	dialect := sqlstore.SQLite
	var drv driver.Driver = &sqlite.Driver{}
	if os.Getenv(sealCrashDialect) == sqlstore.Postgres.String() {
		dialect, drv = sqlstore.Postgres, stdlib.GetDefaultDriver()
	}
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", args...)
	}
	hook := func(query string) {
		if mode == "midbatch" && strings.Contains(query, "UPDATE ssokit_event_heads") {
			say("MIDBATCH")
			select {} // until SIGKILL
		}
	}
	db := sql.OpenDB(hookConnector{dsn: os.Getenv(sealCrashDSN), d: drv, beforeExec: hook})
	st, err := sqlstore.New(db, dialect)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	round := os.Getenv(sealCrashRound)
	var acks atomic.Int64
	for g := range 8 {
		go func() {
			for i := 0; ; i++ {
				org := crashOrgs[(g+i)%len(crashOrgs)]
				id := fmt.Sprintf("%s-g%d-%d", round, g, i)
				e := &sso.Event{ID: id, OrgID: org, Time: time.Now(), Type: sso.EventLoginSucceeded,
					Actor: sso.Actor{Type: sso.ActorUser, ID: fmt.Sprintf("user-%d", i)}, Outcome: sso.OutcomeSuccess,
					Details: map[string]string{"g": fmt.Sprint(g)}}
				if err := st.AppendEvent(ctx, e); err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					continue
				}
				acks.Add(1)
				say("ACK %s %s", id, org)
			}
		}()
	}
	for {
		if mode == "midbatch" && acks.Load() < 300 {
			time.Sleep(time.Millisecond)
			continue
		}
		if _, err := st.SealEvents(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "seal:", err)
		}
		time.Sleep(time.Duration(rand.IntN(5)) * time.Millisecond)
	}
}

// hookConnector opens driver connections that call beforeExec with each
// statement before running it.
type hookConnector struct {
	dsn        string
	d          driver.Driver
	beforeExec func(query string)
}

func (c hookConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.d.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &hookConn{Conn: conn, before: c.beforeExec}, nil
}

func (c hookConnector) Driver() driver.Driver { return c.d }

type hookConn struct {
	driver.Conn
	before func(string)
}

func (c *hookConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.before(q)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *hookConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.before(q)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *hookConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.before(q)
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *hookConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *hookConn) CheckNamedValue(v *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

func (c *hookConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}
