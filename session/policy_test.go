package session_test

import (
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// countingOrgs counts the organization reads of a Manager.
type countingOrgs struct {
	sso.OrgStore
	gets atomic.Int64
}

func (c *countingOrgs) GetOrg(ctx context.Context, id string) (*sso.Organization, error) {
	c.gets.Add(1)
	return c.OrgStore.GetOrg(ctx, id)
}

// TestIssueGrantOrg: a grant carrying its organization (as login
// completion read it) sets the session policy without a read; a grant
// without one, or with another organization than its OrgID, reads the
// organization as before.
func TestIssueGrantOrg(t *testing.T) {
	t.Parallel()
	const stored, carried = 20 * time.Minute, 10 * time.Minute
	for _, tc := range []struct {
		name string
		// org returns the grant's Org from a fresh read of orgA and orgB,
		// whose stored idle timeouts are stored.
		org       func(a, b *sso.Organization) *sso.Organization
		wantReads int64
		wantIdle  time.Duration
	}{
		{"carried", func(a, _ *sso.Organization) *sso.Organization { return a }, 0, carried},
		{"nil", func(_, _ *sso.Organization) *sso.Organization { return nil }, 1, stored},
		{"other organization", func(_, b *sso.Organization) *sso.Organization { return b }, 1, stored},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			orgs := &countingOrgs{}
			e := newEnv(t, func(c *session.Config) { orgs.OrgStore = c.Orgs; c.Orgs = orgs })
			read := func(id string) *sso.Organization {
				e.setOrg(id, func(o *sso.Organization) { o.Settings.Session.IdleTimeout = stored })
				o, err := e.st.GetOrg(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				// The carried copy differs from the stored record, so the
				// session shows which one set its policy.
				o.Settings.Session.IdleTimeout = carried
				return o
			}
			g := &sso.SessionGrant{UserID: "alice", OrgID: orgA, ConnectionID: "conn_1", Method: sso.AuthMethod("saml"),
				Roles: []string{"admin"}, Org: tc.org(read(orgA), read(orgB))}
			s, err := e.m.Issue(httptest.NewRecorder(), httptest.NewRequest("POST", "/acs", nil), g)
			if err != nil {
				t.Fatal(err)
			}
			if n := orgs.gets.Load(); n != tc.wantReads {
				t.Errorf("GetOrg calls: got %d, want %d", n, tc.wantReads)
			}
			if s.IdleTimeout != tc.wantIdle {
				t.Errorf("IdleTimeout: got %v, want %v", s.IdleTimeout, tc.wantIdle)
			}
			if s.OrgID != orgA {
				t.Errorf("OrgID: got %s, want %s", s.OrgID, orgA)
			}
		})
	}
}
