// Package emailcodetest is the conformance suite of emailcode.Store: one
// function that every implementation runs (store/memstore/mememailcode,
// store/sqlstore/sqlemailcode on SQLite and PostgreSQL) and that a host
// runs against its own.
//
//	func TestConformance(t *testing.T) {
//		emailcodetest.Run(t, func(t *testing.T) emailcodetest.Stores {
//			st := newStore(t)
//			return emailcodetest.Stores{Store: st.EmailCode(), Users: st}
//		})
//	}
package emailcodetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/emailcode"
)

// Stores is a fresh, empty emailcode store and the core user store whose
// users its FindVerifiedUser looks up.
type Stores struct {
	Store emailcode.Store
	Users sso.UserStore
}

// Run runs every subtest against fresh, empty stores from newStores.
// Times are compared at microsecond precision, which every store keeps.
func Run(t *testing.T, newStores func(t *testing.T) Stores) {
	t.Run("Challenges", func(t *testing.T) { t.Parallel(); challenges(t, newStores(t).Store) })
	t.Run("TakenOnce", func(t *testing.T) { t.Parallel(); takenOnce(t, newStores(t).Store) })
	t.Run("Attempts", func(t *testing.T) { t.Parallel(); attempts(t, newStores(t).Store) })
	t.Run("Counter", func(t *testing.T) { t.Parallel(); count(t, newStores(t).Store) })
	t.Run("CounterConcurrent", func(t *testing.T) { t.Parallel(); countConcurrent(t, newStores(t).Store) })
	t.Run("FindVerifiedUser", func(t *testing.T) { t.Parallel(); findUser(t, newStores(t)) })
}

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)

func challenge(id, email string) *emailcode.Challenge {
	return &emailcode.Challenge{ID: id, Email: email, UserID: "usr_" + id, CodeHash: "code-" + id, LinkHash: "link-" + id,
		BrowserHash: "browser-" + id, Org: "acme", ReturnTo: "/app", CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
}

func equal(a, b *emailcode.Challenge) bool {
	return a.ID == b.ID && a.Email == b.Email && a.UserID == b.UserID && a.CodeHash == b.CodeHash && a.LinkHash == b.LinkHash &&
		a.BrowserHash == b.BrowserHash && a.Org == b.Org && a.ReturnTo == b.ReturnTo && a.Attempts == b.Attempts &&
		a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt)
}

func challenges(t *testing.T, st emailcode.Store) {
	ctx := context.Background()
	a := challenge("a", "jane@acme.example")
	for _, c := range []*emailcode.Challenge{a, challenge("b", "jane@acme.example"), challenge("c", "joe@acme.example")} {
		if err := st.CreateChallenge(ctx, c); err != nil {
			t.Fatalf("CreateChallenge: %v", err)
		}
	}
	dupID := challenge("a", "x@acme.example")
	dupID.LinkHash = "link-other"
	if err := st.CreateChallenge(ctx, dupID); !errors.Is(err, sso.ErrConflict) {
		t.Errorf("CreateChallenge with a taken ID: got %v, want ErrConflict", err)
	}
	dupLink := challenge("d", "x@acme.example")
	dupLink.LinkHash = a.LinkHash
	if err := st.CreateChallenge(ctx, dupLink); !errors.Is(err, sso.ErrConflict) {
		t.Errorf("CreateChallenge with a taken link hash: got %v, want ErrConflict", err)
	}
	if _, err := st.GetChallenge(ctx, "d"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("a refused create wrote a record: GetChallenge(d) = %v, want ErrNotFound", err)
	}
	got, err := st.GetChallenge(ctx, "a")
	if err != nil || !equal(got, a) {
		t.Errorf("GetChallenge: got %+v, %v, want %+v", got, err, a)
	}
	got.CodeHash = "changed by the caller"
	if again, _ := st.GetChallenge(ctx, "a"); again == nil || again.CodeHash != a.CodeHash {
		t.Errorf("a returned record shares memory with the store: %+v", again)
	}
	if got, err := st.FindChallengeByLink(ctx, "link-a"); err != nil || !equal(got, a) {
		t.Errorf("FindChallengeByLink: got %+v, %v, want %+v", got, err, a)
	}
	for _, id := range []string{"nope"} {
		if _, err := st.GetChallenge(ctx, id); !errors.Is(err, sso.ErrNotFound) {
			t.Errorf("GetChallenge(unknown): got %v, want ErrNotFound", err)
		}
		if _, err := st.FindChallengeByLink(ctx, id); !errors.Is(err, sso.ErrNotFound) {
			t.Errorf("FindChallengeByLink(unknown): got %v, want ErrNotFound", err)
		}
	}
	if err := st.DeleteChallenges(ctx, "jane@acme.example"); err != nil {
		t.Fatalf("DeleteChallenges: %v", err)
	}
	for _, id := range []string{"a", "b"} {
		if _, err := st.GetChallenge(ctx, id); !errors.Is(err, sso.ErrNotFound) {
			t.Errorf("after DeleteChallenges, GetChallenge(%s) = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := st.FindChallengeByLink(ctx, "link-a"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("after DeleteChallenges, FindChallengeByLink = %v, want ErrNotFound", err)
	}
	if _, err := st.GetChallenge(ctx, "c"); err != nil {
		t.Errorf("DeleteChallenges removed another address's challenge: %v", err)
	}
	if err := st.DeleteChallenges(ctx, "nobody@acme.example"); err != nil {
		t.Errorf("DeleteChallenges of none: %v", err)
	}
	// A deleted challenge's link hash may be used again.
	if err := st.CreateChallenge(ctx, challenge("a", "jane@acme.example")); err != nil {
		t.Errorf("CreateChallenge after delete: %v", err)
	}
}

func takenOnce(t *testing.T, st emailcode.Store) {
	ctx := context.Background()
	a := challenge("a", "jane@acme.example")
	if err := st.CreateChallenge(ctx, a); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := st.TakeChallenge(ctx, "a")
			switch {
			case err == nil && equal(got, a):
				wins.Add(1)
			case err == nil:
				t.Errorf("TakeChallenge returned %+v, want %+v", got, a)
			case !errors.Is(err, sso.ErrNotFound):
				t.Errorf("concurrent TakeChallenge: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("concurrent TakeChallenge: %d winners, want 1", wins.Load())
	}
	if _, err := st.FindChallengeByLink(ctx, a.LinkHash); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("a taken challenge is still found by its link: %v", err)
	}
}

func attempts(t *testing.T, st emailcode.Store) {
	ctx := context.Background()
	if err := st.CreateChallenge(ctx, challenge("a", "jane@acme.example")); err != nil {
		t.Fatal(err)
	}
	seen := make([]atomic.Int32, 9)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := st.AddAttempt(ctx, "a")
			if err != nil || n < 1 || n > 8 {
				t.Errorf("AddAttempt = %d, %v", n, err)
				return
			}
			seen[n].Add(1)
		}()
	}
	wg.Wait()
	for n := 1; n <= 8; n++ {
		if seen[n].Load() != 1 {
			t.Errorf("count %d returned %d times, want once", n, seen[n].Load())
		}
	}
	if got, err := st.GetChallenge(ctx, "a"); err != nil || got.Attempts != 8 {
		t.Errorf("after 8 attempts: got %+v, %v", got, err)
	}
	if _, err := st.AddAttempt(ctx, "nope"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("AddAttempt(unknown): got %v, want ErrNotFound", err)
	}
}

func count(t *testing.T, st emailcode.Store) {
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		now := t0.Add(time.Duration(i) * time.Minute)
		if n, err := st.Count(ctx, "k", now, now.Add(-time.Hour)); err != nil || n != i {
			t.Errorf("Count #%d = %d, %v", i, n, err)
		}
	}
	if n, err := st.Count(ctx, "other", t0, t0.Add(-time.Hour)); err != nil || n != 1 {
		t.Errorf("Count of another key = %d, %v, want 1", n, err)
	}
	// The window started at t0+1m; an hour later it starts again.
	later := t0.Add(61*time.Minute + time.Second)
	if n, err := st.Count(ctx, "k", later, later.Add(-time.Hour)); err != nil || n != 1 {
		t.Errorf("Count after the window = %d, %v, want 1", n, err)
	}
	// The new window starts at later, not at the first count.
	next := later.Add(59 * time.Minute)
	if n, err := st.Count(ctx, "k", next, next.Add(-time.Hour)); err != nil || n != 2 {
		t.Errorf("Count within the new window = %d, %v, want 2", n, err)
	}
}

func countConcurrent(t *testing.T, st emailcode.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.Count(ctx, "k", t0, t0.Add(-time.Hour)); err != nil {
				t.Errorf("Count: %v", err)
			}
		}()
	}
	wg.Wait()
	if n, err := st.Count(ctx, "k", t0, t0.Add(-time.Hour)); err != nil || n != 11 {
		t.Errorf("after 10 concurrent counts, Count = %d, %v, want 11", n, err)
	}
}

func findUser(t *testing.T, s Stores) {
	ctx := context.Background()
	users := []*sso.User{
		{ID: "usr_unverified", Email: "jane@acme.example", CreatedAt: t0.Add(-time.Hour)},
		{ID: "usr_b", Email: "jane@acme.example", EmailVerified: true, CreatedAt: t0},
		{ID: "usr_a", Email: "jane@acme.example", EmailVerified: true, CreatedAt: t0},
		{ID: "usr_later", Email: "jane@acme.example", EmailVerified: true, CreatedAt: t0.Add(time.Hour)},
		{ID: "usr_joe", Email: "joe@acme.example", CreatedAt: t0},
	}
	for _, u := range users {
		u.UpdatedAt = u.CreatedAt
		if err := s.Users.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
	}
	got, err := s.Store.FindVerifiedUser(ctx, "jane@acme.example")
	if err != nil || got.ID != "usr_a" || !got.EmailVerified || got.Email != "jane@acme.example" {
		t.Errorf("FindVerifiedUser: got %+v, %v, want usr_a (earliest verified, then smallest ID)", got, err)
	}
	if _, err := s.Store.FindVerifiedUser(ctx, "joe@acme.example"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("FindVerifiedUser of an unverified account: got %v, want ErrNotFound", err)
	}
	if _, err := s.Store.FindVerifiedUser(ctx, "nobody@acme.example"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("FindVerifiedUser(unknown): got %v, want ErrNotFound", err)
	}
}
