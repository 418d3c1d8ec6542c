package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// A revocation must survive a concurrent write of the whole record made
// from a copy read before it: rotating a SCIM token (which shortens the
// old token's life) or an API client's secret checks that the record is
// still valid and writes it back, and without care that write clears a
// revocation stored in between, making the revoked token or disabled
// client work again. Each round races stale writers against revokers; in
// random order a stale write comes last about every other round.

// revokeRounds is how many rounds each revocation race runs, and
// revokeRacers how many writers contend in a round, half of them revoking.
const (
	revokeRounds = 12
	revokeRacers = 12
)

// raceStaleWrites runs revokeRacers writes at once: revoke(i) for even i,
// stale(i) for odd i, and fails on any error.
func raceStaleWrites(t *testing.T, round int, revoke, stale func(i int) error) {
	t.Helper()
	errs := make([]error, revokeRacers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range revokeRacers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if i%2 == 0 {
				errs[i] = revoke(i)
			} else {
				errs[i] = stale(i)
			}
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("round %d: writer %d: %v", round, i, err)
		}
	}
}

func runRevokeRace(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) sso.SCIMTokenStore { return s.Core }, []testCase[sso.SCIMTokenStore]{
		{"SCIMTokenRevokeVsRotate", func(t *testing.T, ctx context.Context, s sso.SCIMTokenStore) {
			for r := range revokeRounds {
				hash := opaque.Hash(fmt.Sprintf("token-%d", r))
				tok := newToken(fmt.Sprintf("tok_%02d", r), "org_1", hash)
				tok.RevokedAt = time.Time{}
				ok(t, s.CreateSCIMToken(ctx, tok))
				read, err := s.FindSCIMToken(ctx, hash)
				ok(t, err)
				raceStaleWrites(t, r, func(i int) error {
					c := *read
					c.RevokedAt = at(time.Duration(i) * time.Minute)
					return s.UpdateSCIMToken(ctx, &c)
				}, func(i int) error {
					c := *read // a rotation's copy, read while the token was valid
					c.ExpiresAt = at(time.Duration(i) * time.Hour)
					return s.UpdateSCIMToken(ctx, &c)
				})
				got, err := s.FindSCIMToken(ctx, hash)
				ok(t, err)
				if got.RevokedAt.IsZero() || got.Valid(at(0)) {
					t.Errorf("round %d: the token is valid again after its revocation (RevokedAt %v)", r, got.RevokedAt)
				}
			}
		}},
	})
}

func runClientRevokeRace(t *testing.T, newStores newStoresFunc) {
	t.Run("ClientDisableVsRotate", func(t *testing.T) {
		t.Parallel()
		s := newStores(t).Clients
		ctx := t.Context()
		for r := range revokeRounds {
			c := newTestClient(fmt.Sprintf("cli_%02d", r), "org_1", r)
			if err := s.CreateClient(ctx, c); err != nil {
				t.Fatal(err)
			}
			read, err := s.GetClient(ctx, c.ID)
			ok(t, err)
			raceStaleWrites(t, r, func(i int) error {
				d := copyClient(read)
				d.DisabledAt = sessionBase.Add(time.Duration(i) * time.Minute)
				return s.UpdateClient(ctx, d)
			}, func(i int) error {
				d := copyClient(read) // a secret rotation's copy, read while the client was active
				d.PrevSecretHash, d.SecretHash = d.SecretHash, fmt.Sprintf("h-rotated-%d", i)
				return s.UpdateClient(ctx, d)
			})
			got, err := s.GetClient(ctx, c.ID)
			ok(t, err)
			if got.Active() {
				t.Errorf("round %d: the client is active again after it was disabled", r)
			}
		}
	})
}

// copyClient returns a copy of c that shares nothing with it.
func copyClient(c *session.APIClient) *session.APIClient {
	d := *c
	d.Scopes = append([]string(nil), c.Scopes...)
	return &d
}
