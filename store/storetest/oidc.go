package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/sso"
)

func oidcFlow(id string, expires time.Time) *oidc.Flow {
	return &oidc.Flow{
		ID: id, BrowserHash: opaque.Hash("browser-" + id), ConnectionID: "conn_1", OrgID: "org_1",
		Issuer: "https://idp.example.com", RedirectURI: "https://app.example.com/sso/oidc/callback/conn_1",
		Verifier: "verifier-" + id, Nonce: "nonce-" + id, ReturnTo: "/dashboard?tab=1", Test: true,
		// What the login asked the IdP for, checked against the ID token:
		// a store must keep it.
		RequireMFA: true, ACRValues: "urn:a urn:b", MaxAge: 5 * time.Minute, ForceAuthn: true,
		// The session whose step-up the login is: a store must keep it.
		StepUp:    testStepUp,
		CreatedAt: time.Now().Add(-time.Minute).Truncate(time.Microsecond), ExpiresAt: expires.Truncate(time.Microsecond),
	}
}

func runOIDC(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) oidc.Store { return s.OIDC }, []testCase[oidc.Store]{
		{"SaveTakeRoundTrip", func(t *testing.T, ctx context.Context, s oidc.Store) {
			want := oidcFlow(opaque.Hash("s1"), time.Now().Add(oidc.FlowTTL))
			if err := s.SaveFlow(ctx, want); err != nil {
				t.Fatalf("SaveFlow: %v", err)
			}
			got, err := s.TakeFlow(ctx, want.ID)
			if err != nil {
				t.Fatalf("TakeFlow: %v", err)
			}
			if !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
				t.Fatalf("times: got %v/%v, want %v/%v", got.CreatedAt, got.ExpiresAt, want.CreatedAt, want.ExpiresAt)
			}
			got.CreatedAt, got.ExpiresAt = want.CreatedAt, want.ExpiresAt
			if *got != *want {
				t.Fatalf("TakeFlow = %+v, want %+v", got, want)
			}
		}},
		{"TakeIsSingleUse", func(t *testing.T, ctx context.Context, s oidc.Store) {
			f := oidcFlow("once", time.Now().Add(time.Minute))
			if err := s.SaveFlow(ctx, f); err != nil {
				t.Fatal(err)
			}
			if _, err := s.TakeFlow(ctx, f.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.TakeFlow(ctx, f.ID); !errors.Is(err, sso.ErrNotFound) {
				t.Fatalf("second TakeFlow: got %v, want ErrNotFound", err)
			}
		}},
		{"TakeMissing", func(t *testing.T, ctx context.Context, s oidc.Store) {
			if _, err := s.TakeFlow(ctx, "nope"); !errors.Is(err, sso.ErrNotFound) {
				t.Fatalf("got %v, want ErrNotFound", err)
			}
		}},
		{"TakeExpired", func(t *testing.T, ctx context.Context, s oidc.Store) {
			f := oidcFlow("old", time.Now().Add(-time.Second))
			if err := s.SaveFlow(ctx, f); err != nil {
				t.Fatal(err)
			}
			if _, err := s.TakeFlow(ctx, f.ID); !errors.Is(err, sso.ErrNotFound) {
				t.Fatalf("got %v, want ErrNotFound", err)
			}
			// The expired flow is gone, so saving the ID again works.
			if err := s.SaveFlow(ctx, oidcFlow("old", time.Now().Add(time.Minute))); err != nil {
				t.Fatalf("SaveFlow after expired take: %v", err)
			}
		}},
		{"SaveDuplicate", func(t *testing.T, ctx context.Context, s oidc.Store) {
			f := oidcFlow("dup", time.Now().Add(time.Minute))
			if err := s.SaveFlow(ctx, f); err != nil {
				t.Fatal(err)
			}
			g := oidcFlow("dup", time.Now().Add(time.Minute))
			g.Nonce = "other"
			if err := s.SaveFlow(ctx, g); !errors.Is(err, sso.ErrConflict) {
				t.Fatalf("got %v, want ErrConflict", err)
			}
			got, err := s.TakeFlow(ctx, "dup")
			if err != nil || got.Nonce != f.Nonce {
				t.Fatalf("TakeFlow = %+v, %v; want the first flow", got, err)
			}
		}},
		{"UseOnce", func(t *testing.T, ctx context.Context, s oidc.Store) {
			exp := time.Now().Add(time.Hour)
			if err := s.UseOnce(ctx, "k1", exp); err != nil {
				t.Fatal(err)
			}
			if err := s.UseOnce(ctx, "k1", exp); !errors.Is(err, sso.ErrConflict) {
				t.Fatalf("replay: got %v, want ErrConflict", err)
			}
			if err := s.UseOnce(ctx, "k2", exp); err != nil {
				t.Fatalf("other key: %v", err)
			}
		}},
		{"UseOnceAfterExpiry", func(t *testing.T, ctx context.Context, s oidc.Store) {
			if err := s.UseOnce(ctx, "k", time.Now().Add(-time.Second)); err != nil {
				t.Fatal(err)
			}
			if err := s.UseOnce(ctx, "k", time.Now().Add(time.Hour)); err != nil {
				t.Fatalf("reuse after expiry: %v", err)
			}
		}},
		{"DeleteExpired", func(t *testing.T, ctx context.Context, s oidc.Store) {
			now := time.Now()
			for i, exp := range []time.Time{now.Add(-time.Hour), now.Add(-time.Minute), now.Add(time.Hour)} {
				if err := s.SaveFlow(ctx, oidcFlow(fmt.Sprint("f", i), exp)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.UseOnce(ctx, "gone", now.Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
			if err := s.UseOnce(ctx, "kept", now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			n, err := s.DeleteExpiredFlows(ctx, now)
			if err != nil || n != 3 {
				t.Fatalf("DeleteExpiredFlows = %d, %v; want 3", n, err)
			}
			if _, err := s.TakeFlow(ctx, "f2"); err != nil {
				t.Fatalf("live flow removed: %v", err)
			}
			if err := s.UseOnce(ctx, "kept", now.Add(time.Hour)); !errors.Is(err, sso.ErrConflict) {
				t.Fatalf("live replay key removed: %v", err)
			}
		}},
	})
}

func runOIDCRace(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) oidc.Store { return s.OIDC }, []testCase[oidc.Store]{
		{"TakeFlowOneWinner", func(t *testing.T, ctx context.Context, s oidc.Store) {
			f := oidcFlow("race", time.Now().Add(time.Minute))
			if err := s.SaveFlow(ctx, f); err != nil {
				t.Fatal(err)
			}
			var wins, notFound atomic.Int32
			var wg sync.WaitGroup
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := s.TakeFlow(ctx, f.ID)
					switch {
					case err == nil:
						wins.Add(1)
					case errors.Is(err, sso.ErrNotFound):
						notFound.Add(1)
					default:
						t.Errorf("TakeFlow: %v", err)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 || notFound.Load() != 15 {
				t.Fatalf("wins=%d notFound=%d, want 1 and 15", wins.Load(), notFound.Load())
			}
		}},
		{"UseOnceOneWinner", func(t *testing.T, ctx context.Context, s oidc.Store) {
			var wins, conflicts atomic.Int32
			var wg sync.WaitGroup
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := s.UseOnce(ctx, "jti-race", time.Now().Add(time.Hour))
					switch {
					case err == nil:
						wins.Add(1)
					case errors.Is(err, sso.ErrConflict):
						conflicts.Add(1)
					default:
						t.Errorf("UseOnce: %v", err)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 || conflicts.Load() != 15 {
				t.Fatalf("wins=%d conflicts=%d, want 1 and 15", wins.Load(), conflicts.Load())
			}
		}},
	})
}

// testStepUp is the step-up a stored login state keeps (sso.StepUp).
var testStepUp = sso.StepUp{SessionID: "ses_1", UserID: "usr_1", OrgID: "org_1", ConnectionID: "conn_1",
	MaxAge: 5 * time.Minute, At: time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)}
