package scim_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/scimtoken"
	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memscim"
)

type noSessions struct{}

func (noSessions) RevokeUser(context.Context, string) error { return nil }

func (noSessions) RevokeOrgSessions(context.Context, string, string, string, ...sso.AuthMethod) (int, error) {
	return 0, nil
}

func ExampleNew() {
	ctx := context.Background()
	st := memstore.New()
	org := &sso.Organization{ID: "org_acme", Slug: "acme", Name: "Acme"}
	org.Settings.Features = org.Settings.Features.With("scim")
	_ = st.CreateOrg(ctx, org)
	token, _, _ := scimtoken.Issue(ctx, st, org.ID, "Okta", time.Now())

	base, _ := url.Parse("https://app.example.com/scim/v2")
	h, err := scim.New(scim.Config{Store: memscim.New(st), Core: st, Revoker: noSessions{}, BaseURL: base})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/scim/v2/Users", strings.NewReader(
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@acme.example"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	res, _ := http.DefaultClient.Do(req)
	res.Body.Close()
	fmt.Println(res.StatusCode, res.Header.Get("Content-Type"))

	req, _ = http.NewRequest("GET", srv.URL+"/scim/v2/Users?filter="+url.QueryEscape(`userName eq "ADA@acme.example"`)+"&attributes=userName", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, _ = http.DefaultClient.Do(req)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(res.StatusCode, strings.Contains(string(body), `"totalResults":1`))
	// Output:
	// 201 application/scim+json
	// 200 true
}

func ExampleParseFilter() {
	e, err := scim.ParseFilter(`userName sw "J" and emails[type eq "work" and value co "@example.com"]`, scim.KindUser)
	if err != nil {
		panic(err)
	}
	fmt.Println(scim.String(e))
	_, err = scim.ParseFilter(`password eq "x"`, scim.KindUser)
	fmt.Println(err)
	// Output:
	// (userName sw "j" and emails[(emails.type eq "work" and emails.value co "@example.com")])
	// scim: invalid filter: unsupported attribute "password"
}
