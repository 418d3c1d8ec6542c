package migrate_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso/migrate"
)

// TestImportOwnSLOAndMetadataURLs: rows carry the single logout and SP
// metadata URLs the IdP has from the old vendor; the dry run shows them
// and reserves nothing (the real run after it succeeds), a path used
// twice in one import or by an existing connection is refused with its
// field, and the CSV format has the columns.
func TestImportOwnSLOAndMetadataURLs(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rows := legacyRows(t)
		rows[0].SPSLOURL = "https://app.example.com/legacy/acme/slo"
		rows[0].SPMetadataURL = "https://app.example.com/legacy/acme/metadata"
		dry, err := e.im.Run(ctx, rows, migrate.Options{OrgID: "org_a", DryRun: true})
		if err != nil || !dry.Valid() {
			t.Fatalf("dry run: %+v, %v", dry, err)
		}
		if sp := dry.Items[0].SP; sp.SLOURL != rows[0].SPSLOURL || sp.MetadataURL != rows[0].SPMetadataURL {
			t.Fatalf("dry run shows %+v", sp)
		}
		p, err := e.im.Run(ctx, rows, migrate.Options{OrgID: "org_a"})
		if err != nil || !p.Applied {
			t.Fatalf("import after the dry run: %+v, %v", p, err)
		}
		conns, _ := e.store.ListConnections(ctx, "org_a")
		found := false
		for _, c := range conns {
			if cfg := saml.ConfigOf(c); cfg != nil && cfg.SPSLOURL == rows[0].SPSLOURL && cfg.SPMetadataURL == rows[0].SPMetadataURL {
				found = true
			}
		}
		if !found {
			t.Fatal("the own URLs were not stored")
		}

		// An existing connection's path.
		clash := []migrate.Row{{Org: "org_a", Name: "Other", Protocol: saml.Protocol, IdPMetadataXML: idpMetadata(t, "https://other.example.com/x"),
			SPSLOURL: "https://app.example.com/legacy/acme/metadata"}}
		p, _ = e.im.Run(ctx, clash, migrate.Options{OrgID: "org_a", DryRun: true})
		if it := p.Items[0]; it.Action != migrate.Invalid || len(it.Issues) != 1 || it.Issues[0].Field != "sp_slo_url" ||
			it.Issues[0].Reason != "sp_slo_url_in_use" {
			t.Fatalf("existing path: %+v", it)
		}
		// One path for two rows of one import, in different roles.
		dup := []migrate.Row{
			{Org: "org_a", Name: "One", Protocol: saml.Protocol, IdPMetadataXML: idpMetadata(t, "https://one.example.com/x"),
				ACSURL: "https://app.example.com/legacy/shared"},
			{Org: "org_a", Name: "Two", Protocol: saml.Protocol, IdPMetadataXML: idpMetadata(t, "https://two.example.com/x"),
				SPMetadataURL: "https://app.example.com/legacy/shared"},
		}
		p, _ = e.im.Run(ctx, dup, migrate.Options{OrgID: "org_a", DryRun: true})
		if it := p.Items[1]; it.Action != migrate.Invalid || len(it.Issues) != 1 || it.Issues[0].Field != "sp_metadata_url" ||
			it.Issues[0].Reason != "duplicate_in_import" {
			t.Fatalf("duplicate path: %+v", p.Items)
		}
	})
	csv := "name,protocol,sp_slo_url,sp_metadata_url\nAcme,saml,https://app.example.com/legacy/a/slo,https://app.example.com/legacy/a/md\n"
	rows, err := migrate.ParseCSV(strings.NewReader(csv))
	if err != nil || len(rows) != 1 || rows[0].SPSLOURL != "https://app.example.com/legacy/a/slo" || rows[0].SPMetadataURL != "https://app.example.com/legacy/a/md" {
		t.Fatalf("csv rows %+v, %v", rows, err)
	}
}
