package scim_test

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
)

// countingTokens counts SCIM token lookups.
type countingTokens struct {
	backend
	n *atomic.Int64
}

func (c countingTokens) FindSCIMToken(ctx context.Context, hash string) (*sso.SCIMToken, error) {
	c.n.Add(1)
	return c.backend.FindSCIMToken(ctx, hash)
}

// TestClientRateLimit: failed authentications are limited per client
// address (under the ClientIP rule): past the budget a client is refused
// with 429 before any token lookup, even with a valid token it has not
// used before, while other clients and successful requests are
// unaffected.
func TestClientRateLimit(t *testing.T) {
	t.Parallel()
	var lookups atomic.Int64
	e := newEnvOn(t, countingTokens{backend: newMem(), n: &lookups}, func(c *scim.Config) {
		c.ClientRateLimit = 3
		c.ClientIP = func(r *http.Request) string { return r.Header.Get("X-Test-Client") }
	})
	from := func(client, token string) *resp {
		t.Helper()
		req, err := http.NewRequest("GET", e.base+"/Users", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Test-Client", client)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return e.send(req)
	}
	// Successful requests cost nothing.
	for i := 0; i < 10; i++ {
		from("198.51.100.2", e.token).want(t, http.StatusOK)
	}
	from("198.51.100.1", "").wantErr(t, http.StatusUnauthorized, "")
	from("198.51.100.1", "ssokit_scim_"+"0123456789abcdef0123").wantErr(t, http.StatusUnauthorized, "")
	from("198.51.100.1", "garbage").wantErr(t, http.StatusUnauthorized, "")
	before := lookups.Load()
	r := from("198.51.100.1", "ssokit_scim_"+"0123456789abcdef0123")
	r.wantErr(t, http.StatusTooManyRequests, "")
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	unused, _ := e.issue(e.addOrg("globex").ID)
	from("198.51.100.1", unused).wantErr(t, http.StatusTooManyRequests, "")
	if n := lookups.Load() - before; n != 0 {
		t.Fatalf("%d token lookups for a client past its budget, want 0", n)
	}
	// Another client is not affected.
	from("198.51.100.3", unused).want(t, http.StatusOK)
	from("198.51.100.3", "garbage").wantErr(t, http.StatusUnauthorized, "")

	// With rate limiting off, failures are not limited.
	off := newEnv(t, func(c *scim.Config) { c.DisableRateLimit = true })
	for i := 0; i < 2*scim.DefaultClientRateLimit; i++ {
		off.doTok("garbage", "GET", "/Users", "").wantErr(t, http.StatusUnauthorized, "")
	}
}

// TestClientRateLimitDefault: without ClientRateLimit, a client may fail
// DefaultClientRateLimit times before it is refused.
func TestClientRateLimitDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := 0; i < scim.DefaultClientRateLimit; i++ {
		e.doTok("garbage", "GET", "/Users", "").wantErr(t, http.StatusUnauthorized, "")
	}
	e.doTok("garbage", "GET", "/Users", "").wantErr(t, http.StatusTooManyRequests, "")
	if _, err := scim.New(scim.Config{Store: e.st, Core: e.st, Revoker: e.rev, BaseURL: e.cfg.BaseURL, ClientRateLimit: -1}); err == nil {
		t.Fatal("New accepted a negative ClientRateLimit")
	}
}

// TestSharedIdPAddressKeepsServingKnownTokens: an IdP provisions all its
// customers from a few shared addresses, so failures there (one
// organization's revoked token, or someone guessing tokens from the same
// cloud) must not stop the provisioning of organizations whose tokens
// work. A token that authenticated in this process is looked up even from
// a blocked address; a guessed one still gets no lookup, and a token that
// stops authenticating loses the exemption.
func TestSharedIdPAddressKeepsServingKnownTokens(t *testing.T) {
	t.Parallel()
	var lookups atomic.Int64
	e := newEnvOn(t, countingTokens{backend: newMem(), n: &lookups}, func(c *scim.Config) {
		c.ClientRateLimit = 3
		c.ClientIP = func(r *http.Request) string { return "203.0.113.9" } // the IdP's egress address
	})
	globexOrg := e.addOrg("globex")
	globex, globexID := e.issue(globexOrg.ID)
	e.do("GET", "/Users", "").want(t, http.StatusOK)
	e.doTok(globex, "GET", "/Users", "").want(t, http.StatusOK)
	// Globex's token is revoked; the IdP keeps retrying with it.
	revokeToken(t, e, globexOrg.ID, globexID)
	for i := 0; i < 3; i++ {
		e.doTok(globex, "GET", "/Users", "").wantErr(t, http.StatusUnauthorized, "")
	}
	e.doTok(globex, "GET", "/Users", "").wantErr(t, http.StatusTooManyRequests, "")
	e.doTok("ssokit_scim_0123456789abcdef0123", "GET", "/Users", "").wantErr(t, http.StatusTooManyRequests, "")

	// Acme's provisioning from the same address goes on, each request
	// checked in full.
	before := lookups.Load()
	for i := 0; i < 5; i++ {
		e.do("GET", "/Users", "").want(t, http.StatusOK)
	}
	if n := lookups.Load() - before; n != 5 {
		t.Fatalf("%d token lookups for 5 requests with a known token, want 5", n)
	}
	// Revoked, Acme's token fails once and is then refused like any other.
	revokeToken(t, e, e.org.ID, e.tokenID)
	e.do("GET", "/Users", "").wantErr(t, http.StatusUnauthorized, "")
	before = lookups.Load()
	e.do("GET", "/Users", "").wantErr(t, http.StatusTooManyRequests, "")
	if n := lookups.Load() - before; n != 0 {
		t.Fatalf("%d token lookups for a token that stopped authenticating, want 0", n)
	}
}

// revokeToken revokes orgID's token id in e's store.
func revokeToken(t *testing.T, e *env, orgID, id string) {
	t.Helper()
	ctx := context.Background()
	toks, err := e.st.ListSCIMTokens(ctx, orgID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		if tok.ID == id {
			tok.RevokedAt = time.Now()
			if err := e.st.UpdateSCIMToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no token %s in %s", id, orgID)
}
