package webhook_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memwebhook"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlwebhook"
)

// gcmSealer is a test sso.Sealer: AES-GCM with a random key.
type gcmSealer struct{ aead cipher.AEAD }

func newSealer(t testing.TB) *gcmSealer {
	key := make([]byte, 32)
	rand.Read(key)
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		t.Fatal(err)
	}
	return &gcmSealer{aead: a}
}

func (s *gcmSealer) Seal(p, ad []byte) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, p, ad)), nil
}

func (s *gcmSealer) Open(v string, ad []byte) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) < s.aead.NonceSize() {
		return nil, sso.ErrInvalidInput
	}
	p, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], ad)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", sso.ErrInvalidInput, err)
	}
	return p, nil
}

// recorder is the audit trail's Record on an EventStore.
type recorder struct{ st sso.EventStore }

func (r recorder) Record(ctx context.Context, e *sso.Event) error {
	e.FillDefaults(ctx, time.Now())
	return r.st.AppendEvent(ctx, e)
}

// backend is one store under test: the webhook store and the audit trail
// it reads, and a way to open them again on the same database (a restart).
type backend struct {
	hooks  webhook.Store
	events sso.EventStore
	db     *sql.DB
	reopen func(t testing.TB) (webhook.Store, sso.EventStore)
}

func sqlBackend(t testing.TB, open func() *sql.DB, d sqlstore.Dialect) *backend {
	mk := func(db *sql.DB) (webhook.Store, sso.EventStore) {
		st, err := sqlstore.New(db, d)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return sqlwebhook.New(st), st
	}
	db := open()
	b := &backend{db: db}
	b.hooks, b.events = mk(db)
	b.reopen = func(t testing.TB) (webhook.Store, sso.EventStore) { return mk(open()) }
	return b
}

func sqliteBackend(t testing.TB) *backend {
	path := filepath.Join(t.TempDir(), "ssokit.db")
	return sqlBackend(t, func() *sql.DB {
		db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(path))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}, sqlstore.SQLite)
}

func postgresBackend(t testing.TB) *backend {
	_, dsn := testdb.PostgresSchema(t)
	return sqlBackend(t, func() *sql.DB {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		// Bounded, so that the suite leaves room on a shared server for
		// the other packages' tests running beside it.
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(16)
		t.Cleanup(func() { db.Close() })
		return db
	}, sqlstore.Postgres)
}

func memBackend(t testing.TB) *backend {
	ms := memstore.New()
	return &backend{hooks: memwebhook.New(ms), events: ms,
		reopen: func(testing.TB) (webhook.Store, sso.EventStore) { return memwebhook.New(ms), ms }}
}

// backends returns every store: memory, SQLite, and PostgreSQL (skipped
// with a message when SSOKIT_TEST_POSTGRES is unset).
func backends() map[string]func(testing.TB) *backend {
	return map[string]func(testing.TB) *backend{"mem": memBackend, "sqlite": sqliteBackend, "postgres": postgresBackend}
}

// config returns a Dispatcher configuration for tests on loopback.
func config(b *backend, sealer sso.Sealer, hooks webhook.Store, events sso.EventStore) webhook.Config {
	return webhook.Config{Store: hooks, Events: events, Sealer: sealer, Auditor: recorder{events},
		AllowPrivateAddresses: true, AllowInsecureURLs: true, PollInterval: 10 * time.Millisecond,
		BackoffBase: 20 * time.Millisecond, BackoffMax: time.Second, Logger: slog.New(slog.DiscardHandler)}
}

// run starts d.Run and returns a stop function that waits for it.
func run(t testing.TB, d *webhook.Dispatcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// appendEvent appends an event of type typ to org's trail.
func appendEvent(t testing.TB, st sso.EventStore, org, typ string) *sso.Event {
	e := &sso.Event{OrgID: org, Type: typ, Target: sso.Target{Type: "user", ID: "usr_1"},
		Details: map[string]string{"email": "ada@example.com"}}
	if err := (recorder{st}).Record(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	return e
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// received is one request the receiver accepted or refused.
type received struct {
	id, ts, sig, contentType string
	body                     []byte
	at                       time.Time
	status                   int
}

// receiver is a real HTTP server on loopback. respond decides each
// answer (nil: 200); every request is recorded, answered or not.
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []received
	respond func(n int, r *received) int
}

func newReceiver(t testing.TB, respond func(n int, r *received) int) *receiver {
	rv := &receiver{respond: respond}
	rv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := received{id: r.Header.Get("webhook-id"), ts: r.Header.Get("webhook-timestamp"),
			sig: r.Header.Get("webhook-signature"), contentType: r.Header.Get("Content-Type"), body: body, at: time.Now()}
		rv.mu.Lock()
		n := len(rv.reqs)
		rv.reqs = append(rv.reqs, rec)
		f := rv.respond
		rv.mu.Unlock()
		status := http.StatusOK
		if f != nil {
			status = f(n, &rec)
		}
		rv.mu.Lock()
		rv.reqs[n].status = status
		rv.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rv.srv.Close)
	return rv
}

func (rv *receiver) requests() []received {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]received(nil), rv.reqs...)
}

func (rv *receiver) setRespond(f func(n int, r *received) int) {
	rv.mu.Lock()
	rv.respond = f
	rv.mu.Unlock()
}

// verify checks a Standard Webhooks signature the way a receiver would,
// independently of the package: the secret's base64 part is the HMAC key,
// the signed content is id.timestamp.body, the timestamp is within five
// minutes, and one of the space-separated "v1," signatures matches.
func verify(secret string, r received) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	ts, err := strconv.ParseInt(r.ts, 10, 64)
	if err != nil {
		return fmt.Errorf("bad timestamp %q", r.ts)
	}
	if d := time.Since(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp %d out of tolerance", ts)
	}
	if r.id == "" {
		return errors.New("missing webhook-id")
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(r.id + "." + r.ts + "."))
	m.Write(r.body)
	want := m.Sum(nil)
	for _, s := range strings.Fields(r.sig) {
		v, b64, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && subtle.ConstantTimeCompare(got, want) == 1 {
			return nil
		}
	}
	return errors.New("no matching signature")
}
