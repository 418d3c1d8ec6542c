package oidc

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/migrate"
)

// importStore is the test's connections with one organization.
type importStore struct{ *memConns }

func (importStore) GetOrg(_ context.Context, id string) (*sso.Organization, error) {
	if id != "org_imp" {
		return nil, sso.ErrNotFound
	}
	return &sso.Organization{ID: id}, nil
}

// TestInteropImportRedirectURI imports an OIDC connection that keeps the
// redirect URI already registered at a real oidc-provider client, checks
// that importing it again changes nothing (the sealed secret compares by
// its plaintext) and that a new secret is an update, then logs in through
// the legacy redirect URI.
func TestInteropImportRedirectURI(t *testing.T) {
	dir := opHarnessDir(t)
	clk := newClock()
	h := newHarness(t, clk, nil)
	h.rp.cfg.Now = func() time.Time { return time.Now().Add(clk.Now().Sub(clk.t0())) }
	h.flows.now = h.rp.cfg.Now
	legacy := h.mountAt("/legacy/import/cb")
	op := startRealOP(t, dir, []map[string]any{{"client_id": "rp-import", "client_secret": "import-secret-0123456789",
		"redirect_uris": []string{legacy}, "grant_types": []string{"authorization_code"}, "response_types": []string{"code"}}})
	im := &migrate.Importer{Store: importStore{h.conns}, Configurers: map[sso.Protocol]sso.ConnectionConfigurer{Protocol: h.rp}}
	row := func(secret string) []migrate.Row {
		cfg, _ := json.Marshal(map[string]any{"issuer": op.issuer, "client_id": "rp-import", "client_secret": secret})
		return []migrate.Row{{ID: "conn_imp", Org: "org_imp", Name: "Imported", Protocol: Protocol, RedirectURI: legacy, Config: cfg,
			Mapping: &migrate.Mapping{Groups: "groups"}}}
	}
	ctx := context.Background()
	run := func(secret string, want migrate.Action) *migrate.Plan {
		t.Helper()
		p, err := im.Run(ctx, row(secret), migrate.Options{OrgID: "org_imp"})
		if err != nil || p.Items[0].Action != want {
			t.Fatalf("import: %+v, %v; want %s", p, err, want)
		}
		return p
	}
	p := run("import-secret-0123456789", migrate.Create)
	if p.Items[0].SP.RedirectURI != legacy {
		t.Fatalf("planned redirect URI %q, want %q", p.Items[0].SP.RedirectURI, legacy)
	}
	run("import-secret-0123456789", migrate.Unchanged)
	if p := run("another-secret-0123456789", migrate.Update); len(p.Items[0].Changes) != 1 || p.Items[0].Changes[0] != "config" {
		t.Fatalf("changes %v", p.Items[0].Changes)
	}
	run("import-secret-0123456789", migrate.Update)

	c, err := h.conns.GetConnection(ctx, "conn_imp")
	if err != nil {
		t.Fatal(err)
	}
	c.Status = sso.ConnectionActive
	if err := h.conns.UpdateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	l := h.wantOK(b.get(realAuthorizeTo(t, h, b, "conn_imp", legacy)))
	if l.Connection.ID != "conn_imp" || l.Profile.Subject != "alice-sub" {
		t.Fatalf("login %+v", l.Profile)
	}
}
