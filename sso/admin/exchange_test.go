package admin_test

import (
	"net/http"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
)

// TestExchangeAudienceRoutes: the token exchange allowlist is kept per
// organization, bad entries are named, and a change is audited with the
// previous list.
func TestExchangeAudienceRoutes(t *testing.T) {
	for _, b := range hookBackends {
		t.Run(b.name, func(t *testing.T) {
			st, _ := b.open(t)
			f := newFixtureOn(t, st)
			for _, c := range []struct{ body, field string }{
				{`{"audiences":["https://api.example","has space"]}`, "audiences[1]"},
				{`{"audiences":["http://plain.example"]}`, "audiences[0]"},
				{`{"audiences":[""]}`, "audiences[0]"},
				{`{"audiences":"x"}`, "audiences"},
			} {
				if code, m := f.json(f.orgA, "PUT", "/token-exchange", c.body); code != 400 || m["field"] != c.field {
					t.Errorf("%s: %d %v, want 400 naming %s", c.body, code, m, c.field)
				}
			}
			code, m := f.json(f.orgA, "PUT", "/token-exchange", `{"audiences":["https://billing.example/api","reports","reports"]}`)
			if code != http.StatusOK || len(m["audiences"].([]any)) != 2 {
				t.Fatalf("set: %d %v", code, m)
			}
			org, _ := f.st.GetOrg(ctx, f.orgA.ID)
			if len(org.Settings.ExchangeAudiences) != 2 || org.Settings.ExchangeAudiences[0] != "https://billing.example/api" {
				t.Fatalf("stored %v", org.Settings.ExchangeAudiences)
			}
			if _, m = f.json(f.orgA, "GET", "/token-exchange", ""); len(m["audiences"].([]any)) != 2 {
				t.Fatalf("get: %v", m)
			}
			if _, m = f.json(f.orgB, "GET", "/token-exchange", ""); len(m["audiences"].([]any)) != 0 {
				t.Fatalf("the other organization sees %v", m)
			}
			evs, _ := f.st.ListEvents(ctx, sso.EventQuery{OrgID: f.orgA.ID, Type: admin.EventExchangeAudiencesChanged})
			if len(evs) != 1 || evs[0].Details["audiences"] != "https://billing.example/api reports" {
				t.Fatalf("audit: %d events %+v", len(evs), evs)
			}
			// Setting the same list again changes and records nothing.
			f.json(f.orgA, "PUT", "/token-exchange", `{"audiences":["reports","https://billing.example/api"]}`)
			if evs, _ = f.st.ListEvents(ctx, sso.EventQuery{OrgID: f.orgA.ID, Type: admin.EventExchangeAudiencesChanged}); len(evs) != 1 {
				t.Fatalf("%d events after an unchanged PUT, want 1", len(evs))
			}
		})
	}
}
