package stack_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/stack"
)

// clientEnv is a stack with API tokens on, its admin API authorized by
// test headers, behind a test server.
type clientEnv struct {
	t    *testing.T
	s    *stack.Stack
	srv  *httptest.Server
	a, b *sso.Organization
}

func newClientEnv(t *testing.T, cfg stack.Config) *clientEnv {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := &clientEnv{t: t}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.s.Handler().ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	cfg.BaseURL, _ = url.Parse(e.srv.URL)
	cfg.SealKeyID, cfg.SealKeys = "k1", map[string][]byte{"k1": make([]byte, 32)}
	cfg.LocalLoginURL, cfg.Logger = "/password-login", slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.SigningKeys = []session.SigningKey{{ID: "k1", PrivateKey: key}}
	cfg.RequireAdmin = []func(http.Handler) http.Handler{}
	cfg.Authorize = func(r *http.Request) (string, sso.Actor, error) {
		return r.Header.Get("X-Test-Org"), sso.Actor{Type: sso.ActorAdmin, ID: "usr_admin"}, nil
	}
	if e.s, err = stack.New(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	for i, slug := range []string{"alpha", "beta"} {
		o := &sso.Organization{ID: "org_" + slug, Slug: slug, Name: slug}
		if err := cfg.Store.CreateOrg(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			e.a = o
		} else {
			e.b = o
		}
	}
	return e
}

func (e *clientEnv) admin(org *sso.Organization, method, path, body string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+stack.PrefixAdmin+strings.TrimPrefix(path, "/"), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-Org", org.ID)
	return e.send(req)
}

func (e *clientEnv) token(id, secret string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+stack.PathToken, strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return e.send(req)
}

func (e *clientEnv) send(req *http.Request) (int, map[string]any) {
	e.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// TestAdminAPIClients: through the stack's admin API, on memstore and
// SQLite, organization B cannot touch A's client by ID (404, audited, the
// client keeps working); A creates a client (secret once), changes its
// scopes, rotates its secret with overlap (both secrets work), revokes it
// (its token stops working) and deletes it; bad input names the field.
func TestAdminAPIClients(t *testing.T) {
	for name, cfg := range map[string]func(*testing.T) stack.Config{
		"memstore": func(*testing.T) stack.Config { return memStores() }, "sqlite": sqlStores,
	} {
		t.Run(name, func(t *testing.T) {
			e := newClientEnv(t, cfg(t))
			code, m := e.admin(e.a, "POST", "/api-clients", `{"name":"billing","scopes":["read:invoices"]}`)
			if code != http.StatusCreated || m["secret"] == nil {
				t.Fatalf("create: %d %v", code, m)
			}
			id, secret := m["id"].(string), m["secret"].(string)
			if code, m = e.token(id, secret); code != 200 || m["access_token"] == nil {
				t.Fatalf("client credentials: %d %v", code, m)
			}
			token := m["access_token"].(string)

			// The attack first: B holds A's client ID.
			for _, rt := range []struct{ method, path, body string }{
				{"PUT", "/api-clients/" + id + "/scopes", `{"scopes":["admin"]}`},
				{"POST", "/api-clients/" + id + "/rotate", `{"overlap_seconds":0}`},
				{"POST", "/api-clients/" + id + "/disable", ""},
				{"DELETE", "/api-clients/" + id, ""},
			} {
				if code, m := e.admin(e.b, rt.method, rt.path, rt.body); code != 404 || m["error"] != "not_found" {
					t.Errorf("B %s %s: %d %v, want 404", rt.method, rt.path, code, m)
				}
			}
			denied, _, _ := e.s.Auditor.Query(context.Background(), sso.EventQuery{OrgID: e.b.ID, Type: sso.EventCrossTenantDenied})
			if len(denied) != 4 {
				t.Errorf("%d cross-tenant events in B, want 4", len(denied))
			}
			if _, m = e.admin(e.b, "GET", "/api-clients", ""); len(m["clients"].([]any)) != 0 {
				t.Fatalf("B lists %v", m["clients"])
			}
			if code, _ = e.token(id, secret); code != 200 {
				t.Fatalf("A's client after B's attempts: %d", code)
			}

			if code, m = e.admin(e.a, "POST", "/api-clients", `{"name":"","scopes":[]}`); code != 400 || m["field"] != "name" {
				t.Fatalf("no name: %d %v", code, m)
			}
			if code, m = e.admin(e.a, "PUT", "/api-clients/"+id+"/scopes", `{"scopes":["ok","not ok"]}`); code != 400 || m["field"] != "scopes[1]" {
				t.Fatalf("bad scope: %d %v", code, m)
			}
			code, m = e.admin(e.a, "PUT", "/api-clients/"+id+"/scopes", `{"scopes":["read:invoices","write:invoices"],"exchange":true}`)
			if code != 200 || len(m["scopes"].([]any)) != 2 || m["exchange"] != true || m["secret"] != nil {
				t.Fatalf("set scopes: %d %v", code, m)
			}
			if code, m = e.admin(e.a, "POST", "/api-clients/"+id+"/rotate", `{"overlap_seconds":9999999}`); code != 400 || m["field"] != "overlap_seconds" {
				t.Fatalf("bad overlap: %d %v", code, m)
			}
			code, m = e.admin(e.a, "POST", "/api-clients/"+id+"/rotate", `{"overlap_seconds":600}`)
			if code != 200 || m["secret"] == nil || m["secret"] == secret || m["previous_secret_expires_at"] == nil {
				t.Fatalf("rotate: %d %v", code, m)
			}
			for _, s := range []string{secret, m["secret"].(string)} {
				if code, _ := e.token(id, s); code != 200 {
					t.Fatalf("during the overlap a secret got %d", code)
				}
			}
			code, m = e.admin(e.a, "POST", "/api-clients/"+id+"/disable", "")
			if code != 200 || m["active"] != false {
				t.Fatalf("disable: %d %v", code, m)
			}
			if code, _ = e.token(id, secret); code == 200 {
				t.Fatal("a revoked client still gets tokens")
			}
			if _, err := e.s.Sessions.VerifyAccessToken(context.Background(), token); err == nil {
				t.Fatal("a revoked client's token still verifies")
			}
			if code, _ = e.admin(e.a, "DELETE", "/api-clients/"+id, ""); code != http.StatusNoContent {
				t.Fatalf("delete: %d", code)
			}
			for _, typ := range []string{session.EventClientCreated, session.EventClientUpdated, session.EventClientRotated,
				session.EventClientDisabled, session.EventClientDeleted} {
				evs, _, _ := e.s.Auditor.Query(context.Background(), sso.EventQuery{OrgID: e.a.ID, Type: typ})
				if len(evs) != 1 || evs[0].Actor.ID != "usr_admin" {
					t.Errorf("%s: %d events, want 1 by the admin", typ, len(evs))
				}
			}
			code, m = e.admin(e.a, "PUT", "/token-exchange", `{"audiences":["https://reports.example"]}`)
			if code != 200 {
				t.Fatalf("exchange allowlist: %d %v", code, m)
			}
			if evs, _, _ := e.s.Auditor.Query(context.Background(), sso.EventQuery{OrgID: e.a.ID, Type: admin.EventExchangeAudiencesChanged}); len(evs) != 1 {
				t.Fatalf("exchange change not audited")
			}
		})
	}
}
