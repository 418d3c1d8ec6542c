package scim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Resources are written straight into a pooled buffer: a user's stored
// attributes document is copied member by member (its values verbatim),
// with id, schemas, active, groups and meta written around it, so a page
// of users costs no decoding and no map per user. The output is what
// encoding/json would write for the same resource, bar member order.

// maxPooledBuf is the largest buffer returned to the pool.
const maxPooledBuf = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > maxPooledBuf {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// writeBody writes a rendered JSON body (and the newline encoding/json's
// Encoder ends with).
func (h *Handler) writeBody(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json does
// (HTML characters included; invalid UTF-8 becomes U+FFFD).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendStringBody(b, s)
	return append(b, '"')
}

// appendStringBody appends the escaped characters of s without quotes.
func appendStringBody(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			switch r {
			case utf8.RuneError:
				b = append(b, `\ufffd`...)
			case '\u2028':
				b = append(b, `\u2028`...)
			default:
				b = append(b, `\u2029`...)
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}

// appendLocation appends the JSON string of a resource's URL.
func (h *Handler) appendLocation(b []byte, kind, id string) []byte {
	b = append(b, '"')
	b = appendStringBody(b, h.base)
	b = append(b, '/')
	b = append(b, kind...)
	b = append(b, '/')
	b = appendStringBody(b, id)
	return append(b, '"')
}

// appendMeta appends the meta member (with its leading comma).
func (h *Handler) appendMeta(b []byte, resourceType, kind, id string, created, modified time.Time, version int64) []byte {
	b = append(b, `,"meta":{"resourceType":"`...)
	b = append(b, resourceType...)
	b = append(b, `","created":"`...)
	b = created.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","lastModified":"`...)
	b = modified.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","location":`...)
	b = h.appendLocation(b, kind, id)
	b = append(b, `,"version":"W/\"`...)
	b = strconv.AppendInt(b, version, 10)
	return append(b, `\""}`...)
}

// appendListHead opens a ListResponse of n resources; appendListTail
// closes it.
func appendListHead(b []byte, total, start, n int) []byte {
	b = append(b, `{"schemas":["`+listSchema+`"],"totalResults":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"startIndex":`...)
	b = strconv.AppendInt(b, int64(start), 10)
	b = append(b, `,"itemsPerPage":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, `,"Resources":[`...)
}

func appendListTail(b []byte) []byte { return append(b, "]}"...) }

// keepAttr reports whether the top-level attribute k is returned under
// the attributes and excludedAttributes parameters (lower-cased names);
// id, schemas and meta always are (RFC 7644 §3.4.2.5).
func keepAttr[S ~string | ~[]byte](k S, attrs, excluded []string) bool {
	if foldEq(k, "id") || foldEq(k, "schemas") || foldEq(k, "meta") {
		return true
	}
	if len(attrs) > 0 {
		for _, a := range attrs {
			// An attribute of a customer-defined extension selects the
			// whole extension.
			if foldEq(k, a) || (len(a) > len(k) && a[len(k)] == ':' && foldEq(k, a[:len(k)])) {
				return true
			}
		}
		return false
	}
	for _, a := range excluded {
		if foldEq(k, a) {
			return false
		}
	}
	return true
}

// foldEq reports whether k equals the lower-case name under ASCII case
// folding.
func foldEq[S ~string | ~[]byte](k S, lower string) bool {
	if len(k) != len(lower) {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// userDoc returns the attributes document of u as JSON.
func userDoc(u *User) ([]byte, error) {
	if u.Attributes == nil && u.AttributesJSON != nil {
		if !json.Valid(u.AttributesJSON) {
			return nil, fmt.Errorf("scim: stored attributes of user %q are not JSON", u.ID)
		}
		return u.AttributesJSON, nil
	}
	if u.Attributes == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(u.Attributes)
}

// appendUser appends the SCIM representation of u, a member of groups,
// with the attributes attrs and excluded select.
func (h *Handler) appendUser(b []byte, u *User, groups []*Group, attrs, excluded []string) ([]byte, error) {
	doc, err := userDoc(u)
	if err != nil {
		return b, err
	}
	it, ok := newObjIter(doc)
	if !ok {
		return b, fmt.Errorf("scim: stored attributes of user %q are not a JSON object", u.ID)
	}
	// The schemas list and active come first in the output but are
	// decided by the document.
	ext, active := false, true
	var schemas []byte // the stored list, when it names extensions
	for scan := it; ; {
		k, v, ok := scan.next()
		if !ok {
			break
		}
		switch string(k) {
		case enterpriseSchema:
			ext = true
		case "schemas":
			if arrayLen(v) > 1 {
				schemas = v
			}
		case "active":
			active = string(v) != "false"
		}
	}
	switch {
	case schemas != nil:
		b = append(b, `{"schemas":`...)
		b = append(b, schemas...)
		b = append(b, `,"id":`...)
	case ext:
		b = append(b, `{"schemas":["`+userSchema+`","`+enterpriseSchema+`"],"id":`...)
	default:
		b = append(b, `{"schemas":["`+userSchema+`"],"id":`...)
	}
	b = appendString(b, u.ID)
	for {
		k, v, ok := it.next()
		if !ok {
			break
		}
		switch string(k) {
		case "schemas", "id", "meta", "active":
			continue
		case "groups":
			if len(groups) > 0 {
				continue
			}
		}
		if !keepAttr(k, attrs, excluded) {
			continue
		}
		b = append(b, ',', '"')
		b = append(b, k...)
		b = append(b, '"', ':')
		b = append(b, v...)
	}
	if keepAttr("active", attrs, excluded) {
		b = append(b, `,"active":`...)
		b = appendBool(b, active)
	}
	if len(groups) > 0 && keepAttr("groups", attrs, excluded) {
		b = append(b, `,"groups":[`...)
		for i, g := range groups {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"value":`...)
			b = appendString(b, g.ID)
			b = append(b, `,"display":`...)
			b = appendString(b, g.DisplayName)
			b = append(b, `,"$ref":`...)
			b = h.appendLocation(b, "Groups", g.ID)
			b = append(b, `,"type":"direct"}`...)
		}
		b = append(b, ']')
	}
	b = h.appendMeta(b, "User", "Users", u.ID, u.Created, u.LastModified, u.Version)
	return append(b, '}'), nil
}

// appendGroup appends the SCIM representation of g with its members (when
// withMembers) and the attributes attrs and excluded select.
func (h *Handler) appendGroup(b []byte, g *Group, members []string, attrs, excluded []string) []byte {
	b = append(b, `{"schemas":["`+groupSchema+`"],"id":`...)
	b = appendString(b, g.ID)
	if keepAttr("displayName", attrs, excluded) {
		b = append(b, `,"displayName":`...)
		b = appendString(b, g.DisplayName)
	}
	if g.ExternalID != "" && keepAttr("externalId", attrs, excluded) {
		b = append(b, `,"externalId":`...)
		b = appendString(b, g.ExternalID)
	}
	if len(members) > 0 && keepAttr("members", attrs, excluded) {
		b = append(b, `,"members":[`...)
		for i, id := range members {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"value":`...)
			b = appendString(b, id)
			b = append(b, `,"$ref":`...)
			b = h.appendLocation(b, "Users", id)
			b = append(b, `,"type":"User"}`...)
		}
		b = append(b, ']')
	}
	b = h.appendMeta(b, "Group", "Groups", g.ID, g.Created, g.LastModified, g.Version)
	return append(b, '}')
}

// objIter walks the members of a valid JSON object without decoding
// them.
type objIter struct {
	b []byte
	i int
}

// newObjIter returns an iterator over doc, which must be valid JSON; ok is
// false when doc is not an object. A JSON null is an empty object.
func newObjIter(doc []byte) (objIter, bool) {
	i := skipWS(doc, 0)
	if i < len(doc) && doc[i] == '{' {
		return objIter{b: doc, i: i + 1}, true
	}
	if string(doc[i:]) == "null" {
		return objIter{b: []byte("{}"), i: 1}, true
	}
	return objIter{}, false
}

// next returns the next member's key (as written, without its quotes) and
// raw value.
func (it *objIter) next() (key, val []byte, ok bool) {
	b := it.b
	i := skipWS(b, it.i)
	if i < len(b) && b[i] == ',' {
		i = skipWS(b, i+1)
	}
	if i >= len(b) || b[i] != '"' {
		return nil, nil, false
	}
	ke := skipString(b, i)
	key = b[i+1 : ke-1]
	i = skipWS(b, ke)
	i = skipWS(b, i+1) // past ':'
	ve := skipValue(b, i)
	it.i = ve
	return key, b[i:ve], true
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value that starts at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// arrayLen returns the number of elements of a raw JSON array, or -1 when
// v is not an array.
func arrayLen(v []byte) int {
	if len(v) == 0 || v[0] != '[' {
		return -1
	}
	n := 0
	for i := skipWS(v, 1); i < len(v) && v[i] != ']'; {
		i = skipValue(v, i)
		n++
		i = skipWS(v, i)
		if i < len(v) && v[i] == ',' {
			i = skipWS(v, i+1)
		}
	}
	return n
}
