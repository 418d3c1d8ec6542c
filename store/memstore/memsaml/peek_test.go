package memsaml_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

var _ saml.RequestPeeker = (*memsaml.Store)(nil)

// TestPeekAuthnRequest: a peek reads an outstanding request, with what it
// asked of the IdP, without consuming it.
func TestPeekAuthnRequest(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	ms := memstore.New(memstore.WithClock(func() time.Time { return now }))
	st := memsaml.New(ms)
	if err := st.SaveAuthnRequest(ctx, &saml.AuthnRequestState{ID: "_p", ConnectionID: "c", Test: true,
		ForceAuthn: true, MaxAge: time.Minute, ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	got, err := st.PeekAuthnRequest(ctx, "_p")
	if err != nil || !got.Test || !got.ForceAuthn || got.MaxAge != time.Minute {
		t.Fatalf("peek %+v %v", got, err)
	}
	if _, err := st.TakeAuthnRequest(ctx, "_p"); err != nil {
		t.Fatalf("take after peek: %v", err)
	}
	if _, err := st.PeekAuthnRequest(ctx, "_p"); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("peek after take: %v", err)
	}
}
