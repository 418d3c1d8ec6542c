package scim

import (
	"bytes"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// mapUser is the map form of a rendered user, built the way encoding/json
// sees the resource: the reference appendUser must match.
func mapUser(h *Handler, u *User, groups []*Group, attrs, excluded []string) map[string]any {
	m := CloneAttributes(u.Attributes)
	if m == nil {
		m = map[string]any{}
	}
	schemas := []any{userSchema}
	_, ext := m[enterpriseSchema]
	if declared, ok := m["schemas"].([]any); ok && len(declared) > 1 {
		ext = true
	}
	if ext {
		schemas = append(schemas, enterpriseSchema)
	}
	m["schemas"] = schemas
	m["id"] = u.ID
	m["active"] = u.Active
	m["meta"] = map[string]any{
		"resourceType": "User",
		"created":      u.Created.UTC().Format(time.RFC3339Nano),
		"lastModified": u.LastModified.UTC().Format(time.RFC3339Nano),
		"location":     h.location("Users", u.ID),
		"version":      etag(u.Version),
	}
	if len(groups) > 0 {
		var gl []any
		for _, g := range groups {
			gl = append(gl, map[string]any{"value": g.ID, "display": g.DisplayName, "$ref": h.location("Groups", g.ID), "type": "direct"})
		}
		m["groups"] = gl
	}
	for k := range m {
		if !keepAttr(k, attrs, excluded) {
			delete(m, k)
		}
	}
	return m
}

// roundTrip decodes JSON the way the reference comparison needs it.
func roundTrip(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return decodeJSON(t, b)
}

func decodeJSON(t testing.TB, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return out
}

func testHandler(t testing.TB) *Handler {
	base, _ := url.Parse("https://app.example.com/scim/v2?<&>")
	return &Handler{base: strings.TrimSuffix(base.String(), "/")}
}

func TestAppendUserMatchesMapForm(t *testing.T) {
	h := testHandler(t)
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))
	docs := []string{
		`{"userName":"ada@example.com","active":false,"name":{"givenName":"Ada","familyName":"L\u00f6velace"},"emails":[{"value":"ada@example.com","type":"work","primary":true}]}`,
		`{"userName":"x<y>&\"z\"\\","displayName":"tab\there\nline \u2028 \ud83d\ude00","externalId":"e-1","phoneNumbers":[{"value":"+1 555"}],"x509Certificates":[]}`,
		`{"userName":"e","schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]}`,
		`{"userName":"e2","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"7","manager":{"value":"m"}},"active":true}`,
		`{"userName":"n","title":null,"nickName":"","locale":"fr","timezone":"Europe/Paris","ims":[{"value":"a","type":"b"}],"userType":"Employee","preferredLanguage":"fr"}`,
		`{}`,
	}
	groups := []*Group{{ID: "g1", DisplayName: "Eng & Ops"}, {ID: "g2", DisplayName: "Sales"}}
	projections := [][2][]string{
		{nil, nil},
		{{"username", "active"}, nil},
		{{"groups"}, nil},
		{nil, {"groups", "active", "emails"}},
		{{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"}, nil},
		{nil, {"meta", "id", "schemas"}},
	}
	for _, doc := range docs {
		attrs, err := DecodeAttributes([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, gs := range [][]*Group{nil, groups} {
			for _, p := range projections {
				u := &User{OrgID: "o", ID: "user_1<2>", Attributes: attrs, Version: 42, Created: t0, LastModified: t0.Add(time.Hour)}
				u.Derive()
				want := roundTrip(t, mapUser(h, u, gs, p[0], p[1]))
				// From the map, and from the stored document as a Seeker
				// store returns it.
				fromJSON := &User{OrgID: "o", ID: u.ID, AttributesJSON: []byte(doc), Version: 42, Created: t0, LastModified: t0.Add(time.Hour)}
				for _, in := range []*User{u, fromJSON} {
					b, err := h.appendUser(nil, in, gs, p[0], p[1])
					if err != nil {
						t.Fatal(err)
					}
					if got := decodeJSON(t, b); !reflect.DeepEqual(got, want) {
						t.Errorf("doc %s, projection %v:\n got %s\nwant %s", doc, p, b, roundTripString(want))
					}
				}
			}
		}
	}
}

func roundTripString(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestAppendUserRejectsBadDocuments(t *testing.T) {
	h := testHandler(t)
	for _, doc := range []string{`[1]`, `"x"`, `{"a":`, `{"a":1}}`, ``} {
		u := &User{ID: "u", AttributesJSON: []byte(doc)}
		if _, err := h.appendUser(nil, u, nil, nil, nil); err == nil {
			t.Errorf("%q: no error", doc)
		}
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\s/", "<a href='x'>&amp;</a>", "\x00\x01\x1f\x7f", "\t\n\r\b\f", "é ü 漢字 😀", "\u2028\u2029", "bad \xff\xfe utf8 \xc3", "end\xe2\x82"} {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	}
}

func TestAppendGroupMatchesMapForm(t *testing.T) {
	h := testHandler(t)
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, g := range []*Group{{ID: "g<1>", DisplayName: "Eng \"core\"", ExternalID: "x-1", Version: 3, Created: t0, LastModified: t0}, {ID: "g2", DisplayName: "Empty", Version: 1, Created: t0, LastModified: t0}} {
		for _, members := range [][]string{nil, {"u1", "u&2"}} {
			for _, p := range [][2][]string{{nil, nil}, {{"displayname"}, nil}, {nil, {"members"}}, {nil, {"externalid", "displayname"}}} {
				m := map[string]any{
					"schemas": []any{groupSchema}, "id": g.ID, "displayName": g.DisplayName,
					"meta": map[string]any{"resourceType": "Group", "created": t0.Format(time.RFC3339Nano), "lastModified": t0.Format(time.RFC3339Nano),
						"location": h.location("Groups", g.ID), "version": etag(g.Version)},
				}
				if g.ExternalID != "" {
					m["externalId"] = g.ExternalID
				}
				if len(members) > 0 {
					var ms []any
					for _, id := range members {
						ms = append(ms, map[string]any{"value": id, "$ref": h.location("Users", id), "type": "User"})
					}
					m["members"] = ms
				}
				for k := range m {
					if !keepAttr(k, p[0], p[1]) {
						delete(m, k)
					}
				}
				b := h.appendGroup(nil, g, members, p[0], p[1])
				if got, want := decodeJSON(t, b), roundTrip(t, m); !reflect.DeepEqual(got, want) {
					t.Errorf("got %s, want %s", b, roundTripString(want))
				}
			}
		}
	}
}

// FuzzAppendUser renders arbitrary stored documents: whatever a store
// holds, the output is valid JSON, or an error when the document is not a
// JSON object; never a malformed response.
func FuzzAppendUser(f *testing.F) {
	for _, s := range []string{`{"userName":"a","active":false}`, `{"schemas":["a","b"],"x":[{"y":"}"}]}`, `{"a":"\"}\\","b":{"c":[1,2,{"d":null}]}}`, ` { "k" : 1 , "l" : [ ] } `, `null`} {
		f.Add(s)
	}
	h := testHandler(f)
	f.Fuzz(func(t *testing.T, doc string) {
		u := &User{ID: "u", AttributesJSON: []byte(doc), Version: 1}
		b, err := h.appendUser(nil, u, nil, nil, []string{"emails"})
		if err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("invalid output for %q: %s", doc, b)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil || m["id"] != "u" {
			t.Fatalf("output for %q: %s", doc, b)
		}
	})
}
