package scim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elimity-com/scim/schema"
	"github.com/ssokit/ssokit/internal/normalize"
)

// Schema URNs.
const (
	userSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupSchema      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	enterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	errorSchema      = "urn:ietf:params:scim:api:messages:2.0:Error"
	listSchema       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	patchSchema      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	searchSchema     = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
)

// Limits on resource content.
const (
	maxMultiValues = 100
	maxStringLen   = normalize.MaxFieldLength
)

var (
	coreUser   = schema.CoreUserSchema()
	enterprise = schema.ExtensionEnterpriseUser()
	coreGroup  = schema.CoreGroupSchema()
)

// badRequest is a client error with a SCIM scimType.
type badRequest struct {
	scimType string
	detail   string
}

func (e *badRequest) Error() string { return "scim: " + e.detail }

func invalidValue(format string, a ...any) error {
	return &badRequest{scimType: "invalidValue", detail: fmt.Sprintf(format, a...)}
}

func findAttr(attrs schema.Attributes, name string) (schema.CoreAttribute, bool) {
	return attrs.ContainsAttribute(name)
}

// normalizeUser validates a User resource body and returns its attributes
// in canonical form: canonical attribute names, booleans as bool (also from
// the strings "True"/"False"), single objects for multi-valued attributes
// wrapped in arrays, the enterprise manager as an object, and read-only or
// write-only attributes (id, meta, groups, password) dropped. Unknown
// attributes are an error.
func normalizeUser(in map[string]any) (map[string]any, error) {
	out := map[string]any{}
	declaredEnterprise := false
	for k, v := range in {
		switch {
		case strings.EqualFold(k, "schemas"):
			if err := checkSchemas(v, userSchema); err != nil {
				return nil, err
			}
			// Remember whether the client declared the enterprise
			// extension (Entra does, even without extension attributes).
			for _, x := range v.([]any) {
				if strings.EqualFold(x.(string), enterpriseSchema) {
					declaredEnterprise = true
				}
			}
			continue
		case strings.EqualFold(k, "id"), strings.EqualFold(k, "meta"), strings.EqualFold(k, "groups"), strings.EqualFold(k, "password"):
			continue
		case strings.EqualFold(k, "externalId"):
			if err := putExternalID(out, v); err != nil {
				return nil, err
			}
			continue
		case strings.EqualFold(k, enterpriseSchema):
			if v == nil {
				continue
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, invalidValue("%s must be an object", enterpriseSchema)
			}
			ext := map[string]any{}
			for ek, ev := range m {
				a, ok := findAttr(enterprise.Attributes, ek)
				if !ok {
					return nil, invalidSyntax("unknown attribute %q", enterpriseSchema+":"+ek)
				}
				if a.Name() == "manager" {
					if s, ok := ev.(string); ok {
						ev = map[string]any{"value": s}
					}
				}
				if err := putValue(ext, a, ev); err != nil {
					return nil, err
				}
			}
			if len(ext) > 0 {
				out[enterpriseSchema] = ext
			}
			continue
		case isCustomURN(k):
			if err := putCustom(out, k, v); err != nil {
				return nil, err
			}
			continue
		}
		a, err := coreAttr(coreUser.Attributes, userSchema, k)
		if err != nil {
			return nil, err
		}
		switch a.Name() {
		case "groups", "password":
			continue
		}
		if err := putValue(out, a, v); err != nil {
			return nil, err
		}
	}
	un, _ := out["userName"].(string)
	if strings.TrimSpace(un) == "" {
		return nil, invalidValue("userName is required")
	}
	putSchemas(out, declaredEnterprise)
	if err := checkUserSize(out); err != nil {
		return nil, err
	}
	return out, nil
}

// MaxUserBytes bounds a user's stored attributes, as JSON. A request body
// is bounded too (Config.MaxBodyBytes), but PATCH adds to what is stored,
// and extensions are kept as sent: without this bound, requests within
// the body limit could grow one user's record without end.
const MaxUserBytes = 256 << 10

// checkUserSize refuses attributes whose JSON exceeds MaxUserBytes.
func checkUserSize(attrs map[string]any) error {
	b, err := json.Marshal(attrs)
	if err != nil {
		return invalidValue("the user's attributes cannot be stored: %v", err)
	}
	if len(b) > MaxUserBytes {
		return invalidValue("the user's attributes would take %d bytes, more than the %d allowed: send fewer or shorter values", len(b), MaxUserBytes)
	}
	return nil
}

// normalizeGroup validates a Group body (without members, which the caller
// takes apart) the same way.
func normalizeGroup(in map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range in {
		switch {
		case strings.EqualFold(k, "schemas"):
			if err := checkSchemas(v, groupSchema); err != nil {
				return nil, err
			}
			continue
		case strings.EqualFold(k, "id"), strings.EqualFold(k, "meta"), strings.EqualFold(k, "members"):
			continue
		case strings.EqualFold(k, "externalId"):
			if err := putExternalID(out, v); err != nil {
				return nil, err
			}
			continue
		}
		a, err := coreAttr(coreGroup.Attributes, groupSchema, k)
		if err != nil {
			return nil, err
		}
		if err := putValue(out, a, v); err != nil {
			return nil, err
		}
	}
	dn, _ := out["displayName"].(string)
	if strings.TrimSpace(dn) == "" {
		return nil, invalidValue("displayName is required")
	}
	return out, nil
}

// coreAttr finds the attribute k of a resource's core schema, either by its
// short name or by its name in full (schemaURN + ":" + name).
func coreAttr(attrs schema.Attributes, schemaURN, k string) (schema.CoreAttribute, error) {
	if strings.HasPrefix(strings.ToLower(k), strings.ToLower(schemaURN)+":") {
		k = k[len(schemaURN)+1:]
	}
	a, ok := findAttr(attrs, k)
	if !ok {
		return schema.CoreAttribute{}, invalidSyntax("unknown attribute %q", k)
	}
	return a, nil
}

// putValue normalizes v for attribute a and stores it in out under the
// attribute's name, unless it normalizes to nothing.
func putValue(out map[string]any, a schema.CoreAttribute, v any) error {
	nv, err := normalizeValue(a, v)
	if err != nil {
		return err
	}
	if nv != nil {
		out[a.Name()] = nv
	}
	return nil
}

// putExternalID stores a non-empty externalId in out.
func putExternalID(out map[string]any, v any) error {
	s, err := stringValue("externalId", v)
	if err != nil {
		return err
	}
	if s != "" {
		out["externalId"] = s
	}
	return nil
}

func invalidSyntax(format string, a ...any) error {
	return &badRequest{scimType: "invalidSyntax", detail: fmt.Sprintf(format, a...)}
}

// checkSchemas accepts a list of schema URNs that names want. Other URNs
// (Entra adds its own to groups) are tolerated.
func checkSchemas(v any, want string) error {
	list, ok := v.([]any)
	if !ok {
		return invalidSyntax("schemas must be an array of strings")
	}
	found := false
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return invalidSyntax("schemas must be an array of strings")
		}
		if strings.EqualFold(s, want) {
			found = true
		}
	}
	if !found {
		return invalidSyntax("schemas must contain %s", want)
	}
	return nil
}

func stringValue(name string, v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		if len(x) > maxStringLen || !utf8.ValidString(x) {
			return "", invalidValue("%s is too long or not UTF-8", name)
		}
		return x, nil
	}
	return "", invalidValue("%s must be a string", name)
}

// normalizeValue checks v against attribute a and returns it in canonical
// form; nil means "unset".
func normalizeValue(a schema.CoreAttribute, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if a.Mutability() == "readOnly" {
		return nil, nil
	}
	if a.MultiValued() {
		list, ok := v.([]any)
		if !ok {
			list = []any{v}
		}
		if len(list) > maxMultiValues {
			return nil, invalidValue("%s has more than %d values", a.Name(), maxMultiValues)
		}
		out := make([]any, 0, len(list))
		for _, x := range list {
			nx, err := normalizeSingle(a, x)
			if err != nil {
				return nil, err
			}
			if nx != nil {
				out = append(out, nx)
			}
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	}
	return normalizeSingle(a, v)
}

func normalizeSingle(a schema.CoreAttribute, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch a.AttributeType() {
	case "complex":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, invalidValue("%s must be an object", a.Name())
		}
		out := map[string]any{}
		for k, sv := range m {
			sa, ok := findAttr(a.SubAttributes(), k)
			if !ok {
				return nil, invalidSyntax("unknown attribute %q", a.Name()+"."+k)
			}
			nv, err := normalizeSingle(sa, sv)
			if err != nil {
				return nil, err
			}
			if nv != nil {
				out[sa.Name()] = nv
			}
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	case "boolean":
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(x) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		return nil, invalidValue("%s must be a boolean", a.Name())
	case "integer", "decimal":
		switch x := v.(type) {
		case json.Number:
			return x, nil
		case string:
			if _, err := json.Number(x).Float64(); err == nil {
				return json.Number(x), nil
			}
		}
		return nil, invalidValue("%s must be a number", a.Name())
	case "dateTime":
		s, ok := v.(string)
		if !ok {
			return nil, invalidValue("%s must be a date-time string", a.Name())
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return nil, invalidValue("%s must be an RFC 3339 date-time", a.Name())
		}
		return s, nil
	default:
		s, err := stringValue(a.Name(), v)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// Derive sets the query fields of u (UserName, ExternalID, Active,
// DisplayName, GivenName, FamilyName, Emails, Enterprise) from
// u.Attributes. A missing
// "active" counts as true.
func (u *User) Derive() {
	a := u.Attributes
	u.UserName, _ = a["userName"].(string)
	u.ExternalID, _ = a["externalId"].(string)
	u.Active = true
	if b, ok := a["active"].(bool); ok {
		u.Active = b
	}
	u.DisplayName, _ = a["displayName"].(string)
	u.GivenName, u.FamilyName = "", ""
	if n, ok := a["name"].(map[string]any); ok {
		u.GivenName, _ = n["givenName"].(string)
		u.FamilyName, _ = n["familyName"].(string)
	}
	u.Enterprise = deriveEnterprise(a)
	u.Emails = nil
	if list, ok := a["emails"].([]any); ok {
		for _, x := range list {
			m, ok := x.(map[string]any)
			if !ok {
				continue
			}
			var e Email
			e.Value, _ = m["value"].(string)
			e.Type, _ = m["type"].(string)
			e.Primary, _ = m["primary"].(bool)
			if e.Value != "" {
				u.Emails = append(u.Emails, e)
			}
		}
	}
}

// PrimaryEmail returns the primary email, else the first one, else "".
func (u *User) PrimaryEmail() string {
	for _, e := range u.Emails {
		if e.Primary {
			return e.Value
		}
	}
	if len(u.Emails) > 0 {
		return u.Emails[0].Value
	}
	return ""
}

// DecodeAttributes decodes a stored Attributes document (JSON) keeping
// numbers as json.Number, as the handler produces them.
func DecodeAttributes(b []byte) (map[string]any, error) {
	m := map[string]any{}
	if len(b) == 0 {
		return m, nil
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("scim: decode attributes: %w", err)
	}
	return m, nil
}

// CloneAttributes returns a deep copy of a JSON-like document.
func CloneAttributes(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return cloneValue(m).(map[string]any)
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(x))
		for k, v := range x {
			c[k] = cloneValue(v)
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, v := range x {
			c[i] = cloneValue(v)
		}
		return c
	}
	return v
}

// CloneUser returns a deep copy of u.
func CloneUser(u *User) *User {
	c := *u
	c.Attributes = CloneAttributes(u.Attributes)
	c.Emails = append([]Email(nil), u.Emails...)
	return &c
}
