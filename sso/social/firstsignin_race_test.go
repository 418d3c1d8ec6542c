package social_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ssokit/ssokit/sso/social"
)

// TestConcurrentFirstSignIn runs on every backend: the same provider
// account signs in for the first time from two tabs at once. Both plans
// see no user, both create one; the identity's uniqueness lets one link,
// and the other deletes its user and signs in through the identity the
// winner linked. One user and one identity remain, so later sign-ins by
// the address are not ambiguous.
func TestConcurrentFirstSignIn(t *testing.T) {
	r := newRP(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			gh := newFakeGitHub(t, r.redirectURI("github"))
			e := newEnv(t, r, b, []social.Provider{gh.provider()})
			org := e.org("startup", false, true)
			for round := range 20 {
				email := "twin" + string(rune('a'+round)) + "@startup.example"
				e.adm.invite(email, org.ID)
				acct := &social.VerifiedAccount{Subject: "gh-" + email, Email: email, EmailVerified: true, Name: "Twin"}
				var ok atomic.Int32
				var wg sync.WaitGroup
				for range 2 {
					wg.Go(func() {
						req := httptest.NewRequest("GET", "https://app.acme.example/auth/social/github/callback", nil)
						if _, err := e.m.SignIn(httptest.NewRecorder(), req, "github", acct, ""); err == nil {
							ok.Add(1)
						} else {
							t.Logf("round %d: a sign-in failed: %v", round, err)
						}
					})
				}
				wg.Wait()
				users, err := e.social.FindUsersByEmail(context.Background(), email)
				if err != nil {
					t.Fatal(err)
				}
				if len(users) != 1 {
					t.Fatalf("round %d: %d users with %s after two concurrent first sign-ins, want 1", round, len(users), email)
				}
				if ids := e.identities(users[0].ID); len(ids) != 1 {
					t.Fatalf("round %d: %d identities, want 1", round, len(ids))
				}
				if ok.Load() == 0 {
					t.Fatalf("round %d: neither sign-in succeeded", round)
				}
			}
		})
	}
}
