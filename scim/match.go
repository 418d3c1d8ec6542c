package scim

import (
	"strings"
	"time"
)

// MatchUser reports whether u satisfies e. Stores that evaluate filters in
// memory (memscim) use it; it follows the same rules as the SQL
// translation: case-insensitive attributes compare lower-cased values.
func MatchUser(e Expr, u *User) bool {
	if e == nil {
		return true
	}
	switch x := e.(type) {
	case *And:
		return MatchUser(x.Left, u) && MatchUser(x.Right, u)
	case *Or:
		return MatchUser(x.Left, u) || MatchUser(x.Right, u)
	case *Not:
		return !MatchUser(x.X, u)
	case *EmailMatch:
		for i := range u.Emails {
			if matchEmail(x.X, &u.Emails[i]) {
				return true
			}
		}
		return false
	case *Compare:
		switch x.Attr {
		case AttrID:
			return cmpString(x, u.ID)
		case AttrExternalID:
			return cmpString(x, u.ExternalID)
		case AttrUserName:
			return cmpString(x, strings.ToLower(u.UserName))
		case AttrDisplayName:
			return cmpString(x, strings.ToLower(u.DisplayName))
		case AttrGivenName:
			return cmpString(x, strings.ToLower(u.GivenName))
		case AttrFamilyName:
			return cmpString(x, strings.ToLower(u.FamilyName))
		case AttrActive:
			return cmpBool(x, u.Active)
		case AttrLastModified:
			return cmpTime(x, u.LastModified)
		case AttrManagerValue:
			return cmpString(x, u.Enterprise.Of().ManagerID)
		}
		if v, ok := enterpriseValue(x.Attr, u.Enterprise.Of()); ok {
			return cmpString(x, strings.ToLower(v))
		}
	}
	return false
}

// enterpriseValue returns the case-insensitive enterprise attribute a of e.
func enterpriseValue(a Attr, e *Enterprise) (string, bool) {
	switch a {
	case AttrEmployeeNumber:
		return e.EmployeeNumber, true
	case AttrCostCenter:
		return e.CostCenter, true
	case AttrOrganization:
		return e.Organization, true
	case AttrDivision:
		return e.Division, true
	case AttrDepartment:
		return e.Department, true
	}
	return "", false
}

func matchEmail(e Expr, m *Email) bool {
	switch x := e.(type) {
	case *And:
		return matchEmail(x.Left, m) && matchEmail(x.Right, m)
	case *Or:
		return matchEmail(x.Left, m) || matchEmail(x.Right, m)
	case *Not:
		return !matchEmail(x.X, m)
	case *Compare:
		switch x.Attr {
		case AttrEmailValue:
			return cmpString(x, strings.ToLower(m.Value))
		case AttrEmailType:
			return cmpString(x, strings.ToLower(m.Type))
		case AttrEmailPrimary:
			return cmpBool(x, m.Primary)
		}
	}
	return false
}

// MatchGroup reports whether g, whose member user IDs are members, satisfies
// e.
func MatchGroup(e Expr, g *Group, members []string) bool {
	if e == nil {
		return true
	}
	switch x := e.(type) {
	case *And:
		return MatchGroup(x.Left, g, members) && MatchGroup(x.Right, g, members)
	case *Or:
		return MatchGroup(x.Left, g, members) || MatchGroup(x.Right, g, members)
	case *Not:
		return !MatchGroup(x.X, g, members)
	case *MemberMatch:
		for _, m := range members {
			if matchMember(x.X, m) {
				return true
			}
		}
		return false
	case *Compare:
		switch x.Attr {
		case AttrID:
			return cmpString(x, g.ID)
		case AttrExternalID:
			return cmpString(x, g.ExternalID)
		case AttrDisplayName:
			return cmpString(x, strings.ToLower(g.DisplayName))
		case AttrLastModified:
			return cmpTime(x, g.LastModified)
		}
	}
	return false
}

func matchMember(e Expr, id string) bool {
	switch x := e.(type) {
	case *And:
		return matchMember(x.Left, id) && matchMember(x.Right, id)
	case *Or:
		return matchMember(x.Left, id) || matchMember(x.Right, id)
	case *Not:
		return !matchMember(x.X, id)
	case *Compare:
		return x.Attr == AttrMemberValue && cmpString(x, id)
	}
	return false
}

// cmpString compares a stored value (already lower-cased for
// case-insensitive attributes) with the operand. An empty stored value is
// "absent": pr is false and every other operator but ne is false.
func cmpString(c *Compare, v string) bool {
	switch c.Op {
	case OpPr:
		return v != ""
	case OpEq:
		return v != "" && v == c.Str
	case OpNe:
		return v != c.Str
	case OpCo:
		return v != "" && strings.Contains(v, c.Str)
	case OpSw:
		return v != "" && strings.HasPrefix(v, c.Str)
	case OpEw:
		return v != "" && strings.HasSuffix(v, c.Str)
	}
	return false
}

func cmpBool(c *Compare, v bool) bool {
	switch c.Op {
	case OpPr:
		return true
	case OpEq:
		return v == c.Bool
	case OpNe:
		return v != c.Bool
	}
	return false
}

// cmpTime compares at microsecond precision, the precision stores keep.
func cmpTime(c *Compare, v time.Time) bool {
	a, b := v.UnixMicro(), c.Time.UnixMicro()
	switch c.Op {
	case OpPr:
		return !v.IsZero()
	case OpEq:
		return a == b
	case OpNe:
		return a != b
	case OpGt:
		return a > b
	case OpGe:
		return a >= b
	case OpLt:
		return a < b
	case OpLe:
		return a <= b
	}
	return false
}
