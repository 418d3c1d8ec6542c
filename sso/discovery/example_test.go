package discovery_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/discovery"
	"github.com/ssokit/ssokit/store/memstore"
)

// exampleStarter stands in for the saml or oidc package's Starter.
type exampleStarter struct{}

func (exampleStarter) StartLogin(w http.ResponseWriter, r *http.Request, c *sso.Connection, opts sso.StartOptions) error {
	http.Redirect(w, r, "https://idp.example/sso?return="+url.QueryEscape(opts.ReturnTo), http.StatusFound)
	return nil
}

// ExampleNew routes an email of a verified domain to the
// organization's IdP, and any other email to the host's password login.
func ExampleNew() {
	ctx := context.Background()
	st := memstore.New()
	org := &sso.Organization{ID: "org_acme", Slug: "acme", Name: "Acme"}
	org.Settings.Features = org.Settings.Features.With("saml")
	_ = st.CreateOrg(ctx, org)
	_ = st.CreateDomain(ctx, &sso.Domain{OrgID: org.ID, Name: "acme.com", Token: "t", State: sso.DomainVerified})
	_ = st.CreateConnection(ctx, &sso.Connection{ID: "conn_okta", OrgID: org.ID, Protocol: saml.Protocol, Status: sso.ConnectionActive})

	base, _ := url.Parse("https://app.example/sso/")
	d, err := discovery.New(discovery.Config{
		Store:         st,
		Starters:      map[sso.Protocol]sso.Starter{saml.Protocol: exampleStarter{}},
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
