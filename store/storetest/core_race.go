package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
		{"AppendListSealEvents", func(t *testing.T, ctx context.Context, s sso.Store) {
			// Appends to two organizations race with readers (which seal
			// what they read, for a store that seals in batches) and, for
			// such a store, with sealing passes: the separate sealers of
			// replicas. Every reader must see a valid chain holding every
			// event appended before it began, and in the end each chain
			// holds every event once, at consecutive seqs.
			const rounds = 4
			orgs := []string{"org_1", "org_2"}
			es, isSealer := sealer(s)
			var mu sync.Mutex
			acked := map[string][]string{} // org -> IDs appended so far
			errs := race(func(i int) error {
				org := orgs[i%2]
				for r := range rounds {
					switch {
					case i%5 == 0:
						mu.Lock()
						before := slices.Clone(acked[org])
						mu.Unlock()
						got, err := s.ListEvents(ctx, sso.EventQuery{OrgID: org, Limit: 1000})
						if err != nil {
							return err
						}
						if err := audit.VerifyChain(got); err != nil {
							return fmt.Errorf("reader saw a broken chain: %w", err)
						}
						seen := map[string]bool{}
						for _, e := range got {
							seen[e.ID] = true
						}
						for _, id := range before {
							if !seen[id] {
								return fmt.Errorf("event %s appended before ListEvents began is not listed", id)
							}
						}
					case i%5 == 1 && isSealer:
						if _, err := es.SealEvents(ctx); err != nil {
							return err
						}
					default:
						id := fmt.Sprintf("ev_%02d_%d", i, r)
						if err := s.AppendEvent(ctx, newEvent(id, org, sso.EventLoginSucceeded, at(0))); err != nil {
							return err
						}
						mu.Lock()
						acked[org] = append(acked[org], id)
						mu.Unlock()
					}
				}
				return nil
			})
			for i, err := range errs {
				if err != nil {
					t.Errorf("racer %d: %v", i, err)
				}
			}
			for _, org := range orgs {
				got, err := s.ListEvents(ctx, sso.EventQuery{OrgID: org, Limit: 1000})
				ok(t, err)
				if len(got) != len(acked[org]) {
					t.Errorf("%s: %d events listed, %d appended", org, len(got), len(acked[org]))
				}
				listed := ids(got, func(e *sso.Event) string { return e.ID })
				slices.Sort(listed)
				want := slices.Clone(acked[org])
				slices.Sort(want)
				sameStrings(t, org+" events", listed, want)
				if err := audit.VerifyChain(got); err != nil {
					t.Errorf("%s: VerifyChain: %v", org, err)
				}
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
