package invite_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/invite"
	"github.com/ssokit/ssokit/sso/mail"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/meminvite"
)

// ExampleManager_Accept invites an address into an organization and
// accepts the emailed link as a new user; the link works once.
func ExampleManager_Accept() {
	ctx := context.Background()
	st := memstore.New()
	_ = st.CreateOrg(ctx, &sso.Organization{ID: "org_acme", Slug: "acme", Name: "Acme"})
	trail, _ := audit.New(audit.Config{Store: st})
	outbox := &mail.DevMailer{}
	accept, _ := url.Parse("https://app.acme.example/invite/accept")
	inv, err := invite.New(invite.Config{Store: meminvite.New(st), Users: st, Orgs: st, Members: st, Domains: st,
		Auditor: trail, Mailer: outbox, AcceptURL: accept, AppName: "Acme"})
	if err != nil {
		panic(err)
	}

	if _, err := inv.Invite(ctx, "org_acme", "Jane@Example.com", []string{"member"}); err != nil {
		panic(err)
	}
	msg, _ := outbox.Last("jane@example.com")
	fmt.Println(msg.Subject)
	token := regexp.MustCompile(`token=([A-Za-z0-9_-]+)`).FindStringSubmatch(msg.Text)[1]

	org, m, err := inv.Accept(ctx, token, "")
	fmt.Println(org.Slug, m.Roles, m.Status, err)
	_, _, err = inv.Accept(ctx, token, "")
	fmt.Println(sso.ReasonOf(err))
	// Output:
	// You are invited to join Acme on Acme
	// acme [member] active <nil>
	// token_invalid
}
