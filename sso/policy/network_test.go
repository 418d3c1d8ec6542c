package policy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/store/memstore"
)

func TestSetNetworkPolicy(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	org := &sso.Organization{ID: "org_1", Slug: "acme", Name: "Acme"}
	if err := st.CreateOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	trail, err := audit.New(audit.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	e, err := policy.New(policy.Config{Store: st, Auditor: trail})
	if err != nil {
		t.Fatal(err)
	}
	list := sso.NetworkPolicy{AllowedCIDRs: []string{" 203.0.113.0/24 ", "", "2001:db8::/32", "203.0.113.0/24"}}
	caller := policy.NetworkOptions{CallerAddr: "203.0.113.40", CallerID: "usr_admin"}

	// Without the plan feature: refused.
	_, err = e.SetNetworkPolicy(ctx, org.ID, list, caller)
	if sso.ReasonOf(err) != "feature_disabled" {
		t.Fatalf("without the feature: %v, want feature_disabled", err)
	}
	org.Settings.Features = org.Settings.Features.With(sso.FeatureIPAllowlist)
	if err := st.UpdateOrg(ctx, org); err != nil {
		t.Fatal(err)
	}

	// A bad entry is named.
	bad := sso.NetworkPolicy{AllowedCIDRs: []string{"203.0.113.0/24", "10.0.0.0/99"}}
	var fe *sso.FieldError
	if _, err := e.SetNetworkPolicy(ctx, org.ID, bad, caller); !errors.As(err, &fe) || fe.Field != "network.allowed_cidrs[1]" {
		t.Fatalf("bad entry: %v, want a FieldError naming network.allowed_cidrs[1]", err)
	}

	// A list that leaves the caller out needs confirmation.
	away := policy.NetworkOptions{CallerAddr: "198.51.100.9", CallerID: "usr_admin"}
	if _, err := e.SetNetworkPolicy(ctx, org.ID, list, away); !errors.As(err, &fe) || fe.Reason != "locks_out_caller" {
		t.Fatalf("list without the caller: %v, want locks_out_caller", err)
	}
	away.Confirm = true
	if _, err := e.SetNetworkPolicy(ctx, org.ID, list, away); err != nil {
		t.Fatalf("confirmed: %v", err)
	}

	got, err := e.SetNetworkPolicy(ctx, org.ID, list, caller)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"203.0.113.0/24", "2001:db8::/32"}; len(got.AllowedCIDRs) != 2 || got.AllowedCIDRs[0] != want[0] || got.AllowedCIDRs[1] != want[1] {
		t.Fatalf("stored list %q, want %q (trimmed, no empty or duplicate entries)", got.AllowedCIDRs, want)
	}
	stored, _ := st.GetOrg(ctx, org.ID)
	if !stored.Settings.Network.Allows("2001:db8::1") || stored.Settings.Network.Allows("192.0.2.1") {
		t.Fatalf("stored policy %+v does not hold", stored.Settings.Network)
	}
	evs, _ := st.ListEvents(ctx, sso.EventQuery{OrgID: org.ID, Type: policy.EventNetworkChanged})
	if len(evs) != 2 || evs[1].Details["to"] != "203.0.113.0/24 2001:db8::/32" {
		t.Fatalf("audit: %d events, last %+v; want two changes with the new list", len(evs), evs)
	}
}
