package admin_test

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/domains"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsaml"
)

// sqlFixture is the admin fixture on a migrated store of dialect d, with
// the database handle for triggers.
func sqlFixture(t *testing.T, d sqlstore.Dialect, mutate ...func(*admin.Config)) (*fixture, *sql.DB) {
	t.Helper()
	st, db := teststore.SQLWithDB(t, d, nil)
	return newFixtureOn(t, st, mutate...), db
}

// TestAdminChangeAndEventCommitTogether is the attack on the outbox from
// the inside: the database refuses the audit event of an administrator's
// change (as a crash or a full disk between the two writes would), and the
// change must not be stored either, so webhooks and the SIEM never miss a
// disabled connection, a new SCIM token, a domain, an allowlist, a role
// change or a removed member. The admin gets a server error and may retry.
func TestAdminChangeAndEventCommitTogether(t *testing.T) {
	t.Parallel()
	for name, d := range map[string]sqlstore.Dialect{"sqlite": sqlstore.SQLite, "postgres": sqlstore.Postgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, db := sqlFixture(t, d)
			a := f.orgA
			pg := d == sqlstore.Postgres
			refused := func(what string, code int, m map[string]any) {
				t.Helper()
				if code < 500 {
					t.Fatalf("%s whose event was refused: %d %v, want a server error", what, code, m)
				}
			}
			noEvent := func(typ string) {
				t.Helper()
				evs, err := f.st.ListEvents(ctx, sso.EventQuery{OrgID: a.ID, Type: typ})
				if err != nil || len(evs) != 0 {
					t.Fatalf("%d %s events (%v) for a change that was not stored", len(evs), typ, err)
				}
			}

			code, m := f.json(a, "POST", "/connections", `{"protocol":"saml","display_name":"Okta"}`)
			if code != http.StatusCreated {
				t.Fatalf("create: %d %v", code, m)
			}
			c, err := f.st.GetConnection(ctx, m["id"].(string))
			if err != nil {
				t.Fatal(err)
			}
			c.Status = sso.ConnectionActive
			if err := f.st.UpdateConnection(ctx, c); err != nil {
				t.Fatal(err)
			}

			testdb.RefuseEvents(t, db, pg, "refuse_disabled", admin.EventConnectionDisabled)
			code, m = f.json(a, "POST", "/connections/"+c.ID+"/disable", "")
			refused("disable", code, m)
			if got, err := f.st.GetConnection(ctx, c.ID); err != nil || got.Status != sso.ConnectionActive {
				t.Fatalf("connection after a refused event: %+v %v, want it still active", got, err)
			}
			noEvent(admin.EventConnectionDisabled)

			testdb.RefuseEvents(t, db, pg, "refuse_deleted", admin.EventConnectionDeleted)
			code, m = f.json(a, "DELETE", "/connections/"+c.ID, "")
			refused("delete", code, m)
			if _, err := f.st.GetConnection(ctx, c.ID); err != nil {
				t.Fatalf("connection deleted without its event: %v", err)
			}

			testdb.RefuseEvents(t, db, pg, "refuse_token", admin.EventSCIMTokenCreated)
			code, m = f.json(a, "POST", "/scim-tokens", `{"description":"Okta"}`)
			refused("SCIM token", code, m)
			if toks, _ := f.st.ListSCIMTokens(ctx, a.ID); len(toks) != 0 {
				t.Fatalf("%d SCIM tokens stored without their event", len(toks))
			}
			if org, _ := f.st.GetOrg(ctx, a.ID); org.Settings.DirectorySync {
				t.Fatal("directory sync switched on for a token that was not stored")
			}

			testdb.RefuseEvents(t, db, pg, "refuse_domain", domains.EventAdded)
			code, m = f.json(a, "POST", "/domains", `{"name":"alpha.example"}`)
			refused("domain", code, m)
			if ds, _ := f.st.ListDomains(ctx, a.ID); len(ds) != 0 {
				t.Fatalf("domain stored without its event: %+v", ds[0])
			}

			testdb.RefuseEvents(t, db, pg, "refuse_network", policy.EventNetworkChanged)
			org, _ := f.st.GetOrg(ctx, a.ID)
			org.Settings.Features = append(org.Settings.Features, sso.FeatureIPAllowlist)
			if err := f.st.UpdateOrg(ctx, org); err != nil {
				t.Fatal(err)
			}
			code, m = f.json(a, "PUT", "/network-policy", `{"allowed_cidrs":["192.0.2.0/24"],"confirm":true}`)
			refused("allowlist", code, m)
			if org, _ := f.st.GetOrg(ctx, a.ID); len(org.Settings.Network.AllowedCIDRs) != 0 {
				t.Fatalf("allowlist %v stored without its event", org.Settings.Network.AllowedCIDRs)
			}

			if err := f.st.CreateUser(ctx, &sso.User{ID: "usr_ann", Email: "ann@alpha.example"}); err != nil {
				t.Fatal(err)
			}
			if err := f.st.CreateMembership(ctx, &sso.Membership{OrgID: a.ID, UserID: "usr_ann", Roles: []string{"member"},
				Status: sso.MembershipActive, Source: sso.SourceAdmin}); err != nil {
				t.Fatal(err)
			}
			testdb.RefuseEvents(t, db, pg, "refuse_roles", sso.EventRolesChanged)
			code, m = f.json(a, "PUT", "/members/usr_ann/roles", `{"roles":["admin"]}`)
			refused("promotion", code, m)
			if mem, _ := f.st.GetMembership(ctx, a.ID, "usr_ann"); len(mem.Roles) != 1 || mem.Roles[0] != "member" {
				t.Fatalf("roles %v stored without their event", mem.Roles)
			}
			testdb.RefuseEvents(t, db, pg, "refuse_removed", admin.EventMemberRemoved)
			code, m = f.json(a, "DELETE", "/members/usr_ann", "")
			refused("removal", code, m)
			if _, err := f.st.GetMembership(ctx, a.ID, "usr_ann"); err != nil {
				t.Fatalf("membership removed without its event: %v", err)
			}

			testdb.RefuseEvents(t, db, pg, "refuse_audiences", admin.EventExchangeAudiencesChanged)
			code, m = f.json(a, "PUT", "/token-exchange", `{"audiences":["https://api.example.com"]}`)
			refused("token exchange audiences", code, m)
			if org, _ := f.st.GetOrg(ctx, a.ID); len(org.Settings.ExchangeAudiences) != 0 {
				t.Fatalf("audiences %v stored without their event", org.Settings.ExchangeAudiences)
			}

			testdb.RefuseEvents(t, db, pg, "refuse_org", admin.EventOrgUpdated)
			code, m = f.json(a, "PATCH", "/org", `{"name":"Renamed without a trace"}`)
			refused("organization rename", code, m)
			if org, _ := f.st.GetOrg(ctx, a.ID); org.Name == "Renamed without a trace" {
				t.Fatalf("organization renamed without its event")
			}

			testdb.RefuseEvents(t, db, pg, "refuse_mfa", admin.EventMFAPolicyChanged)
			code, m = f.json(a, "PUT", "/mfa-policy", `{"required":true}`)
			refused("MFA policy", code, m)
			if org, _ := f.st.GetOrg(ctx, a.ID); org.Settings.MFA.Required {
				t.Fatalf("MFA policy changed without its event")
			}

			// The same change with its event accepted is stored with it.
			code, m = f.json(a, "PATCH", "/connections/"+c.ID, `{"display_name":"Okta EU"}`)
			if code != http.StatusOK {
				t.Fatalf("update: %d %v", code, m)
			}
			evs, err := f.st.ListEvents(ctx, sso.EventQuery{OrgID: a.ID, Type: admin.EventConnectionUpdated})
			if err != nil || len(evs) != 1 || evs[0].Target.ID != c.ID || evs[0].Actor.ID != "usr_admin_alpha" {
				t.Fatalf("update events %+v %v, want one by the admin", evs, err)
			}
		})
	}
}

// TestAdminFailedChangeRecordsNoEvent: a change the store refuses (here a
// domain another organization verified first) records no event of the
// change, only the failure.
func TestAdminFailedChangeRecordsNoEvent(t *testing.T) {
	t.Parallel()
	f, _ := sqlFixture(t, sqlstore.SQLite)
	a, b := f.orgA, f.orgB
	for _, org := range []*sso.Organization{a, b} {
		if code, m := f.json(org, "POST", "/domains", `{"name":"shared.example"}`); code != http.StatusCreated {
			t.Fatalf("add: %d %v", code, m)
		}
	}
	dom, _ := f.st.GetDomain(ctx, b.ID, "shared.example")
	f.dns["_ssokit-challenge.shared.example"] = []string{"ssokit-verify=" + dom.Token}
	if code, m := f.json(b, "POST", "/domains/shared.example/verify", ""); code != http.StatusOK {
		t.Fatalf("verify by b: %d %v", code, m)
	}
	dom, _ = f.st.GetDomain(ctx, a.ID, "shared.example")
	f.dns["_ssokit-challenge.shared.example"] = []string{"ssokit-verify=" + dom.Token}
	if code, m := f.json(a, "POST", "/domains/shared.example/verify", ""); code != http.StatusConflict || m["error"] != "claimed_by_other_org" {
		t.Fatalf("verify by a: %d %v, want 409 claimed_by_other_org", code, m)
	}
	evs, _ := f.st.ListEvents(ctx, sso.EventQuery{OrgID: a.ID, Type: domains.EventVerified})
	if len(evs) != 0 {
		t.Fatalf("domain.verified recorded for a refused verification: %+v", evs)
	}
	if evs, _ := f.st.ListEvents(ctx, sso.EventQuery{OrgID: a.ID, Type: domains.EventFailed}); len(evs) != 1 || evs[0].Reason != "claimed_by_other_org" {
		t.Fatalf("failure events %+v, want one claimed_by_other_org", evs)
	}
}

// TestImportedConnectionAndEventCommitTogether: a connection written by an
// import is stored with its connection.created event or not at all, on
// SQLite and PostgreSQL.
func TestImportedConnectionAndEventCommitTogether(t *testing.T) {
	t.Parallel()
	for name, d := range map[string]sqlstore.Dialect{"sqlite": sqlstore.SQLite, "postgres": sqlstore.Postgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, db := sqlFixture(t, d, func(c *admin.Config) {
				st := c.Store.(*sqlstore.Store)
				base, _ := url.Parse("https://app.example.com/sso/saml")
				sp, err := saml.New(saml.Config{BaseURL: base, Connections: c.Store, Store: sqlsaml.New(st), Completer: importCompleter{}})
				if err != nil {
					t.Fatal(err)
				}
				c.Configurers[saml.Protocol] = sp
			})
			b, _ := json.Marshal(map[string]any{"connections": []map[string]any{{"name": "Acme Okta", "protocol": "saml",
				"idp_metadata_xml": importMetadata(t, "https://okta.example.com/acme")}}})
			testdb.RefuseEvents(t, db, d == sqlstore.Postgres, "refuse_created", admin.EventConnectionCreated)
			if code, m := f.json(f.orgA, "POST", "/connections/import", string(b)); code < 500 {
				t.Fatalf("import whose event was refused: %d %v, want a server error", code, m)
			}
			if conns, err := f.st.ListConnections(ctx, f.orgA.ID); err != nil || len(conns) != 0 {
				t.Fatalf("%d connections stored without their event (%v)", len(conns), err)
			}
		})
	}
}
