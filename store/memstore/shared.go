package memstore

import (
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

// CreateMembership implements memstate.Core.
func (d *coreData) CreateMembership(m *sso.Membership) error {
	d.init()
	return d.createMembership(m)
}
