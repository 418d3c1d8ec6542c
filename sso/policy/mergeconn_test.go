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
