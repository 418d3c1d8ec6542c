package scim

import (
	"slices"
	"strings"
)

// Schema extensions of a User (RFC 7643 §3.3): the enterprise extension
// is validated against its schema and its attributes can be filtered on;
// any other extension a client sends ("customer-defined", such as Entra's
// urn:ietf:params:scim:schemas:extension:<name>:2.0:User) is kept as the
// JSON object it sent, returned as is and changed by PATCH, but not
// filtered on.

// Limits on customer-defined extensions.
const (
	maxCustomExtensions = 16
	maxURNLength        = 256
)

// Enterprise holds the attributes of the enterprise User extension
// (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User) that a
// filter may name. [User.Derive] sets it from User.Attributes.
type Enterprise struct {
	EmployeeNumber string
	CostCenter     string
	Organization   string
	Division       string
	Department     string
	// ManagerID is manager.value, the manager's SCIM ID.
	ManagerID string
}

// Of returns e, or the empty Enterprise when e is nil.
func (e *Enterprise) Of() *Enterprise {
	if e == nil {
		return &noEnterprise
	}
	return e
}

// noEnterprise is the attributes of a user without the extension; it is
// never written.
var noEnterprise Enterprise

// deriveEnterprise reads the enterprise extension of a user's attributes
// (nil when there is none).
func deriveEnterprise(a map[string]any) *Enterprise {
	m, _ := a[enterpriseSchema].(map[string]any)
	if m == nil {
		return nil
	}
	e := &Enterprise{}
	e.EmployeeNumber, _ = m["employeeNumber"].(string)
	e.CostCenter, _ = m["costCenter"].(string)
	e.Organization, _ = m["organization"].(string)
	e.Division, _ = m["division"].(string)
	e.Department, _ = m["department"].(string)
	if mg, ok := m["manager"].(map[string]any); ok {
		e.ManagerID, _ = mg["value"].(string)
	}
	return e
}

// isCustomURN reports whether k names a customer-defined extension: a
// URN that is not one of the schemas this package knows, nor an attribute
// of one of them.
func isCustomURN(k string) bool {
	if len(k) < 5 || !strings.EqualFold(k[:4], "urn:") {
		return false
	}
	for _, known := range []string{userSchema, enterpriseSchema, groupSchema} {
		if strings.EqualFold(k, known) || (len(k) > len(known) && k[len(known)] == ':' && strings.EqualFold(k[:len(known)], known)) {
			return false
		}
	}
	return true
}

// validURN checks the characters and length of an extension URN.
func validURN(k string) error {
	if len(k) > maxURNLength {
		return invalidValue("extension schema name longer than %d bytes", maxURNLength)
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !isNameChar(c) && c != ':' && c != '.' {
			return invalidValue("extension schema name %q has a character outside [A-Za-z0-9:._$-]", k)
		}
	}
	return nil
}

// putCustom stores the customer-defined extension k (an object, kept as
// sent) in out.
func putCustom(out map[string]any, k string, v any) error {
	if v == nil {
		return nil
	}
	if err := validURN(k); err != nil {
		return err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return invalidValue("%s must be an object", k)
	}
	if len(m) == 0 {
		return nil
	}
	n := 0
	for key := range out {
		if isCustomURN(key) {
			n++
		}
	}
	if n >= maxCustomExtensions {
		return invalidValue("more than %d extension schemas", maxCustomExtensions)
	}
	out[k] = m
	return nil
}

// putSchemas sets out["schemas"] to the user schema and the extensions the
// resource has: the enterprise one when declared or present, and every
// customer-defined one present, in order. A resource without extensions
// keeps no schemas member.
func putSchemas(out map[string]any, declaredEnterprise bool) {
	var custom []string
	for k := range out {
		if isCustomURN(k) {
			custom = append(custom, k)
		}
	}
	_, hasEnterprise := out[enterpriseSchema]
	if !declaredEnterprise && !hasEnterprise && len(custom) == 0 {
		delete(out, "schemas")
		return
	}
	slices.Sort(custom)
	list := []any{userSchema}
	if declaredEnterprise || hasEnterprise {
		list = append(list, enterpriseSchema)
	}
	for _, k := range custom {
		list = append(list, k)
	}
	out["schemas"] = list
}

// customKey returns the key under which doc holds the extension named
// (case-insensitively) urn, or "".
func customKey(doc map[string]any, urn string) string {
	for k := range doc {
		if strings.EqualFold(k, urn) && isCustomURN(k) {
			return k
		}
	}
	return ""
}

// splitCustomPath splits a PATCH path into a customer-defined extension
// and an attribute of it ("" for the whole extension). A path naming an
// extension the user has, or ending in ":User" as extension schema names
// do, is the whole extension; otherwise the attribute is the part after
// the last colon (attribute names hold no colon, RFC 7643 §2.1).
func splitCustomPath(doc map[string]any, path string) (urn, attr string, err error) {
	if strings.ContainsAny(path, "[]") {
		return "", "", invalidPath("value filters are not supported in extension %q", path)
	}
	if k := customKey(doc, path); k != "" {
		return k, "", nil
	}
	i := strings.LastIndexByte(path, ':')
	prefix, last := path[:i], path[i+1:]
	if strings.EqualFold(last, "User") || !isCustomURN(prefix) {
		return path, "", validURN(path)
	}
	if last == "" {
		return "", "", invalidPath("bad path %q", path)
	}
	if k := customKey(doc, prefix); k != "" {
		prefix = k
	}
	return prefix, last, validURN(prefix)
}

// applyCustom applies one PATCH operation to a customer-defined extension.
// add and replace merge an object into the extension or set one attribute
// ("attr" or "attr.sub"); remove deletes what the path names.
func applyCustom(doc map[string]any, op, path string, v any) error {
	urn, attr, err := splitCustomPath(doc, path)
	if err != nil {
		return err
	}
	ext, _ := doc[urn].(map[string]any)
	if attr == "" {
		if op == "remove" || v == nil {
			delete(doc, urn)
			return nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return invalidValue("%s must be an object", urn)
		}
		if ext == nil {
			ext = map[string]any{}
		}
		for k, x := range m {
			setOrDelete(ext, k, x)
		}
	} else {
		if ext == nil {
			if op == "remove" {
				return nil
			}
			ext = map[string]any{}
		}
		name, sub, _ := strings.Cut(attr, ".")
		if op == "remove" {
			v = nil
		}
		if sub == "" {
			setOrDelete(ext, name, v)
		} else {
			inner, _ := ext[name].(map[string]any)
			if inner == nil {
				inner = map[string]any{}
			}
			setOrDelete(inner, sub, v)
			setOrDelete(ext, name, nonEmpty(inner))
		}
	}
	setOrDelete(doc, urn, nonEmpty(ext))
	return nil
}

// nonEmpty returns m, or nil when it has no members.
func nonEmpty(m map[string]any) any {
	if len(m) == 0 {
		return nil
	}
	return m
}
