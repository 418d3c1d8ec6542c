package session_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// withClients turns API clients on in newEnv's Manager.
func withClients(c *session.Config) { c.Clients = c.Store.(*countingStore).Store }

// tokenPost posts form to the token endpoint, with HTTP Basic when id is
// set, and returns the status and JSON body.
func tokenPost(t *testing.T, e *env, id, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// TestClientCredentials: a client gets a token in its own name with the
// scopes it asks for among its own; a wrong secret, an unknown client and
// a scope beyond its own are refused; a rotated secret keeps working for
// the overlap only; disabling the client kills its live tokens.
func TestClientCredentials(t *testing.T) {
	e := newEnv(t, withClients)
	ctx := context.Background()
	cli, secret, err := e.m.CreateClient(ctx, orgA, session.ClientOptions{Name: "billing", Scopes: []string{"read:invoices", "write:invoices"}})
	if err != nil {
		t.Fatal(err)
	}
	grant := url.Values{"grant_type": {"client_credentials"}, "scope": {"read:invoices"}}
	st, body := tokenPost(t, e, cli.ID, secret, grant)
	if st != http.StatusOK || body["scope"] != "read:invoices" || body["refresh_token"] != nil {
		t.Fatalf("client credentials: %d %v", st, body)
	}
	at := body["access_token"].(string)
	c, err := e.m.VerifyAccessToken(ctx, at)
	if err != nil || !c.Client || c.Subject != cli.ID || c.OrgID != orgA || c.ClientID != cli.ID {
		t.Fatalf("client token claims %+v, %v", c, err)
	}
	if p := bearerMe(t, e, at); p.Kind != sso.PrincipalClient || p.UserID != "" || p.ClientID != cli.ID {
		t.Fatalf("client principal %+v: want kind client, no user", p)
	}
	for name, tc := range map[string]struct {
		id, secret, scope string
		status            int
		code              string
	}{
		"wrong secret":   {cli.ID, secret + "x", "", 401, "invalid_client"},
		"unknown client": {"cli_nope", secret, "", 401, "invalid_client"},
		"foreign scope":  {cli.ID, secret, "admin", 400, "invalid_scope"},
	} {
		st, body := tokenPost(t, e, tc.id, tc.secret, url.Values{"grant_type": {"client_credentials"}, "scope": {tc.scope}})
		if st != tc.status || body["error"] != tc.code {
			t.Errorf("%s: %d %v, want %d %s", name, st, body, tc.status, tc.code)
		}
	}

	next, err := e.m.RotateClientSecret(ctx, orgA, cli.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{secret, next} {
		if st, _ := tokenPost(t, e, cli.ID, s, grant); st != http.StatusOK {
			t.Fatalf("during the overlap a secret was refused: %d", st)
		}
	}
	e.clock.Advance(time.Hour + time.Second)
	if st, _ := tokenPost(t, e, cli.ID, secret, grant); st != http.StatusUnauthorized {
		t.Fatalf("old secret after the overlap: %d, want 401", st)
	}
	if _, err := e.m.RotateClientSecret(ctx, orgB, cli.ID, 0); err == nil {
		t.Fatal("another organization rotated the client's secret")
	}

	st, body = tokenPost(t, e, cli.ID, next, grant)
	if st != http.StatusOK {
		t.Fatal(st, body)
	}
	live := body["access_token"].(string)
	if err := e.m.DisableClient(ctx, orgA, cli.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.VerifyAccessToken(ctx, live); sso.ReasonOf(err) != session.ReasonRevoked {
		t.Fatalf("token of a disabled client: %v, want revoked", err)
	}
	if st, _ := tokenPost(t, e, cli.ID, next, grant); st != http.StatusUnauthorized {
		t.Fatalf("disabled client got a token: %d", st)
	}
}

// TestTokenExchange (RFC 8693): a client exchanges a user's token for one
// with a downstream audience from the organization's allowlist, narrower
// scopes and the client as "act"; audiences outside the allowlist,
// expired subject tokens, tokens of another organization, clients without
// the right, and widening scopes are refused; every exchange is audited.
func TestTokenExchange(t *testing.T) {
	e := newEnv(t, withClients)
	ctx := context.Background()
	org, _ := e.cfg.Orgs.GetOrg(ctx, orgA)
	org.Settings.ExchangeAudiences = []string{"https://billing.internal"}
	if err := e.st.Store.UpdateOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	cli, secret, err := e.m.CreateClient(ctx, orgA, session.ClientOptions{Name: "gateway", Scopes: []string{"read", "write"}, Exchange: true})
	if err != nil {
		t.Fatal(err)
	}
	plain, plainSecret, _ := e.m.CreateClient(ctx, orgA, session.ClientOptions{Name: "no exchange", Scopes: []string{"read"}})
	user, err := e.m.IssueTokens(ctx, e.sessionFor("alice", orgA), session.TokenOptions{Scopes: []string{"read", "write"}})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := e.m.IssueTokens(ctx, e.sessionFor("mallory", orgB), session.TokenOptions{Scopes: []string{"read"}})
	exchange := func(id, sec, subject, aud, scope string) (int, map[string]any) {
		return tokenPost(t, e, id, sec, url.Values{"grant_type": {session.GrantTokenExchange}, "subject_token": {subject},
			"subject_token_type": {session.TokenTypeAccessToken}, "audience": {aud}, "scope": {scope}})
	}

	st, body := exchange(cli.ID, secret, user.AccessToken, "https://billing.internal", "read")
	if st != http.StatusOK || body["issued_token_type"] != session.TokenTypeAccessToken || body["scope"] != "read" {
		t.Fatalf("exchange: %d %v", st, body)
	}
	tok := parseWithJWKS(t, e, body["access_token"].(string))
	act, _ := tok.Get("act")
	if tok.Subject() != "alice" || len(tok.Audience()) != 1 || tok.Audience()[0] != "https://billing.internal" ||
		act.(map[string]any)["sub"] != cli.ID {
		t.Fatalf("exchanged token: sub %q aud %v act %v", tok.Subject(), tok.Audience(), act)
	}
	// Not valid at this API: its audience is the downstream one.
	if _, err := e.m.VerifyAccessToken(ctx, body["access_token"].(string)); err == nil {
		t.Fatal("an exchanged token for another audience was accepted here")
	}

	for name, tc := range map[string]struct {
		id, sec, subject, aud, scope, code string
	}{
		"audience outside the allowlist": {cli.ID, secret, user.AccessToken, "https://evil.example", "", "invalid_target"},
		"token of another organization":  {cli.ID, secret, other.AccessToken, "https://billing.internal", "", "invalid_grant"},
		"client without the right":       {plain.ID, plainSecret, user.AccessToken, "https://billing.internal", "", "invalid_grant"},
		"widening scope":                 {cli.ID, secret, user.AccessToken, "https://billing.internal", "admin", "invalid_scope"},
		"garbage subject token":          {cli.ID, secret, "x.y.z", "https://billing.internal", "", "invalid_grant"},
	} {
		if st, body := exchange(tc.id, tc.sec, tc.subject, tc.aud, tc.scope); st != http.StatusBadRequest || body["error"] != tc.code {
			t.Errorf("%s: %d %v, want 400 %s", name, st, body, tc.code)
		}
	}
	e.clock.Advance(2 * time.Hour) // past the user's access token
	if st, body := exchange(cli.ID, secret, user.AccessToken, "https://billing.internal", ""); st != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("expired subject token: %d %v, want invalid_grant", st, body)
	}

	evs, err := e.cfg.Events.ListEvents(ctx, sso.EventQuery{OrgID: orgA, Type: session.EventTokenExchanged})
	if err != nil {
		t.Fatal(err)
	}
	var ok, refused int
	for _, ev := range evs {
		if ev.Outcome == sso.OutcomeSuccess {
			ok++
		} else {
			refused++
		}
	}
	if ok != 1 || refused < 5 {
		t.Fatalf("audit: %d granted and %d refused exchanges, want 1 and at least 5", ok, refused)
	}
}

// bearerMe calls /me with an access token and returns the principal.
func bearerMe(t *testing.T, e *env, at string) *sso.Principal {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /me with a bearer token: %d", resp.StatusCode)
	}
	var p sso.Principal
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	return &p
}

// parseWithJWKS verifies a token against the published JWKS, as a
// downstream API would, without checking its audience.
func parseWithJWKS(t *testing.T, e *env, token string) jwt.Token {
	t.Helper()
	resp, err := e.srv.Client().Get(e.srv.URL + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	set, err := jwk.ParseReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseString(token, jwt.WithKeySet(set), jwt.WithClock(jwt.ClockFunc(e.clock.Now)))
	if err != nil {
		t.Fatalf("downstream verification: %v", err)
	}
	return tok
}
