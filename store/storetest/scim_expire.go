package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// A rotation shortens the replaced SCIM token's life. Written with
// UpdateSCIMToken from the copy it read, two rotations of one token at
// once can leave the longer overlap: an administrator who rotated a leaked
// token with no overlap finds it still valid for a week. An
// sso.SCIMTokenExpirer only ever moves an expiry earlier.

// tokenExpirer returns s's SCIMTokenExpirer, or skips the test when s has
// none (sso.ExpireSCIMToken then falls back to UpdateSCIMToken).
func tokenExpirer(t *testing.T, s sso.SCIMTokenStore) sso.SCIMTokenExpirer {
	t.Helper()
	e, ok := s.(sso.SCIMTokenExpirer)
	if !ok {
		t.Skipf("storetest: %T does not implement sso.SCIMTokenExpirer", s)
	}
	return e
}

func runSCIMTokenExpire(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) sso.SCIMTokenStore { return s.Core }, []testCase[sso.SCIMTokenStore]{
		{"OnlyEarlier", func(t *testing.T, ctx context.Context, s sso.SCIMTokenStore) {
			e := tokenExpirer(t, s)
			tok := newToken("tok_1", "org_1", opaque.Hash("a"))
			tok.ExpiresAt = time.Time{}
			ok(t, s.CreateSCIMToken(ctx, tok))
			for _, step := range []struct {
				at, want time.Duration
			}{{48 * time.Hour, 48 * time.Hour}, {72 * time.Hour, 48 * time.Hour}, {2 * time.Hour, 2 * time.Hour}, {2 * time.Hour, 2 * time.Hour}} {
				ok(t, e.ExpireSCIMToken(ctx, tok.ID, at(step.at)))
				got, err := s.FindSCIMToken(ctx, tok.Hash)
				ok(t, err)
				want := *tok
				want.ExpiresAt = at(step.want)
				equal(t, fmt.Sprintf("after an expiry at +%v", step.at), got, &want)
			}
			is(t, "ExpireSCIMToken of a missing token", e.ExpireSCIMToken(ctx, "tok_missing", at(time.Hour)), sso.ErrNotFound)
		}},
		{"KeepsRevocation", func(t *testing.T, ctx context.Context, s sso.SCIMTokenStore) {
			e := tokenExpirer(t, s)
			tok := newToken("tok_1", "org_1", opaque.Hash("a"))
			tok.RevokedAt = at(time.Hour)
			ok(t, s.CreateSCIMToken(ctx, tok))
			ok(t, e.ExpireSCIMToken(ctx, tok.ID, at(3*time.Hour)))
			got, err := s.FindSCIMToken(ctx, tok.Hash)
			ok(t, err)
			if got.RevokedAt.IsZero() || got.Valid(at(2*time.Hour)) {
				t.Fatalf("revoked token after an expiry: %+v", got)
			}
		}},
	})
}

// runSCIMTokenExpireRace: rotations of one token with overlaps from a
// week down to none, all at once, leave the shortest.
func runSCIMTokenExpireRace(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) sso.SCIMTokenStore { return s.Core }, []testCase[sso.SCIMTokenStore]{
		{"ShortestOverlapWins", func(t *testing.T, ctx context.Context, s sso.SCIMTokenStore) {
			e := tokenExpirer(t, s)
			for r := range revokeRounds {
				tok := newToken(fmt.Sprintf("tok_%02d", r), "org_1", opaque.Hash(fmt.Sprintf("token-%d", r)))
				tok.ExpiresAt = time.Time{}
				ok(t, s.CreateSCIMToken(ctx, tok))
				overlap := func(i int) time.Duration { return time.Duration(revokeRacers-i) * 24 * time.Hour }
				raceStaleWrites(t, r, func(i int) error {
					return e.ExpireSCIMToken(ctx, tok.ID, at(overlap(i)))
				}, func(i int) error {
					return e.ExpireSCIMToken(ctx, tok.ID, at(overlap(i)))
				})
				got, err := s.FindSCIMToken(ctx, tok.Hash)
				ok(t, err)
				// At the SQL stores' precision.
				if want := at(overlap(revokeRacers - 1)); !got.ExpiresAt.Truncate(time.Microsecond).Equal(want.Truncate(time.Microsecond)) {
					t.Errorf("round %d: expires at %v after the rotations, want the shortest overlap's %v", r, got.ExpiresAt, want)
				}
			}
		}},
	})
}
