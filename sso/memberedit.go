package sso

import (
	"context"
	"fmt"
	"slices"
)

// MembershipEdit is one read-modify-write of a membership
// (MembershipEditor).
type MembershipEdit struct {
	OrgID  string
	UserID string
	// Edit changes m, the membership as stored now, or returns an error,
	// which EditMembership returns without writing anything. It must not
	// change the organization or user ID, must not block, and may run more
	// than once (a retried transaction).
	Edit func(m *Membership) error
	// Delete removes the membership once Edit accepted it, instead of
	// writing it.
	Delete bool
	// Keep, when set, is a role the organization must not lose its last
	// active holder of: an edit that takes it from an active member (or
	// suspends or deletes an active holder) fails with ErrLastHolder
	// unless another active member of the organization holds it.
	Keep string
}

// ErrLastHolder is returned, wrapping ErrConflict, by an edit that would
// leave the organization without an active holder of the edit's Keep
// role.
var ErrLastHolder = fmt.Errorf("%w: the organization's last active holder of the role", ErrConflict)

// MembershipEditor is an optional MembershipStore capability:
// EditMembership runs e.Edit on the stored membership and writes its
// result (or deletes it) in one atomic step, checking e.Keep against the
// organization's other members in the same step, so that no change
// committed meanwhile (a suspension, a role change) is written back over,
// and two concurrent demotions of an organization's last two holders of a
// role cannot both pass. It returns the membership as written (the one
// deleted, for Delete). store/sqlstore (one transaction, the organization's
// row locked on PostgreSQL) and store/memstore implement it; on a view
// WithEvents returned the events are stored with the write, and not when
// the edit fails. Use EditMembership, which falls back for stores without
// it.
type MembershipEditor interface {
	EditMembership(ctx context.Context, e *MembershipEdit) (*Membership, error)
}

// EditMembership runs e on st: atomically when st is a MembershipEditor.
// Otherwise it reads the membership, runs e.Edit, checks e.Keep by listing
// the organization's members and writes the whole membership with
// UpdateMembership (or DeleteMembership): a host store without the
// capability keeps the checks but not their atomicity, and a change
// committed between the read and the write is lost.
func EditMembership(ctx context.Context, st MembershipStore, e *MembershipEdit) (*Membership, error) {
	if ed, ok := st.(MembershipEditor); ok {
		return ed.EditMembership(ctx, e)
	}
	old, err := st.GetMembership(ctx, e.OrgID, e.UserID)
	if err != nil {
		return nil, err
	}
	m, err := e.Apply(old)
	if err != nil {
		return nil, err
	}
	if e.TakesKeep(old, m) {
		if err := keepOther(ctx, st, e); err != nil {
			return nil, err
		}
	}
	if e.Delete {
		return m, st.DeleteMembership(ctx, e.OrgID, e.UserID)
	}
	return m, st.UpdateMembership(ctx, m)
}

// Apply runs e.Edit on a copy of stored and returns the checked result;
// stores call it on the row they read.
func (e *MembershipEdit) Apply(stored *Membership) (*Membership, error) {
	m := *stored
	m.Roles = slices.Clone(stored.Roles)
	if err := e.Edit(&m); err != nil {
		return nil, err
	}
	if m.OrgID != stored.OrgID || m.UserID != stored.UserID {
		return nil, fmt.Errorf("%w: a membership edit changed its key", ErrInvalidInput)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// TakesKeep reports whether the edit from old to next takes e.Keep from
// an active holder: the store must then find another active holder
// (HoldsKeep) or fail with ErrLastHolder.
func (e *MembershipEdit) TakesKeep(old, next *Membership) bool {
	if e.Keep == "" || !e.HoldsKeep(old) {
		return false
	}
	return e.Delete || !e.HoldsKeep(next)
}

// HoldsKeep reports whether m is an active holder of e.Keep.
func (e *MembershipEdit) HoldsKeep(m *Membership) bool {
	return e.Keep != "" && m.Active() && m.HasRole(e.Keep)
}

// keepOther is the fallback's check for another active holder of e.Keep.
func keepOther(ctx context.Context, st MembershipStore, e *MembershipEdit) error {
	after := ""
	for {
		ms, err := st.ListMembers(ctx, e.OrgID, after, 200)
		if err != nil {
			return err
		}
		for _, o := range ms {
			if o.UserID != e.UserID && e.HoldsKeep(o) {
				return nil
			}
		}
		if len(ms) < 200 {
			return ErrLastHolder
		}
		after = ms[len(ms)-1].UserID
	}
}
