package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
)

// racers is how many goroutines contend in each race.
const racers = 50

// race runs f(i) for i in [0, racers) at once, released together, and
// returns the errors by index.
func race(f func(i int) error) []error {
	errs := make([]error, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWinner checks that exactly one call succeeded and every other one
// failed with ErrConflict, and returns the winner's index.
func oneWinner(t *testing.T, errs []error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("both %d and %d won", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, sso.ErrConflict):
			t.Errorf("racer %d: got %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("nobody won")
	}
	return winner
}

func runCoreRace(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) sso.Store { return s.Core }, []testCase[sso.Store]{
		{"VerifyDomain", func(t *testing.T, ctx context.Context, s sso.Store) {
			org := func(i int) string { return fmt.Sprintf("org_%02d", i) }
			for i := range racers {
				ok(t, s.CreateDomain(ctx, newDomain(org(i), "contested.example", sso.DomainPending)))
			}
			w := oneWinner(t, race(func(i int) error {
				return s.UpdateDomain(ctx, newDomain(org(i), "contested.example", sso.DomainVerified))
			}))
			got, err := s.FindVerifiedDomain(ctx, "contested.example")
			ok(t, err)
			if got.OrgID != org(w) {
				t.Errorf("verified holder %q, winner %q", got.OrgID, org(w))
			}
			for i := range racers {
				d, err := s.GetDomain(ctx, org(i), "contested.example")
				ok(t, err)
				if (d.State == sso.DomainVerified) != (i == w) {
					t.Errorf("%s: state %q", org(i), d.State)
				}
			}
		}},
		{"CreateVerifiedDomain", func(t *testing.T, ctx context.Context, s sso.Store) {
			org := func(i int) string { return fmt.Sprintf("org_%02d", i) }
			w := oneWinner(t, race(func(i int) error {
				return s.CreateDomain(ctx, newDomain(org(i), "contested.example", sso.DomainVerified))
			}))
			got, err := s.FindVerifiedDomain(ctx, "contested.example")
			ok(t, err)
			if got.OrgID != org(w) {
				t.Errorf("verified holder %q, winner %q", got.OrgID, org(w))
			}
		}},
		{"Slug", func(t *testing.T, ctx context.Context, s sso.Store) {
			w := oneWinner(t, race(func(i int) error {
				return s.CreateOrg(ctx, newOrg(fmt.Sprintf("org_%02d", i), "acme"))
			}))
			got, err := s.GetOrgBySlug(ctx, "acme")
			ok(t, err)
			if got.ID != fmt.Sprintf("org_%02d", w) {
				t.Errorf("slug holder %q, winner %d", got.ID, w)
			}
			list, err := s.ListOrgs(ctx, "", 1000)
			ok(t, err)
			if len(list) != 1 {
				t.Errorf("%d orgs exist, want 1", len(list))
			}
		}},
		{"AppendEvent", func(t *testing.T, ctx context.Context, s sso.Store) {
			errs := race(func(i int) error {
				return s.AppendEvent(ctx, newEvent(fmt.Sprintf("ev_%02d", i), "org_1", sso.EventLoginSucceeded, at(0)))
			})
			for i, err := range errs {
				if err != nil {
					t.Errorf("append %d: %v", i, err)
				}
			}
			got, err := s.ListEvents(ctx, sso.EventQuery{OrgID: "org_1", Limit: 1000})
			ok(t, err)
			if len(got) != racers {
				t.Fatalf("got %d events, want %d", len(got), racers)
			}
			seen := map[string]bool{}
			for i, e := range got {
				if e.Seq != int64(i+1) {
					t.Errorf("event %d has seq %d", i, e.Seq)
				}
				seen[e.ID] = true
			}
			if len(seen) != racers {
				t.Errorf("%d distinct events, want %d", len(seen), racers)
			}
			if err := audit.VerifyChain(got); err != nil {
				t.Errorf("VerifyChain: %v", err)
			}
		}},
		{"Provision", func(t *testing.T, ctx context.Context, s sso.Store) {
			const iss = "https://idp.example.com"
			user := func(i int) string { return fmt.Sprintf("user_%02d", i) }
			w := oneWinner(t, race(func(i int) error {
				return s.Provision(ctx, newUser(user(i), "ada@example.com"), newMember("org_1", user(i)),
					newIdentity(fmt.Sprintf("id_%02d", i), "org_1", iss, "sub-1", user(i)))
			}))
			id, err := s.GetIdentity(ctx, "org_1", iss, "sub-1")
			ok(t, err)
			if id.UserID != user(w) {
				t.Errorf("identity maps to %q, winner %q", id.UserID, user(w))
			}
			members, err := s.ListMembers(ctx, "org_1", "", 1000)
			ok(t, err)
			sameStrings(t, "members", ids(members, func(m *sso.Membership) string { return m.UserID }), []string{user(w)})
			for i := range racers {
				_, err := s.GetUser(ctx, user(i))
				if i == w {
					ok(t, err)
				} else {
					is(t, "loser's user", err, sso.ErrNotFound)
				}
			}
		}},
	})
}
