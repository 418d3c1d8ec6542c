package memscim

import (
	"slices"
	"sort"

	"github.com/ssokit/ssokit/scim"
)

// idOrder keeps the IDs of one organization's users or groups in ID order
// for ordered walks, cheaply under inserts: a new ID waits in an unsorted
// tail, which the next walk sorts and merges in (O(n) once per walk after
// writes, not per write). Creating n users costs O(n) in all, where
// keeping one sorted slice would cost O(n²).
type idOrder struct {
	ids  []string // sorted
	tail []string // not yet in ids
}

func order(m map[string]*idOrder, org string) *idOrder {
	o := m[org]
	if o == nil {
		o = &idOrder{}
		m[org] = o
	}
	return o
}

func (o *idOrder) add(id string) { o.tail = append(o.tail, id) }

// remove drops id.
func (o *idOrder) remove(id string) {
	ids := o.sorted()
	if i, ok := slices.BinarySearch(ids, id); ok {
		o.ids = slices.Delete(ids, i, i+1)
	}
}

// sorted returns every ID in order. The slice is valid until the next
// change.
func (o *idOrder) sorted() []string {
	if len(o.tail) == 0 {
		return o.ids
	}
	slices.Sort(o.tail)
	if len(o.ids) == 0 {
		o.ids, o.tail = o.tail, nil
		return o.ids
	}
	merged := make([]string, 0, len(o.ids)+len(o.tail))
	a, b := o.ids, o.tail
	for len(a) > 0 && len(b) > 0 {
		if a[0] <= b[0] {
			merged, a = append(merged, a[0]), a[1:]
		} else {
			merged, b = append(merged, b[0]), b[1:]
		}
	}
	merged = append(append(merged, a...), b...)
	o.ids, o.tail = merged, o.tail[:0]
	return o.ids
}

// after returns the IDs greater than after, in order.
func (o *idOrder) after(after string) []string {
	ids := o.sorted()
	if after == "" {
		return ids
	}
	i := sort.SearchStrings(ids, after)
	if i < len(ids) && ids[i] == after {
		i++
	}
	return ids[i:]
}

// eqOperand returns the operand of a top-level "attr eq value" in e (also
// as one side of an and), which narrows e's matches to one key.
func eqOperand(e scim.Expr, attr scim.Attr) (string, bool) {
	switch x := e.(type) {
	case *scim.Compare:
		if x.Attr == attr && x.Op == scim.OpEq {
			return x.Str, true
		}
	case *scim.And:
		if v, ok := eqOperand(x.Left, attr); ok {
			return v, true
		}
		return eqOperand(x.Right, attr)
	}
	return "", false
}

// walkUsers calls fn with each live user of org that matches f and whose
// ID is greater than after, in ID order, until fn returns false. A filter
// on id or userName equality looks the one candidate up instead of
// walking the organization.
func (d *scimData) walkUsers(org, after string, f scim.Expr, fn func(u *scim.User) bool) {
	users := d.users[org]
	visit := func(id string) bool {
		u := users[id]
		if u == nil || u.Deleted || id <= after && after != "" || !scim.MatchUser(f, u) {
			return true
		}
		return fn(u)
	}
	if id, ok := eqOperand(f, scim.AttrID); ok {
		visit(id)
		return
	}
	if name, ok := eqOperand(f, scim.AttrUserName); ok {
		// Compare operands of userName are lower-cased like UserNameKey.
		if id, ok := d.userNames[org][name]; ok {
			visit(id)
		}
		return
	}
	o := d.userOrder[org]
	if o == nil {
		return
	}
	for _, id := range o.after(after) {
		if !visit(id) {
			return
		}
	}
}

// walkGroups is walkUsers for groups; members are looked up only for a
// filter on them.
func (d *scimData) walkGroups(org, after string, f scim.Expr, fn func(g *scim.Group) bool) {
	o := d.groupOrder[org]
	if o == nil {
		return
	}
	groups := d.groups[org]
	withMembers := hasMemberMatch(f)
	for _, id := range o.after(after) {
		g := groups[id]
		if g == nil {
			continue
		}
		var members []string
		if withMembers {
			for uid := range d.members[org][id] {
				members = append(members, uid)
			}
		}
		if scim.MatchGroup(f, g, members) && !fn(g) {
			return
		}
	}
}

func hasMemberMatch(e scim.Expr) bool {
	switch x := e.(type) {
	case *scim.MemberMatch:
		return true
	case *scim.And:
		return hasMemberMatch(x.Left) || hasMemberMatch(x.Right)
	case *scim.Or:
		return hasMemberMatch(x.Left) || hasMemberMatch(x.Right)
	case *scim.Not:
		return hasMemberMatch(x.X)
	}
	return false
}
