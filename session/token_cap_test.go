package session_test

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// TestTokensEndWithSession: neither an access token nor a refresh-token
// family outlives the absolute expiry of the session it was issued from,
// and a session that has ended gets no tokens.
func TestTokensEndWithSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *session.Config) { c.AccessTokenTTL = 15 * time.Minute })
	r := httptest.NewRequest("POST", "/login", nil)
	// The IdP's SessionNotOnOrAfter bounds the session to 10 minutes.
	s, err := e.m.Issue(httptest.NewRecorder(), r, &sso.SessionGrant{UserID: "alice", OrgID: orgA, Method: sso.AuthMethod("saml"),
		Roles: []string{"member"}, NotAfter: e.clock.Now().Add(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, p *session.TokenPair) {
		t.Helper()
		c, err := e.m.VerifyAccessToken(ctx, p.AccessToken)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if c.ExpiresAt.After(s.ExpiresAt) {
			t.Fatalf("%s: the access token expires at %v, after its session (%v)", what, c.ExpiresAt, s.ExpiresAt)
		}
		if got := e.clock.Now().Add(p.ExpiresIn); got.After(s.ExpiresAt) {
			t.Fatalf("%s: expires_in %v reaches past the session's expiry", what, p.ExpiresIn)
		}
	}
	p, err := e.m.IssueTokens(ctx, s, session.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check("issue", p)
	e.clock.Advance(6 * time.Minute)
	if p, err = e.m.Refresh(ctx, p.RefreshToken, session.RefreshOptions{}); err != nil {
		t.Fatal(err)
	}
	check("refresh", p)
	e.clock.Advance(5 * time.Minute)
	if _, err := e.m.IssueTokens(ctx, s, session.TokenOptions{}); !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("IssueTokens for an ended session = %v, want ErrInvalidInput", err)
	}
	_, err = e.m.Refresh(ctx, p.RefreshToken, session.RefreshOptions{})
	var ve *sso.ValidationError
	if !errors.As(err, &ve) || (ve.Reason != session.ReasonExpired && ve.Reason != session.ReasonSessionEnded) {
		t.Fatalf("refresh after the session's expiry = %v, want expired or session_ended", err)
	}
}
