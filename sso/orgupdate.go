package sso

import (
	"context"
	"fmt"
	"time"
)

// ErrOrgChanged reports that a conditional write of an organization found
// it changed since it was read (UpdateOrgIf). It wraps ErrConflict.
var ErrOrgChanged = fmt.Errorf("%w: the organization changed since it was read", ErrConflict)

// ConditionalOrgUpdater is an optional OrgStore capability for the
// read-modify-write of an organization's settings. The settings are one
// record: two administrators saving different settings at once (one
// switches SSO enforcement on, the other edits the MFA policy) each write
// back the copy they read, and the later write silently undoes the earlier
// one, while the audit trail records both changes.
//
// UpdateOrgIf replaces the stored organization o.ID with o, like
// UpdateOrg, but only while the stored UpdatedAt still equals
// prevUpdatedAt (compared at the store's precision); otherwise it writes
// nothing and returns an error wrapping ErrOrgChanged. The check and the
// write are atomic. A missing organization is ErrNotFound.
//
// The check relies on every write of an organization giving it a new
// UpdatedAt (see NextUpdatedAt), as ssokit's writers do. store/memstore
// and store/sqlstore implement it; UpdateOrgIf (the function) falls back
// for a store that does not.
type ConditionalOrgUpdater interface {
	UpdateOrgIf(ctx context.Context, o *Organization, prevUpdatedAt time.Time) error
}

// UpdateOrgIf writes o through st's ConditionalOrgUpdater when st
// implements it. Otherwise it reads the organization again and writes o
// with UpdateOrg when the stored UpdatedAt still equals prevUpdatedAt,
// ErrOrgChanged when not: that narrows the window in which a concurrent
// change is lost to the time between the read and the write, but does not
// close it; a host store closes it by implementing ConditionalOrgUpdater
// (one UPDATE ... WHERE updated_at = ?).
func UpdateOrgIf(ctx context.Context, st OrgStore, o *Organization, prevUpdatedAt time.Time) error {
	if cu, ok := st.(ConditionalOrgUpdater); ok {
		return cu.UpdateOrgIf(ctx, o, prevUpdatedAt)
	}
	cur, err := st.GetOrg(ctx, o.ID)
	if err != nil {
		return err
	}
	if !cur.UpdatedAt.Equal(prevUpdatedAt) {
		return OrgChanged(o.ID)
	}
	return st.UpdateOrg(ctx, o)
}

// OrgChanged is the error of a conditional write of organization id that
// found it changed since it was read; it wraps ErrOrgChanged.
func OrgChanged(id string) error {
	return fmt.Errorf("%w: organization %s", ErrOrgChanged, id)
}
