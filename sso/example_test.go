package sso_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
)

// exampleStarter stands in for the saml or oidc package's Starter.
type exampleStarter struct{}

func (exampleStarter) StartLogin(w http.ResponseWriter, r *http.Request, c *sso.Connection, opts sso.StartOptions) error {
	http.Redirect(w, r, "https://idp.example/sso?return="+url.QueryEscape(opts.ReturnTo), http.StatusFound)
	return nil
}

// exampleSessions stands in for session.Manager.
type exampleSessions struct{}

func (exampleSessions) IssueSession(w http.ResponseWriter, r *http.Request, g *sso.SessionGrant) error {
	fmt.Printf("session for %s with roles %v\n", g.Method, g.Roles)
	return nil
}

// ExampleNewDiscovery routes an email of a verified domain to the
// organization's IdP, and any other email to the host's password login.
func ExampleNewDiscovery() {
	ctx := context.Background()
	st := memstore.New()
	org := &sso.Organization{ID: "org_acme", Slug: "acme", Name: "Acme"}
	org.Settings.Features.SAML = true
	_ = st.CreateOrg(ctx, org)
	_ = st.CreateDomain(ctx, &sso.Domain{OrgID: org.ID, Name: "acme.com", Token: "t", State: sso.DomainVerified})
	_ = st.CreateConnection(ctx, &sso.Connection{ID: "conn_okta", OrgID: org.ID, Protocol: sso.ProtocolSAML, Status: sso.ConnectionActive})

	base, _ := url.Parse("https://app.example/sso/")
	d, err := sso.NewDiscovery(sso.DiscoveryConfig{
		Store:         st,
		Starters:      map[sso.Protocol]sso.Starter{sso.ProtocolSAML: exampleStarter{}},
		BaseURL:       base,
		LocalLoginURL: "/login/password",
	})
	if err != nil {
		panic(err)
	}
	// The host mounts it with: mux.Handle("/sso/", http.StripPrefix("/sso", d))
	for _, email := range []string{"jane@acme.com", "jane@gmail.com", "jane@unknown.example"} {
		r := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"email": {email}, "return_to": {"/reports"}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		d.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("Location"))
	}
	// Output:
	// 302 https://idp.example/sso?return=%2Freports
	// 303 /login/password?login_hint=jane%40gmail.com&return_to=%2Freports
	// 303 /login/password?login_hint=jane%40unknown.example&return_to=%2Freports
}

// ExampleNewCompleter finishes a verified login: the first login of a user
// in a verified domain provisions them just in time with the mapped role.
func ExampleNewCompleter() {
	ctx := context.Background()
	st := memstore.New()
	org := &sso.Organization{ID: "org_acme", Slug: "acme", Name: "Acme"}
	org.Settings.Features.OIDC = true
	org.Settings.AllowJIT = true
	_ = st.CreateOrg(ctx, org)
	_ = st.CreateDomain(ctx, &sso.Domain{OrgID: org.ID, Name: "acme.com", Token: "t", State: sso.DomainVerified})
	conn := &sso.Connection{ID: "conn_entra", OrgID: org.ID, Protocol: sso.ProtocolOIDC, Status: sso.ConnectionActive,
		OIDC:       &sso.OIDCConfig{Issuer: "https://login.microsoftonline.com/tid/v2.0"},
		GroupRoles: []sso.GroupRole{{Group: "sso-admins", Role: "admin"}}}
	_ = st.CreateConnection(ctx, conn)

	auditor, _ := sso.NewAuditor(sso.AuditorConfig{Store: st})
	c, err := sso.NewCompleter(sso.CompleterConfig{Store: st, Sessions: exampleSessions{}, Auditor: auditor})
	if err != nil {
		panic(err)
	}
	// The oidc package calls Complete with the verified profile.
	login := &sso.Login{Connection: conn, ReturnTo: "/dashboard", Profile: &sso.Profile{
		Protocol: sso.ProtocolOIDC, OrgID: org.ID, ConnectionID: conn.ID,
		Issuer: "https://login.microsoftonline.com/tid/v2.0", Subject: "oid-123",
		Email: "jane@acme.com", EmailVerified: true, Groups: []string{"sso-admins"},
	}}
	w := httptest.NewRecorder()
	if err := c.Complete(w, httptest.NewRequest("GET", "/sso/oidc/callback", nil), login); err != nil {
		panic(err)
	}
	fmt.Println(w.Code, w.Header().Get("Location"))
	evs, _ := st.ListEvents(ctx, sso.EventQuery{OrgID: org.ID})
	for _, e := range evs {
		fmt.Println(e.Type)
	}
	// Output:
	// session for oidc with roles [admin]
	// 303 /dashboard
	// user.jit_provisioned
	// login.succeeded
}
