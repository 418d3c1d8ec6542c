package memstore

import (
	"slices"
	"strings"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

// This file holds what the core shares with the capability packages
// through memstate.

// notFound and conflict build the errors of a missing and of a taken
// record; the capability packages use the same ones.
var (
	notFound = memstate.NotFound
	conflict = memstate.Conflict
)

var _ memstate.Core = (*coreData)(nil)

// HasUser implements memstate.Core.
func (d *coreData) HasUser(id string) bool {
	d.init()
	_, ok := d.users[id]
	return ok
}

// PutUser implements memstate.Core.
func (d *coreData) PutUser(u *sso.User) {
	d.init()
	d.putUser(u)
}

// UsersByEmail implements memstate.Core.
func (d *coreData) UsersByEmail(email string) []*sso.User {
	d.init()
	var out []*sso.User
	for id := range d.byEmail[strings.ToLower(email)] {
		out = append(out, cloneUser(d.users[id]))
	}
	slices.SortFunc(out, func(a, b *sso.User) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// CheckEvents implements memstate.Core.
func (d *coreData) CheckEvents(evs []*sso.Event) error {
	d.init()
	seen := map[string]bool{}
	for _, e := range evs {
		if err := e.Validate(); err != nil {
			return err
		}
		if d.eventIDs[e.ID] || seen[e.ID] {
			return conflict("event", e.ID)
		}
		seen[e.ID] = true
	}
	return nil
}

// AppendEvents implements memstate.Core.
func (d *coreData) AppendEvents(evs []*sso.Event) {
	for _, e := range evs {
		_ = d.appendEvent(e) // CheckEvents ruled out every failure
	}
}

// HasMembership implements memstate.Core.
func (d *coreData) HasMembership(orgID, userID string) bool {
	d.init()
	_, ok := d.members[orgID][userID]
	return ok
}

// PutMembership implements memstate.Core.
func (d *coreData) PutMembership(m *sso.Membership) {
	d.init()
	if d.members[m.OrgID] == nil {
		d.members[m.OrgID] = map[string]*sso.Membership{}
	}
	d.members[m.OrgID][m.UserID] = cloneMember(m)
}

// PutSCIMMembership implements memstate.Core.
func (d *coreData) PutSCIMMembership(m *sso.Membership) {
	d.init()
	cur, ok := d.members[m.OrgID][m.UserID]
	if !ok {
		d.PutMembership(m)
		return
	}
	c := cloneMember(cur)
	c.Status, c.Source, c.ExternalID, c.UpdatedAt = m.Status, m.Source, m.ExternalID, m.UpdatedAt
	d.members[m.OrgID][m.UserID] = c
}

// CreateMembership implements memstate.Core.
func (d *coreData) CreateMembership(m *sso.Membership) error {
	d.init()
	return d.createMembership(m)
}

// VerifiedUserByEmail implements memstate.Core.
func (d *coreData) VerifiedUserByEmail(email string) *sso.User {
	d.init()
	var best *sso.User
	for id := range d.byEmail[strings.ToLower(email)] {
		u := d.users[id]
		if u == nil || !u.EmailVerified {
			continue
		}
		if best == nil || u.CreatedAt.Before(best.CreatedAt) || (u.CreatedAt.Equal(best.CreatedAt) && u.ID < best.ID) {
			best = u
		}
	}
	if best == nil {
		return nil
	}
	c := *best
	return &c
}
