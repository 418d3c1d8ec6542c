package oidc_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/keyring"
	"github.com/ssokit/ssokit/sso/ssotest"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memoidc"
)

type okCompleter struct {
	mu     sync.Mutex
	emails []string
	fails  []string
}

func (c *okCompleter) Complete(w http.ResponseWriter, _ *http.Request, l *sso.Login) error {
	c.mu.Lock()
	c.emails = append(c.emails, l.Profile.Email)
	c.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "logged in "+l.Profile.Email)
	return nil
}

func (c *okCompleter) Fail(_ *http.Request, f *sso.LoginFailure) {
	c.mu.Lock()
	c.fails = append(c.fails, sso.ReasonOf(f.Err))
	c.mu.Unlock()
}

// TestLastGoodDiscoveryAndKeysWhileEndpointsDown logs in once through the
// development IdP, then takes its discovery and JWKS endpoints down and
// lets their caches expire: the last good discovery document and keys keep
// logins working, while the health probe reports the outage.
func TestLastGoodDiscoveryAndKeysWhileEndpointsDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var nowNanos atomic.Int64
	nowNanos.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, nowNanos.Load()) }

	var down atomic.Bool
	var fetchesWhileDown atomic.Int32
	var idp *ssotest.IdP
	idpSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() && (strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") || strings.HasSuffix(r.URL.Path, "/jwks")) {
			fetchesWhileDown.Add(1)
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		idp.ServeHTTP(w, r)
	}))
	defer idpSrv.Close()
	idpBase, _ := url.Parse(idpSrv.URL)
	var err error
	if idp, err = ssotest.NewIdP(ssotest.Config{BaseURL: idpBase, AutoLogin: "bob@example.com",
		Users: []ssotest.User{{Email: "bob@example.com", GivenName: "Bob"}}, Now: now}); err != nil {
		t.Fatal(err)
	}

	st := memstore.New(memstore.WithClock(now))
	comp := &okCompleter{}
	mux := http.NewServeMux()
	rpSrv := httptest.NewServer(mux)
	defer rpSrv.Close()
	rpBase, _ := url.Parse(rpSrv.URL + "/sso/oidc/")
	sealer, err := keyring.New("k1", map[string][]byte{"k1": make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	rp, err := oidc.New(oidc.Config{BaseURL: rpBase, Completer: comp, Store: memoidc.New(st), Connections: st, Sealer: sealer, Now: now,
		AllowInsecureURLs: true, AllowPrivateAddresses: true, JWKSRefetchInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/sso/oidc/", http.StripPrefix("/sso/oidc", rp))

	if err := st.CreateOrg(ctx, &sso.Organization{ID: "org_lg", Slug: "lastgood", Name: "Last Good"}); err != nil {
		t.Fatal(err)
	}
	conn := &sso.Connection{ID: "conn_lg", OrgID: "org_lg", Protocol: oidc.Protocol, Status: sso.ConnectionActive, CreatedAt: now()}
	if _, err := rp.Configure(ctx, conn, &oidc.ConnectionInput{Issuer: idp.Issuer(), ClientID: "rp-client", ClientSecret: "rp-secret-value"}); err != nil {
		t.Fatalf("configure: %v", err)
	}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if err := idp.RegisterClient(ssotest.Client{ID: "rp-client", Secret: "rp-secret-value", RedirectURIs: []string{rp.RedirectURI(conn.ID)}}); err != nil {
		t.Fatal(err)
	}

	login := func() {
		t.Helper()
		b := ssotest.NewBrowser()
		res, err := b.Login(ctx, rp.LoginURL(conn.ID))
		if err != nil {
			t.Fatalf("login: %v (visited %v)", err, b.Visited)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || !strings.Contains(string(body), "logged in bob@example.com") {
			t.Fatalf("login: status %d, body %q, failures %v", res.StatusCode, body, comp.fails)
		}
	}
	login()
	if probe, err := rp.ProbeConnection(ctx, conn); err != nil || !probe.Fetched || probe.Keys == 0 {
		t.Fatalf("probe when up: %+v, %v", probe, err)
	}

	// Discovery and JWKS go down; both caches are past their lifetime, so
	// the RP tries to refresh them and falls back to the last good copies.
	down.Store(true)
	nowNanos.Add(int64(2 * time.Hour))
	if _, err := rp.ProbeConnection(ctx, conn); !errors.Is(err, sso.ErrUnavailable) {
		t.Fatalf("probe while down: got %v, want ErrUnavailable", err)
	}
	login()
	nowNanos.Add(int64(2 * time.Hour))
	login()
	if fetchesWhileDown.Load() < 2 {
		t.Fatalf("the RP did not try the endpoints while they were down (%d fetches)", fetchesWhileDown.Load())
	}
	comp.mu.Lock()
	defer comp.mu.Unlock()
	if len(comp.emails) != 3 || len(comp.fails) != 0 {
		t.Fatalf("logins: %v, failures %v; want 3 successes", comp.emails, comp.fails)
	}
}
