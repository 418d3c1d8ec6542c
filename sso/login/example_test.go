package login_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/login"
	"github.com/ssokit/ssokit/store/memstore"
)

// exampleSessions stands in for session.Manager.
type exampleSessions struct{}

func (exampleSessions) IssueSession(w http.ResponseWriter, r *http.Request, g *sso.SessionGrant) error {
	fmt.Printf("session for %s with roles %v\n", g.Method, g.Roles)
	return nil
}

// ExampleNew finishes a verified login: the first login of a user
// in a verified domain provisions them just in time with the mapped role.
func ExampleNew() {
	ctx := context.Background()
	st := memstore.New()
	org := &sso.Organization{ID: "org_acme", Slug: "acme", Name: "Acme"}
	org.Settings.Features = org.Settings.Features.With("oidc")
	org.Settings.AllowJIT = true
	_ = st.CreateOrg(ctx, org)
	_ = st.CreateDomain(ctx, &sso.Domain{OrgID: org.ID, Name: "acme.com", Token: "t", State: sso.DomainVerified})
	conn := &sso.Connection{ID: "conn_entra", OrgID: org.ID, Protocol: oidc.Protocol, Status: sso.ConnectionActive,
		Config:     &oidc.ConnectionConfig{Issuer: "https://login.microsoftonline.com/tid/v2.0"},
		GroupRoles: []sso.GroupRole{{Group: "sso-admins", Role: "admin"}}}
	_ = st.CreateConnection(ctx, conn)

	auditor, _ := audit.New(audit.Config{Store: st})
	c, err := login.New(login.Config{Store: st, Sessions: exampleSessions{}, Auditor: auditor})
	if err != nil {
		panic(err)
	}
	// The oidc package calls Complete with the verified profile.
	login := &sso.Login{Connection: conn, ReturnTo: "/dashboard", Profile: &sso.Profile{
		Protocol: oidc.Protocol, OrgID: org.ID, ConnectionID: conn.ID,
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
