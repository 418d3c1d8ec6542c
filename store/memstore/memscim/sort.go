package memscim

import (
	"slices"

	"github.com/ssokit/ssokit/scim"
)

// Sorted lists are sorted in memory by cursor (sort key and ID), which
// orders as the scim package defines.

type sortedItem[T any] struct {
	cursor string
	item   T
}

// sortedPage sorts items by cursor (descending when desc), keeps those
// after the cursor after (all when after is ""), skips skip of them and
// returns up to count, with the total of matches.
func sortedPage[T any](items []sortedItem[T], desc bool, after string, skip, count int) ([]sortedItem[T], int) {
	slices.SortFunc(items, func(a, b sortedItem[T]) int {
		if a.cursor < b.cursor {
			return -1
		} else if a.cursor > b.cursor {
			return 1
		}
		return 0
	})
	if desc {
		slices.Reverse(items)
	}
	total := len(items)
	if after != "" {
		i := 0
		for i < len(items) && ((!desc && items[i].cursor <= after) || (desc && items[i].cursor >= after)) {
			i++
		}
		items = items[i:]
	}
	items = items[min(skip, len(items)):]
	return items[:min(count, len(items))], total
}

// sortedUsers returns the page of org's live users matching q in q's sort
// order after the cursor after, and the number of matches.
func (d *scimData) sortedUsers(org, after string, q scim.Query) ([]sortedItem[*scim.User], int) {
	var items []sortedItem[*scim.User]
	d.walkUsers(org, "", q.Filter, func(u *scim.User) bool {
		items = append(items, sortedItem[*scim.User]{scim.SortCursor(scim.UserSortKey(u, q.Sort), u.ID), u})
		return true
	})
	return sortedPage(items, q.Descending, after, max(q.StartIndex, 1)-1, q.Count)
}

// sortedGroups is sortedUsers for groups.
func (d *scimData) sortedGroups(org, after string, q scim.Query) ([]sortedItem[*scim.Group], int) {
	var items []sortedItem[*scim.Group]
	d.walkGroups(org, "", q.Filter, func(g *scim.Group) bool {
		items = append(items, sortedItem[*scim.Group]{scim.SortCursor(scim.GroupSortKey(g, q.Sort), g.ID), g})
		return true
	})
	return sortedPage(items, q.Descending, after, max(q.StartIndex, 1)-1, q.Count)
}
