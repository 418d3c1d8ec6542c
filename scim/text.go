package scim

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// badText locates a JSON string (value or member name) that is not valid
// UTF-8: the member names and array indexes leading to it.
type badText struct {
	path []any // string member names and int array indexes
	name bool  // the member name itself is bad, not its value
}

// err returns the invalidValue error naming the attribute, read against
// the decoded body (for a PATCH operation's value, the attribute is the
// operation's path followed by the keys inside the value).
func (b *badText) err(body map[string]any) error {
	if b.name {
		if len(b.path) == 1 {
			return invalidValue("an attribute name is not valid UTF-8")
		}
		return invalidValue("an attribute name in %q is not valid UTF-8", attrName(b.path[:len(b.path)-1], body))
	}
	return invalidValue("%q is not valid UTF-8", attrName(b.path, body))
}

// attrName renders a badText path as the SCIM attribute it names:
// "name.givenName", "emails.value", "members.value", "filter", or for a
// PATCH operation "<op path>.<keys in the value>" ("Operations.path" when
// the path itself is bad).
func attrName(path []any, body map[string]any) string {
	var parts []string
	if len(path) >= 3 && isKey(path[0], "Operations") && isKey(path[2], "value") {
		if i, ok := path[1].(int); ok {
			ops, _ := getFold(body, "Operations").([]any)
			if i < len(ops) {
				op, _ := ops[i].(map[string]any)
				if p, _ := getFold(op, "path").(string); strings.TrimSpace(p) != "" {
					parts = append(parts, strings.TrimSpace(p))
				}
			}
			path = path[3:]
		}
	}
	for _, x := range path {
		if s, ok := x.(string); ok {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return "value"
	}
	return strings.Join(parts, ".")
}

func isKey(x any, name string) bool {
	s, ok := x.(string)
	return ok && strings.EqualFold(s, name)
}

// getFold returns m's member named k, compared case-insensitively.
func getFold(m map[string]any, k string) any {
	for mk, v := range m {
		if strings.EqualFold(mk, k) {
			return v
		}
	}
	return nil
}

// jsonFrame is an object or array being scanned by scanJSON.
type jsonFrame struct {
	obj    bool
	keys   map[string]bool // member names seen, lower-cased (objects)
	expKey bool            // the next string is a member name (objects)
	key    string          // current member name (objects)
	idx    int             // current element index (arrays)
}

// done moves the frame past the value that just ended.
func (f *jsonFrame) done() {
	if f.obj {
		f.expKey = true
	} else {
		f.idx++
	}
}

// maxJSONDepth is the deepest nesting of objects and arrays a body may
// have: encoding/json refuses anything deeper, and scanJSON stops there
// before a body of brackets costs it a frame per byte.
const maxJSONDepth = 10000

// scanJSON walks the tokens of a JSON document. It fails when an object
// names a member twice (case-insensitively) or the document nests deeper
// than maxJSONDepth, and it reports the first string that is not valid
// UTF-8, which the caller turns into an error once the document is known
// to be well-formed. Malformed documents pass here and are refused by the
// decoder.
func scanJSON(raw []byte) (*badText, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var (
		stack []*jsonFrame
		bad   *badText
	)
	path := func() []any {
		p := make([]any, 0, len(stack))
		for _, f := range stack {
			if f.obj {
				p = append(p, f.key)
			} else {
				p = append(p, f.idx)
			}
		}
		return p
	}
	for {
		start := d.InputOffset()
		t, err := d.Token()
		if err != nil {
			return bad, nil
		}
		if dl, ok := t.(json.Delim); ok {
			switch dl {
			case '{', '[':
				if len(stack) == maxJSONDepth {
					return nil, invalidSyntax("JSON body nested deeper than %d levels", maxJSONDepth)
				}
				stack = append(stack, &jsonFrame{obj: dl == '{', keys: map[string]bool{}, expKey: true})
			case '}', ']':
				stack = stack[:len(stack)-1]
				if len(stack) > 0 {
					stack[len(stack)-1].done()
				}
			}
			continue
		}
		if len(stack) == 0 {
			continue
		}
		top := stack[len(stack)-1]
		s, isStr := t.(string)
		valid := !isStr || validJSONString(raw[start:d.InputOffset()])
		if top.obj && top.expKey {
			lk := strings.ToLower(s)
			if top.keys[lk] {
				return nil, invalidSyntax("attribute %q appears more than once", s)
			}
			top.keys[lk] = true
			top.expKey = false
			top.key = s
			if !valid && bad == nil {
				bad = &badText{path: path(), name: true}
			}
			continue
		}
		if !valid && bad == nil {
			bad = &badText{path: path()}
		}
		top.done()
	}
}

// validJSONString reports whether the raw JSON string token in tok
// (possibly preceded by whitespace and a ':' or ',') decodes to valid
// UTF-8: no invalid bytes and no unpaired UTF-16 surrogate escapes, both of
// which encoding/json replaces with U+FFFD.
func validJSONString(tok []byte) bool {
	q := bytes.IndexByte(tok, '"')
	if q < 0 || len(tok) < q+2 {
		return true // not a string token
	}
	s := tok[q+1 : len(tok)-1]
	if !utf8.Valid(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		i++
		if i >= len(s) || s[i] != 'u' {
			continue
		}
		r, ok := hex4(s, i+1)
		if !ok {
			return false
		}
		i += 4
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return false // a low surrogate without its high half
		case r >= 0xD800 && r <= 0xDBFF:
			if i+2 >= len(s) || s[i+1] != '\\' || s[i+2] != 'u' {
				return false
			}
			lo, ok := hex4(s, i+3)
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 6
		}
	}
	return true
}

// hex4 parses the four hex digits of a \u escape starting at s[i].
func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(s[i:i+4]), 16, 32)
	return rune(n), err == nil
}

// badQueryParam returns the name of a query parameter whose name or value
// is not valid UTF-8 once percent-decoded.
func badQueryParam(rawQuery string) (string, bool) {
	q, _ := url.ParseQuery(rawQuery)
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !utf8.ValidString(k) {
			return strings.ToValidUTF8(k, "\uFFFD"), true
		}
		for _, v := range q[k] {
			if !utf8.ValidString(v) {
				return k, true
			}
		}
	}
	return "", false
}
