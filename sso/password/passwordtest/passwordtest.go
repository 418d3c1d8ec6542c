// Package passwordtest is the conformance suite of password.Store: one
// function that every implementation runs (store/memstore/mempassword,
// store/sqlstore/sqlpassword on SQLite and PostgreSQL) and that a host
// runs against its own.
//
//	func TestConformance(t *testing.T) {
//		passwordtest.Run(t, func(t *testing.T) password.Store { return newStore(t) })
//	}
package passwordtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/password"
)

// Run runs every subtest against a fresh, empty store from newStore. Times
// are compared at microsecond precision, which every store keeps.
func Run(t *testing.T, newStore func(t *testing.T) password.Store) {
	t.Run("Credentials", func(t *testing.T) { t.Parallel(); credentials(t, newStore(t)) })
	t.Run("CompareAndSwap", func(t *testing.T) { t.Parallel(); compareAndSwap(t, newStore(t)) })
	t.Run("Tokens", func(t *testing.T) { t.Parallel(); tokens(t, newStore(t)) })
	t.Run("TokenTakenOnce", func(t *testing.T) { t.Parallel(); tokenTakenOnce(t, newStore(t)) })
	t.Run("Throttle", func(t *testing.T) { t.Parallel(); throttle(t, newStore(t)) })
	t.Run("ThrottleConcurrent", func(t *testing.T) { t.Parallel(); throttleConcurrent(t, newStore(t)) })
	t.Run("CountAttempt", func(t *testing.T) { t.Parallel(); countAttempt(t, newStore(t)) })
	t.Run("UncountAttempt", func(t *testing.T) { t.Parallel(); uncountAttempt(t, newStore(t)) })
	t.Run("CountAttemptConcurrent", func(t *testing.T) { t.Parallel(); countAttemptConcurrent(t, newStore(t)) })
}

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)

func cred(id, email string) *password.Credential {
	return &password.Credential{UserID: id, Email: email, Hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + id,
		Version: 1, CreatedAt: t0, UpdatedAt: t0}
}

func equalCred(a, b *password.Credential) bool {
	return a.UserID == b.UserID && a.Email == b.Email && a.Hash == b.Hash && a.Version == b.Version &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func credentials(t *testing.T, st password.Store) {
	ctx := context.Background()
	c := cred("usr_1", "jane@acme.example")
	if err := st.CreateCredential(ctx, c); err != nil {
		t.Fatalf("CreateCredential: %v", err)
	}
	if err := st.CreateCredential(ctx, cred("usr_1", "other@acme.example")); !errors.Is(err, sso.ErrConflict) {
		t.Errorf("CreateCredential with a taken user ID: got %v, want ErrConflict", err)
	}
	if err := st.CreateCredential(ctx, cred("usr_2", "jane@acme.example")); !errors.Is(err, sso.ErrConflict) {
		t.Errorf("CreateCredential with a taken email: got %v, want ErrConflict", err)
	}
	if _, err := st.GetCredential(ctx, "usr_2"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("a refused create wrote a record: GetCredential(usr_2) = %v, want ErrNotFound", err)
	}
	got, err := st.GetCredential(ctx, "usr_1")
	if err != nil || !equalCred(got, c) {
		t.Errorf("GetCredential: got %+v, %v, want %+v", got, err, c)
	}
	got, err = st.FindCredential(ctx, "jane@acme.example")
	if err != nil || !equalCred(got, c) {
		t.Errorf("FindCredential: got %+v, %v, want %+v", got, err, c)
	}
	got.Hash = "changed by the caller"
	if again, _ := st.GetCredential(ctx, "usr_1"); again == nil || again.Hash != c.Hash {
		t.Errorf("a returned record shares memory with the store: %+v", again)
	}
	if _, err := st.FindCredential(ctx, "nobody@acme.example"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("FindCredential(unknown): got %v, want ErrNotFound", err)
	}
	if _, err := st.GetCredential(ctx, "usr_404"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("GetCredential(unknown): got %v, want ErrNotFound", err)
	}
}

func compareAndSwap(t *testing.T, st password.Store) {
	ctx := context.Background()
	c := cred("usr_1", "jane@acme.example")
	if err := st.CreateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	next := *c
	next.Hash, next.Version, next.UpdatedAt = "new-hash", 2, t0.Add(time.Hour)
	if err := st.UpdateCredential(ctx, &next, "stale-hash"); !errors.Is(err, sso.ErrConflict) {
		t.Errorf("UpdateCredential with a stale old hash: got %v, want ErrConflict", err)
	}
	if got, _ := st.GetCredential(ctx, "usr_1"); got == nil || got.Hash != c.Hash {
		t.Errorf("a refused update wrote: %+v", got)
	}
	if err := st.UpdateCredential(ctx, &next, c.Hash); err != nil {
		t.Fatalf("UpdateCredential: %v", err)
	}
	if got, err := st.GetCredential(ctx, "usr_1"); err != nil || !equalCred(got, &next) {
		t.Errorf("after UpdateCredential: got %+v, %v, want %+v", got, err, next)
	}
	missing := cred("usr_404", "x@acme.example")
	if err := st.UpdateCredential(ctx, missing, missing.Hash); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("UpdateCredential(unknown): got %v, want ErrNotFound", err)
	}
	// Of concurrent swaps from one old hash, exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := next
			n.Hash = fmt.Sprintf("race-%d", i)
			if err := st.UpdateCredential(ctx, &n, next.Hash); err == nil {
				wins.Add(1)
			} else if !errors.Is(err, sso.ErrConflict) {
				t.Errorf("concurrent UpdateCredential: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("concurrent compare-and-swap: %d winners, want 1", wins.Load())
	}
}

func token(hash string, kind password.TokenKind, user string) *password.Token {
	return &password.Token{Hash: hash, Kind: kind, UserID: user, Email: user + "@acme.example", Version: 3,
		CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}
}

func tokens(t *testing.T, st password.Store) {
	ctx := context.Background()
	a := token("h-a", password.TokenReset, "usr_1")
	for _, tk := range []*password.Token{a, token("h-b", password.TokenReset, "usr_1"), token("h-c", password.TokenVerify, "usr_1"),
		token("h-d", password.TokenReset, "usr_2")} {
		if err := st.CreateToken(ctx, tk); err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
	}
	if err := st.CreateToken(ctx, token("h-a", password.TokenVerify, "usr_9")); !errors.Is(err, sso.ErrConflict) {
		t.Errorf("CreateToken with a taken hash: got %v, want ErrConflict", err)
	}
	if _, err := st.TakeToken(ctx, password.TokenVerify, "h-a"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("TakeToken of another kind: got %v, want ErrNotFound", err)
	}
	got, err := st.TakeToken(ctx, password.TokenReset, "h-a")
	if err != nil || got.UserID != a.UserID || got.Email != a.Email || got.Version != a.Version || got.Kind != a.Kind ||
		!got.CreatedAt.Equal(a.CreatedAt) || !got.ExpiresAt.Equal(a.ExpiresAt) {
		t.Fatalf("TakeToken: got %+v, %v, want %+v", got, err, a)
	}
	if _, err := st.TakeToken(ctx, password.TokenReset, "h-a"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("TakeToken twice: got %v, want ErrNotFound", err)
	}
	if err := st.DeleteTokens(ctx, "usr_1", password.TokenReset); err != nil {
		t.Fatalf("DeleteTokens: %v", err)
	}
	if _, err := st.TakeToken(ctx, password.TokenReset, "h-b"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("a token DeleteTokens removed: got %v, want ErrNotFound", err)
	}
	if _, err := st.TakeToken(ctx, password.TokenVerify, "h-c"); err != nil {
		t.Errorf("DeleteTokens removed a token of another kind: %v", err)
	}
	if _, err := st.TakeToken(ctx, password.TokenReset, "h-d"); err != nil {
		t.Errorf("DeleteTokens removed another user's token: %v", err)
	}
	if err := st.DeleteTokens(ctx, "usr_404", password.TokenReset); err != nil {
		t.Errorf("DeleteTokens of a user without tokens: %v", err)
	}
	// An expired token is still returned: the caller checks ExpiresAt.
	old := token("h-old", password.TokenVerify, "usr_3")
	old.ExpiresAt = t0.Add(-time.Hour)
	_ = st.CreateToken(ctx, old)
	if got, err := st.TakeToken(ctx, password.TokenVerify, "h-old"); err != nil || !got.ExpiresAt.Equal(old.ExpiresAt) {
		t.Errorf("TakeToken of an expired token: got %+v, %v, want it returned", got, err)
	}
}

func tokenTakenOnce(t *testing.T, st password.Store) {
	ctx := context.Background()
	if err := st.CreateToken(ctx, token("h-race", password.TokenReset, "usr_1")); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.TakeToken(ctx, password.TokenReset, "h-race"); err == nil {
				wins.Add(1)
			} else if !errors.Is(err, sso.ErrNotFound) {
				t.Errorf("concurrent TakeToken: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("concurrent TakeToken: %d callers got the token, want 1", wins.Load())
	}
}

func throttle(t *testing.T, st password.Store) {
	ctx := context.Background()
	if n, last, err := st.Failures(ctx, "k"); err != nil || n != 0 || !last.IsZero() {
		t.Errorf("Failures(new key) = %d, %v, %v; want 0, zero time, nil", n, last, err)
	}
	forget := t0.Add(-24 * time.Hour)
	for i := 1; i <= 3; i++ {
		n, err := st.RecordFailure(ctx, "k", t0.Add(time.Duration(i)*time.Second), forget)
		if err != nil || n != i {
			t.Fatalf("RecordFailure #%d = %d, %v; want %d", i, n, err, i)
		}
	}
	n, last, err := st.Failures(ctx, "k")
	if err != nil || n != 3 || !last.Equal(t0.Add(3*time.Second)) {
		t.Errorf("Failures = %d, %v, %v; want 3 at %v", n, last, err, t0.Add(3*time.Second))
	}
	if n, _, _ := st.Failures(ctx, "other"); n != 0 {
		t.Errorf("keys are not separate: Failures(other) = %d", n)
	}
	// A failure after the forget horizon starts the count again.
	later := t0.Add(48 * time.Hour)
	if n, err := st.RecordFailure(ctx, "k", later, later.Add(-24*time.Hour)); err != nil || n != 1 {
		t.Errorf("RecordFailure after the horizon = %d, %v; want 1", n, err)
	}
	if err := st.ResetFailures(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := st.Failures(ctx, "k"); n != 0 {
		t.Errorf("Failures after ResetFailures = %d, want 0", n)
	}
	if err := st.ResetFailures(ctx, "never"); err != nil {
		t.Errorf("ResetFailures(unknown) = %v, want nil", err)
	}
}

func throttleConcurrent(t *testing.T, st password.Store) {
	ctx := context.Background()
	const n = 16
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.RecordFailure(ctx, "hot", t0, t0.Add(-time.Hour)); err != nil {
				t.Errorf("RecordFailure: %v", err)
			}
		}()
	}
	wg.Wait()
	if got, _, err := st.Failures(ctx, "hot"); err != nil || got != n {
		t.Errorf("after %d concurrent failures: Failures = %d, %v", n, got, err)
	}
}
