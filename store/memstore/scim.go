package memstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
)

var (
	_ scim.Store     = (*Store)(nil)
	_ scim.RateStore = (*Store)(nil)
)

// scimData holds the scim records.
type scimData struct {
	users      map[string]map[string]*scim.User      // org -> user ID -> user
	userNames  map[string]map[string]string          // org -> live userName key -> user ID
	groups     map[string]map[string]*scim.Group     // org -> group ID -> group
	members    map[string]map[string]map[string]bool // org -> group ID -> user IDs
	userGroups map[string]map[string]map[string]bool // org -> user ID -> group IDs
	rates      map[string]rateWindow
}

type rateWindow struct {
	start time.Time
	n     int64
}

func (d *scimData) init() {
	if d.users != nil {
		return
	}
	d.users = map[string]map[string]*scim.User{}
	d.userNames = map[string]map[string]string{}
	d.groups = map[string]map[string]*scim.Group{}
	d.members = map[string]map[string]map[string]bool{}
	d.userGroups = map[string]map[string]map[string]bool{}
	d.rates = map[string]rateWindow{}
}

// lockSCIM takes the store lock and returns the core and scim records.
func (s *Store) lockSCIM() (*coreData, *scimData) {
	c := s.lock()
	s.scim.init()
	return c, &s.scim
}

func inner[V any](m map[string]map[string]V, k string) map[string]V {
	x := m[k]
	if x == nil {
		x = map[string]V{}
		m[k] = x
	}
	return x
}

// checkNewUser fails with a conflict when r's ID or live userName is taken
// in its organization.
func (d *scimData) checkNewUser(r *scim.User) error {
	if _, ok := d.users[r.OrgID][r.ID]; ok {
		return conflict("scim user", r.ID)
	}
	if _, ok := d.userNames[r.OrgID][r.UserNameKey()]; ok {
		return conflict("scim userName", r.UserName)
	}
	return nil
}

// putUser stores a copy of the new user r and indexes its userName.
func (d *scimData) putUser(r *scim.User) {
	inner(d.users, r.OrgID)[r.ID] = scim.CloneUser(r)
	inner(d.userNames, r.OrgID)[r.UserNameKey()] = r.ID
}

// CreateUserSCIM implements scim.UserStore.
func (s *Store) CreateUserSCIM(ctx context.Context, u *sso.User, m *sso.Membership, r *scim.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if err := m.Validate(); err != nil {
		return err
	}
	c, d := s.lockSCIM()
	defer s.mu.Unlock()
	if err := d.checkNewUser(r); err != nil {
		return err
	}
	if _, ok := c.members[m.OrgID][m.UserID]; ok {
		return conflict("membership", m.OrgID+"/"+m.UserID)
	}
	if _, ok := c.users[u.ID]; !ok {
		c.users[u.ID] = cloneUser(u)
	}
	_ = c.createMembership(m)
	d.putUser(r)
	return nil
}

// AdoptUserSCIM implements scim.UserStore.
func (s *Store) AdoptUserSCIM(ctx context.Context, u *sso.User, m *sso.Membership, r *scim.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if err := m.Validate(); err != nil {
		return err
	}
	c, d := s.lockSCIM()
	defer s.mu.Unlock()
	if err := d.checkNewUser(r); err != nil {
		return err
	}
	if _, ok := c.members[m.OrgID][m.UserID]; !ok {
		return notFound("membership", m.OrgID+"/"+m.UserID)
	}
	if _, ok := c.users[u.ID]; !ok {
		return notFound("user", u.ID)
	}
	c.users[u.ID] = cloneUser(u)
	c.members[m.OrgID][m.UserID] = cloneMember(m)
	d.putUser(r)
	return nil
}

// GetUserSCIM implements scim.UserStore.
func (s *Store) GetUserSCIM(ctx context.Context, orgID, id string) (*scim.User, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	u, ok := d.users[orgID][id]
	if !ok {
		return nil, notFound("scim user", id)
	}
	return scim.CloneUser(u), nil
}

// UpdateUserSCIM implements scim.UserStore.
func (s *Store) UpdateUserSCIM(ctx context.Context, r *scim.User, prevVersion int64, u *sso.User, m *sso.Membership) error {
	if u != nil {
		if err := u.Validate(); err != nil {
			return err
		}
	}
	if m != nil {
		if err := m.Validate(); err != nil {
			return err
		}
	}
	c, d := s.lockSCIM()
	defer s.mu.Unlock()
	old, ok := d.users[r.OrgID][r.ID]
	if !ok {
		return notFound("scim user", r.ID)
	}
	if old.Version != prevVersion {
		return fmt.Errorf("memstore: scim user %q: %w", r.ID, scim.ErrVersionMismatch)
	}
	names := inner(d.userNames, r.OrgID)
	if !r.Deleted {
		if holder, ok := names[r.UserNameKey()]; ok && holder != r.ID {
			return conflict("scim userName", r.UserName)
		}
	}
	if m != nil {
		if _, ok := c.members[m.OrgID][m.UserID]; !ok {
			return notFound("membership", m.OrgID+"/"+m.UserID)
		}
	}
	if u != nil {
		if _, ok := c.users[u.ID]; !ok {
			return notFound("user", u.ID)
		}
		c.users[u.ID] = cloneUser(u)
	}
	if m != nil {
		c.members[m.OrgID][m.UserID] = cloneMember(m)
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
	d.users[r.OrgID][r.ID] = scim.CloneUser(r)
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func pageOf[T any](xs []T, q scim.Query) []T {
	start := q.StartIndex - 1
	if start < 0 {
		start = 0
	}
	if start >= len(xs) {
		return nil
	}
	end := len(xs)
	if q.Count >= 0 && start+q.Count < end {
		end = start + q.Count
	}
	return xs[start:end]
}

// ListUsersSCIM implements scim.UserStore. It evaluates q.Filter with
// scim.MatchUser over the organization's users.
func (s *Store) ListUsersSCIM(ctx context.Context, orgID string, q scim.Query) ([]*scim.User, int, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	var match []*scim.User
	users := d.users[orgID]
	for _, id := range sortedKeys(users) {
		u := users[id]
		if !u.Deleted && scim.MatchUser(q.Filter, u) {
			match = append(match, u)
		}
	}
	var out []*scim.User
	for _, u := range pageOf(match, q) {
		out = append(out, scim.CloneUser(u))
	}
	return out, len(match), nil
}

func cloneGroup(g *scim.Group) *scim.Group { c := *g; return &c }

func (d *scimData) liveUser(orgID, id string) bool {
	u, ok := d.users[orgID][id]
	return ok && !u.Deleted
}

// CreateGroupSCIM implements scim.GroupStore.
func (s *Store) CreateGroupSCIM(ctx context.Context, g *scim.Group, members []string) error {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	if _, ok := d.groups[g.OrgID][g.ID]; ok {
		return conflict("scim group", g.ID)
	}
	for _, id := range members {
		if !d.liveUser(g.OrgID, id) {
			return fmt.Errorf("memstore: %w: %w", sso.ErrInvalidInput, scim.ErrInvalidMember)
		}
	}
	inner(d.groups, g.OrgID)[g.ID] = cloneGroup(g)
	set := map[string]bool{}
	inner(d.members, g.OrgID)[g.ID] = set
	for _, id := range members {
		set[id] = true
		inner(inner(d.userGroups, g.OrgID), id)[g.ID] = true
	}
	return nil
}

// GetGroupSCIM implements scim.GroupStore.
func (s *Store) GetGroupSCIM(ctx context.Context, orgID, id string) (*scim.Group, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	g, ok := d.groups[orgID][id]
	if !ok {
		return nil, notFound("scim group", id)
	}
	return cloneGroup(g), nil
}

// UpdateGroupSCIM implements scim.GroupStore.
func (s *Store) UpdateGroupSCIM(ctx context.Context, g *scim.Group, prevVersion int64, ops []scim.MemberOp) ([]string, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	old, ok := d.groups[g.OrgID][g.ID]
	if !ok {
		return nil, notFound("scim group", g.ID)
	}
	if prevVersion > 0 && old.Version != prevVersion {
		return nil, fmt.Errorf("memstore: scim group %q: %w", g.ID, scim.ErrVersionMismatch)
	}
	for _, op := range ops {
		if op.Kind == scim.MembersAdd || op.Kind == scim.MembersReplace {
			for _, id := range op.UserIDs {
				if !d.liveUser(g.OrgID, id) {
					return nil, fmt.Errorf("memstore: %w: %w", sso.ErrInvalidInput, scim.ErrInvalidMember)
				}
			}
		}
	}
	set := inner(d.members, g.OrgID)[g.ID]
	if set == nil {
		set = map[string]bool{}
		d.members[g.OrgID][g.ID] = set
	}
	before := make(map[string]bool, len(set))
	for id := range set {
		before[id] = true
	}
	for _, op := range ops {
		switch op.Kind {
		case scim.MembersAdd:
			for _, id := range op.UserIDs {
				set[id] = true
			}
		case scim.MembersRemove:
			for _, id := range op.UserIDs {
				delete(set, id)
			}
		case scim.MembersReplace, scim.MembersRemoveAll:
			clear(set)
			for _, id := range op.UserIDs {
				set[id] = true
			}
		}
	}
	var changed []string
	ug := inner(d.userGroups, g.OrgID)
	for id := range before {
		if !set[id] {
			changed = append(changed, id)
			delete(ug[id], g.ID)
		}
	}
	for id := range set {
		if !before[id] {
			changed = append(changed, id)
			inner(ug, id)[g.ID] = true
		}
	}
	sort.Strings(changed)
	g.Version = old.Version + 1
	d.groups[g.OrgID][g.ID] = cloneGroup(g)
	return changed, nil
}

// DeleteGroupSCIM implements scim.GroupStore.
func (s *Store) DeleteGroupSCIM(ctx context.Context, orgID, id string) ([]string, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	if _, ok := d.groups[orgID][id]; !ok {
		return nil, notFound("scim group", id)
	}
	members := sortedKeys(d.members[orgID][id])
	for _, uid := range members {
		delete(d.userGroups[orgID][uid], id)
	}
	delete(d.members[orgID], id)
	delete(d.groups[orgID], id)
	return members, nil
}

// ListGroupsSCIM implements scim.GroupStore.
func (s *Store) ListGroupsSCIM(ctx context.Context, orgID string, q scim.Query) ([]*scim.Group, int, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	var match []*scim.Group
	groups := d.groups[orgID]
	for _, id := range sortedKeys(groups) {
		g := groups[id]
		if scim.MatchGroup(q.Filter, g, sortedKeys(d.members[orgID][id])) {
			match = append(match, g)
		}
	}
	var out []*scim.Group
	for _, g := range pageOf(match, q) {
		out = append(out, cloneGroup(g))
	}
	return out, len(match), nil
}

// ListGroupMembersSCIM implements scim.GroupStore.
func (s *Store) ListGroupMembersSCIM(ctx context.Context, orgID, groupID, afterUserID string, limit int) ([]string, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	if _, ok := d.groups[orgID][groupID]; !ok {
		return nil, notFound("scim group", groupID)
	}
	var out []string
	for _, id := range sortedKeys(d.members[orgID][groupID]) {
		if id > afterUserID {
			out = append(out, id)
		}
	}
	return page(out, limit), nil
}

// ListUserGroupsSCIM implements scim.GroupStore.
func (s *Store) ListUserGroupsSCIM(ctx context.Context, orgID string, userIDs ...string) (map[string][]*scim.Group, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	out := map[string][]*scim.Group{}
	for _, uid := range userIDs {
		for _, gid := range sortedKeys(d.userGroups[orgID][uid]) {
			if g, ok := d.groups[orgID][gid]; ok {
				out[uid] = append(out[uid], cloneGroup(g))
			}
		}
	}
	return out, nil
}

// IncrementSCIMRate implements scim.RateStore.
func (s *Store) IncrementSCIMRate(ctx context.Context, key string, window time.Time) (int64, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	w := d.rates[key]
	if !w.start.Equal(window) {
		if window.Before(w.start) {
			return w.n, nil
		}
		w = rateWindow{start: window}
	}
	w.n++
	d.rates[key] = w
	return w.n, nil
}
