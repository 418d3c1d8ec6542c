package memscim

import (
	"context"
	"fmt"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

var _ scim.EventWriter = (*Store)(nil)

// CreateUserSCIM implements scim.UserStore.
func (s *Store) CreateUserSCIM(ctx context.Context, u *sso.User, m *sso.Membership, r *scim.User) error {
	return s.CreateUserSCIMEvents(ctx, u, m, r, nil)
}

// CreateUserSCIMEvents implements scim.EventWriter: the user and the
// events under one lock, neither when either would fail.
func (s *Store) CreateUserSCIMEvents(ctx context.Context, u *sso.User, m *sso.Membership, r *scim.User, evs []*sso.Event) error {
	rec, err := prepareUser(u, m, r)
	if err != nil {
		return err
	}
	c, d := s.lockSCIM()
	defer s.mu.Unlock()
	if err := c.CheckEvents(evs); err != nil {
		return err
	}
	if err := d.checkNewUser(r); err != nil {
		return err
	}
	if c.HasMembership(m.OrgID, m.UserID) {
		return memstate.Conflict("membership", m.OrgID+"/"+m.UserID)
	}
	if !c.HasUser(u.ID) {
		c.PutUser(u)
	}
	_ = c.CreateMembership(m)
	d.putUser(rec)
	c.AppendEvents(evs)
	return nil
}

// AdoptUserSCIM implements scim.UserStore.
func (s *Store) AdoptUserSCIM(ctx context.Context, u *sso.User, m *sso.Membership, r *scim.User) error {
	rec, err := prepareUser(u, m, r)
	if err != nil {
		return err
	}
	c, d := s.lockSCIM()
	defer s.mu.Unlock()
	if err := d.checkNewUser(r); err != nil {
		return err
	}
	if !c.HasMembership(m.OrgID, m.UserID) {
		return memstate.NotFound("membership", m.OrgID+"/"+m.UserID)
	}
	if !c.HasUser(u.ID) {
		return memstate.NotFound("user", u.ID)
	}
	c.PutUser(u)
	c.PutMembership(m)
	d.putUser(rec)
	return nil
}

// GetUserSCIM implements scim.UserStore.
func (s *Store) GetUserSCIM(ctx context.Context, orgID, id string) (*scim.User, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	u, ok := d.users[orgID][id]
	if !ok {
		return nil, memstate.NotFound("scim user", id)
	}
	return scim.CloneUser(u), nil
}

// UpdateUserSCIM implements scim.UserStore.
func (s *Store) UpdateUserSCIM(ctx context.Context, r *scim.User, prevVersion int64, u *sso.User, m *sso.Membership) error {
	return s.UpdateUserSCIMEvents(ctx, r, prevVersion, u, m, nil)
}

// UpdateUserSCIMEvents implements scim.EventWriter: the change and the
// events under one lock, neither when either would fail.
func (s *Store) UpdateUserSCIMEvents(ctx context.Context, r *scim.User, prevVersion int64, u *sso.User, m *sso.Membership, evs []*sso.Event) error {
	rec, err := prepareUser(u, m, r)
	if err != nil {
		return err
	}
	c, d := s.lockSCIM()
	defer s.mu.Unlock()
	if err := c.CheckEvents(evs); err != nil {
		return err
	}
	old, ok := d.users[r.OrgID][r.ID]
	if !ok {
		return memstate.NotFound("scim user", r.ID)
	}
	if old.Version != prevVersion {
		return fmt.Errorf("memstore: scim user %q: %w", r.ID, scim.ErrVersionMismatch)
	}
	names := inner(d.userNames, r.OrgID)
	if !r.Deleted {
		if holder, ok := names[r.UserNameKey()]; ok && holder != r.ID {
			return memstate.Conflict("scim userName", r.UserName)
		}
	}
	if m != nil {
		if !c.HasMembership(m.OrgID, m.UserID) {
			return memstate.NotFound("membership", m.OrgID+"/"+m.UserID)
		}
	}
	if u != nil {
		if !c.HasUser(u.ID) {
			return memstate.NotFound("user", u.ID)
		}
		c.PutUser(u)
	}
	if m != nil {
		c.PutSCIMMembership(m)
	}
	if !old.Deleted && names[old.UserNameKey()] == r.ID {
		delete(names, old.UserNameKey())
	}
	if !r.Deleted {
		names[r.UserNameKey()] = r.ID
	} else {
		for gid := range d.userGroups[r.OrgID][r.ID] {
			delete(d.members[r.OrgID][gid], r.ID)
		}
		delete(d.userGroups[r.OrgID], r.ID)
	}
	switch {
	case old.Deleted && !r.Deleted:
		d.liveUsers[r.OrgID]++
	case !old.Deleted && r.Deleted:
		d.liveUsers[r.OrgID]--
	}
	d.users[r.OrgID][r.ID] = rec
	c.AppendEvents(evs)
	return nil
}

// ListUsersSCIM implements scim.UserStore. It evaluates q.Filter with
// scim.MatchUser over the organization's users, in ID order or sorted in
// memory.
func (s *Store) ListUsersSCIM(ctx context.Context, orgID string, q scim.Query) ([]*scim.User, int, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	var out []*scim.User
	if q.Sort != "" {
		page, total := d.sortedUsers(orgID, "", q)
		for _, it := range page {
			out = append(out, scim.CloneUser(it.item))
		}
		return out, total, nil
	}
	skip, total := max(q.StartIndex, 1)-1, 0
	d.walkUsers(orgID, "", q.Filter, func(u *scim.User) bool {
		total++
		if total > skip && len(out) < q.Count {
			out = append(out, scim.CloneUser(u))
		}
		return true
	})
	return out, total, nil
}

// SeekUsersSCIM implements scim.Seeker. The users carry AttributesJSON.
func (s *Store) SeekUsersSCIM(ctx context.Context, orgID, after string, q scim.Query) ([]*scim.User, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	if q.Count <= 0 {
		return nil, nil
	}
	var out []*scim.User
	if q.Sort != "" {
		page, _ := d.sortedUsers(orgID, after, q)
		for _, it := range page {
			c := *it.item
			c.Attributes, c.Emails, c.Cursor = nil, nil, it.cursor
			out = append(out, &c)
		}
		return out, nil
	}
	skip := max(q.StartIndex, 1) - 1
	d.walkUsers(orgID, after, q.Filter, func(u *scim.User) bool {
		if skip > 0 {
			skip--
			return true
		}
		c := *u
		c.Attributes, c.Emails = nil, nil
		out = append(out, &c)
		return len(out) < q.Count
	})
	return out, nil
}

// CountUsersSCIM implements scim.Seeker.
func (s *Store) CountUsersSCIM(ctx context.Context, orgID string, filter scim.Expr, every int) (int, []string, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	if filter == nil && every <= 0 {
		return d.liveUsers[orgID], nil, nil
	}
	var marks []string
	total := 0
	d.walkUsers(orgID, "", filter, func(u *scim.User) bool {
		total++
		if every > 0 && total%every == 0 {
			marks = append(marks, u.ID)
		}
		return true
	})
	return total, marks, nil
}

// prepareUser validates the user and membership a write carries (either
// may be nil when the write leaves it unchanged) and returns the stored
// form of r.
func prepareUser(u *sso.User, m *sso.Membership, r *scim.User) (*scim.User, error) {
	if u != nil {
		if err := u.Validate(); err != nil {
			return nil, err
		}
	}
	if m != nil {
		if err := m.Validate(); err != nil {
			return nil, err
		}
	}
	return stored(r)
}
