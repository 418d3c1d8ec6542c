package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("https://app.example.com/sso/oidc/")
	good := Config{BaseURL: base, Completer: &recCompleter{}, Store: &memFlows{}, Connections: &memConns{}, Sealer: testSealer(t)}
	if _, err := New(good); err != nil {
		t.Fatalf("New(good) = %v", err)
	}
	rel, _ := url.Parse("/sso")
	q, _ := url.Parse("https://app.example.com/?x=1")
	ftp, _ := url.Parse("ftp://app.example.com/")
	for name, mod := range map[string]func(c *Config){
		"no-base":       func(c *Config) { c.BaseURL = nil },
		"relative-base": func(c *Config) { c.BaseURL = rel },
		"query-base":    func(c *Config) { c.BaseURL = q },
		"ftp-base":      func(c *Config) { c.BaseURL = ftp },
		"no-completer":  func(c *Config) { c.Completer = nil },
		"no-store":      func(c *Config) { c.Store = nil },
		"no-conns":      func(c *Config) { c.Connections = nil },
		"no-sealer":     func(c *Config) { c.Sealer = nil },
		"huge-skew":     func(c *Config) { c.MaxClockSkew = 1 << 62 },
		"negative-age":  func(c *Config) { c.MaxIDTokenAge = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			c := good
			mod(&c)
			if _, err := New(c); !errors.Is(err, sso.ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestClientAuthentication(t *testing.T) {
	t.Parallel()
	t.Run("none-public-client", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		op := newMockOP(t, clk)
		op.set(func(op *mockOP) { op.authMethod, op.secret = "none", "" })
		h := newHarness(t, clk, nil)
		c := h.addConn(op, "conn_a", "org_a", nil)
		if ConfigOf(c).ClientSecretSealed != "" {
			t.Fatal("public client got a sealed secret")
		}
		h.wantOK(h.login(newBrowser(t), "conn_a"))
		if m := op.tokenAuthMethod.Load(); m != "none" {
			t.Fatalf("token auth = %v", m)
		}
	})
	t.Run("private_key_jwt", func(t *testing.T) {
		t.Parallel()
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.MarshalPKCS8PrivateKey(key)
		pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		clk := newClock()
		op := newMockOP(t, clk)
		op.set(func(op *mockOP) { op.authMethod, op.assertionPub = "private_key_jwt", &key.PublicKey })
		h := newHarness(t, clk, nil)
		c := h.addConn(op, "conn_a", "org_a", func(c *sso.Connection, in *ConnectionInput) {
			in.ClientSecret, in.PrivateKeyPEM = "", pemText
		})
		if ConfigOf(c).PrivateKeySealed == "" || strings.Contains(ConfigOf(c).PrivateKeySealed, "PRIVATE") || ConfigOf(c).PrivateKeyID == "" {
			t.Fatalf("private key not sealed: %+v", ConfigOf(c))
		}
		h.wantOK(h.login(newBrowser(t), "conn_a"))
		if m := op.tokenAuthMethod.Load(); m != "private_key_jwt" {
			t.Fatalf("token auth = %v", m)
		}
		jwk, err := h.rp.PublicJWK(c)
		if err != nil || !strings.Contains(string(jwk), ConfigOf(c).PrivateKeyID) || strings.Contains(string(jwk), `"d"`) {
			t.Fatalf("PublicJWK = %s, %v", jwk, err)
		}
	})
	t.Run("wrong-secret", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		op := newMockOP(t, clk)
		h := newHarness(t, clk, nil)
		h.addConn(op, "conn_a", "org_a", func(c *sso.Connection, in *ConnectionInput) { in.ClientSecret = "wrong" })
		ve := h.wantReject(h.login(newBrowser(t), "conn_a"), ReasonTokenExchange)
		var ie *IdPError
		if !errors.As(ve, &ie) || ie.Code != "invalid_client" {
			t.Fatalf("IdPError = %v", ie)
		}
	})
}

func TestConfigureConnection(t *testing.T) {
	t.Parallel()
	clk := newClock()
	op := newMockOP(t, clk)
	h := newHarness(t, clk, nil)
	c := &sso.Connection{ID: "conn_x", OrgID: "org_x"}
	d, err := h.rp.Configure(t.Context(), c, &ConnectionInput{Issuer: op.issuer, ClientID: "cid", ClientSecret: "topsecret", Scopes: []string{"openid", "email", "groups"}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Issuer != op.issuer || d.Endpoints["token_endpoint"] != op.srv.URL+"/token" || c.Protocol != Protocol {
		t.Fatalf("details = %+v", d)
	}
	if strings.Contains(ConfigOf(c).ClientSecretSealed, "topsecret") {
		t.Fatal("secret stored in clear")
	}
	if pt, err := h.sealer.Open(ConfigOf(c).ClientSecretSealed, []byte("conn_x")); err != nil || string(pt) != "topsecret" {
		t.Fatalf("sealed secret does not open with the connection ID: %v", err)
	}
	if _, err := h.sealer.Open(ConfigOf(c).ClientSecretSealed, []byte("conn_y")); err == nil {
		t.Fatal("sealed secret opens for another connection")
	}
	// Reconfiguring without a secret keeps the sealed one.
	sealed := ConfigOf(c).ClientSecretSealed
	if _, err := h.rp.Configure(t.Context(), c, &ConnectionInput{Issuer: op.issuer, ClientID: "cid"}); err != nil || ConfigOf(c).ClientSecretSealed != sealed {
		t.Fatalf("reconfigure: %v", err)
	}
	t.Run("manual-endpoints", func(t *testing.T) {
		c := &sso.Connection{ID: "conn_m"}
		_, err := h.rp.Configure(t.Context(), c, &ConnectionInput{Issuer: op.issuer, ClientID: "cid", ClientSecret: "s",
			AuthURL: op.srv.URL + "/authorize", TokenURL: op.srv.URL + "/token", JWKSURL: op.srv.URL + "/jwks", UserInfoURL: op.srv.URL + "/userinfo"})
		if err != nil || ConfigOf(c).AuthURL == "" || ConfigOf(c).JWKSURL != op.srv.URL+"/jwks" {
			t.Fatalf("manual: %v %+v", err, ConfigOf(c))
		}
	})
	t.Run("manual-endpoints-login", func(t *testing.T) {
		h2 := newHarness(t, clk, nil)
		h2.addConn(op, "conn_m", "org_m", func(c *sso.Connection, in *ConnectionInput) {
			in.AuthURL, in.TokenURL, in.JWKSURL, in.UserInfoURL = op.srv.URL+"/authorize", op.srv.URL+"/token", op.srv.URL+"/jwks", op.srv.URL+"/userinfo"
		})
		h2.wantOK(h2.login(newBrowser(t), "conn_m"))
	})
	for name, in := range map[string]*ConnectionInput{
		"no-issuer":     {ClientID: "x", ClientSecret: "y"},
		"no-client":     {Issuer: op.issuer, ClientSecret: "y"},
		"no-secret":     {Issuer: op.issuer, ClientID: "x"},
		"bad-method":    {Issuer: op.issuer, ClientID: "x", ClientSecret: "y", AuthMethod: "client_secret_jwt"},
		"bad-scope":     {Issuer: op.issuer, ClientID: "x", ClientSecret: "y", Scopes: []string{"a b"}},
		"bad-key":       {Issuer: op.issuer, ClientID: "x", AuthMethod: "private_key_jwt", PrivateKeyPEM: "nope"},
		"manual-no-jwk": {Issuer: op.issuer, ClientID: "x", ClientSecret: "y", AuthURL: op.srv.URL + "/authorize", TokenURL: op.srv.URL + "/token"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := h.rp.Configure(t.Context(), &sso.Connection{ID: "c_" + name}, in); !errors.Is(err, sso.ErrInvalidInput) {
				t.Fatalf("err = %v, want ErrInvalidInput", err)
			}
		})
	}
	t.Run("hmac-signing-alg-refused", func(t *testing.T) {
		c := &sso.Connection{ID: "c_hs", Config: &ConnectionConfig{SigningAlgs: []string{"HS256"}}}
		if _, err := h.rp.Configure(t.Context(), c, &ConnectionInput{Issuer: op.issuer, ClientID: "x", ClientSecret: "y"}); !errors.Is(err, sso.ErrInvalidInput) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestIdPErrorResponse(t *testing.T) {
	t.Parallel()
	h, _ := setupOne(t, nil)
	br := newBrowser(t)
	auth := h.start(br, "conn_a", "")
	cb, _ := url.Parse(h.rp.RedirectURI("conn_a"))
	cb.RawQuery = url.Values{"error": {"access_denied"}, "error_description": {"<script>alert(1)</script> call 555"}, "state": {auth.Query().Get("state")}}.Encode()
	resp, err := br.c.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "cancelled or refused") ||
		strings.Contains(string(body), "script") || strings.Contains(string(body), "555") {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	ve := wantReason(t, h.err(), ReasonIdPError)
	var ie *IdPError
	if !errors.As(ve, &ie) || ie.Code != "access_denied" || !strings.Contains(ie.Description, "script") {
		t.Fatalf("IdPError = %+v", ie)
	}
	if f := h.comp.lastFail(); f == nil || f.Connection == nil || f.Connection.ID != "conn_a" {
		t.Fatal("failure not attributed to the connection")
	}
	if n, _ := h.comp.counts(); n != 0 {
		t.Fatal("login completed")
	}
}

func TestLoginRoutes(t *testing.T) {
	t.Parallel()
	h, _ := setupOne(t, nil)
	draft := &sso.Connection{ID: "conn_d", OrgID: "org_a", Protocol: Protocol, Status: sso.ConnectionDraft, Config: ConfigOf(mustConn(h, "conn_a"))}
	_ = h.conns.CreateConnection(t.Context(), draft)
	for _, id := range []string{"nope", "conn_d"} {
		resp := newBrowser(t).get(h.srv.URL + "/sso/oidc/login/" + id)
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("login/%s status %d, want 404", id, resp.StatusCode)
		}
	}
	// A draft connection runs test logins through StartLogin.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/admin/test", nil)
	if err := h.rp.StartLogin(rec, req, draft, sso.StartOptions{Test: true, LoginHint: "a@example.com", ForceAuthn: true}); err != nil {
		t.Fatal(err)
	}
	loc, _ := url.Parse(rec.Header().Get("Location"))
	if loc.Query().Get("login_hint") != "a@example.com" || loc.Query().Get("prompt") != "login" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("auth URL = %s", loc)
	}
	if err := h.rp.StartLogin(httptest.NewRecorder(), req, draft, sso.StartOptions{}); !errors.Is(err, sso.ErrAccessDenied) {
		t.Fatalf("non-test login on draft: %v", err)
	}
	if err := h.rp.StartLogin(httptest.NewRecorder(), req, &sso.Connection{Protocol: saml.Protocol}, sso.StartOptions{}); !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("SAML connection: %v", err)
	}
}

func TestTestLoginFlag(t *testing.T) {
	t.Parallel()
	h, _ := setupOne(t, nil)
	br := newBrowser(t)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/admin/test", nil)
	if err := h.rp.StartLogin(rec, req, mustConn(h, "conn_a"), sso.StartOptions{Test: true, ReturnTo: "/admin/conn"}); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(h.srv.URL)
	br.c.Jar.SetCookies(u, rec.Result().Cookies())
	loc, _ := url.Parse(rec.Header().Get("Location"))
	l := h.wantOK(br.get(h.authorize(br, loc).String()))
	if !l.Test || l.ReturnTo != "/admin/conn" {
		t.Fatalf("login = %+v", l)
	}
}

func TestClaimMapping(t *testing.T) {
	t.Parallel()
	t.Run("custom-mapping-keycloak-organization", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		op := newMockOP(t, clk)
		h := newHarness(t, clk, nil)
		h.addConn(op, "conn_a", "org_a", func(c *sso.Connection, in *ConnectionInput) {
			c.Mapping = sso.AttributeMapping{Email: "upn", Groups: "roles", DisplayName: "display"}
		})
		op.set(func(op *mockOP) {
			op.claims = func(c map[string]any) {
				c["upn"], c["roles"], c["display"] = "Bob@Corp.Example", []any{"r1", "r2"}, "Bobby"
				c["organization"] = map[string]any{"acme": map[string]any{"id": "1"}, "beta": map[string]any{}}
				c["amr"] = []string{"pwd"}
				c["acr"] = "http://schemas.microsoft.com/claims/multipleauthn"
				c["auth_time"] = clk.Now().Add(-30 * time.Second).Unix()
			}
		})
		p := h.wantOK(h.login(newBrowser(t), "conn_a")).Profile
		if p.Email != "bob@corp.example" || p.DisplayName != "Bobby" || len(p.Groups) != 2 || p.Groups[1] != "r2" {
			t.Fatalf("mapping = %+v", p)
		}
		if got := p.Raw["organization"]; len(got) != 2 || got[0] != "acme" || got[1] != "beta" {
			t.Fatalf("organization = %v", got)
		}
		if !p.MFA || p.AuthTime.IsZero() {
			t.Fatalf("acr MFA / auth_time = %v %v", p.MFA, p.AuthTime)
		}
	})
	t.Run("entra-group-overage", func(t *testing.T) {
		t.Parallel()
		l := accepts(t, func(op *mockOP) {
			op.claims = func(c map[string]any) {
				delete(c, "groups")
				c["amr"] = []string{"pwd"}
				c["acr"] = "1"
				c["_claim_names"] = map[string]any{"groups": "src1"}
				c["_claim_sources"] = map[string]any{"src1": map[string]any{"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}}
			}
		})
		p := l.Profile
		if p.Raw["groups_overage"] == nil || p.MFA || len(p.Groups) != 0 {
			t.Fatalf("overage not reported: %v", p.Raw)
		}
		if _, ok := p.Raw["_claim_sources"]; ok {
			t.Fatal("claim source endpoints copied into Raw")
		}
	})
}

func TestRawClaims(t *testing.T) {
	t.Parallel()
	var c map[string]any
	d := json.NewDecoder(strings.NewReader(`{"n":1.50,"b":false,"a":["x",2,true],"o":{"k":"v"},"z":null}`))
	d.UseNumber()
	if err := d.Decode(&c); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"n": "1.50", "b": "false", "a": "x,2,true", "o": `{"k":"v"}`, "z": ""}
	for k, w := range want {
		if got := strings.Join(rawStrings(c[k]), ","); got != w {
			t.Errorf("rawStrings(%s) = %q, want %q", k, got, w)
		}
	}
}

var _ = context.Background

func TestDefaultErrorHandler(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err    error
		status int
		want   string
	}{
		{invalid(ReasonNonceMismatch, errors.New("private cause detail")), 400, "nonce_mismatch"},
		{&IdPError{Code: "server_error", Description: "<b>secret</b>"}, 400, "server_error"},
		{&IdPError{Code: "<script>"}, 400, "error"},
		{sso.ErrNotFound, 404, "Start again from the sign-in page"},
		{sso.ErrInvalidInput, 400, "Start again from the sign-in page"},
		{sso.ErrUnavailable, 503, "could not be reached"},
		{sso.ErrNotProvisioned, 403, "not_provisioned"},
		{errors.New("db password=hunter2"), 500, "went wrong"},
	} {
		rec := httptest.NewRecorder()
		DefaultErrorHandler(rec, httptest.NewRequest(http.MethodGet, "/", nil), tc.err)
		body := rec.Body.String()
		if rec.Code != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%v: status %d body %q", tc.err, rec.Code, body)
		}
		for _, leak := range []string{"private cause", "secret", "hunter2", "<script>"} {
			if strings.Contains(body, leak) {
				t.Errorf("%v: body leaks %q", tc.err, leak)
			}
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Error("error page cacheable")
		}
	}
}

func TestDeleteExpired(t *testing.T) {
	t.Parallel()
	h, _ := setupOne(t, nil)
	h.start(newBrowser(t), "conn_a", "")
	h.start(newBrowser(t), "conn_a", "")
	if n := len(h.flows.flows); n != 2 {
		t.Fatalf("%d flows stored", n)
	}
	var called bool
	h.rp.cfg.Store = &deleteSpy{memFlows: h.flows, called: &called}
	if _, err := h.rp.DeleteExpired(t.Context()); err != nil || !called {
		t.Fatalf("DeleteExpired: %v, called %v", err, called)
	}
}

type deleteSpy struct {
	*memFlows
	called *bool
}

func (d *deleteSpy) DeleteExpiredFlows(ctx context.Context, now time.Time) (int, error) {
	*d.called = true
	return 0, nil
}
