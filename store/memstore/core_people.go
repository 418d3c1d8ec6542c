package memstore

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

// --- users ---------------------------------------------------------------

// CreateUser implements sso.UserStore.
func (s *Store) CreateUser(ctx context.Context, u *sso.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	d := s.lock()
	defer s.mu.Unlock()
	if _, ok := d.users[u.ID]; ok {
		return conflict("user", u.ID)
	}
	d.putUser(u)
	return nil
}

// GetUser implements sso.UserStore.
func (s *Store) GetUser(ctx context.Context, id string) (*sso.User, error) {
	d := s.lock()
	defer s.mu.Unlock()
	u, ok := d.users[id]
	if !ok {
		return nil, notFound("user", id)
	}
	return cloneUser(u), nil
}

// UpdateUser implements sso.UserStore.
func (s *Store) UpdateUser(ctx context.Context, u *sso.User) error {
	return s.updateUser(u, nil)
}

var _ sso.ConditionalUserUpdater = (*Store)(nil)

// UpdateUserIf implements sso.ConditionalUserUpdater.
func (s *Store) UpdateUserIf(ctx context.Context, u *sso.User, prevUpdatedAt time.Time) error {
	return s.updateUser(u, &prevUpdatedAt)
}

// updateUser replaces user u.ID with u, when prev is set only while its
// stored UpdatedAt equals *prev.
func (s *Store) updateUser(u *sso.User, prev *time.Time) error {
	if err := u.Validate(); err != nil {
		return err
	}
	d := s.lock()
	defer s.mu.Unlock()
	old, ok := d.users[u.ID]
	if !ok {
		return notFound("user", u.ID)
	}
	if prev != nil && !old.UpdatedAt.Equal(*prev) {
		return sso.UserChanged(u.ID)
	}
	d.putUser(u)
	return nil
}

// DeleteUser implements sso.UserStore.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	d := s.lock()
	defer s.mu.Unlock()
	if _, ok := d.users[id]; !ok {
		return notFound("user", id)
	}
	d.dropUser(id)
	return nil
}

// putUser stores a copy of u and indexes its email; the caller holds the
// lock.
func (d *coreData) putUser(u *sso.User) {
	d.dropUser(u.ID)
	d.users[u.ID] = cloneUser(u)
	key := strings.ToLower(u.Email)
	if d.byEmail[key] == nil {
		d.byEmail[key] = map[string]bool{}
	}
	d.byEmail[key][u.ID] = true
}

// dropUser removes user id and its email index entry; the caller holds the
// lock.
func (d *coreData) dropUser(id string) {
	old, ok := d.users[id]
	if !ok {
		return
	}
	key := strings.ToLower(old.Email)
	delete(d.byEmail[key], id)
	if len(d.byEmail[key]) == 0 {
		delete(d.byEmail, key)
	}
	delete(d.users, id)
}

// --- memberships -----------------------------------------------------------

// CreateMembership implements sso.MembershipStore.
func (s *Store) CreateMembership(ctx context.Context, m *sso.Membership) error {
	if err := m.Validate(); err != nil {
		return err
	}
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := d.createMembership(m); err != nil {
		return err
	}
	d.AppendEvents(s.events)
	return nil
}

func (d *coreData) createMembership(m *sso.Membership) error {
	if _, ok := d.members[m.OrgID][m.UserID]; ok {
		return conflict("membership", m.OrgID+"/"+m.UserID)
	}
	if d.members[m.OrgID] == nil {
		d.members[m.OrgID] = map[string]*sso.Membership{}
	}
	d.members[m.OrgID][m.UserID] = cloneMember(m)
	return nil
}

// GetMembership implements sso.MembershipStore.
func (s *Store) GetMembership(ctx context.Context, orgID, userID string) (*sso.Membership, error) {
	d := s.lock()
	defer s.mu.Unlock()
	m, ok := d.members[orgID][userID]
	if !ok {
		return nil, notFound("membership", orgID+"/"+userID)
	}
	return cloneMember(m), nil
}

// UpdateMembership implements sso.MembershipStore.
func (s *Store) UpdateMembership(ctx context.Context, m *sso.Membership) error {
	if err := m.Validate(); err != nil {
		return err
	}
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := d.members[m.OrgID][m.UserID]; !ok {
		return notFound("membership", m.OrgID+"/"+m.UserID)
	}
	d.members[m.OrgID][m.UserID] = cloneMember(m)
	d.AppendEvents(s.events)
	return nil
}

// SetMembershipRoles implements scim.RolesWriter: it writes only the
// roles (and the update time) of a membership.
func (s *Store) SetMembershipRoles(ctx context.Context, orgID, userID string, roles []string, at time.Time) error {
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	m, ok := d.members[orgID][userID]
	if !ok {
		return notFound("membership", orgID+"/"+userID)
	}
	c := cloneMember(m)
	c.Roles, c.UpdatedAt = slices.Clone(roles), at
	if err := c.Validate(); err != nil {
		return err
	}
	d.members[orgID][userID] = c
	d.AppendEvents(s.events)
	return nil
}

// EditMembership implements sso.MembershipEditor: it reads, edits and
// writes (or deletes) the membership, and checks e.Keep, under the store
// lock.
func (s *Store) EditMembership(ctx context.Context, e *sso.MembershipEdit) (*sso.Membership, error) {
	d, err := s.writeLock()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	old, ok := d.members[e.OrgID][e.UserID]
	if !ok {
		return nil, notFound("membership", e.OrgID+"/"+e.UserID)
	}
	m, err := e.Apply(cloneMember(old))
	if err != nil {
		return nil, err
	}
	if e.TakesKeep(old, m) && !d.otherHolder(e) {
		return nil, sso.ErrLastHolder
	}
	if e.Delete {
		delete(d.members[e.OrgID], e.UserID)
	} else {
		d.members[e.OrgID][e.UserID] = cloneMember(m)
	}
	d.AppendEvents(s.events)
	return m, nil
}

// otherHolder reports whether a member of e's organization other than
// e's is an active holder of e.Keep.
func (d *coreData) otherHolder(e *sso.MembershipEdit) bool {
	for uid, m := range d.members[e.OrgID] {
		if uid != e.UserID && e.HoldsKeep(m) {
			return true
		}
	}
	return false
}

// DeleteMembership implements sso.MembershipStore.
func (s *Store) DeleteMembership(ctx context.Context, orgID, userID string) error {
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := d.members[orgID][userID]; !ok {
		return notFound("membership", orgID+"/"+userID)
	}
	delete(d.members[orgID], userID)
	d.AppendEvents(s.events)
	return nil
}

// ListMembers implements sso.MembershipStore.
func (s *Store) ListMembers(ctx context.Context, orgID, afterUserID string, limit int) ([]*sso.Membership, error) {
	d := s.lock()
	defer s.mu.Unlock()
	return memstate.PageAfter(d.members[orgID], afterUserID, nil, limit, cloneMember), nil
}

// ListUserMemberships implements sso.MembershipStore.
func (s *Store) ListUserMemberships(ctx context.Context, userID string) ([]*sso.Membership, error) {
	d := s.lock()
	defer s.mu.Unlock()
	var out []*sso.Membership
	for _, byUser := range d.members {
		if m, ok := byUser[userID]; ok {
			out = append(out, cloneMember(m))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OrgID < out[j].OrgID })
	return out, nil
}

// betterEmailMatch orders FindMemberByEmail candidates: verified email
// first, then earliest joined, then user ID.
func betterEmailMatch(u *sso.User, m *sso.Membership, bu *sso.User, bm *sso.Membership) bool {
	if u.EmailVerified != bu.EmailVerified {
		return u.EmailVerified
	}
	if !m.JoinedAt.Equal(bm.JoinedAt) {
		return m.JoinedAt.Before(bm.JoinedAt)
	}
	return m.UserID < bm.UserID
}

// FindMemberByEmail implements sso.MembershipStore.
func (s *Store) FindMemberByEmail(ctx context.Context, orgID, email string) (*sso.Membership, error) {
	d := s.lock()
	defer s.mu.Unlock()
	// Through the email index: the users with this email, then their
	// memberships here, so a large organization is not scanned.
	var best *sso.Membership
	for uid := range d.byEmail[strings.ToLower(email)] {
		u, m := d.users[uid], d.members[orgID][uid]
		if m == nil {
			continue
		}
		if best == nil || betterEmailMatch(u, m, d.users[best.UserID], best) {
			best = m
		}
	}
	if best == nil {
		return nil, notFound("member email", email)
	}
	return cloneMember(best), nil
}

// --- identities ------------------------------------------------------------

// CreateIdentity implements sso.IdentityStore.
func (s *Store) CreateIdentity(ctx context.Context, id *sso.Identity) error {
	if err := id.Validate(); err != nil {
		return err
	}
	d := s.lock()
	defer s.mu.Unlock()
	return d.createIdentity(id)
}

func (d *coreData) createIdentity(id *sso.Identity) error {
	key := [3]string{id.OrgID, id.Issuer, id.Subject}
	if _, ok := d.identityKey[key]; ok {
		return conflict("identity", id.Issuer+"/"+id.Subject)
	}
	if _, ok := d.identities[id.ID]; ok {
		return conflict("identity", id.ID)
	}
	d.identities[id.ID] = cloneIdentity(id)
	d.identityKey[key] = id.ID
	return nil
}

// GetIdentity implements sso.IdentityStore.
func (s *Store) GetIdentity(ctx context.Context, orgID, issuer, subject string) (*sso.Identity, error) {
	d := s.lock()
	defer s.mu.Unlock()
	id, ok := d.identityKey[[3]string{orgID, issuer, subject}]
	if !ok {
		return nil, notFound("identity", issuer+"/"+subject)
	}
	return cloneIdentity(d.identities[id]), nil
}

// ListUserIdentities implements sso.IdentityStore.
func (s *Store) ListUserIdentities(ctx context.Context, userID string) ([]*sso.Identity, error) {
	d := s.lock()
	defer s.mu.Unlock()
	var out []*sso.Identity
	for _, id := range d.identities {
		if id.UserID == userID {
			out = append(out, cloneIdentity(id))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// UpdateIdentity implements sso.IdentityStore.
func (s *Store) UpdateIdentity(ctx context.Context, id *sso.Identity) error {
	if err := id.Validate(); err != nil {
		return err
	}
	d := s.lock()
	defer s.mu.Unlock()
	return d.updateIdentity(id)
}

// updateIdentity stores id; the caller holds the lock.
func (d *coreData) updateIdentity(id *sso.Identity) error {
	old, ok := d.identities[id.ID]
	if !ok {
		return notFound("identity", id.ID)
	}
	oldKey := [3]string{old.OrgID, old.Issuer, old.Subject}
	newKey := [3]string{id.OrgID, id.Issuer, id.Subject}
	if oldKey != newKey {
		if _, taken := d.identityKey[newKey]; taken {
			return conflict("identity", id.Issuer+"/"+id.Subject)
		}
		delete(d.identityKey, oldKey)
		d.identityKey[newKey] = id.ID
	}
	d.identities[id.ID] = cloneIdentity(id)
	return nil
}

// DeleteIdentity implements sso.IdentityStore.
func (s *Store) DeleteIdentity(ctx context.Context, id string) error {
	d := s.lock()
	defer s.mu.Unlock()
	old, ok := d.identities[id]
	if !ok {
		return notFound("identity", id)
	}
	delete(d.identityKey, [3]string{old.OrgID, old.Issuer, old.Subject})
	delete(d.identities, id)
	return nil
}

// Provision implements sso.Provisioner.
func (s *Store) Provision(ctx context.Context, u *sso.User, m *sso.Membership, id *sso.Identity) error {
	return s.ProvisionEvent(ctx, u, m, id, nil)
}

// ProvisionEvent implements login.EventProvisioner: the records and the
// event e (when non-nil) under one lock, neither when either would fail.
func (s *Store) ProvisionEvent(ctx context.Context, u *sso.User, m *sso.Membership, id *sso.Identity, e *sso.Event) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if err := m.Validate(); err != nil {
		return err
	}
	if id != nil {
		if err := id.Validate(); err != nil {
			return err
		}
	}
	var evs []*sso.Event
	if e != nil {
		evs = []*sso.Event{e}
	}
	d := s.lock()
	defer s.mu.Unlock()
	// Check everything first so that a conflict writes nothing.
	if err := d.CheckEvents(evs); err != nil {
		return err
	}
	if _, ok := d.members[m.OrgID][m.UserID]; ok {
		return conflict("membership", m.OrgID+"/"+m.UserID)
	}
	if id != nil {
		if _, ok := d.identityKey[[3]string{id.OrgID, id.Issuer, id.Subject}]; ok {
			return conflict("identity", id.Issuer+"/"+id.Subject)
		}
		if _, ok := d.identities[id.ID]; ok {
			return conflict("identity", id.ID)
		}
	}
	if _, ok := d.users[u.ID]; !ok {
		d.putUser(u)
	}
	_ = d.createMembership(m)
	if id != nil {
		_ = d.createIdentity(id)
	}
	d.AppendEvents(evs)
	return nil
}
