package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/ssokit/ssokit/sso"
)

// confirmWrites checks, after the session s was written to a store that is
// not a LoginWriter (the Redis session store, or a host's own), what a
// LoginWriter checks in its write: that the organization and the
// membership the login's checks read (writes.Org, writes.Member) are still
// the stored ones. Reading them after the session exists closes the same
// window: a suspension, demotion or enforcement committed before this read
// is seen here, and one committed after it revokes sessions after the
// session was written, so its sweep reaches it. On a change it returns
// sso.ErrOrgChanged or sso.ErrMembershipChanged, and the caller ends s and
// applies the login's checks again (issueGuarded). It needs Config.Orgs
// and Config.Memberships for the respective check; a login through a
// LoginWriter, or with nothing to confirm, passes.
func (m *Manager) confirmWrites(ctx context.Context, s *Session, writes *sso.LoginWrites) error {
	if writes == nil || writes.Written {
		return nil
	}
	if writes.Org != nil && m.cfg.Orgs != nil {
		org, err := m.cfg.Orgs.GetOrg(ctx, s.OrgID)
		if err != nil && !errors.Is(err, sso.ErrNotFound) {
			return fmt.Errorf("%w: session: read organization: %w", sso.ErrUnavailable, err)
		}
		if !writes.SameOrg(org) {
			return sso.OrgChanged(s.OrgID)
		}
	}
	if writes.Member != nil && m.cfg.Memberships != nil {
		mem, err := m.cfg.Memberships.GetMembership(ctx, s.OrgID, s.UserID)
		if err != nil && !errors.Is(err, sso.ErrNotFound) {
			return fmt.Errorf("%w: session: read membership: %w", sso.ErrUnavailable, err)
		}
		if !writes.SameMember(mem) {
			return sso.ErrMembershipChanged
		}
	}
	return nil
}
