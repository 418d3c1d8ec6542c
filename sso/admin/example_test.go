package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/domains"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/store/memstore"
)

// exampleSP stands in for saml.SP so the example needs no IdP.
type exampleSP struct{}

func (exampleSP) ConfigureConnection(ctx context.Context, c *sso.Connection, raw json.RawMessage) (*sso.IdPDetails, error) {
	var in saml.ConnectionInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, err
	}
	c.Config = &saml.ConnectionConfig{IdPEntityID: in.IdPEntityID, SSOURL: in.SSOURL, Certificates: in.Certificates}
	return &sso.IdPDetails{EntityID: in.IdPEntityID}, nil
}

func (exampleSP) ConfigView(c *sso.Connection) any { return nil }

func (exampleSP) SPDetails(c *sso.Connection) *sso.SPDetails {
	return &sso.SPDetails{EntityID: "https://app.example.com/sso/saml/metadata/" + c.ID}
}

func (exampleSP) StartLogin(w http.ResponseWriter, r *http.Request, c *sso.Connection, opts sso.StartOptions) error {
	http.Redirect(w, r, "https://idp.example.com/sso", http.StatusFound)
	return nil
}

func ExampleNew() {
	ctx := context.Background()
	st := memstore.New()
	_ = st.CreateOrg(ctx, &sso.Organization{ID: "org_1", Slug: "acme", Name: "Acme",
		Settings: sso.OrgSettings{Features: sso.Features{"scim"}}})
	auditor, _ := audit.New(audit.Config{Store: st})
	domains, _ := domains.New(domains.Config{Store: st, Auditor: auditor})
	enforcer, _ := policy.New(policy.Config{Store: st, Auditor: auditor})
	h, err := admin.New(admin.Config{
		Store: st,
		// The host decides who administers which organization; here every
		// caller is an admin of org_1.
		Authorize: func(r *http.Request) (string, sso.Actor, error) {
			return "org_1", sso.Actor{Type: sso.ActorAdmin, ID: "usr_admin"}, nil
		},
		// In a host these are the saml.SP and oidc.RP, which implement both
		// interfaces.
		Configurers: map[sso.Protocol]sso.ConnectionConfigurer{saml.Protocol: exampleSP{}},
		Starters:    map[sso.Protocol]sso.Starter{saml.Protocol: exampleSP{}},
		Domains:     domains,
		Enforcer:    enforcer,
		Auditor:     auditor,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/sso/", http.StripPrefix("/admin/sso", h))

	req := httptest.NewRequest("POST", "/admin/sso/domains", strings.NewReader(`{"name":"Acme.COM"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	d, _ := st.GetDomain(ctx, "org_1", "acme.com")
	fmt.Println(d.Name, d.State)
	// Output:
	// 201
	// acme.com pending
}
