package migrate_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/migrate"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

// A dry run of a CSV export from another SP, before the IdP metadata was
// added to it: the first row lacks the metadata, the second names an
// organization this import is not for. Nothing is written.
func ExampleImporter_Run() {
	ctx := context.Background()
	st := memstore.New()
	_ = st.CreateOrg(ctx, &sso.Organization{ID: "org_acme", Slug: "acme", Name: "Acme"})
	base, _ := url.Parse("https://app.example.com/sso/saml")
	sp, _ := saml.New(saml.Config{BaseURL: base, Connections: st, Store: memsaml.New(st), Completer: nopCompleter{},
		OnLogout: func(context.Context, *saml.LogoutRequest) error { return nil },
		// The old SP's ACS URLs lie under /legacy/; the host mounts the
		// SAML handler there too.
		ExtraACSURLs: []string{"https://app.example.com/legacy/"}})
	csv := "org,name,protocol,idp_metadata_url,sp_entity_id,acs_url\n" +
		"org_acme,Acme Okta,saml,,urn:legacy:acme,https://app.example.com/legacy/acme/acs\n" +
		"org_other,Other,saml,,,\n"
	rows, err := migrate.ParseCSV(strings.NewReader(csv))
	if err != nil {
		fmt.Println(err)
		return
	}
	im := &migrate.Importer{Store: st, Configurers: map[sso.Protocol]sso.ConnectionConfigurer{saml.Protocol: sp}}
	plan, _ := im.Run(ctx, rows, migrate.Options{OrgID: "org_acme", DryRun: true})
	for _, it := range plan.Items {
		fmt.Println(it.Line, it.Action, it.Issues[0].Field)
	}
	// Output:
	// 2 invalid idp_metadata
	// 3 invalid org
}
