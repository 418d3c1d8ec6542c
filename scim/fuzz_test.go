package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

var filterSeeds = []string{
	`userName eq "bjensen"`,
	`name.familyName co "O'Malley"`,
	`userName sw "J"`,
	`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`,
	`title pr`,
	`meta.lastModified gt "2011-05-13T04:42:34Z"`,
	`meta.lastModified le "2011-05-13T04:42:34Z"`,
	`title pr and userType eq "Employee"`,
	`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
	`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
	`emails[type eq "work" and value co "@example.com"]`,
	`active eq True`,
	`members[value eq "abc"]`,
	`displayName eq "a\"b\\c\u00e9"`,
	`userName eq "a" or (externalId eq "b" and not (active eq false))`,
	`((((userName eq "x"))))`,
	`emails[value eq "x"].value eq "y"`,
	`emails[type eq "work"].value eq "x@y"`,
	`members[value pr].value eq "abc"`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales"`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "M-1"`,
	"userName eq \"\xff\"",
}

// FuzzParseFilter: the parser never panics, rejects with ErrInvalidFilter,
// and what it accepts prints back to an equivalent filter.
func FuzzParseFilter(f *testing.F) {
	for _, s := range filterSeeds {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, user bool) {
		k := KindGroup
		if user {
			k = KindUser
		}
		// A search over every resource type accepts what one type
		// accepts, and the same filter when nothing is foreign to k.
		re, none, rerr := parseRootFilter(s, k)
		if rerr != nil && !errors.Is(rerr, ErrInvalidFilter) {
			t.Fatalf("root error %v does not wrap ErrInvalidFilter", rerr)
		}
		e, err := ParseFilter(s, k)
		if err == nil && (rerr != nil || none || String(re) != String(e)) {
			t.Fatalf("root parse of an accepted filter: %v %v %q, want %q", rerr, none, String(re), String(e))
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidFilter) {
				t.Fatalf("error %v does not wrap ErrInvalidFilter", err)
			}
			return
		}
		out := String(e)
		e2, err := ParseFilter(out, k)
		if err != nil {
			if strings.Contains(err.Error(), "longer than") || strings.Contains(err.Error(), "deeper") {
				return // the printed form adds parentheses
			}
			t.Fatalf("printed form %q of %q does not parse: %v", out, s, err)
		}
		if String(e2) != out {
			t.Fatalf("round trip: %q -> %q -> %q", s, out, String(e2))
		}
		// Evaluating an accepted filter never panics.
		_ = MatchUser(e, &User{UserName: "x", Emails: []Email{{Value: "x@y.test", Type: "work"}}})
		_ = MatchGroup(e, &Group{DisplayName: "g"}, []string{"m"})
	})
}

func patchSeeds(t testing.TB) [][]byte {
	seeds := [][]byte{
		[]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"a@b.c"}]}`),
		[]byte(`{"Operations":[{"op":"replace","value":{"active":"False","name.givenName":"x"}}]}`),
		[]byte(`{"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m1"}]}`),
		[]byte(`{"Operations":[{"op":"remove","path":"members[value eq \"u1\"]"},{"op":"add","path":"members","value":[{"value":"u2"}]}]}`),
		[]byte(`{"Operations":[{"op":"remove","path":"phoneNumbers[type eq \"mobile\" or primary eq true].value"}]}`),
		[]byte(`{"Operations":[{"op":"replace","value":{"id":"x","displayName":"y"}}]}`),
		[]byte(`{"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:Acme:2.0:User:site.floor","value":4}]}`),
		[]byte(`{"Operations":[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:Acme:2.0:User":{"badge":"b"}}},{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:Acme:2.0:User"}]}`),
		[]byte(`{"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Sales"}]}`),
	}
	// The captured IdP PATCH bodies.
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/elimity-com/scim").Output()
	if err == nil {
		files, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "internal", "idp_test", "testdata", "*", "*.json"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			var tr struct {
				Request json.RawMessage
				Method  string
			}
			if json.Unmarshal(b, &tr) == nil && tr.Method == "PATCH" {
				seeds = append(seeds, tr.Request)
			}
		}
	}
	return seeds
}

func decodeObject(b []byte) (map[string]any, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if d.Decode(&m) != nil || m == nil {
		return nil, false
	}
	return m, true
}

// FuzzPatch: PATCH bodies never panic; an accepted user PATCH yields a
// document that validates again unchanged, and a rejected one is a client
// error.
func FuzzPatch(f *testing.F) {
	for _, s := range patchSeeds(f) {
		f.Add(s)
	}
	base := map[string]any{
		"userName": "u@x.test", "active": true,
		"name":         map[string]any{"givenName": "A", "familyName": "B"},
		"emails":       []any{map[string]any{"value": "u@x.test", "type": "work", "primary": true}},
		"phoneNumbers": []any{map[string]any{"value": "1", "type": "mobile"}},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, ok := decodeObject(body)
		if !ok {
			return
		}
		ops, err := parsePatchBody(m, 50)
		if err != nil {
			var br *badRequest
			if !errors.As(err, &br) {
				t.Fatalf("parse error %v is not a client error", err)
			}
			return
		}
		doc, err := applyUserPatch(base, ops)
		if err == nil {
			var n map[string]any
			n, err = normalizeUser(doc)
			if err == nil {
				again, err2 := normalizeUser(n)
				if err2 != nil {
					t.Fatalf("normalized document does not validate: %v", err2)
				}
				a, _ := json.Marshal(again)
				b, _ := json.Marshal(n)
				if !bytes.Equal(a, b) {
					t.Fatalf("normalization not idempotent:\n%s\n%s", a, b)
				}
				u := &User{Attributes: n}
				u.Derive()
			}
		}
		if err != nil {
			var br *badRequest
			if !errors.As(err, &br) {
				t.Fatalf("user patch error %v is not a client error", err)
			}
		}
		if _, _, err := applyGroupPatch(map[string]any{"displayName": "G"}, ops, 100); err != nil {
			var br *badRequest
			if !errors.As(err, &br) {
				t.Fatalf("group patch error %v is not a client error", err)
			}
		}
		if base["userName"] != "u@x.test" || len(base["emails"].([]any)) != 1 {
			t.Fatal("patch modified its input")
		}
	})
}

// hasFFFD reports whether any string or member name in a decoded JSON
// value contains U+FFFD.
func hasFFFD(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.ContainsRune(x, utf8.RuneError)
	case map[string]any:
		for k, e := range x {
			if strings.ContainsRune(k, utf8.RuneError) || hasFFFD(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasFFFD(e) {
				return true
			}
		}
	}
	return false
}

// FuzzReadObject (T-C.8): request bodies never panic the reader; a body it
// accepts holds U+FFFD only where the client sent one (so no invalid text
// was replaced), and a body it refuses as not UTF-8 really had text that
// encoding/json would have replaced. Any refusal is a client error.
func FuzzReadObject(f *testing.F) {
	for _, s := range []string{
		`{"userName":"a@b.c","name":{"givenName":"Zoë"}}`,
		"{\"userName\":\"a\xffb\"}",
		`{"displayName":"\ud83d\ude00"}`,
		`{"displayName":"\ud800"}`,
		`{"displayName":"\udc00\ud800"}`,
		`{"displayName":"\\ud800"}`,
		`{"displayName":"\ufffd"}`,
		"{\"a\xc0\":1}",
		`{"Operations":[{"op":"add","path":"members","value":[{"value":"\ud800"}]}]}`,
		`{"a":[1,"x",{"b":["\u00e9","\ud834\udd1e"]}],"c":null,"d":true}`,
		`{"a":1,"A":2}`,
	} {
		f.Add([]byte(s))
	}
	for _, s := range patchSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, _ := http.NewRequest("POST", "/", bytes.NewReader(body))
		m, err := readObject(r)
		if err != nil {
			var br *badRequest
			if !errors.As(err, &br) {
				t.Fatalf("error %v is not a client error", err)
			}
			if strings.Contains(br.detail, "UTF-8") {
				doc, ok := decodeObject(body)
				if !ok || !hasFFFD(doc) {
					t.Fatalf("refused %q as not UTF-8, but decoding replaces nothing", body)
				}
			}
			return
		}
		if m == nil || hasNUL(m) {
			t.Fatalf("accepted %q as %v", body, m)
		}
		lower := strings.ToLower(string(body))
		if hasFFFD(m) && !strings.Contains(lower, "\ufffd") && !strings.Contains(lower, `fffd`) {
			t.Fatalf("accepted %q with invalid text replaced by U+FFFD: %v", body, m)
		}
	})
}
