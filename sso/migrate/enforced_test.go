package migrate_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/migrate"
)

// TestImportKeepsTheEnforcedConnection: a host that runs the Importer
// itself gets the admin API's rule: an update with new IdP settings (which
// returns an active connection to draft) stops the import when it would
// leave an organization that enforces SSO without an active, tested
// connection; with another one ready it goes through.
func TestImportKeepsTheEnforcedConnection(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rows := legacyRows(t)[:1]
		p, err := e.im.Run(ctx, rows, migrate.Options{OrgID: "org_a"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := e.store.GetConnection(ctx, p.Items[0].ConnectionID)
		if err != nil {
			t.Fatal(err)
		}
		c.Status, c.LastTestOK, c.UpdatedAt = sso.ConnectionActive, testNow, sso.NextUpdatedAt(c.UpdatedAt, testNow)
		if err := e.store.UpdateConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
		org, err := e.store.GetOrg(ctx, "org_a")
		if err != nil {
			t.Fatal(err)
		}
		org.Settings.SSOEnforced, org.Settings.Features = true, sso.Features{"saml", "enforce_sso"}
		org.UpdatedAt = sso.NextUpdatedAt(org.UpdatedAt, testNow)
		if err := e.store.UpdateOrg(ctx, org); err != nil {
			t.Fatal(err)
		}

		rows[0].IdPMetadataXML = idpMetadata(t, "https://okta.example.com/acme-new")
		_, err = e.im.Run(ctx, rows, migrate.Options{OrgID: "org_a"})
		var ve *sso.ValidationError
		if !errors.As(err, &ve) || ve.Reason != sso.ReasonLastEnforcedConnection || !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("new IdP settings for the only enforced connection: %v, want last_enforced_connection", err)
		}
		if got, _ := e.store.GetConnection(ctx, c.ID); got.Status != sso.ConnectionActive {
			t.Fatalf("the connection was taken out of service: %s", got.Status)
		}

		// With a second tested connection active, the update goes through.
		other := &sso.Connection{ID: "conn_other", OrgID: "org_a", Protocol: c.Protocol, DisplayName: "Backup",
			Status: sso.ConnectionActive, LastTestOK: testNow, CreatedAt: testNow, UpdatedAt: testNow}
		if err := e.store.CreateConnection(ctx, other); err != nil {
			t.Fatal(err)
		}
		if p, err := e.im.Run(ctx, rows, migrate.Options{OrgID: "org_a"}); err != nil || p.Counts[migrate.Update] != 1 {
			t.Fatalf("with a backup connection: %+v, %v", p, err)
		}
		if got, _ := e.store.GetConnection(ctx, c.ID); got.Status != sso.ConnectionDraft {
			t.Fatalf("status after new IdP settings: %s, want draft", got.Status)
		}
	})
}
