package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/store/memstore"
)

// wholeStore is what memstore and sqlstore offer the fixture.
type wholeStore interface {
	sso.Store
	sessionStores
}

// staleRead is a store on which, once armed (testkit.Between), the next read of an
// organization returns the copy read before between ran: another
// administrator's save lands between a request's read and its write.
type staleRead struct {
	wholeStore
	testkit.Between
}

func (s *staleRead) GetOrg(ctx context.Context, id string) (*sso.Organization, error) {
	o, err := s.wholeStore.GetOrg(ctx, id)
	s.Fire()
	return o, err
}

// WithEvents and UpdateOrgIf keep the store's capabilities visible
// through the wrapper.
func (s *staleRead) WithEvents(evs ...*sso.Event) sso.Store {
	return s.wholeStore.(interface{ WithEvents(...*sso.Event) sso.Store }).WithEvents(evs...)
}

func (s *staleRead) UpdateOrgIf(ctx context.Context, o *sso.Organization, prev time.Time) error {
	return sso.UpdateOrgIf(ctx, s.wholeStore, o, prev)
}

// settingsChange is one admin save of an organization setting and the
// check that it is stored.
type settingsChange struct {
	name, method, path, body string
	stored                   func(o *sso.Organization) bool
	// reads is how often the save reads the organization before it
	// writes: the request's read, and a policy.Enforcer's own.
	reads int
}

var settingsChanges = []settingsChange{
	{name: "mfa policy", method: "PUT", path: "/mfa-policy", body: `{"required":true,"confirm":true}`, reads: 1,
		stored: func(o *sso.Organization) bool { return o.Settings.MFA.Required }},
	{name: "token exchange", method: "PUT", path: "/token-exchange", body: `{"audiences":["https://billing.example/api"]}`, reads: 1,
		stored: func(o *sso.Organization) bool {
			return slices.Equal(o.Settings.ExchangeAudiences, []string{"https://billing.example/api"})
		}},
	{name: "network policy", method: "PUT", path: "/network-policy", body: `{"allowed_cidrs":["192.0.2.0/24"],"confirm":true}`, reads: 2,
		stored: func(o *sso.Organization) bool {
			return slices.Equal(o.Settings.Network.AllowedCIDRs, []string{"192.0.2.0/24"})
		}},
	{name: "org name", method: "PATCH", path: "/org", body: `{"name":"Alpha Renamed"}`, reads: 1,
		stored: func(o *sso.Organization) bool { return o.Name == "Alpha Renamed" }},
	{name: "scim token", method: "POST", path: "/scim-tokens", body: `{"description":"okta"}`, reads: 1,
		stored: func(o *sso.Organization) bool { return o.Settings.DirectorySync }},
}

// TestSettingsSavesKeepEachOther: two administrators save different
// settings of one organization at once, the second save landing between
// the first's read and its write. Before, the first wrote back the copy
// it had read and undid the second (with both changes in the audit
// trail); now each save lands on the other's.
func TestSettingsSavesKeepEachOther(t *testing.T) {
	for _, b := range hookBackends {
		t.Run(b.name, func(t *testing.T) {
			for i, first := range settingsChanges {
				second := settingsChanges[(i+1)%len(settingsChanges)]
				t.Run(first.name+" then "+second.name, func(t *testing.T) {
					inner, _ := b.open(t)
					st := &staleRead{wholeStore: inner.(wholeStore)}
					f := newFixtureOn(t, st)
					a := f.orgA
					o, err := inner.GetOrg(ctx, a.ID)
					if err != nil {
						t.Fatal(err)
					}
					o.Settings.Features = append(o.Settings.Features, sso.FeatureIPAllowlist)
					if err := inner.UpdateOrg(ctx, o); err != nil {
						t.Fatal(err)
					}
					st.Arm(first.reads-1, func() {
						if code, m := f.json(a, second.method, second.path, second.body); code/100 != 2 {
							t.Errorf("%s: %d %v", second.name, code, m)
						}
					})
					if code, m := f.json(a, first.method, first.path, first.body); code/100 != 2 {
						t.Fatalf("%s: %d %v", first.name, code, m)
					}
					got, err := inner.GetOrg(ctx, a.ID)
					if err != nil {
						t.Fatal(err)
					}
					for _, c := range []settingsChange{first, second} {
						if !c.stored(got) {
							t.Errorf("%s not stored after a concurrent save of the %s: %+v", c.name, other(c, first, second).name, got.Settings)
						}
					}
				})
			}
		})
	}
}

func other(c, a, b settingsChange) settingsChange {
	if c.name == a.name {
		return b
	}
	return a
}

// TestSettingsSaveKeptLosing: when other saves keep landing between each
// read and write, the save gives up with a 409 that says nothing was saved
// and what to do, and stores nothing.
func TestSettingsSaveKeptLosing(t *testing.T) {
	t.Parallel()
	inner := memstore.New()
	st := &staleRead{wholeStore: inner}
	f := newFixtureOn(t, st)
	a := f.orgA
	saves := 0
	var other func()
	other = func() {
		o, err := inner.GetOrg(ctx, a.ID)
		if err != nil {
			t.Error(err)
			return
		}
		saves++
		o.Name, o.UpdatedAt = fmt.Sprintf("Other %d", saves), sso.NextUpdatedAt(o.UpdatedAt, time.Now())
		if err := inner.UpdateOrg(ctx, o); err != nil {
			t.Error(err)
		}
		st.Arm(0, other)
	}
	st.Arm(0, other)
	code, m := f.json(a, "PUT", "/mfa-policy", `{"required":true,"confirm":true}`)
	st.Arm(0, nil)
	if code != http.StatusConflict || m["error"] != "org_changed" || !strings.Contains(fmt.Sprint(m["message"]), "nothing was saved") {
		t.Fatalf("save that kept losing: %d %v, want 409 org_changed saying nothing was saved", code, m)
	}
	got, err := inner.GetOrg(ctx, a.ID)
	if err != nil || got.Settings.MFA.Required {
		t.Fatalf("policy stored after a refused save: %+v, %v", got.Settings.MFA, err)
	}
	evs, _ := inner.ListEvents(ctx, sso.EventQuery{OrgID: a.ID, Type: admin.EventMFAPolicyChanged})
	if len(evs) != 0 {
		t.Fatalf("%d policy events recorded for a save that stored nothing", len(evs))
	}
}
