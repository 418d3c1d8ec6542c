package session_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/redisstore"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlnotify"
)

// The tests in this file run two Managers, "replicas" A and B, on one shared
// storage backend, each with its own store handle and its own subscription
// to the backend's revocation bus, as two processes behind a load balancer
// would.

// replica is the storage of one replica.
type replica struct {
	// cfg has Store, Tokens, Revocations, Events and Memberships set.
	cfg session.Config
	// bus is a working bus on the channel every replica shares.
	bus session.RevocationBus
	// kill cuts this replica's listening connection from the server side;
	// nil for the in-process bus.
	kill func(t *testing.T)
}

// backend is one shared storage backend.
type backend struct {
	name string
	// setup prepares the shared data for one test and returns a function
	// making replicas on it, and a bus that cannot connect.
	setup func(t *testing.T) (newReplica func(t *testing.T) replica, dead session.RevocationBus)
}

func backends() []backend {
	return []backend{
		{"memstore", memBackend},
		{"PostgreSQL", postgresBackend},
		{"Redis", redisBackend},
	}
}

func memBackend(t *testing.T) (func(t *testing.T) replica, session.RevocationBus) {
	ms := memstore.New()
	bus := &memstore.Bus{}
	return func(t *testing.T) replica {
		return replica{cfg: session.Config{Store: ms, Tokens: ms, Revocations: ms, Events: ms, Memberships: ms}, bus: bus}
	}, failingBus{}
}

func postgresBackend(t *testing.T) (func(t *testing.T) replica, session.RevocationBus) {
	db, dsn := testdb.PostgresSchema(t)
	ctx := context.Background()
	st, err := sqlstore.New(db, sqlstore.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Channels are per database and tests share it: one channel per test.
	channel := "ssokit_test_" + strings.ToLower(opaque.NewID(""))
	dead, err := sqlnotify.New(sqlnotify.Config{DB: db, DSN: "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=1", Channel: channel})
	if err != nil {
		t.Fatal(err)
	}
	return func(t *testing.T) replica {
		// The application name marks this replica's connections, so that
		// kill cuts its LISTEN connection and no other.
		name := "ssokit-replica-" + strings.ToLower(opaque.NewID(""))
		rdsn := dsn + "&application_name=" + name
		rdb, err := sql.Open("pgx", rdsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rdb.Close() })
		rst, err := sqlstore.New(rdb, sqlstore.Postgres)
		if err != nil {
			t.Fatal(err)
		}
		bus, err := sqlnotify.New(sqlnotify.Config{DB: rdb, DSN: rdsn, Channel: channel})
		if err != nil {
			t.Fatal(err)
		}
		kill := func(t *testing.T) {
			t.Helper()
			deadline := time.Now().Add(5 * time.Second)
			for {
				var n int
				err := db.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
					WHERE application_name = $1 AND query LIKE 'LISTEN %'`, name).Scan(&n)
				if err != nil {
					t.Fatalf("terminate the LISTEN backend: %v", err)
				}
				if n > 0 {
					return
				}
				if time.Now().After(deadline) {
					t.Fatal("no LISTEN backend to terminate")
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		return replica{cfg: session.Config{Store: rst, Tokens: rst, Revocations: rst, Events: rst, Memberships: rst}, bus: bus, kill: kill}
	}, dead
}

func redisBackend(t *testing.T) (func(t *testing.T) replica, session.RevocationBus) {
	url := os.Getenv(testdb.RedisEnv)
	if url == "" {
		t.Skipf("%s is not set; skipping Redis test (e.g. %s=redis://127.0.0.1:6379/0)", testdb.RedisEnv, testdb.RedisEnv)
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parse %s: %v", testdb.RedisEnv, err)
	}
	admin := redis.NewClient(opts)
	prefix := "ssokit-test:" + opaque.NewID("") + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := admin.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			admin.Del(ctx, iter.Val())
		}
		admin.Close()
	})
	channel := prefix + "revocations"
	// Redis keeps sessions and revocations; the core records live in a
	// database store, here one memstore both replicas share.
	core := memstore.New()
	deadClient := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { deadClient.Close() })
	dead, err := redisstore.NewBus(deadClient, redisstore.BusOptions{Channel: channel})
	if err != nil {
		t.Fatal(err)
	}
	return func(t *testing.T) replica {
		name := "ssokit-replica-" + strings.ToLower(opaque.NewID(""))
		o := *opts
		o.ClientName = name
		rc := redis.NewClient(&o)
		t.Cleanup(func() { rc.Close() })
		st, err := redisstore.New(rc, redisstore.Options{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		bus, err := redisstore.NewBus(rc, redisstore.BusOptions{Channel: channel})
		if err != nil {
			t.Fatal(err)
		}
		kill := func(t *testing.T) {
			t.Helper()
			ctx := context.Background()
			list, err := admin.ClientList(ctx).Result()
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			sc := bufio.NewScanner(strings.NewReader(list))
			for sc.Scan() {
				f := map[string]string{}
				for _, kv := range strings.Fields(sc.Text()) {
					k, v, _ := strings.Cut(kv, "=")
					f[k] = v
				}
				if f["name"] == name && f["sub"] != "0" && f["sub"] != "" {
					if err := admin.Do(ctx, "CLIENT", "KILL", "ID", f["id"]).Err(); err != nil {
						t.Fatal(err)
					}
					n++
				}
			}
			if n == 0 {
				t.Fatal("no subscribed connection to kill")
			}
		}
		return replica{cfg: session.Config{Store: st, Tokens: st, Revocations: st, Events: core, Memberships: core}, bus: bus, kill: kill}
	}, dead
}

// failingBus is a bus whose channel never works.
type failingBus struct{}

func (failingBus) Publish(context.Context, string) error { return sso.ErrUnavailable }
func (failingBus) Subscribe(ctx context.Context, _ func(string)) error {
	<-time.After(10 * time.Millisecond)
	return sso.ErrUnavailable
}

// cuttableBus wraps a bus so that a test can break the channel for good:
// after cut, the current subscription ends and every new one fails.
type cuttableBus struct {
	session.RevocationBus
	mu     sync.Mutex
	cutOff bool
	cancel context.CancelFunc
	ended  chan struct{}
}

func newCuttable(b session.RevocationBus) *cuttableBus {
	return &cuttableBus{RevocationBus: b, ended: make(chan struct{}, 1)}
}

func (c *cuttableBus) Subscribe(ctx context.Context, fn func(string)) error {
	c.mu.Lock()
	if c.cutOff {
		c.mu.Unlock()
		return errors.New("channel cut")
	}
	ctx2, cancel := context.WithCancel(ctx)
	c.cancel = cancel
	c.mu.Unlock()
	err := c.RevocationBus.Subscribe(ctx2, fn)
	cancel()
	select {
	case c.ended <- struct{}{}:
	default:
	}
	if ctx.Err() == nil {
		return fmt.Errorf("channel cut: %w", err)
	}
	return err
}

func (c *cuttableBus) cut() {
	c.mu.Lock()
	c.cutOff = true
	if c.cancel != nil {
		c.cancel()
	}
	c.mu.Unlock()
}

// signingKey is shared by every replica of a test.
var signingKey = sync.OnceValue(func() session.SigningKey {
	k, err := session.GenerateSigningKey("k1", session.ES256)
	if err != nil {
		panic(err)
	}
	return k
})

// startReplica returns a Manager on r with bus (nil for none) running
// Run until the test ends. Cached revocation times live a minute whether the
// channel is up or down unless mutate says otherwise, so only the bus can
// make a revocation reach the replica within a second.
func startReplica(t *testing.T, r replica, bus session.RevocationBus, mutate ...func(*session.Config)) *session.Manager {
	t.Helper()
	cfg := r.cfg
	cfg.SigningKeys = []session.SigningKey{signingKey()}
	cfg.Issuer = "https://app.test"
	cfg.RevocationBus = bus
	cfg.RevocationCacheTTL, cfg.RevocationFallbackTTL = time.Minute, time.Minute
	cfg.Logger = slog.New(slog.DiscardHandler)
	for _, f := range mutate {
		f(&cfg)
	}
	m, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if bus != nil && !errors.Is(err, context.Canceled) || bus == nil && err != nil {
				t.Errorf("Run = %v, want context.Canceled (nil without a bus)", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return 10 s after its context ended")
		}
	})
	return m
}

// grant is a user's session and access token, issued on one replica.
type grant struct {
	user   string
	s      *session.Session
	cookie *http.Cookie
	token  string
}

func issueGrant(t *testing.T, m *session.Manager, user string) grant {
	t.Helper()
	w := httptest.NewRecorder()
	s, err := m.Issue(w, httptest.NewRequest("POST", "https://app.test/login", nil),
		&sso.SessionGrant{UserID: user, OrgID: orgA, Method: sso.AuthMethod("saml"), Roles: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.IssueTokens(context.Background(), s, session.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return grant{user: user, s: s, cookie: w.Result().Cookies()[0], token: p.AccessToken}
}

// revocation is one way an access token loses its validity.
type revocation struct {
	name string
	do   func(t *testing.T, m *session.Manager, g grant)
}

var revocations = []revocation{
	{"deactivation", func(t *testing.T, m *session.Manager, g grant) {
		if err := m.RevokeUser(context.Background(), g.user); err != nil {
			t.Fatal(err)
		}
	}},
	{"demotion", func(t *testing.T, m *session.Manager, g grant) {
		err := m.SyncMembership(context.Background(), &sso.Membership{OrgID: orgA, UserID: g.user, Roles: []string{"viewer"}, Status: sso.MembershipActive})
		if err != nil {
			t.Fatal(err)
		}
	}},
	{"logout", func(t *testing.T, m *session.Manager, g grant) {
		r := httptest.NewRequest("POST", "https://app.test/logout", nil)
		r.AddCookie(g.cookie)
		if err := m.Logout(httptest.NewRecorder(), r); err != nil {
			t.Fatal(err)
		}
	}},
}

// acceptedOn fails the test unless m accepts g's token now.
func acceptedOn(t *testing.T, m *session.Manager, g grant, what string) {
	t.Helper()
	if _, err := m.VerifyAccessToken(context.Background(), g.token); err != nil {
		t.Fatalf("%s: token refused: %v", what, err)
	}
}

// refusedWithin polls m until it refuses g's token as revoked, and returns
// how long that took from start, or false after limit.
func refusedWithin(t *testing.T, m *session.Manager, g grant, start time.Time, limit time.Duration) (time.Duration, bool) {
	t.Helper()
	for {
		_, err := m.VerifyAccessToken(context.Background(), g.token)
		if err != nil {
			wantReason(t, err, session.ReasonRevoked)
			return time.Since(start), true
		}
		if time.Since(start) > limit {
			return time.Since(start), false
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// trial revokes a fresh grant on a, after b cached it as valid, and returns
// how long b took to refuse it (from the start of the revocation on a).
func trial(t *testing.T, a, b *session.Manager, rev revocation, limit time.Duration) (time.Duration, bool) {
	t.Helper()
	g := issueGrant(t, a, "u_"+opaque.NewID(""))
	acceptedOn(t, b, g, "before the revocation")
	start := time.Now()
	rev.do(t, a, g)
	return refusedWithin(t, b, g, start, limit)
}

// waitListening returns once b hears a's revocations, failing the test
// after 15 s: a revocation is only then refused on b at once, since
// cached times live a minute.
func waitListening(t *testing.T, a, b *session.Manager) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := trial(t, a, b, revocations[0], 300*time.Millisecond); ok {
			return
		}
	}
	t.Fatal("the replica never heard a revocation")
}

// percentile is the nearest-rank percentile p (0..1) of sorted ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(ds)))) - 1
	return ds[max(i, 0)]
}

// TestRevocationReachesEveryReplica checks that a deactivation, demotion or
// logout on replica A makes replica B refuse the access token within a
// second, while B's cached revocation times would otherwise live a minute.
// It logs the latency over 100 deactivations (start of RevokeUser on A to
// the first refusal on B).
func TestRevocationReachesEveryReplica(t *testing.T) {
	t.Parallel()
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			newReplica, _ := be.setup(t)
			ra, rb := newReplica(t), newReplica(t)
			a, b := startReplica(t, ra, ra.bus), startReplica(t, rb, rb.bus)
			waitListening(t, a, b)
			for _, rev := range revocations {
				for i := 0; i < 10; i++ {
					if d, ok := trial(t, a, b, rev, time.Second); !ok {
						t.Fatalf("%s %d: B still accepts the token %v after the revocation on A", rev.name, i, d)
					}
				}
				// And the other way round.
				if d, ok := trial(t, b, a, rev, time.Second); !ok {
					t.Fatalf("%s from B: A still accepts the token %v after the revocation", rev.name, d)
				}
			}
			// ds: from the start of RevokeUser on A to the first refusal
			// on B; calls: RevokeUser on A alone (store writes and
			// publication).
			var ds, calls []time.Duration
			for i := 0; i < 100; i++ {
				g := issueGrant(t, a, "u_"+opaque.NewID(""))
				acceptedOn(t, b, g, "before the revocation")
				start := time.Now()
				revocations[0].do(t, a, g)
				calls = append(calls, time.Since(start))
				d, ok := refusedWithin(t, b, g, start, time.Second)
				if !ok {
					t.Fatalf("deactivation %d: B still accepts the token %v after the revocation on A", i, d)
				}
				ds = append(ds, d)
			}
			slices.Sort(ds)
			slices.Sort(calls)
			// Control: a replica without the bus still accepts the token,
			// so what the trials measured is the bus.
			nobus := startReplica(t, newReplica(t), nil)
			if d, ok := trial(t, a, nobus, revocations[0], 200*time.Millisecond); ok {
				t.Fatalf("a replica without a bus refused the revoked token after %v; the trials do not measure the bus", d)
			}
			r := func(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
			t.Logf("revocation reaches the other replica (%s, %d trials): p50 %v, p99 %v, max %v (RevokeUser on A alone: p50 %v, p99 %v)",
				be.name, len(ds), r(percentile(ds, .5)), r(percentile(ds, .99)), r(ds[len(ds)-1]),
				r(percentile(calls, .5)), r(percentile(calls, .99)))
			if path := os.Getenv("SSOKIT_REVOCATION_REPORT"); path != "" {
				appendReport(t, path, fmt.Sprintf("| %s | %d | %v | %v | %v | %v | %v |\n", be.name, len(ds),
					r(percentile(ds, .5)), r(percentile(ds, .99)), r(ds[len(ds)-1]), r(percentile(calls, .5)), r(percentile(calls, .99))))
			}
		})
	}
}

var reportMu sync.Mutex

func appendReport(t *testing.T, path, line string) {
	reportMu.Lock()
	defer reportMu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line); err != nil {
		t.Fatal(err)
	}
}

// TestRevocationFallbackWhileChannelDown checks that a replica whose
// channel is down still refuses a revoked token within the fallback TTL,
// both when the bus never connected and when it broke after caching under
// the longer TTL of a working channel.
func TestRevocationFallbackWhileChannelDown(t *testing.T) {
	t.Parallel()
	const (
		cacheTTL = 30 * time.Second
		fallback = 2 * time.Second
	)
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			newReplica, dead := be.setup(t)
			c := testkit.NewClock(time.Now().Truncate(time.Second))
			ttls := func(cfg *session.Config) {
				cfg.Now = c.Now
				cfg.RevocationCacheTTL, cfg.RevocationFallbackTTL = cacheTTL, fallback
			}
			ra, rb, rc := newReplica(t), newReplica(t), newReplica(t)
			cb := newCuttable(rb.bus)
			a := startReplica(t, ra, ra.bus, ttls)
			b := startReplica(t, rb, cb, ttls)
			never := startReplica(t, rc, dead, ttls)

			// B listens, and caches under the channel's TTL.
			deadline := time.Now().Add(15 * time.Second)
			for {
				g := issueGrant(t, a, "u_"+opaque.NewID(""))
				acceptedOn(t, b, g, "probe")
				if err := a.RevokeUser(context.Background(), g.user); err != nil {
					t.Fatal(err)
				}
				if _, ok := refusedWithin(t, b, g, time.Now(), 300*time.Millisecond); ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("B never heard a revocation")
				}
			}
			g := issueGrant(t, a, "u_"+opaque.NewID(""))
			acceptedOn(t, b, g, "B, channel up")
			acceptedOn(t, never, g, "the replica whose channel never worked")

			cb.cut()
			select {
			case <-cb.ended:
			case <-time.After(10 * time.Second):
				t.Fatal("B's subscription did not end after the cut")
			}
			// Run marks the channel down right after Subscribe returns.
			time.Sleep(50 * time.Millisecond)
			if err := a.RevokeUser(context.Background(), g.user); err != nil {
				t.Fatal(err)
			}
			acceptedOn(t, b, g, "B, within the fallback TTL of its cached time")
			acceptedOn(t, never, g, "the replica without channel, within the fallback TTL")
			c.Advance(fallback)
			for name, m := range map[string]*session.Manager{"B after its channel broke": b, "the replica whose channel never worked": never} {
				_, err := m.VerifyAccessToken(context.Background(), g.token)
				if err == nil {
					t.Fatalf("%s accepts a token revoked %v ago; the fallback TTL is %v", name, fallback, fallback)
				}
				wantReason(t, err, session.ReasonRevoked)
			}
		})
	}
}

// TestRevocationReconnects kills B's listening connection on the server
// and checks that B listens again and hears revocations within a second.
func TestRevocationReconnects(t *testing.T) {
	t.Parallel()
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			newReplica, _ := be.setup(t)
			ra, rb := newReplica(t), newReplica(t)
			if rb.kill == nil {
				t.Skip("the in-process bus has no connection to kill")
			}
			a, b := startReplica(t, ra, ra.bus), startReplica(t, rb, rb.bus)
			waitListening(t, a, b)
			for round := 0; round < 3; round++ {
				// A token B cached before the kill, revoked while B may
				// still be reconnecting: the cache drop on listening again
				// makes B refuse it.
				g := issueGrant(t, a, "u_"+opaque.NewID(""))
				acceptedOn(t, b, g, "before the kill")
				rb.kill(t)
				if err := a.RevokeUser(context.Background(), g.user); err != nil {
					t.Fatal(err)
				}
				if d, ok := refusedWithin(t, b, g, time.Now(), 10*time.Second); !ok {
					t.Fatalf("round %d: B accepts a token revoked during its reconnection %v later", round, d)
				}
				waitListening(t, a, b)
				for i := 0; i < 5; i++ {
					if d, ok := trial(t, a, b, revocations[i%len(revocations)], time.Second); !ok {
						t.Fatalf("round %d: B still accepts the token %v after the revocation on A", round, d)
					}
				}
			}
		})
	}
}

// TestRevocationBusIgnoresStaleRead checks that a revocation time read
// from the store before a revocation was heard is not cached: B's read of
// the user's (absent) revocation races with A's revocation and loses.
func TestRevocationBusIgnoresStaleRead(t *testing.T) {
	t.Parallel()
	ms := memstore.New()
	bus := &syncBus{}
	gate := &gatedRevocations{RevocationStore: ms}
	r := replica{cfg: session.Config{Store: ms, Tokens: ms, Revocations: ms, Events: ms, Memberships: ms}}
	a := startReplica(t, r, bus)
	rb := r
	rb.cfg.Revocations = gate
	b := startReplica(t, rb, bus)
	waitListening(t, a, b)

	g := issueGrant(t, a, "u_stale")
	gate.arm()
	res := make(chan error, 1)
	go func() {
		_, err := b.VerifyAccessToken(context.Background(), g.token)
		res <- err
	}()
	<-gate.reading // B has read "not revoked" and not yet cached it.
	// The bus delivers to B before RevokeUser returns.
	if err := a.RevokeUser(context.Background(), g.user); err != nil {
		t.Fatal(err)
	}
	close(gate.release)
	if err := <-res; err != nil {
		t.Fatalf("the racing verification: %v, want the token accepted (it read before the revocation)", err)
	}
	_, err := b.VerifyAccessToken(context.Background(), g.token)
	if err == nil {
		t.Fatal("B cached the revocation time it read before the revocation and accepts the revoked token")
	}
	wantReason(t, err, session.ReasonRevoked)
}

// syncBus delivers each subject to every subscriber before Publish
// returns.
type syncBus struct {
	mu   sync.Mutex
	next int
	fns  map[int]func(string)
}

func (s *syncBus) Publish(_ context.Context, subject string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fn := range s.fns {
		fn(subject)
	}
	return nil
}

func (s *syncBus) Subscribe(ctx context.Context, fn func(string)) error {
	s.mu.Lock()
	if s.fns == nil {
		s.fns = map[int]func(string){}
	}
	id := s.next
	s.next++
	fn("")
	s.fns[id] = fn
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	delete(s.fns, id)
	s.mu.Unlock()
	return ctx.Err()
}

// gatedRevocations holds the first GetRevocation after arm until release,
// after it has read.
type gatedRevocations struct {
	session.RevocationStore
	mu      sync.Mutex
	armed   bool
	reading chan struct{}
	release chan struct{}
}

func (g *gatedRevocations) arm() {
	g.mu.Lock()
	g.armed = true
	g.reading, g.release = make(chan struct{}), make(chan struct{})
	g.mu.Unlock()
}

func (g *gatedRevocations) GetRevocation(ctx context.Context, subject string) (time.Time, error) {
	at, err := g.RevocationStore.GetRevocation(ctx, subject)
	g.mu.Lock()
	armed := g.armed && strings.HasPrefix(subject, "user:")
	if armed {
		g.armed = false
	}
	g.mu.Unlock()
	if armed {
		close(g.reading)
		<-g.release
	}
	return at, err
}

func TestRevocationBusConfig(t *testing.T) {
	t.Parallel()
	ms := memstore.New()
	base := session.Config{Store: ms, Events: ms, RevocationBus: &memstore.Bus{}}
	for _, tc := range []struct {
		name            string
		cache, fallback time.Duration
		ok              bool
	}{
		{"defaults", 0, 0, true},
		{"fallback above cache", 2 * time.Second, 3 * time.Second, false},
		{"negative fallback", 0, -time.Second, false},
		{"default fallback capped by a short cache", time.Second, 0, true},
	} {
		cfg := base
		cfg.RevocationCacheTTL, cfg.RevocationFallbackTTL = tc.cache, tc.fallback
		_, err := session.New(cfg)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, sso.ErrInvalidConfig)) {
			t.Errorf("%s: New = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	m, err := session.New(base)
	if err != nil {
		t.Fatal(err)
	}
	// Of two concurrent Runs one refuses at once; the other runs until
	// its context ends.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	for range 2 {
		go func() { done <- m.Run(ctx) }()
	}
	select {
	case err := <-done:
		if err == nil || errors.Is(err, context.Canceled) {
			t.Errorf("second Run = %v, want an error", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("neither Run refused to run twice")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	noBus, _ := session.New(session.Config{Store: ms, Events: ms})
	if err := noBus.Run(context.Background()); err != nil {
		t.Errorf("Run without a bus = %v, want nil at once", err)
	}
}
