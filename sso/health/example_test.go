package health_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/health"
	"github.com/ssokit/ssokit/store/memstore"
)

// downProber stands in for the saml and oidc packages' probers: the IdP's
// metadata endpoint does not answer.
type downProber struct{}

func (downProber) ProbeConnection(context.Context, *sso.Connection) (*sso.HealthProbe, error) {
	return nil, fmt.Errorf("idp metadata: %w", sso.ErrUnavailable)
}

func ExampleNew() {
	ctx := context.Background()
	st := memstore.New()
	_ = st.CreateOrg(ctx, &sso.Organization{ID: "org_1", Slug: "acme", Name: "Acme"})
	_ = st.CreateConnection(ctx, &sso.Connection{ID: "conn_1", OrgID: "org_1", Protocol: saml.Protocol,
		Status: sso.ConnectionActive, Config: &saml.ConnectionConfig{MetadataURL: "https://idp.example/metadata"}})
	auditor, _ := audit.New(audit.Config{Store: st})
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	hc, err := health.New(health.Config{
		Connections: st, Store: st, Auditor: auditor,
		Probers:  map[sso.Protocol]sso.HealthProber{saml.Protocol: downProber{}},
		Interval: time.Minute,
		Now:      func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	// In production: go hc.Run(ctx) on every replica.
	for i := 0; i < 3; i++ {
		n, _ := hc.CheckDue(ctx)
		h, _ := hc.Health(ctx, &sso.Connection{ID: "conn_1"})
		fmt.Println(n, h.Status, h.Reason, h.ConsecutiveFailures)
		now = now.Add(2 * time.Minute)
	}
	evs, _ := st.ListEvents(ctx, sso.EventQuery{OrgID: "org_1", Type: health.EventConnectionUnhealthy})
	fmt.Println(len(evs), "unhealthy event")
	// Output:
	// 1 unknown unavailable 1
	// 1 unhealthy unavailable 2
	// 1 unhealthy unavailable 3
	// 1 unhealthy event
}
