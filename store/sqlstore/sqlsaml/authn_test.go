package sqlsaml_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

// TestRequestAuthnRoundTrip: what a login asked of the IdP's
// authentication survives the store, on both dialects.
func TestRequestAuthnRoundTrip(t *testing.T) {
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st, _, c := mk(t)
			ctx := context.Background()
			now := c.Now()
			for _, want := range []saml.AuthnRequestState{
				{ID: "_mfa", ConnectionID: "conn", BindingHash: "h", CreatedAt: now, ExpiresAt: now.Add(time.Minute),
					RequireMFA: true, ForceAuthn: true, MaxAge: 15 * time.Minute},
				{ID: "_plain", ConnectionID: "conn", BindingHash: "h", CreatedAt: now, ExpiresAt: now.Add(time.Minute)},
			} {
				if err := st.SaveAuthnRequest(ctx, &want); err != nil {
					t.Fatal(err)
				}
				got, err := st.TakeAuthnRequest(ctx, want.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.RequireMFA != want.RequireMFA || got.ForceAuthn != want.ForceAuthn || got.MaxAge != want.MaxAge {
					t.Fatalf("%s: got %+v, want %+v", want.ID, got, want)
				}
			}
		})
	}
}

// TestPeekAuthnRequest: a peek reads an outstanding request without
// consuming it, and finds neither an absent nor an expired one.
func TestPeekAuthnRequest(t *testing.T) {
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st, _, c := mk(t)
			ctx := context.Background()
			now := c.Now()
			r := saml.AuthnRequestState{ID: "_peek", ConnectionID: "conn", BindingHash: "h", Test: true, RequireMFA: true,
				CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
			if err := st.SaveAuthnRequest(ctx, &r); err != nil {
				t.Fatal(err)
			}
			got, err := st.PeekAuthnRequest(ctx, "_peek")
			if err != nil || !got.Test || !got.RequireMFA || got.ConnectionID != "conn" {
				t.Fatalf("peek %+v %v", got, err)
			}
			if _, err := st.TakeAuthnRequest(ctx, "_peek"); err != nil {
				t.Fatalf("take after peek: %v", err)
			}
			if _, err := st.PeekAuthnRequest(ctx, "_peek"); !errors.Is(err, sso.ErrNotFound) {
				t.Fatalf("peek after take: %v", err)
			}
			r.ID = "_old"
			if err := st.SaveAuthnRequest(ctx, &r); err != nil {
				t.Fatal(err)
			}
			c.Advance(2 * time.Minute)
			if _, err := st.PeekAuthnRequest(ctx, "_old"); !errors.Is(err, sso.ErrNotFound) {
				t.Fatalf("expired: %v", err)
			}
		})
	}
}
