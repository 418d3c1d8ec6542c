package ssotest_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/beevik/etree"

	"github.com/ssokit/ssokit/sso/ssotest"
)

func TestNewServerIsLoopback(t *testing.T) {
	t.Parallel()
	s := ssotest.NewServer(t)
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		t.Fatalf("server at %s", u.Host)
	}
	if s.BaseURL() != s.URL() || s.Issuer() != s.URL()+"/oidc" {
		t.Errorf("base %q issuer %q", s.BaseURL(), s.Issuer())
	}
	if len(s.Users()) != 2 {
		t.Errorf("default users: %v", s.Users())
	}
	resp, err := http.Get(s.SAMLMetadataURL())
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("metadata: %v", err)
	}
	resp.Body.Close()
}

func TestBrowserUnknownUser(t *testing.T) {
	t.Parallel()
	s := ssotest.NewServerWith(t, withKeys(t, ssotest.Config{}))
	if err := s.RegisterServiceProvider(ssotest.ServiceProvider{EntityID: spEntityID, ACSURLs: []string{spACS}}); err != nil {
		t.Fatal(err)
	}
	b := ssotest.NewBrowser()
	b.User = "mallory@example.com"
	_, err := b.Login(context.Background(), s.IdPInitiatedURL(spEntityID, "", ""))
	if !errors.Is(err, ssotest.ErrNoLogin) {
		t.Fatalf("got %v, want ErrNoLogin", err)
	}
	// A tampered login form is refused, not served.
	resp, err := http.PostForm(s.URL()+"/login", url.Values{"login": {"forged"}, "user": {"bob@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("forged login id: %d", resp.StatusCode)
	}
}

// TestConcurrentUse runs logins of both protocols while faults change.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t, ssotest.Config{})
	if err := e.s.RegisterServiceProvider(ssotest.ServiceProvider{EntityID: spEntityID, ACSURLs: []string{spACS}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Add(3)
		go func() {
			defer wg.Done()
			b := ssotest.NewBrowser()
			resp, err := b.Login(context.Background(), e.authorizeURL("conf", url.Values{"login_hint": {"bob@example.com"}, "state": {fmt.Sprint(i)}}))
			if err != nil {
				errs <- err
				return
			}
			io.Copy(io.Discard, resp.Body)
			if resp.Request.URL.Path != "/callback" {
				errs <- fmt.Errorf("login %d ended at %s", i, resp.Request.URL)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := e.s.NewSAMLResponse(ssotest.SAMLResponseRequest{ServiceProvider: spEntityID, User: "alice@example.com", Faults: ssotest.SAMLUntrustedKey}); err != nil {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			e.s.SetSAMLFaults(ssotest.SAMLFault(i))
			e.s.NextOIDCFaults(0)
			if _, err := e.s.JWKS(); err != nil {
				errs <- err
			}
			_ = e.s.AddUser(ssotest.User{Email: fmt.Sprintf("u%d@example.com", i)})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(e.s.Users()); n != 10 {
		t.Errorf("%d users", n)
	}
}

func BenchmarkNewSAMLResponse(b *testing.B) {
	idp := newIdP(b, ssotest.Config{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := idp.NewSAMLResponse(ssotest.SAMLResponseRequest{ServiceProvider: spEntityID, User: "alice@example.com", InResponseTo: "_r"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIDToken(b *testing.B) {
	idp := newIdP(b, ssotest.Config{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := idp.IDToken(ssotest.IDTokenRequest{ClientID: "c", User: "alice@example.com", Nonce: "n", AccessToken: "at"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIDTokenES256(b *testing.B) {
	k, err := testKeys()
	if err != nil {
		b.Fatal(err)
	}
	idp := newIdP(b, ssotest.Config{OIDCKey: k.ecKey})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := idp.IDToken(ssotest.IDTokenRequest{ClientID: "c", User: "alice@example.com", Nonce: "n", AccessToken: "at"}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMountedUnderPrefix serves the IdP under /dev-idp/ of a host mux, as
// the demo does, and logs in through it.
func TestMountedUnderPrefix(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	host := httptest.NewServer(mux)
	defer host.Close()
	var (
		gotErr error
		mu     sync.Mutex
	)
	cfg := withKeys(t, ssotest.Config{BaseURL: mustURL(t, host.URL+"/dev-idp"), AutoLogin: "bob@example.com",
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			mu.Lock()
			gotErr = err
			mu.Unlock()
			ssotest.DefaultErrorHandler(w, r, err)
		}})
	idp, err := ssotest.NewIdP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/dev-idp/", http.StripPrefix("/dev-idp", idp))
	var relay string
	mux.HandleFunc("POST /acs/{tenant}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		relay = r.PathValue("tenant") + " " + r.PostFormValue("RelayState")
		mu.Unlock()
	})
	for _, tenant := range []string{"acme", "globex"} {
		if err := idp.RegisterServiceProvider(ssotest.ServiceProvider{EntityID: host.URL + "/sp", ACSURLs: []string{host.URL + "/acs/" + tenant}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tenant := range []string{"acme", "globex"} {
		q := url.Values{"SAMLRequest": {redirectRequest(t, authnRequestXML("_"+tenant, host.URL+"/sp", host.URL+"/acs/"+tenant))}, "RelayState": {"/r"}}
		resp, err := ssotest.NewBrowser().Login(context.Background(), idp.SAMLSSOURL()+"?"+q.Encode())
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v", tenant, err)
		}
		mu.Lock()
		if relay != tenant+" /r" {
			t.Errorf("ACS got %q", relay)
		}
		mu.Unlock()
	}
	resp, err := http.Get(host.URL + "/dev-idp/saml/sso?SAMLRequest=zz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var re *ssotest.RequestError
	mu.Lock()
	defer mu.Unlock()
	if resp.StatusCode != 400 || !errors.As(gotErr, &re) || re.Status != 400 || re.Err == nil {
		t.Errorf("error handler got %v (status %d)", gotErr, resp.StatusCode)
	}
}

// TestBrowserPOSTBindingSP follows an SP that sends its AuthnRequest with
// the HTTP-POST binding (an auto-submitting form).
func TestBrowserPOSTBindingSP(t *testing.T) {
	t.Parallel()
	s := ssotest.NewServerWith(t, withKeys(t, ssotest.Config{}))
	var sp *httptest.Server
	sp = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			req := base64.StdEncoding.EncodeToString([]byte(authnRequestXML("_pb", sp.URL, sp.URL+"/acs")))
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<html><body onload="document.forms[0].submit()"><form method="POST" action="%s"><input type="hidden" name="SAMLRequest" value="%s"><input type="hidden" name="RelayState" value="rs"></form></body></html>`, s.SAMLSSOURL(), req)
			return
		}
		raw, _ := base64.StdEncoding.DecodeString(r.PostFormValue("SAMLResponse"))
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil || doc.FindElement("//NameID") == nil {
			http.Error(w, "bad response", http.StatusBadRequest)
			return
		}
		root := doc.Root()
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s %s", root.SelectAttrValue("InResponseTo", ""), root.FindElement("//NameID").Text(), r.PostFormValue("RelayState"))
	}))
	defer sp.Close()
	if err := s.RegisterServiceProvider(ssotest.ServiceProvider{EntityID: sp.URL, ACSURLs: []string{sp.URL + "/acs"}}); err != nil {
		t.Fatal(err)
	}
	b := ssotest.NewBrowser()
	b.User = "alice@example.com"
	resp, err := b.Login(context.Background(), sp.URL+"/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "_pb alice@example.com rs" {
		t.Fatalf("got %q; visited %v", body, b.Visited)
	}
}
