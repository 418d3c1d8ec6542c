package mfa_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/keyring"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memmfa"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlmfa"
)

// clock is the shared settable test clock.
type clock = testkit.Clock

// fakeElevator stands in for session.Manager (mfa must not import session):
// it records elevations and marks the test principal as MFA'd, as a
// rotated session would.
type fakeElevator struct {
	mu    sync.Mutex
	calls int
	p     *sso.Principal
	err   error
}

func (f *fakeElevator) ElevateMFA(w http.ResponseWriter, r *http.Request, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.calls++
	if f.p != nil {
		f.p.MFA, f.p.MFAAt = true, at
		f.p.SessionID = opaque.NewID("ses_")
	}
	http.SetCookie(w, &http.Cookie{Name: "__Host-session", Value: "rotated", Path: "/", Secure: true, HttpOnly: true})
	return nil
}

func (f *fakeElevator) Calls() int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls }

// coreStore is what the Manager needs of the core store.
type coreStore interface {
	sso.UserStore
	sso.OrgStore
	sso.MembershipStore
	sso.EventStore
}

// backing is every store the Manager needs: a core store and the MFA store
// on the same state.
type backing struct {
	coreStore
	mfa.Store
}

type env struct {
	t     testing.TB
	m     *mfa.Manager
	st    backing
	keys  *keyring.Keyring
	clock *clock
	elev  *fakeElevator
	user  *sso.User
	org   *sso.Organization
	p     *sso.Principal
	logs  *bytes.Buffer
}

var t0 = time.Date(2030, 3, 4, 5, 6, 0, 0, time.UTC)

func newMem(c *clock) func(testing.TB) backing {
	return func(testing.TB) backing {
		ms := memstore.New(memstore.WithClock(c.Now))
		return backing{ms, memmfa.New(ms)}
	}
}

func openSQL(t testing.TB, db *sql.DB, d sqlstore.Dialect, c *clock) backing {
	s, err := sqlstore.New(db, d, sqlstore.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return backing{s, sqlmfa.New(s)}
}

// backends lists the stores behaviour tests run on.
func backends() []struct {
	name string
	open func(testing.TB, *clock) backing
} {
	return []struct {
		name string
		open func(testing.TB, *clock) backing
	}{
		{"memstore", func(t testing.TB, c *clock) backing { return newMem(c)(t) }},
		{"sqlite", func(t testing.TB, c *clock) backing { return openSQL(t, testdb.SQLite(t), sqlstore.SQLite, c) }},
		{"postgres", func(t testing.TB, c *clock) backing { return openSQL(t, testdb.Postgres(t), sqlstore.Postgres, c) }},
	}
}

var testKey = bytes.Repeat([]byte{0x42}, 32)

func newEnv(t testing.TB, mutate ...func(*mfa.Config)) *env {
	return newEnvOn(t, nil, mutate...)
}

func newEnvOn(t testing.TB, open func(testing.TB, *clock) backing, mutate ...func(*mfa.Config)) *env {
	t.Helper()
	c := testkit.NewClock(t0)
	if open == nil {
		open = func(t testing.TB, c *clock) backing { return newMem(c)(t) }
	}
	st := open(t, c)
	keys, err := keyring.New("k1", map[string][]byte{"k1": testKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e := &env{t: t, st: st, keys: keys, clock: c, logs: &bytes.Buffer{}}
	e.user = &sso.User{ID: opaque.NewID("usr_"), Email: "ada@acme.example", DisplayName: "Ada", CreatedAt: t0}
	if err := st.CreateUser(ctx, e.user); err != nil {
		t.Fatal(err)
	}
	e.org = &sso.Organization{ID: opaque.NewID("org_"), Slug: "acme" + opaque.NewID("")[:8], Name: "Acme", CreatedAt: t0,
		Settings: sso.OrgSettings{Features: sso.Features{"enforce_mfa"}}}
	if err := st.CreateOrg(ctx, e.org); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateMembership(ctx, &sso.Membership{OrgID: e.org.ID, UserID: e.user.ID, Roles: []string{"member"},
		Status: sso.MembershipActive, Source: sso.SourceAdmin, JoinedAt: t0.Add(-30 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.p = &sso.Principal{Kind: sso.PrincipalSession, SessionID: "ses_1", UserID: e.user.ID, OrgID: e.org.ID,
		Method: sso.AuthLocal, AuthAt: t0.Add(-time.Minute)}
	e.elev = &fakeElevator{p: e.p}
	cfg := mfa.Config{
		Store: st, Sealer: keys, Users: st, Orgs: st, Members: st, Events: st, Elevator: e.elev,
		Issuer: "Acme Cloud", Now: c.Now,
		Logger:        slog.New(slog.NewJSONHandler(&syncWriter{b: e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		EnrollmentURL: "/settings/mfa", VerifyURL: "/mfa/verify",
		WebAuthn: &mfa.WebAuthnConfig{RPID: "app.example", Origins: []string{"https://app.example"}},
	}
	for _, f := range mutate {
		f(&cfg)
	}
	if e.m, err = mfa.New(cfg); err != nil {
		t.Fatal(err)
	}
	return e
}

type syncWriter struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (e *env) ctx() context.Context { return context.Background() }

// code returns the current TOTP code for secret on the env's clock.
func (e *env) code(secret string) string {
	e.t.Helper()
	c, err := totp.GenerateCode(secret, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// enrol enrols TOTP for the env's user and moves the clock to the next
// step, returning the secret and the recovery codes.
func (e *env) enrol() (string, []string) {
	e.t.Helper()
	en, err := e.m.StartTOTPEnrollment(e.ctx(), e.p)
	if err != nil {
		e.t.Fatalf("StartTOTPEnrollment: %v", err)
	}
	codes, err := e.m.ConfirmTOTPEnrollment(e.ctx(), e.p, e.code(en.Secret))
	if err != nil {
		e.t.Fatalf("ConfirmTOTPEnrollment: %v", err)
	}
	e.clock.Advance(30 * time.Second)
	return en.Secret, codes
}

// events returns the org's audit events of type typ.
func (e *env) events(typ string) []*sso.Event {
	e.t.Helper()
	evs, err := e.st.ListEvents(e.ctx(), sso.EventQuery{OrgID: e.org.ID, Type: typ, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func wantReason(t testing.TB, err error, reason string) {
	t.Helper()
	if got := sso.ReasonOf(err); got != reason {
		t.Fatalf("got error %v (reason %q), want reason %q", err, got, reason)
	}
}

// wrongCode returns a 6-digit code different from c.
func wrongCode(c string) string {
	b := []byte(c)
	b[5] = '0' + (b[5]-'0'+1)%10
	return string(b)
}
