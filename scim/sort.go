package scim

import (
	"fmt"
	"strings"
	"time"
)

// SortAttr names an attribute a list can be sorted by (RFC 7644
// §3.4.2.3). Users can be sorted by every one, groups by SortDisplayName,
// SortExternalID, SortCreated and SortLastModified.
type SortAttr string

// Sort attributes.
const (
	SortUserName     SortAttr = "userName"
	SortDisplayName  SortAttr = "displayName"
	SortFamilyName   SortAttr = "name.familyName"
	SortEmail        SortAttr = "emails.value" // the primary email, else the first
	SortExternalID   SortAttr = "externalId"
	SortCreated      SortAttr = "meta.created"
	SortLastModified SortAttr = "meta.lastModified"
)

// The order of a sorted list is that of its resources' sort keys: a
// resource's key is its value of the attribute — lower-cased as filters
// compare it, except externalId; times at microsecond precision — with a
// resource that has no value after every one that has (RFC 7644
// §3.4.2.3: last when ascending, first when descending), and the ID
// breaking ties. Descending is exactly the reverse of ascending.
//
// Stores encode a resource's position as a cursor string (SortCursor),
// which they return in User.Cursor and Group.Cursor and receive back as
// the "after" of a Seeker's next page. Cursors compare as positions do:
// bytewise, ascending.

// parseSort reads sortBy and sortOrder for resources of kind k.
func parseSort(by, order string, k ResourceKind) (SortAttr, bool, error) {
	desc := false
	switch strings.ToLower(strings.TrimSpace(order)) {
	case "", "ascending":
	case "descending":
		desc = true
	default:
		return "", false, invalidValue("sortOrder must be ascending or descending")
	}
	by = strings.TrimSpace(by)
	if by == "" {
		return "", false, nil
	}
	name := strings.ToLower(stripURN(by, k))
	for _, a := range []SortAttr{SortUserName, SortDisplayName, SortFamilyName, SortEmail, SortExternalID, SortCreated, SortLastModified} {
		if name == strings.ToLower(string(a)) || (a == SortEmail && name == "emails") {
			if k == KindGroup && (a == SortUserName || a == SortFamilyName || a == SortEmail) {
				break
			}
			return a, desc, nil
		}
	}
	return "", false, invalidValue("sortBy %q is not supported", by)
}

// UserSortKey returns the sort key of u for a, from its derived fields
// (see [User.Derive]).
func UserSortKey(u *User, a SortAttr) string {
	switch a {
	case SortUserName:
		return textKey(strings.ToLower(u.UserName))
	case SortDisplayName:
		return textKey(strings.ToLower(u.DisplayName))
	case SortFamilyName:
		return textKey(strings.ToLower(u.FamilyName))
	case SortEmail:
		return textKey(strings.ToLower(u.PrimaryEmail()))
	case SortExternalID:
		return textKey(u.ExternalID)
	case SortCreated:
		return TimeSortKey(u.Created)
	case SortLastModified:
		return TimeSortKey(u.LastModified)
	}
	return ""
}

// GroupSortKey returns the sort key of g for a.
func GroupSortKey(g *Group, a SortAttr) string {
	switch a {
	case SortDisplayName:
		return textKey(strings.ToLower(g.DisplayName))
	case SortExternalID:
		return textKey(g.ExternalID)
	case SortCreated:
		return TimeSortKey(g.Created)
	case SortLastModified:
		return TimeSortKey(g.LastModified)
	}
	return ""
}

// TextSortKey returns the sort key of a text value as a store holds it
// (lower-cased where the attribute is case-insensitive); "" is no value.
func TextSortKey(v string) string { return textKey(v) }

func textKey(v string) string {
	if v == "" {
		return "1"
	}
	return "0" + v
}

// TimeSortKey returns the sort key of a time, at microsecond precision.
func TimeSortKey(t time.Time) string { return fmt.Sprintf("0%020d", t.UnixMicro()) }

// SortCursor returns the cursor of the resource id with sort key key.
func SortCursor(key, id string) string { return key + "\x00" + id }

// SplitSortCursor splits a cursor into whether the resource has a value,
// the value (for times, microseconds since the epoch in decimal) and the
// ID. ok is false for a string that is not a cursor.
func SplitSortCursor(c string) (hasValue bool, value, id string, ok bool) {
	key, id, found := strings.Cut(c, "\x00")
	if !found || key == "" {
		return false, "", "", false
	}
	switch key[0] {
	case '0':
		return true, key[1:], id, true
	case '1':
		return false, "", id, len(key) == 1
	}
	return false, "", "", false
}
