package admin_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
)

// TestNetworkPolicyRoutes: the IP allowlist is plan-gated, names a bad
// entry, refuses a list that leaves out the caller's own address unless
// confirmed, and is kept per organization.
func TestNetworkPolicyRoutes(t *testing.T) {
	f := newFixture(t)
	code, m := f.json(f.orgA, "PUT", "/network-policy", `{"allowed_cidrs":["127.0.0.0/8"]}`)
	if code != http.StatusForbidden || m["error"] != "feature_disabled" {
		t.Fatalf("without the plan feature: %d %v, want 403 feature_disabled", code, m)
	}
	f.orgA.Settings.Features = f.orgA.Settings.Features.With(sso.FeatureIPAllowlist)
	if err := f.st.UpdateOrg(context.Background(), f.orgA); err != nil {
		t.Fatal(err)
	}
	code, m = f.json(f.orgA, "PUT", "/network-policy", `{"allowed_cidrs":["127.0.0.0/8","10.0.0.0/40"]}`)
	if code != http.StatusBadRequest || m["field"] != "network.allowed_cidrs[1]" {
		t.Fatalf("bad entry: %d %v, want 400 naming network.allowed_cidrs[1]", code, m)
	}
	code, m = f.json(f.orgA, "PUT", "/network-policy", `{"allowed_cidrs":["203.0.113.0/24"]}`)
	if code != http.StatusBadRequest || m["field"] != "network.allowed_cidrs" {
		t.Fatalf("a list without the caller: %d %v, want 400 (locks the caller out)", code, m)
	}
	code, m = f.json(f.orgA, "PUT", "/network-policy", `{"allowed_cidrs":["203.0.113.0/24","127.0.0.1"],"break_glass_exempt":true}`)
	if code != http.StatusOK || m["break_glass_exempt"] != true || len(m["allowed_cidrs"].([]any)) != 2 {
		t.Fatalf("set: %d %v", code, m)
	}
	if code, m = f.json(f.orgB, "GET", "/network-policy", ""); code != http.StatusOK || len(m["allowed_cidrs"].([]any)) != 0 {
		t.Fatalf("the other organization's policy: %d %v, want an empty list", code, m)
	}
}

// TestSCIMStatusRoute answers the configured status for the caller's
// organization only.
func TestSCIMStatusRoute(t *testing.T) {
	f := newFixture(t, func(c *admin.Config) {
		c.SCIMStatus = func(_ context.Context, orgID string) (any, error) {
			return map[string]any{"org": orgID, "users": 3}, nil
		}
	})
	code, m := f.json(f.orgA, "GET", "/scim-status", "")
	if code != http.StatusOK || m["org"] != f.orgA.ID || m["users"] != float64(3) {
		t.Fatalf("scim status: %d %v", code, m)
	}
	g := newFixture(t)
	if code, _ := g.json(g.orgA, "GET", "/scim-status", ""); code != http.StatusNotFound {
		t.Fatalf("without SCIMStatus: %d, want 404", code)
	}
}
