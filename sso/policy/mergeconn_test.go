package policy_test

import (
	"context"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/policy"
)

// disableAfterList is a merge store on which an administrator disables
// every listed connection right after a merge lists them: the merge holds
// copies read before the disable.
type disableAfterList struct {
	policy.MergeStore
	t *testing.T
}

func (s disableAfterList) ListConnections(ctx context.Context, orgID string) ([]*sso.Connection, error) {
	cs, err := s.MergeStore.ListConnections(ctx, orgID)
	for _, c := range cs {
		d := *c
		d.Status, d.UpdatedAt = sso.ConnectionDisabled, sso.NextUpdatedAt(c.UpdatedAt, time.Now())
		if err := s.MergeStore.UpdateConnection(ctx, &d); err != nil {
			s.t.Fatal(err)
		}
	}
	return cs, err
}

func (s disableAfterList) UpdateConnectionIf(ctx context.Context, c *sso.Connection, prev time.Time) error {
	return sso.UpdateConnectionIf(ctx, s.MergeStore, c, prev)
}

// TestMergeKeepsAConnectionDisabledDuringIt: a connection disabled while
// an organization merge moves it arrives disabled. Before, the merge wrote
// back the copy it had listed and switched the connection on again.
func TestMergeKeepsAConnectionDisabledDuringIt(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	big, small := e.Org("big", nil), e.Org("small", nil)
	sc := e.Conn(small.ID, saml.Protocol, sso.ConnectionActive, "https://idp.small.io")
	res, err := policy.MergeOrganizations(ctx, disableAfterList{e.St, t}, e.Aud, nil, small.ID, big.ID)
	if err != nil || res.Connections != 1 {
		t.Fatalf("merge: %+v, %v; want one connection moved", res, err)
	}
	got, err := e.St.GetConnection(ctx, sc.ID)
	if err != nil || got.OrgID != big.ID || got.Status != sso.ConnectionDisabled {
		t.Fatalf("moved connection %+v, %v: want it in %s and still disabled", got, err, big.ID)
	}
}

// TestMergeDoesNotCarryOwnership: the acquired organization's owners do
// not become owners of the one they are merged into (they keep their
// other roles, or get its default role), and its connections' group
// mappings lose their lines that map to the owner role, which would
// otherwise make the acquired IdP's group owners of the acquirer at their
// next sign-in.
func TestMergeDoesNotCarryOwnership(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	big := e.Org("big", nil)
	small := e.Org("small", nil)
	founder := e.Member(small.ID, "founder@small.io", func(m *sso.Membership) { m.Roles = []string{sso.RoleOwner, "admin"} })
	solo := e.Member(small.ID, "solo@small.io", func(m *sso.Membership) { m.Roles = []string{sso.RoleOwner} })
	sc := e.Conn(small.ID, saml.Protocol, sso.ConnectionActive, "https://idp.small.io")
	sc.GroupRoles = []sso.GroupRole{{Group: "Founders", Role: sso.RoleOwner}, {Group: "Eng", Role: "developer"}}
	if err := e.St.UpdateConnection(ctx, sc); err != nil {
		t.Fatal(err)
	}
	if _, err := policy.MergeOrganizations(ctx, e.St, e.Aud, sessionsOn(t, e), small.ID, big.ID); err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string][]string{founder.ID: {"admin"}, solo.ID: {"member"}} {
		m, err := e.St.GetMembership(ctx, big.ID, user)
		if err != nil || !sso.SameRoles(m.Roles, want) {
			t.Fatalf("%s after the merge: %+v, %v; want roles %v", user, m, err, want)
		}
	}
	c, err := e.St.GetConnection(ctx, sc.ID)
	if err != nil || c.OrgID != big.ID || c.MapsOwner() || len(c.GroupRoles) != 1 || c.GroupRoles[0].Role != "developer" {
		t.Fatalf("moved connection: %+v, %v; want its mapping without the owner line", c, err)
	}
	dropped := 0
	for _, ev := range e.Events(big.ID, policy.EventMemberMoved) {
		if ev.Details["dropped_role"] == sso.RoleOwner {
			dropped++
		}
	}
	if dropped != 2 {
		t.Fatalf("%d member_moved events name the dropped owner role, want 2", dropped)
	}
}
