package scim

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strings"

	"github.com/elimity-com/scim/schema"
)

// patchOp is one PATCH operation as sent.
type patchOp struct {
	Op    string
	Path  string
	Value any
	// HasValue distinguishes "value": null from an absent value.
	HasValue bool
}

func noTarget(format string, a ...any) error {
	return &badRequest{scimType: "noTarget", detail: fmt.Sprintf(format, a...)}
}

func invalidPath(format string, a ...any) error {
	return &badRequest{scimType: "invalidPath", detail: fmt.Sprintf(format, a...)}
}

func mutability(format string, a ...any) error {
	return &badRequest{scimType: "mutability", detail: fmt.Sprintf(format, a...)}
}

// parsePatchBody decodes a PatchOp message. Operation names are matched
// case-insensitively ("Replace", "Add"), as Entra sends them.
func parsePatchBody(body map[string]any, maxOps int) ([]patchOp, error) {
	if s, ok := body["schemas"]; ok {
		if err := checkSchemas(s, patchSchema); err != nil {
			return nil, err
		}
	}
	var raw any
	for k, v := range body {
		if strings.EqualFold(k, "Operations") {
			raw = v
		} else if !strings.EqualFold(k, "schemas") {
			return nil, invalidSyntax("unknown attribute %q in PatchOp", k)
		}
	}
	list, ok := raw.([]any)
	if !ok || len(list) == 0 {
		return nil, invalidSyntax("Operations must be a non-empty array")
	}
	if len(list) > maxOps {
		return nil, &badRequest{scimType: "tooMany", detail: fmt.Sprintf("more than %d operations", maxOps)}
	}
	ops := make([]patchOp, 0, len(list))
	for _, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, invalidSyntax("each operation must be an object")
		}
		var op patchOp
		for k, v := range m {
			switch strings.ToLower(k) {
			case "op":
				s, _ := v.(string)
				op.Op = strings.ToLower(s)
			case "path":
				s, ok := v.(string)
				if !ok && v != nil {
					return nil, invalidPath("path must be a string")
				}
				op.Path = strings.TrimSpace(s)
			case "value":
				op.Value, op.HasValue = v, true
			default:
				return nil, invalidSyntax("unknown attribute %q in operation", k)
			}
		}
		switch op.Op {
		case "add", "replace":
			if !op.HasValue {
				return nil, invalidValue("%s needs a value", op.Op)
			}
		case "remove":
			if op.Path == "" {
				return nil, noTarget("remove needs a path")
			}
		default:
			return nil, invalidSyntax("unknown op %q", op.Op)
		}
		if len(op.Path) > MaxFilterLength {
			return nil, invalidPath("path too long")
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// userPath is a parsed PATCH path on a User.
type userPath struct {
	ext    bool // inside the enterprise extension
	attr   schema.CoreAttribute
	name   string // canonical attribute name ("externalId" has no schema attr)
	filter Expr
	sub    string // canonical sub-attribute name
}

func splitURN(path string) (rest string, ext bool) {
	lp := strings.ToLower(path)
	switch {
	case strings.HasPrefix(lp, strings.ToLower(enterpriseSchema)+":"):
		return path[len(enterpriseSchema)+1:], true
	case lp == strings.ToLower(enterpriseSchema):
		return "", true
	case strings.HasPrefix(lp, strings.ToLower(userSchema)+":"):
		return path[len(userSchema)+1:], false
	case strings.HasPrefix(lp, strings.ToLower(groupSchema)+":"):
		return path[len(groupSchema)+1:], false
	}
	return path, false
}

// splitPath splits "attr[filter].sub" or "attr.sub" into its parts.
func splitPath(p string) (attr, filter, sub string, err error) {
	if i := strings.IndexByte(p, '['); i >= 0 {
		j := strings.LastIndexByte(p, ']')
		if j < i {
			return "", "", "", invalidPath("unbalanced [ in path")
		}
		attr, filter = p[:i], p[i+1:j]
		rest := p[j+1:]
		if rest != "" {
			if rest[0] != '.' || len(rest) == 1 {
				return "", "", "", invalidPath("bad path %q", p)
			}
			sub = rest[1:]
		}
		if strings.TrimSpace(filter) == "" {
			return "", "", "", invalidPath("empty value filter")
		}
		return attr, filter, sub, nil
	}
	attr, sub, _ = strings.Cut(p, ".")
	return attr, "", sub, nil
}

func parseUserPath(p string) (*userPath, error) {
	rest, ext := splitURN(p)
	if ext && rest == "" {
		return &userPath{ext: true}, nil
	}
	attr, filt, sub, err := splitPath(rest)
	if err != nil {
		return nil, err
	}
	up := &userPath{ext: ext}
	switch {
	case !ext && strings.EqualFold(attr, "externalId"):
		up.name = "externalId"
	case !ext && (strings.EqualFold(attr, "id") || strings.EqualFold(attr, "meta") || strings.EqualFold(attr, "schemas") || strings.EqualFold(attr, "groups")):
		return nil, mutability("%s cannot be modified", attr)
	default:
		attrs := coreUser.Attributes
		if ext {
			attrs = enterprise.Attributes
		}
		a, ok := findAttr(attrs, attr)
		if !ok {
			return nil, invalidPath("unknown attribute %q", attr)
		}
		if a.Mutability() == "readOnly" {
			return nil, mutability("%s cannot be modified", a.Name())
		}
		up.attr, up.name = a, a.Name()
	}
	if filt != "" {
		if up.attr.Name() == "" || !up.attr.MultiValued() {
			return nil, invalidPath("value filter on a single-valued attribute")
		}
		e, err := ParseFilter(filt, kindValue)
		if err != nil {
			return nil, invalidPath("bad value filter: %v", err)
		}
		up.filter = e
	}
	if sub != "" {
		if up.attr.Name() == "" || !up.attr.HasSubAttributes() {
			return nil, invalidPath("%s has no sub-attributes", up.name)
		}
		sa, ok := findAttr(up.attr.SubAttributes(), sub)
		if !ok {
			return nil, invalidPath("unknown attribute %q", up.name+"."+sub)
		}
		up.sub = sa.Name()
	}
	return up, nil
}

// applyUserPatch applies ops to a copy of doc (canonical attributes) and
// returns the result, not yet normalized.
func applyUserPatch(doc map[string]any, ops []patchOp) (map[string]any, error) {
	doc = CloneAttributes(doc)
	for _, op := range ops {
		if op.Path == "" {
			m, ok := op.Value.(map[string]any)
			if !ok {
				return nil, invalidValue("%s without a path needs an object value", op.Op)
			}
			if err := applyValueMap(doc, op.Op, m); err != nil {
				return nil, err
			}
			continue
		}
		if isCustomURN(op.Path) {
			if err := applyCustom(doc, op.Op, op.Path, op.Value); err != nil {
				return nil, err
			}
			continue
		}
		up, err := parseUserPath(op.Path)
		if err != nil {
			return nil, err
		}
		if err := applyAt(doc, op.Op, up, op.Value); err != nil {
			return nil, err
		}
	}
	return doc, nil
}

// applyValueMap applies a path-less add/replace: each key is a path
// (possibly dotted or URN-qualified), and the enterprise URN key may hold an
// object of extension attributes.
func applyValueMap(doc map[string]any, op string, m map[string]any) error {
	for k, v := range m {
		if strings.EqualFold(k, enterpriseSchema) {
			em, ok := v.(map[string]any)
			if !ok {
				if v == nil {
					delete(doc, enterpriseSchema)
					continue
				}
				return invalidValue("%s must be an object", enterpriseSchema)
			}
			for ek, ev := range em {
				up, err := parseUserPath(enterpriseSchema + ":" + ek)
				if err != nil {
					return err
				}
				if err := applyAt(doc, op, up, ev); err != nil {
					return err
				}
			}
			continue
		}
		if strings.EqualFold(k, "schemas") {
			continue
		}
		if strings.EqualFold(k, "id") {
			// Okta repeats the id in path-less replaces; the same id is a
			// no-op and anything else cannot change.
			continue
		}
		if isCustomURN(k) {
			if err := applyCustom(doc, op, k, v); err != nil {
				return err
			}
			continue
		}
		up, err := parseUserPath(k)
		if err != nil {
			return err
		}
		if err := applyAt(doc, op, up, v); err != nil {
			return err
		}
	}
	return nil
}

func container(doc map[string]any, ext bool, create bool) map[string]any {
	if !ext {
		return doc
	}
	c, _ := doc[enterpriseSchema].(map[string]any)
	if c == nil && create {
		c = map[string]any{}
		doc[enterpriseSchema] = c
	}
	return c
}

func applyAt(doc map[string]any, op string, up *userPath, v any) error {
	if up.name == "" { // the whole enterprise extension
		switch op {
		case "remove":
			delete(doc, enterpriseSchema)
		default:
			m, ok := v.(map[string]any)
			if !ok {
				return invalidValue("%s must be an object", enterpriseSchema)
			}
			return applyValueMap(doc, op, map[string]any{enterpriseSchema: m})
		}
		return nil
	}
	c := container(doc, up.ext, op != "remove")
	if c == nil {
		return nil
	}
	if up.ext && up.name == "manager" {
		if s, ok := v.(string); ok && up.sub == "" {
			v = map[string]any{"value": s}
		}
	}
	if up.name == "externalId" || !up.attr.MultiValued() {
		return applySingle(c, op, up, v)
	}
	return applyMulti(c, op, up, v)
}

func applySingle(c map[string]any, op string, up *userPath, v any) error {
	if op == "remove" {
		if up.sub != "" {
			if m, ok := c[up.name].(map[string]any); ok {
				delete(m, up.sub)
				if len(m) == 0 {
					delete(c, up.name)
				}
			}
			return nil
		}
		delete(c, up.name)
		return nil
	}
	if up.sub != "" {
		m, _ := c[up.name].(map[string]any)
		if m == nil {
			m = map[string]any{}
			c[up.name] = m
		}
		setOrDelete(m, up.sub, v)
		return nil
	}
	if up.name != "externalId" && up.attr.AttributeType() == "complex" {
		// add and replace of a complex attribute merge sub-attributes
		// (RFC 7644 §3.5.2.1 and §3.5.2.3).
		vm, ok := v.(map[string]any)
		if !ok {
			if v == nil {
				delete(c, up.name)
				return nil
			}
			return invalidValue("%s must be an object", up.name)
		}
		m, _ := c[up.name].(map[string]any)
		if m == nil {
			m = map[string]any{}
			c[up.name] = m
		}
		for k, x := range vm {
			sa, ok := findAttr(up.attr.SubAttributes(), k)
			if !ok {
				return invalidSyntax("unknown attribute %q", up.name+"."+k)
			}
			setOrDelete(m, sa.Name(), x)
		}
		return nil
	}
	setOrDelete(c, up.name, v)
	return nil
}

func setOrDelete(m map[string]any, k string, v any) {
	if v == nil {
		delete(m, k)
		return
	}
	m[k] = v
}

func applyMulti(c map[string]any, op string, up *userPath, v any) error {
	list, _ := c[up.name].([]any)
	if up.filter == nil {
		return applyMultiAll(c, list, op, up, v)
	}
	var matched []int
	for i, x := range list {
		if m, ok := x.(map[string]any); ok && matchElement(up.filter, m) {
			matched = append(matched, i)
		}
	}
	if op == "remove" {
		removeMatched(c, list, up, matched)
		return nil
	}
	if len(matched) == 0 {
		// Entra adds or replaces emails[type eq "work"].value for users
		// that have no work email yet: create the element the filter
		// describes.
		seed, ok := eqSeed(up.filter)
		if !ok {
			return noTarget("no value matches the filter of %s", up.name)
		}
		list = append(list, seed)
		c[up.name] = list
		matched = []int{len(list) - 1}
	}
	for _, i := range matched {
		m := list[i].(map[string]any)
		if up.sub != "" {
			setOrDelete(m, up.sub, v)
			continue
		}
		vm, ok := v.(map[string]any)
		if !ok {
			return invalidValue("value for %s[...] must be an object", up.name)
		}
		for k, x := range vm {
			sa, ok := findAttr(up.attr.SubAttributes(), k)
			if !ok {
				return invalidSyntax("unknown attribute %q", up.name+"."+k)
			}
			setOrDelete(m, sa.Name(), x)
		}
	}
	return nil
}

// applyMultiAll applies op to the multi-valued attribute as a whole (no
// value filter): to one sub-attribute of every value when up names one.
func applyMultiAll(c map[string]any, list []any, op string, up *userPath, v any) error {
	switch op {
	case "remove", "replace":
		if up.sub == "" {
			if op == "remove" {
				delete(c, up.name)
			} else {
				setOrDelete(c, up.name, v)
			}
			return nil
		}
		for _, x := range list {
			if m, ok := x.(map[string]any); ok {
				if op == "remove" {
					delete(m, up.sub)
				} else {
					setOrDelete(m, up.sub, v)
				}
			}
		}
		return nil
	default: // add
		if up.sub != "" {
			return invalidPath("add to %s.%s needs a value filter", up.name, up.sub)
		}
		vals, ok := v.([]any)
		if !ok {
			vals = []any{v}
		}
		for _, nv := range vals {
			if !mergeValue(list, nv) {
				list = append(list, nv)
			}
		}
		onePrimary(list)
		c[up.name] = list
		return nil
	}
}

// mergeValue is true when list already holds nv: the same value, or the
// same value of the same type (e.g. an email added again with "primary"),
// which it updates with nv's sub-attributes. RFC 7644 §3.5.2.1 adds no
// second copy.
func mergeValue(list []any, nv any) bool {
	for _, x := range list {
		if reflect.DeepEqual(x, nv) {
			return true
		}
		if xm, nm, ok := sameValue(x, nv); ok {
			maps.Copy(xm, nm)
			return true
		}
	}
	return false
}

// removeMatched removes the values at matched (or only their sub-attribute
// when up names one), and the attribute when no value is left.
func removeMatched(c map[string]any, list []any, up *userPath, matched []int) {
	if up.sub != "" {
		for _, i := range matched {
			delete(list[i].(map[string]any), up.sub)
		}
		return
	}
	out := list[:0:0]
	for i, x := range list {
		if !contains(matched, i) {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		delete(c, up.name)
	} else {
		c[up.name] = out
	}
}

func contains(xs []int, i int) bool {
	for _, x := range xs {
		if x == i {
			return true
		}
	}
	return false
}

// eqSeed returns the element described by a filter made only of "eq"
// comparisons joined by "and".
func eqSeed(e Expr) (map[string]any, bool) {
	m := map[string]any{}
	var walk func(Expr) bool
	walk = func(e Expr) bool {
		switch x := e.(type) {
		case *And:
			return walk(x.Left) && walk(x.Right)
		case *Compare:
			if x.Op != OpEq {
				return false
			}
			m[string(x.Attr)] = x.Str
			return true
		}
		return false
	}
	if !walk(e) {
		return nil, false
	}
	// Restore canonical sub-attribute names and booleans.
	out := map[string]any{}
	for k, v := range m {
		switch k {
		case "primary":
			out[k] = v == "true"
		default:
			out[k] = v
		}
	}
	return out, true
}

// matchElement evaluates a value-path filter on one element of a
// multi-valued attribute, comparing text case-insensitively.
func matchElement(e Expr, m map[string]any) bool {
	switch x := e.(type) {
	case *And:
		return matchElement(x.Left, m) && matchElement(x.Right, m)
	case *Or:
		return matchElement(x.Left, m) || matchElement(x.Right, m)
	case *Not:
		return !matchElement(x.X, m)
	case *Compare:
		var v string
		found := false
		for k, val := range m {
			if strings.EqualFold(k, string(x.Attr)) && val != nil {
				v, found = strings.ToLower(textOf(val)), true
				break
			}
		}
		if x.Op == OpPr {
			return found
		}
		if !found {
			return x.Op == OpNe
		}
		return cmpString(x, v)
	}
	return false
}

func textOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(v)
}

// applyGroupPatch applies ops to a group's attributes (displayName,
// externalId) and turns member changes into MemberOps, in order.
func applyGroupPatch(doc map[string]any, ops []patchOp, maxMembers int) (map[string]any, []MemberOp, error) {
	doc = CloneAttributes(doc)
	var mops []MemberOp
	total := 0
	addMembers := func(kind MemberOpKind, v any) error {
		ids, err := memberIDs(v)
		if err != nil {
			return err
		}
		total += len(ids)
		if total > maxMembers {
			return &badRequest{scimType: "tooMany", detail: fmt.Sprintf("more than %d members in one request", maxMembers)}
		}
		mops = append(mops, MemberOp{Kind: kind, UserIDs: ids})
		return nil
	}
	var apply func(op, path string, v any, hasValue bool) error
	apply = func(op, path string, v any, hasValue bool) error {
		if path == "" {
			m, ok := v.(map[string]any)
			if !ok {
				return invalidValue("%s without a path needs an object value", op)
			}
			for k, x := range m {
				if strings.EqualFold(k, "schemas") || strings.EqualFold(k, "id") {
					continue
				}
				if err := apply(op, k, x, true); err != nil {
					return err
				}
			}
			return nil
		}
		rest, ext := splitURN(path)
		if ext {
			return invalidPath("unknown attribute %q", path)
		}
		attr, filt, sub, err := splitPath(rest)
		if err != nil {
			return err
		}
		switch {
		case strings.EqualFold(attr, "members"):
			if sub != "" && !strings.EqualFold(sub, "value") {
				return invalidPath("unsupported path %q", path)
			}
			if filt != "" {
				if op != "remove" {
					return invalidPath("only remove may use a members value filter")
				}
				e, err := parseMemberFilter(filt)
				if err != nil {
					return invalidPath("bad value filter: %v", err)
				}
				ids, ok := memberFilterIDs(e)
				if !ok {
					return invalidPath("members filter must be value eq \"id\" (or an or-list of them)")
				}
				mops = append(mops, MemberOp{Kind: MembersRemove, UserIDs: ids})
				return nil
			}
			switch op {
			case "add":
				return addMembers(MembersAdd, v)
			case "replace":
				return addMembers(MembersReplace, v)
			default:
				if hasValue && v != nil {
					return addMembers(MembersRemove, v)
				}
				mops = append(mops, MemberOp{Kind: MembersRemoveAll})
				return nil
			}
		case strings.EqualFold(attr, "displayName") && filt == "" && sub == "":
			if op == "remove" {
				return invalidValue("displayName is required")
			}
			doc["displayName"] = v
			return nil
		case strings.EqualFold(attr, "externalId") && filt == "" && sub == "":
			if op == "remove" {
				delete(doc, "externalId")
				return nil
			}
			doc["externalId"] = v
			return nil
		case strings.EqualFold(attr, "id") || strings.EqualFold(attr, "meta") || strings.EqualFold(attr, "schemas"):
			return mutability("%s cannot be modified", attr)
		}
		return invalidPath("unknown attribute %q", path)
	}
	for _, op := range ops {
		if err := apply(op.Op, op.Path, op.Value, op.HasValue); err != nil {
			return nil, nil, err
		}
	}
	return doc, mops, nil
}

// memberIDs reads a members value: an array of {"value": id} objects (or a
// single one, or bare strings).
func memberIDs(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		if v == nil {
			return nil, nil
		}
		list = []any{v}
	}
	ids := make([]string, 0, len(list))
	for _, x := range list {
		switch m := x.(type) {
		case string:
			ids = append(ids, m)
		case map[string]any:
			var id string
			for k, val := range m {
				switch strings.ToLower(k) {
				case "value":
					s, ok := val.(string)
					if !ok {
						return nil, invalidValue("members.value must be a string")
					}
					id = s
				case "display", "$ref", "type":
				default:
					return nil, invalidSyntax("unknown attribute %q", "members."+k)
				}
			}
			if id == "" {
				return nil, invalidValue("members.value is required")
			}
			ids = append(ids, id)
		default:
			return nil, invalidValue("members must be objects with a value")
		}
	}
	return ids, nil
}

// memberFilterIDs accepts `value eq "a"` and or-lists of such comparisons
// (parsed by parseMemberFilter, so the IDs keep their case).
func memberFilterIDs(e Expr) ([]string, bool) {
	switch x := e.(type) {
	case *Or:
		l, ok1 := memberFilterIDs(x.Left)
		r, ok2 := memberFilterIDs(x.Right)
		return append(l, r...), ok1 && ok2
	case *Compare:
		if x.Attr == AttrMemberValue && x.Op == OpEq {
			return []string{x.Str}, true
		}
	}
	return nil, false
}

// sameValue reports whether two elements of a complex multi-valued
// attribute carry the same "value" (case-insensitively) and "type".
func sameValue(a, b any) (map[string]any, map[string]any, bool) {
	am, ok1 := a.(map[string]any)
	bm, ok2 := b.(map[string]any)
	if !ok1 || !ok2 {
		return nil, nil, false
	}
	av, _ := am["value"].(string)
	bv, _ := bm["value"].(string)
	at, _ := am["type"].(string)
	bt, _ := bm["type"].(string)
	if av == "" || !strings.EqualFold(av, bv) || !strings.EqualFold(at, bt) {
		return nil, nil, false
	}
	return am, bm, true
}

// onePrimary keeps "primary": true on the last element that claims it
// (the most recently added), as RFC 7643 §2.4 allows one primary value.
func onePrimary(list []any) {
	last := -1
	for i, x := range list {
		if m, ok := x.(map[string]any); ok && m["primary"] == true {
			last = i
		}
	}
	for i, x := range list {
		if m, ok := x.(map[string]any); ok && i != last && m["primary"] == true {
			m["primary"] = false
		}
	}
}
