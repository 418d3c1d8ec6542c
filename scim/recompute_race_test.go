package scim_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/scim"
)

// racingCore is the core store of a replica whose role recompute is
// overtaken: just before its first roles write, fn runs (another
// replica's group change, committed after this recompute read the
// groups).
type racingCore struct {
	scim.CoreStore
	once sync.Once
	fn   func()
}

func (c *racingCore) SetMembershipRoles(ctx context.Context, orgID, userID string, roles []string, at time.Time) error {
	c.once.Do(c.fn)
	return c.CoreStore.(scim.RolesWriter).SetMembershipRoles(ctx, orgID, userID, roles, at)
}

// TestRecomputeOvertakenByAnotherReplica: a replica adds alice to Admins
// and recomputes her roles; before it writes them, another replica removes
// her from Admins (its own recompute sees nothing to change yet). The
// first replica's write of "admin" is stale; it must read the groups
// again and take the role back, or alice keeps admin outside every group.
func TestRecomputeOvertakenByAnotherReplica(t *testing.T) {
	t.Parallel()
	rc := &racingCore{}
	e := newEnv(t, func(c *scim.Config) { rc.CoreStore = c.Core; c.Core = rc })
	e.mapAdmins()
	alice := e.createUser("alice@acme.test")
	// The other replica: the same store, without the race hook.
	unhooked := *e
	unhooked.cfg.Core = rc.CoreStore
	other := unhooked.replica()
	var groupID string
	rc.fn = func() {
		other.do("PATCH", "/Groups/"+groupID, patchOps(`{"op":"remove","path":"members[value eq \"`+alice+`\"]"}`)).want(t, http.StatusNoContent)
	}
	// The group is created empty, then alice is added: the add's
	// recompute is the one overtaken.
	groupID = e.createGroup("Admins")
	e.do("PATCH", "/Groups/"+groupID, patchOps(`{"op":"add","path":"members","value":[{"value":`+q(alice)+`}]}`)).want(t, http.StatusNoContent)
	if m := e.membership(alice); slices.Contains(m.Roles, "admin") {
		t.Fatalf("alice keeps %v after leaving Admins on another replica during the recompute", m.Roles)
	}
}
