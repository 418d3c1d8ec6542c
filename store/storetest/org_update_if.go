package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// An organization's settings are one record that several admin actions
// read, change in part and write back. Written with UpdateOrg, a save made
// from a copy read before another administrator's save undoes it (SSO
// enforcement switched back off by an MFA policy edit).
// sso.ConditionalOrgUpdater writes only while the stored organization is
// still the one read.

// orgConditional returns s's ConditionalOrgUpdater, or skips the test when
// s has none (sso.UpdateOrgIf then falls back to a read and a write, which
// narrows the race without closing it).
func orgConditional(t *testing.T, s sso.OrgStore) sso.ConditionalOrgUpdater {
	t.Helper()
	cu, ok := s.(sso.ConditionalOrgUpdater)
	if !ok {
		t.Skipf("storetest: %T does not implement sso.ConditionalOrgUpdater", s)
	}
	return cu
}

// adminEnforceOff switches SSO enforcement off from a fresh read, as the
// enforcement API does, with a new UpdatedAt.
func adminEnforceOff(ctx context.Context, s sso.OrgStore, id string, updated time.Time) error {
	o, err := s.GetOrg(ctx, id)
	if err != nil {
		return err
	}
	o.Settings.SSOEnforced, o.UpdatedAt = false, updated
	return s.UpdateOrg(ctx, o)
}

func runOrgUpdateIf(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) sso.OrgStore { return s.Core }, []testCase[sso.OrgStore]{
		{"Unchanged", func(t *testing.T, ctx context.Context, s sso.OrgStore) {
			cu := orgConditional(t, s)
			ok(t, s.CreateOrg(ctx, newOrg("org_1", "acme")))
			read, err := s.GetOrg(ctx, "org_1")
			ok(t, err)
			o := *read
			o.Name, o.UpdatedAt = "Renamed", sso.NextUpdatedAt(read.UpdatedAt, read.UpdatedAt)
			ok(t, cu.UpdateOrgIf(ctx, &o, read.UpdatedAt))
			got, err := s.GetOrg(ctx, "org_1")
			ok(t, err)
			equal(t, "written", got, &o)
			// The version written is the one to compare with next.
			err = cu.UpdateOrgIf(ctx, read, read.UpdatedAt)
			is(t, "second write from the same read", err, sso.ErrOrgChanged)
			is(t, "second write from the same read", err, sso.ErrConflict)
			o.Name, o.UpdatedAt = "Again", sso.NextUpdatedAt(got.UpdatedAt, got.UpdatedAt)
			ok(t, cu.UpdateOrgIf(ctx, &o, got.UpdatedAt))
		}},
		{"ChangedSinceRead", func(t *testing.T, ctx context.Context, s sso.OrgStore) {
			cu := orgConditional(t, s)
			ok(t, s.CreateOrg(ctx, newOrg("org_1", "acme")))
			read, err := s.GetOrg(ctx, "org_1")
			ok(t, err)
			ok(t, adminEnforceOff(ctx, s, "org_1", at(time.Hour)))
			want, err := s.GetOrg(ctx, "org_1")
			ok(t, err)
			stale := *read
			stale.Settings.MFA.Required, stale.UpdatedAt = true, at(2*time.Hour)
			err = cu.UpdateOrgIf(ctx, &stale, read.UpdatedAt)
			is(t, "write from a copy read before the other change", err, sso.ErrOrgChanged)
			if errors.Is(err, sso.ErrNotFound) {
				t.Errorf("a changed organization reported as missing: %v", err)
			}
			got, err := s.GetOrg(ctx, "org_1")
			ok(t, err)
			equal(t, "after the refused write", got, want)
		}},
		{"NotFound", func(t *testing.T, ctx context.Context, s sso.OrgStore) {
			cu := orgConditional(t, s)
			o := newOrg("nope", "nope")
			is(t, "missing organization", cu.UpdateOrgIf(ctx, o, o.UpdatedAt), sso.ErrNotFound)
			_, err := s.GetOrg(ctx, "nope")
			is(t, "conditional write of a missing organization created it", err, sso.ErrNotFound)
		}},
		{"SlugTaken", func(t *testing.T, ctx context.Context, s sso.OrgStore) {
			cu := orgConditional(t, s)
			ok(t, s.CreateOrg(ctx, newOrg("org_1", "acme")))
			ok(t, s.CreateOrg(ctx, newOrg("org_2", "globex")))
			read, err := s.GetOrg(ctx, "org_1")
			ok(t, err)
			o := *read
			o.Slug, o.UpdatedAt = "globex", at(time.Hour)
			err = cu.UpdateOrgIf(ctx, &o, read.UpdatedAt)
			is(t, "slug taken", err, sso.ErrConflict)
			if errors.Is(err, sso.ErrOrgChanged) {
				t.Errorf("a taken slug reported as a changed organization: %v", err)
			}
		}},
		{"Fallback", func(t *testing.T, ctx context.Context, s sso.OrgStore) {
			// sso.UpdateOrgIf on a store seen only as an OrgStore keeps the
			// same contract, race aside.
			plain := struct{ sso.OrgStore }{s}
			ok(t, s.CreateOrg(ctx, newOrg("org_1", "acme")))
			read, err := s.GetOrg(ctx, "org_1")
			ok(t, err)
			ok(t, adminEnforceOff(ctx, s, "org_1", at(time.Hour)))
			is(t, "fallback write from a stale copy", sso.UpdateOrgIf(ctx, plain, read, read.UpdatedAt), sso.ErrOrgChanged)
			got, err := s.GetOrg(ctx, "org_1")
			ok(t, err)
			if got.Settings.SSOEnforced {
				t.Errorf("enforcement back on after a refused fallback write")
			}
			prev := got.UpdatedAt
			got.Name, got.UpdatedAt = "Renamed", at(2*time.Hour)
			ok(t, sso.UpdateOrgIf(ctx, plain, got, prev))
		}},
	})
}

func runOrgUpdateIfRace(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) sso.OrgStore { return s.Core }, []testCase[sso.OrgStore]{
		{"OneWinnerAndAdminKept", func(t *testing.T, ctx context.Context, s sso.OrgStore) {
			cu := orgConditional(t, s)
			for r := range updateIfRounds {
				id := fmt.Sprintf("org_%02d", r)
				ok(t, s.CreateOrg(ctx, newOrg(id, fmt.Sprintf("slug-%02d", r))))
				read, err := s.GetOrg(ctx, id)
				ok(t, err)
				var (
					wg   sync.WaitGroup
					mu   sync.Mutex
					won  int
					errs []error
				)
				start := make(chan struct{})
				for i := range updateIfRacers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						if i == 0 {
							if err := adminEnforceOff(ctx, s, id, at(time.Hour)); err != nil {
								mu.Lock()
								errs = append(errs, err)
								mu.Unlock()
							}
							return
						}
						// Another setting saved from the copy read before.
						o := *read
						o.Name = fmt.Sprintf("edit %d", i)
						o.UpdatedAt = read.UpdatedAt.Add(time.Duration(i) * time.Second)
						err := cu.UpdateOrgIf(ctx, &o, read.UpdatedAt)
						mu.Lock()
						defer mu.Unlock()
						switch {
						case err == nil:
							won++
						case !errors.Is(err, sso.ErrOrgChanged):
							errs = append(errs, err)
						}
					}()
				}
				close(start)
				wg.Wait()
				for _, err := range errs {
					t.Fatalf("round %d: %v", r, err)
				}
				if won > 1 {
					t.Fatalf("round %d: %d conditional writes from one read succeeded, want at most 1", r, won)
				}
				got, err := s.GetOrg(ctx, id)
				ok(t, err)
				if got.Settings.SSOEnforced {
					t.Fatalf("round %d: enforcement on, want the administrator's change to survive the stale writers", r)
				}
			}
		}},
	})
}
