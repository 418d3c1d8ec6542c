package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

func runSAML(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	future := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	t.Run("RequestRoundTripSingleUse", func(t *testing.T) {
		s := newStores(t).SAML
		in := &saml.AuthnRequestState{ID: "_req1", ConnectionID: "conn_1", BindingHash: "h", ReturnTo: "/app",
			Test: true, CreatedAt: time.Now().UTC().Truncate(time.Microsecond), ExpiresAt: future, StepUp: testStepUp}
		if err := s.SaveAuthnRequest(ctx, in); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveAuthnRequest(ctx, in); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("duplicate save: got %v, want ErrConflict", err)
		}
		got, err := s.TakeAuthnRequest(ctx, "_req1")
		if err != nil {
			t.Fatal(err)
		}
		if got.ConnectionID != "conn_1" || got.BindingHash != "h" || got.ReturnTo != "/app" || !got.Test || !got.ExpiresAt.Equal(future) ||
			got.StepUp != testStepUp {
			t.Fatalf("got %+v", got)
		}
		if _, err := s.TakeAuthnRequest(ctx, "_req1"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("second take: got %v, want ErrNotFound", err)
		}
	})
	t.Run("ConsumeLogin", func(t *testing.T) { testConsumeLogin(t, newStores(t).SAML, future) })
	t.Run("EndpointClaims", func(t *testing.T) { testEndpointClaims(t, newStores(t).SAML) })
	t.Run("RequestExpired", func(t *testing.T) {
		s := newStores(t).SAML
		past := time.Now().Add(-time.Minute)
		if err := s.SaveAuthnRequest(ctx, &saml.AuthnRequestState{ID: "_old", ConnectionID: "c", BindingHash: "h", CreatedAt: past.Add(-time.Minute), ExpiresAt: past}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TakeAuthnRequest(ctx, "_old"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
		if _, err := s.TakeAuthnRequest(ctx, "_absent"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("absent: got %v, want ErrNotFound", err)
		}
	})
	t.Run("ReplayCache", func(t *testing.T) {
		s := newStores(t).SAML
		if err := s.MarkAssertionUsed(ctx, "idp", "_a1", future); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkAssertionUsed(ctx, "idp", "_a1", future); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("replay: got %v, want ErrConflict", err)
		}
		if err := s.MarkAssertionUsed(ctx, "other-idp", "_a1", future); err != nil {
			t.Fatalf("other issuer: %v", err)
		}
		// An expired record no longer blocks.
		if err := s.MarkAssertionUsed(ctx, "idp", "_a2", time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkAssertionUsed(ctx, "idp", "_a2", future); err != nil {
			t.Fatalf("after expiry: got %v, want nil", err)
		}
	})
	t.Run("Metadata", func(t *testing.T) {
		s := newStores(t).SAML
		if _, err := s.GetMetadata(ctx, "conn_x"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
		m := &saml.CachedMetadata{ConnectionID: "conn_x", XML: "<x/>", FetchedAt: time.Now().UTC().Truncate(time.Microsecond), ExpiresAt: future}
		if err := s.PutMetadata(ctx, m); err != nil {
			t.Fatal(err)
		}
		m2 := *m
		m2.LastError, m2.Failures = "unavailable", 2
		if err := s.PutMetadata(ctx, &m2); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetMetadata(ctx, "conn_x")
		if err != nil {
			t.Fatal(err)
		}
		if got.XML != "<x/>" || got.Failures != 2 || got.LastError != "unavailable" || !got.ExpiresAt.Equal(future) || !got.FetchedAt.Equal(m.FetchedAt) {
			t.Fatalf("got %+v", got)
		}
	})
}

func runSAMLRace(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	const n = 50
	race := func(t *testing.T, fn func() error) {
		var wins atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if err := fn(); err == nil {
					wins.Add(1)
				} else if !errors.Is(err, sso.ErrConflict) && !errors.Is(err, sso.ErrNotFound) {
					t.Errorf("unexpected error: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if got := wins.Load(); got != 1 {
			t.Fatalf("%d winners, want exactly 1", got)
		}
	}
	t.Run("ReplayExactlyOnce", func(t *testing.T) {
		s := newStores(t).SAML
		race(t, func() error { return s.MarkAssertionUsed(ctx, "idp", "_race", time.Now().Add(time.Hour)) })
	})
	t.Run("TakeExactlyOnce", func(t *testing.T) {
		s := newStores(t).SAML
		if err := s.SaveAuthnRequest(ctx, &saml.AuthnRequestState{ID: "_r", ConnectionID: "c", BindingHash: "h", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		race(t, func() error { _, err := s.TakeAuthnRequest(ctx, "_r"); return err })
	})
	t.Run("ConsumeExactlyOnce", func(t *testing.T) {
		s := newStores(t).SAML
		lc, ok := s.(saml.LoginConsumer)
		if !ok {
			t.Skip("the SAML store does not implement saml.LoginConsumer (an optional capability)")
		}
		if err := s.SaveAuthnRequest(ctx, &saml.AuthnRequestState{ID: "_c", ConnectionID: "c", BindingHash: "h", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		// Each racer brings its own assertion for the one request.
		var n atomic.Int32
		race(t, func() error {
			_, err := lc.ConsumeLogin(ctx, "_c", "idp", fmt.Sprintf("_as%d", n.Add(1)), time.Now().Add(time.Hour))
			return err
		})
	})
}

// testConsumeLogin checks the optional one-step consumption of a login's
// request and assertion: both or neither.
func testConsumeLogin(t *testing.T, s saml.Store, future time.Time) {
	ctx := context.Background()
	lc, ok := s.(saml.LoginConsumer)
	if !ok {
		t.Skip("the SAML store does not implement saml.LoginConsumer (an optional capability)")
	}
	for _, id := range []string{"_a", "_b"} {
		if err := s.SaveAuthnRequest(ctx, &saml.AuthnRequestState{ID: id, ConnectionID: "c", BindingHash: "h",
			CreatedAt: time.Now().UTC(), ExpiresAt: future}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := lc.ConsumeLogin(ctx, "_a", "idp", "as1", future)
	if err != nil || got.ID != "_a" || got.ConnectionID != "c" {
		t.Fatalf("ConsumeLogin = %+v, %v", got, err)
	}
	if _, err := lc.ConsumeLogin(ctx, "_a", "idp", "as2", future); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("second consumption of a request: %v, want ErrNotFound", err)
	}
	if err := s.MarkAssertionUsed(ctx, "idp", "as2", future); err != nil {
		t.Fatalf("the refused consumption recorded its assertion: %v", err)
	}
	// A replayed assertion leaves its request outstanding.
	if _, err := lc.ConsumeLogin(ctx, "_b", "idp", "as1", future); !errors.Is(err, sso.ErrConflict) {
		t.Fatalf("replayed assertion: %v, want ErrConflict", err)
	}
	if _, err := s.TakeAuthnRequest(ctx, "_b"); err != nil {
		t.Fatalf("a refused consumption took its request: %v", err)
	}
	// What the login asked of the IdP comes back with the request.
	want := saml.AuthnRequestState{ID: "_authn", ConnectionID: "c", BindingHash: "h", ReturnTo: "/app", Test: true,
		RequireMFA: true, ForceAuthn: true, MaxAge: 5 * time.Minute, StepUp: testStepUp,
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond), ExpiresAt: future.UTC().Truncate(time.Microsecond)}
	if err := s.SaveAuthnRequest(ctx, &want); err != nil {
		t.Fatal(err)
	}
	got, err = lc.ConsumeLogin(ctx, "_authn", "idp", "as3", future)
	if err != nil || got.ReturnTo != want.ReturnTo || !got.Test || !got.RequireMFA || !got.ForceAuthn || got.MaxAge != want.MaxAge ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) || got.StepUp != want.StepUp {
		t.Fatalf("ConsumeLogin = %+v, %v; want %+v", got, err, want)
	}
	// An expired request is not found, and its assertion is not recorded.
	if err := s.SaveAuthnRequest(ctx, &saml.AuthnRequestState{ID: "_old", ConnectionID: "c", BindingHash: "h",
		CreatedAt: time.Now().Add(-2 * time.Hour), ExpiresAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.ConsumeLogin(ctx, "_old", "idp", "as4", future); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("expired request: %v, want ErrNotFound", err)
	}
	if err := s.MarkAssertionUsed(ctx, "idp", "as4", future); err != nil {
		t.Fatalf("the refused consumption of an expired request recorded its assertion: %v", err)
	}
}

// testEndpointClaims: a path of a connection's own URL has one holder, of
// concurrent claimers exactly one wins, a transfer needs the holder and
// claim time it was judged by, and a release keeps the paths still used.
func testEndpointClaims(t *testing.T, st saml.Store) {
	cl, ok := st.(saml.EndpointClaimer)
	if !ok {
		t.Skip("the store does not implement saml.EndpointClaimer")
	}
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Second)
	if _, err := cl.ClaimEndpointPath(ctx, "/sso/saml/old/acs", "conn_a", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.ClaimEndpointPath(ctx, "/sso/saml/old/acs", "conn_a", t0.Add(time.Minute)); err != nil {
		t.Fatalf("claiming one's own path again: %v", err)
	}
	held, err := cl.ClaimEndpointPath(ctx, "/sso/saml/old/acs", "conn_b", t0)
	if !errors.Is(err, sso.ErrConflict) || held == nil || held.ConnectionID != "conn_a" || !held.ClaimedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("another connection's claim: %+v, %v", held, err)
	}
	// A transfer judged on an older claim time, or from a non-holder, fails.
	if err := cl.TransferEndpointPath(ctx, "/sso/saml/old/acs", "conn_a", "conn_b", t0, t0); !errors.Is(err, sso.ErrConflict) {
		t.Fatalf("transfer of a refreshed claim: %v", err)
	}
	if err := cl.TransferEndpointPath(ctx, "/sso/saml/old/acs", "conn_x", "conn_b", t0.Add(time.Hour), t0); !errors.Is(err, sso.ErrConflict) {
		t.Fatalf("transfer from a non-holder: %v", err)
	}
	if err := cl.TransferEndpointPath(ctx, "/sso/saml/old/acs", "conn_a", "conn_b", t0.Add(time.Minute), t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if held, err := cl.ClaimEndpointPath(ctx, "/sso/saml/old/acs", "conn_a", t0); !errors.Is(err, sso.ErrConflict) || held.ConnectionID != "conn_b" {
		t.Fatalf("after the transfer: %+v, %v", held, err)
	}
	// Release keeps the listed paths and leaves other connections alone.
	for _, p := range []string{"/x/slo", "/x/md"} {
		if _, err := cl.ClaimEndpointPath(ctx, p, "conn_b", t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.ReleaseEndpointPaths(ctx, "conn_b", []string{"/x/slo"}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"/sso/saml/old/acs": "conn_c", "/x/md": "conn_c", "/x/slo": ""} {
		held, err := cl.ClaimEndpointPath(ctx, p, "conn_c", t0)
		switch {
		case want == "conn_c" && err != nil:
			t.Fatalf("%s after release: %v", p, err)
		case want == "" && (!errors.Is(err, sso.ErrConflict) || held.ConnectionID != "conn_b"):
			t.Fatalf("%s released: %+v, %v", p, held, err)
		}
	}
	// Of concurrent claimers exactly one holds the path.
	var wg sync.WaitGroup
	var won atomic.Int32
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := cl.ClaimEndpointPath(ctx, "/race", fmt.Sprintf("conn_%d", i), t0)
			if err == nil {
				won.Add(1)
			} else if !errors.Is(err, sso.ErrConflict) {
				t.Errorf("claimer %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d concurrent claimers won, want 1", won.Load())
	}
}
