package memscim

import (
	"context"
	"fmt"
	"sort"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

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
		return memstate.Conflict("scim group", g.ID)
	}
	for _, id := range members {
		if !d.liveUser(g.OrgID, id) {
			return fmt.Errorf("memstore: %w: %w", sso.ErrInvalidInput, scim.ErrInvalidMember)
		}
	}
	inner(d.groups, g.OrgID)[g.ID] = cloneGroup(g)
	order(d.groupOrder, g.OrgID).add(g.ID)
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
		return nil, memstate.NotFound("scim group", id)
	}
	return cloneGroup(g), nil
}

// UpdateGroupSCIM implements scim.GroupStore.
func (s *Store) UpdateGroupSCIM(ctx context.Context, g *scim.Group, prevVersion int64, ops []scim.MemberOp) ([]string, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	old, ok := d.groups[g.OrgID][g.ID]
	if !ok {
		return nil, memstate.NotFound("scim group", g.ID)
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
func (s *Store) DeleteGroupSCIM(ctx context.Context, orgID, id string, prevVersion int64) ([]string, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	g, ok := d.groups[orgID][id]
	if !ok {
		return nil, memstate.NotFound("scim group", id)
	}
	if prevVersion > 0 && g.Version != prevVersion {
		return nil, fmt.Errorf("memstore: scim group %q: %w", id, scim.ErrVersionMismatch)
	}
	members := sortedKeys(d.members[orgID][id])
	for _, uid := range members {
		delete(d.userGroups[orgID][uid], id)
	}
	delete(d.members[orgID], id)
	delete(d.groups[orgID], id)
	order(d.groupOrder, orgID).remove(id)
	return members, nil
}

// ListGroupsSCIM implements scim.GroupStore.
func (s *Store) ListGroupsSCIM(ctx context.Context, orgID string, q scim.Query) ([]*scim.Group, int, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	var out []*scim.Group
	if q.Sort != "" {
		page, total := d.sortedGroups(orgID, "", q)
		for _, it := range page {
			out = append(out, cloneGroup(it.item))
		}
		return out, total, nil
	}
	skip, total := max(q.StartIndex, 1)-1, 0
	d.walkGroups(orgID, "", q.Filter, func(g *scim.Group) bool {
		total++
		if total > skip && len(out) < q.Count {
			out = append(out, cloneGroup(g))
		}
		return true
	})
	return out, total, nil
}

// SeekGroupsSCIM implements scim.Seeker.
func (s *Store) SeekGroupsSCIM(ctx context.Context, orgID, after string, q scim.Query) ([]*scim.Group, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	if q.Count <= 0 {
		return nil, nil
	}
	var out []*scim.Group
	if q.Sort != "" {
		page, _ := d.sortedGroups(orgID, after, q)
		for _, it := range page {
			c := cloneGroup(it.item)
			c.Cursor = it.cursor
			out = append(out, c)
		}
		return out, nil
	}
	skip := max(q.StartIndex, 1) - 1
	d.walkGroups(orgID, after, q.Filter, func(g *scim.Group) bool {
		if skip > 0 {
			skip--
			return true
		}
		out = append(out, cloneGroup(g))
		return len(out) < q.Count
	})
	return out, nil
}

// CountGroupsSCIM implements scim.Seeker.
func (s *Store) CountGroupsSCIM(ctx context.Context, orgID string, filter scim.Expr, every int) (int, []string, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	if filter == nil && every <= 0 {
		return len(d.groups[orgID]), nil, nil
	}
	var marks []string
	total := 0
	d.walkGroups(orgID, "", filter, func(g *scim.Group) bool {
		total++
		if every > 0 && total%every == 0 {
			marks = append(marks, g.ID)
		}
		return true
	})
	return total, marks, nil
}

// ListGroupMembersSCIM implements scim.GroupStore.
func (s *Store) ListGroupMembersSCIM(ctx context.Context, orgID, groupID, afterUserID string, limit int) ([]string, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	if _, ok := d.groups[orgID][groupID]; !ok {
		return nil, memstate.NotFound("scim group", groupID)
	}
	var out []string
	for _, id := range sortedKeys(d.members[orgID][groupID]) {
		if id > afterUserID {
			out = append(out, id)
		}
	}
	return memstate.Page(out, limit), nil
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
