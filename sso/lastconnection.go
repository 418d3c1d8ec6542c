package sso

import (
	"context"
	"fmt"
)

// ReasonLastEnforcedConnection refuses to take an organization's last
// active, tested connection out of service (disable, delete, or new IdP
// settings that return it to draft) while the organization enforces SSO:
// nobody but its break-glass members could sign in.
const ReasonLastEnforcedConnection = "last_enforced_connection"

// CheckLastEnforced refuses (reason ReasonLastEnforcedConnection,
// wrapping ErrConflict) to take connection id of org out of service while
// org enforces SSO and has no other active, tested connection whose
// protocol its plan allows. It reads org's connections from conns.
func CheckLastEnforced(ctx context.Context, conns ConnectionStore, org *Organization, id string) error {
	if !org.EnforcesSSO() {
		return nil
	}
	cs, err := conns.ListConnections(ctx, org.ID)
	if err != nil {
		return fmt.Errorf("sso: list connections: %w", err)
	}
	for _, c := range cs {
		if c.ID != id && c.Status == ConnectionActive && !c.LastTestOK.IsZero() && org.Settings.Features.Allows(c.Protocol) {
			return nil
		}
	}
	return &ValidationError{Reason: ReasonLastEnforcedConnection, Err: ErrConflict}
}
