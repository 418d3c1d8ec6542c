package saml_test

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

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/ssotest"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

// okCompleter answers a verified login with 200 and the profile's email.
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

// TestLastGoodMetadataWhileMetadataEndpointDown configures a connection
// from the development IdP's metadata URL, takes the metadata endpoint
// down, lets a refresh and a health probe fail, and logs in: the last good
// metadata keeps the login working.
func TestLastGoodMetadataWhileMetadataEndpointDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var nowNanos atomic.Int64
	nowNanos.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, nowNanos.Load()) }

	// The IdP, with a switch that breaks only its metadata endpoint.
	var metadataDown atomic.Bool
	var idp *ssotest.IdP
	idpSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if metadataDown.Load() && strings.HasSuffix(r.URL.Path, "/saml/metadata") {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		idp.ServeHTTP(w, r)
	}))
	defer idpSrv.Close()
	idpBase, _ := url.Parse(idpSrv.URL)
	var err error
	if idp, err = ssotest.NewIdP(ssotest.Config{BaseURL: idpBase, AutoLogin: "alice@example.com",
		Users: []ssotest.User{{Email: "alice@example.com", GivenName: "Alice"}}, Now: now}); err != nil {
		t.Fatal(err)
	}

	st := memstore.New(memstore.WithClock(now))
	comp := &okCompleter{}
	mux := http.NewServeMux()
	spSrv := httptest.NewServer(mux)
	defer spSrv.Close()
	spBase, _ := url.Parse(spSrv.URL + "/sso/saml")
	samlStore := memsaml.New(st)
	sp, err := saml.New(saml.Config{BaseURL: spBase, Connections: st, Store: samlStore, Events: st, Completer: comp, Now: now,
		AllowInsecureURLs: true, AllowPrivateAddresses: true, RefreshInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/sso/saml/", http.StripPrefix("/sso/saml", sp))

	if err := st.CreateOrg(ctx, &sso.Organization{ID: "org_lg", Slug: "lastgood", Name: "Last Good"}); err != nil {
		t.Fatal(err)
	}
	conn := &sso.Connection{ID: "conn_lg", OrgID: "org_lg", Protocol: saml.Protocol, Status: sso.ConnectionActive, CreatedAt: now()}
	if _, err := sp.Configure(ctx, conn, &saml.ConnectionInput{MetadataURL: idp.SAMLMetadataURL()}); err != nil {
		t.Fatalf("configure from metadata URL: %v", err)
	}
	if saml.ConfigOf(conn).MetadataXML == "" || len(saml.ConfigOf(conn).Certificates) == 0 {
		t.Fatalf("configured connection lacks metadata: %+v", saml.ConfigOf(conn))
	}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	md, err := sp.Metadata(conn)
	if err != nil {
		t.Fatal(err)
	}
	if err := idp.RegisterSPMetadata(md); err != nil {
		t.Fatal(err)
	}

	login := func() {
		t.Helper()
		b := ssotest.NewBrowser()
		res, err := b.Login(ctx, spSrv.URL+"/sso/saml/login/"+conn.ID)
		if err != nil {
			t.Fatalf("login: %v (visited %v)", err, b.Visited)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || !strings.Contains(string(body), "logged in alice@example.com") {
			t.Fatalf("login: status %d, body %q, completer failures %v", res.StatusCode, body, comp.fails)
		}
	}
	login()

	// The metadata endpoint goes down; the metadata is due for a refresh.
	metadataDown.Store(true)
	nowNanos.Add(int64(2 * time.Hour))
	sp.RefreshAll(ctx)
	cached, err := samlStore.GetMetadata(ctx, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cached.LastError == "" || cached.Failures == 0 {
		t.Fatalf("failed refresh not recorded: %+v", cached)
	}
	stored, err := st.GetConnection(ctx, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if saml.ConfigOf(stored).MetadataXML != saml.ConfigOf(conn).MetadataXML || len(saml.ConfigOf(stored).Certificates) != len(saml.ConfigOf(conn).Certificates) {
		t.Fatal("a failed refresh replaced the last good metadata")
	}
	if _, err := sp.ProbeConnection(ctx, stored); !errors.Is(err, sso.ErrUnavailable) {
		t.Fatalf("probe while down: got %v, want ErrUnavailable", err)
	}

	// Logins keep working on the last good metadata.
	login()
	login()

	// Back up: the probe succeeds and reports the IdP's certificate.
	metadataDown.Store(false)
	probe, err := sp.ProbeConnection(ctx, stored)
	if err != nil || !probe.Fetched || len(probe.Certificates) == 0 {
		t.Fatalf("probe when up: %+v, %v", probe, err)
	}
	comp.mu.Lock()
	defer comp.mu.Unlock()
	if len(comp.emails) != 3 || len(comp.fails) != 0 {
		t.Fatalf("logins: %v, failures %v; want 3 successes", comp.emails, comp.fails)
	}
}
