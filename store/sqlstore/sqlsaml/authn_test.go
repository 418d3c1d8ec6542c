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

// TestConsumeLoginKeepsSessionSettings: on PostgreSQL a login's
// consumption commits without waiting for the WAL flush, a setting local
// to its own transaction. It must not leak to the pooled connection, whose
// next writes (the session, audit events) need synchronous commits.
func TestConsumeLoginKeepsSessionSettings(t *testing.T) {
	mk, ok := stores(t)["postgres"]
	if !ok {
		t.Fatal("no postgres store")
	}
	st, db, c := mk(t)
	db.SetMaxOpenConns(1) // the consumption and the SHOW share a connection
	ctx := context.Background()
	now := c.Now()
	if err := st.SaveAuthnRequest(ctx, &saml.AuthnRequestState{ID: "_r1", ConnectionID: "conn", BindingHash: "h",
		CreatedAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ConsumeLogin(ctx, "_r1", "https://idp.example.com", "_a1", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := db.QueryRowContext(ctx, "SHOW synchronous_commit").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "on" {
		t.Fatalf("synchronous_commit after a login's consumption is %q on the pooled connection, want on", mode)
	}
	// The consumption itself took effect: the same assertion is a replay.
	if err := st.SaveAuthnRequest(ctx, &saml.AuthnRequestState{ID: "_r2", ConnectionID: "conn", BindingHash: "h",
		CreatedAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ConsumeLogin(ctx, "_r2", "https://idp.example.com", "_a1", now.Add(time.Minute)); !errors.Is(err, sso.ErrConflict) {
		t.Fatalf("a replayed assertion: %v, want ErrConflict", err)
	}
}
