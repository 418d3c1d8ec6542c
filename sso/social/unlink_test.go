package social_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/social"
)

// unlinkRounds is how many times the unlink race runs per backend: a lost
// race is rare.
const unlinkRounds = 25

// TestUnlinkKeepsLastUnderRace runs on every backend: two concurrent
// unlinks of the last two social identities of a user who has no other
// way in (no OtherMethods) leave one linked: exactly one succeeds and the
// other is refused with last_method (ErrConflict). With OtherMethods
// vouching for another way in, both succeed.
func TestUnlinkKeepsLastUnderRace(t *testing.T) {
	r := newRP(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			var other atomic.Bool
			gh := newFakeGitHub(t, r.redirectURI("github"))
			e := newEnv(t, r, b, []social.Provider{gh.provider()}, func(c *social.Config) {
				c.OtherMethods = func(context.Context, string) (bool, error) { return other.Load(), nil }
			})
			for round := range unlinkRounds {
				if wins := e.unlinkRace(fmt.Sprintf("usr_race%d", round)); wins != 1 {
					t.Fatalf("round %d: %d of two concurrent unlinks of the last two identities succeeded, %d left; want 1 and 1",
						round, wins, len(e.identities(fmt.Sprintf("usr_race%d", round))))
				}
			}
			other.Store(true)
			if wins := e.unlinkRace("usr_other"); wins != 2 || len(e.identities("usr_other")) != 0 {
				t.Errorf("with another way in: %d unlinks succeeded, %d identities left; want 2 and 0", wins, len(e.identities("usr_other")))
			}
		})
	}
}

// TestUnlinkRefusals runs on every backend: an identity of another user or
// an unknown one is ErrNotFound and stays; the last identity is refused
// with last_method while OtherMethods says no (or fails, its error
// returned) and unlinked, audited, once it says yes.
func TestUnlinkRefusals(t *testing.T) {
	r := newRP(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			var other atomic.Bool
			var otherErr atomic.Pointer[error]
			gh := newFakeGitHub(t, r.redirectURI("github"))
			e := newEnv(t, r, b, []social.Provider{gh.provider()}, func(c *social.Config) {
				c.OtherMethods = func(context.Context, string) (bool, error) {
					if p := otherErr.Load(); p != nil {
						return false, *p
					}
					return other.Load(), nil
				}
			})
			for _, id := range []*social.Identity{
				{Provider: "github", Subject: "1", UserID: "usr_ann", CreatedAt: time.Now(), LastLoginAt: time.Now()},
				{Provider: "github", Subject: "2", UserID: "usr_bob", CreatedAt: time.Now(), LastLoginAt: time.Now()},
			} {
				if err := e.social.CreateIdentity(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.m.Unlink(ctx, "usr_ann", "github", "2"); !errors.Is(err, sso.ErrNotFound) || len(e.identities("usr_bob")) != 1 {
				t.Errorf("unlink of another user's identity: %v; want ErrNotFound, the identity kept", err)
			}
			if err := e.m.Unlink(ctx, "usr_ann", "github", "3"); !errors.Is(err, sso.ErrNotFound) {
				t.Errorf("unlink of an unknown identity: %v; want ErrNotFound", err)
			}
			if err := e.m.Unlink(ctx, "usr_ann", "github", "1"); sso.ReasonOf(err) != social.ReasonLastMethod || !errors.Is(err, sso.ErrConflict) {
				t.Errorf("unlink of the last identity without another way in: %v; want last_method", err)
			}
			boom := errors.New("password store down")
			otherErr.Store(&boom)
			if err := e.m.Unlink(ctx, "usr_ann", "github", "1"); !errors.Is(err, boom) {
				t.Errorf("unlink of the last identity while OtherMethods fails: %v; want its error", err)
			}
			otherErr.Store(nil)
			if len(e.identities("usr_ann")) != 1 || e.hasEvent("", social.EventUnlinked, "", nil) {
				t.Fatalf("refused unlinks removed or audited something: %v", e.identities("usr_ann"))
			}
			other.Store(true)
			if err := e.m.Unlink(ctx, "usr_ann", "github", "1"); err != nil || len(e.identities("usr_ann")) != 0 {
				t.Errorf("unlink of the last identity with another way in: %v, %d left", err, len(e.identities("usr_ann")))
			}
			if !e.hasEvent("", social.EventUnlinked, "", map[string]string{"provider": "github"}) {
				t.Errorf("no %s event: %+v", social.EventUnlinked, e.events(""))
			}
		})
	}
}

// unlinkRace links two identities to user, unlinks both at once and
// returns how many unlinks succeeded. Each refusal must be last_method.
func (e *env) unlinkRace(user string) int32 {
	e.t.Helper()
	ctx := context.Background()
	subjects := []string{user + "-a", user + "-b"}
	for _, s := range subjects {
		if err := e.social.CreateIdentity(ctx, &social.Identity{Provider: "github", Subject: s, UserID: user,
			Email: s + "@mail.example", EmailVerified: true, CreatedAt: time.Now(), LastLoginAt: time.Now()}); err != nil {
			e.t.Fatal(err)
		}
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, s := range subjects {
		wg.Go(func() {
			<-start
			switch err := e.m.Unlink(ctx, user, "github", s); {
			case err == nil:
				wins.Add(1)
			case sso.ReasonOf(err) != social.ReasonLastMethod || !errors.Is(err, sso.ErrConflict):
				e.t.Errorf("Unlink %s: %v; want success or last_method", s, err)
			}
		})
	}
	close(start)
	wg.Wait()
	return wins.Load()
}
