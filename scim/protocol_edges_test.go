package scim_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/sso"
)

const patchHead = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`

func patchOps(ops string) string { return patchHead + ops + `]}` }

// TestFilterGrammar checks filter spellings real clients send: case
// variants of attribute names, the core-schema URN prefix, value paths
// and dotted sub-attributes, escapes and unicode, and what is refused.
func TestFilterGrammar(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		alice := e.createUser("Alice@Example.com", `"externalId":"ext-a"`)
		e.createUser("bob@example.com")
		other := e.addOrg("other")
		otok, _ := e.issue(other.ID)
		e.doTok(otok, "POST", "/Users", `{"userName":"carol@other.com"}`).want(t, http.StatusCreated)
		quoted := e.createUser(`q"u\ote@example.com`)
		uni := e.createUser("Jürgen@Example.com")

		hits := []struct {
			filter string
			want   string // ID expected as the single result, "" for none
		}{
			{`userName eq "alice@example.com"`, alice},
			{`USERNAME eq "ALICE@EXAMPLE.COM"`, alice},
			{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "alice@example.com"`, alice},
			{`URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:userName eq "alice@example.com"`, alice},
			{`emails.value eq "alice@example.com"`, alice},
			{`emails[value eq "ALICE@example.com"]`, alice},
			{`emails[type eq "work" and value sw "alice"]`, alice},
			{`externalId eq "ext-a"`, alice},
			{`externalId eq "EXT-A"`, ""}, // externalId is caseExact
			{`userName eq "q\"u\\ote@example.com"`, quoted},
			{`userName eq "j\u00fcrgen@example.com"`, uni},
			{`userName eq "JÜRGEN@example.com"`, uni},
			{`userName eq "carol@other.com"`, ""},
			{`userName co "%"`, ""},
			{`userName sw "_"`, ""},
			{`not (userName ne "alice@example.com")`, alice},
		}
		for _, c := range hits {
			r := e.do("GET", "/Users?filter="+urlq(c.filter), "").want(t, http.StatusOK)
			res := r.resources()
			switch {
			case c.want == "" && len(res) != 0:
				t.Errorf("%s: got %d results, want none", c.filter, len(res))
			case c.want != "" && (len(res) != 1 || res[0]["id"] != c.want):
				t.Errorf("%s: got %v, want only %s", c.filter, res, c.want)
			}
			if c.want != "" && r.total() != 1 {
				t.Errorf("%s: totalResults %d", c.filter, r.total())
			}
		}
		// pr on multi-valued and single-valued attributes.
		if n := e.do("GET", "/Users?filter="+urlq(`emails pr`), "").want(t, 200).total(); n != 4 {
			t.Errorf("emails pr: %d results, want 4", n)
		}
		if n := e.do("GET", "/Users?filter="+urlq(`externalId pr`), "").want(t, 200).total(); n != 1 {
			t.Errorf("externalId pr: %d results, want 1", n)
		}
		bad := []string{
			`externalId eq null`,        // presence is "pr"; null is no string
			`userName eq "a\u0000b"`,    // NUL escape
			`userName eq "unterminated`, // lexing
			`password eq "x"`,           // outside the allowlist
			`meta.x eq "1"`,             // outside the allowlist
			`userName gt "a"`,           // ordering on a string
			`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName eq "x"`,
			`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department gt "x"`,
			`department eq "x"`,   // extension attributes need their URN
			`emails[value eq "a"`, // unclosed
			strings.Repeat("(", 500) + `userName eq "a"` + strings.Repeat(")", 500),
		}
		for _, f := range bad {
			e.do("GET", "/Users?filter="+urlq(f), "").wantErr(t, http.StatusBadRequest, "invalidFilter")
		}
	})
}

// TestNULNeverReachesTheStore: NUL characters in bodies, filters,
// paths and query parameters were a 500 on PostgreSQL (which refuses NUL
// in TEXT); they must be client errors on every backend.
func TestNULNeverReachesTheStore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a := e.createUser("alice@example.com")
		g := e.createGroup("G1", a)
		cases := []struct {
			method, path, body string
			status             int
			scimType           string
		}{
			{"POST", "/Users", `{"userName":"a\u0000b@example.com"}`, 400, "invalidValue"},
			{"POST", "/Users", `{"userName":"ok@example.com","name":{"givenName":"\u0000"}}`, 400, "invalidValue"},
			{"POST", "/Groups", `{"displayName":"x\u0000"}`, 400, "invalidValue"},
			{"POST", "/Groups", `{"displayName":"y","members":[{"value":"\u0000"}]}`, 400, "invalidValue"},
			{"PATCH", "/Groups/" + g, patchOps(`{"op":"add","path":"members","value":[{"value":"u\u0000"}]}`), 400, "invalidValue"},
			{"PATCH", "/Users/" + a, patchOps(`{"op":"replace","path":"displayName","value":"\u0000"}`), 400, "invalidValue"},
			{"PUT", "/Users/" + a, `{"userName":"alice@example.com","externalId":"\u0000"}`, 400, "invalidValue"},
			{"GET", "/Groups?filter=" + urlq(`displayName eq "\u0000"`), "", 400, "invalidFilter"},
			{"GET", "/Groups?filter=" + urlq(`externalId eq "\u0000"`), "", 400, "invalidFilter"},
			{"GET", "/Users/a%00b", "", 404, ""},
			{"GET", "/Groups/a%00b", "", 404, ""},
			{"DELETE", "/Users/a%00b", "", 404, ""},
			{"GET", "/Users?attributes=a%00b", "", 400, "invalidValue"},
			{"GET", "/Users?filter=" + urlq("userName eq \"a\x00b\""), "", 400, "invalidValue"},
		}
		for _, c := range cases {
			e.do(c.method, c.path, c.body).wantErr(t, c.status, c.scimType)
		}
		// Nothing was written.
		if n := e.do("GET", "/Users", "").want(t, 200).total(); n != 1 {
			t.Errorf("%d users after refused writes, want 1", n)
		}
	})
}

// TestBodyShapes: a BOM, trailing garbage, repeated member names
// (in any case, at any depth), wrong top-level types and the three
// Content-Type spellings clients use.
func TestBodyShapes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a := e.createUser("alice@example.com")
		bad := []struct{ body, scimType string }{
			{"\ufeff" + `{"userName":"bom@example.com"}`, "invalidSyntax"},
			{`{"userName":"x@example.com"}xyz`, "invalidSyntax"},
			{`{"userName":"x@example.com"}{}`, "invalidSyntax"},
			{`{"userName":"d1@example.com","userName":"d2@example.com"}`, "invalidSyntax"},
			{`{"userName":"d1@example.com","USERNAME":"d2@example.com"}`, "invalidSyntax"},
			{`{"userName":"d@example.com","name":{"givenName":"a","GivenName":"b"}}`, "invalidSyntax"},
			{`{"userName":"d@example.com","emails":[{"value":"a@example.com","VALUE":"b@example.com"}]}`, "invalidSyntax"},
			{`[]`, "invalidSyntax"},
			{`null`, "invalidSyntax"},
			{`"x"`, "invalidSyntax"},
			{`{"userName":123}`, "invalidValue"},
			{`{"userName":"n@example.com","active":1}`, "invalidValue"},
			{`{"userName":"n@example.com","emails":"x"}`, "invalidValue"},
			{`{"userName":"big@example.com","displayName":"` + strings.Repeat("x", 100000) + `"}`, "invalidValue"},
			{`{"userName":"alice@EXAMPLE.com"}`, "uniqueness"},
		}
		for _, c := range bad {
			r := e.do("POST", "/Users", c.body)
			status := http.StatusBadRequest
			if c.scimType == "uniqueness" {
				status = http.StatusConflict
			}
			r.wantErr(t, status, c.scimType)
		}
		// The same name in different objects is fine.
		e.do("POST", "/Users", `{"userName":"ok@example.com","emails":[{"value":"ok@example.com","type":"work"},{"value":"ok2@example.com","type":"home"}]}`).want(t, http.StatusCreated)
		e.do("POST", "/Groups", `{"displayName":"`+strings.Repeat("g", 100000)+`"}`).wantErr(t, http.StatusBadRequest, "invalidValue")

		for _, ct := range []string{"application/scim+json", "application/json", "application/json; charset=utf-8", ""} {
			req, _ := http.NewRequest("PATCH", e.base+"/Users/"+a, strings.NewReader(patchOps(`{"op":"replace","path":"displayName","value":"A"}`)))
			req.Header.Set("Authorization", "Bearer "+e.token)
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			e.send(req).want(t, http.StatusOK)
		}
	})
}

// TestActiveSpellings: booleans as JSON, as any-case strings; numbers
// and other strings are refused; null leaves the user active.
func TestActiveSpellings(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a := e.createUser("alice@example.com")
		for _, c := range []struct {
			v      string
			status int
			active bool
		}{
			{`"FALSE"`, 200, false}, {`"true"`, 200, true}, {`"False"`, 200, false}, {`"TRUE"`, 200, true},
			{`false`, 200, false}, {`null`, 200, true}, {`1`, 400, true}, {`"yes"`, 400, true}, {`"0"`, 400, true},
		} {
			r := e.do("PATCH", "/Users/"+a, patchOps(`{"op":"replace","path":"active","value":`+c.v+`}`))
			if r.status != c.status {
				t.Fatalf("active=%s: status %d, want %d: %s", c.v, r.status, c.status, r.raw)
			}
			if c.status != 200 {
				r.wantErr(t, c.status, "invalidValue")
				continue
			}
			if got, _ := r.body["active"].(bool); got != c.active {
				t.Errorf("active=%s: got %v", c.v, got)
			}
		}
		if e.rev.revoked(a) < 2 {
			t.Errorf("deactivations revoked %d times, want >= 2", e.rev.revoked(a))
		}
	})
}

// TestPatchPaths: URN-form paths (core and enterprise), value-filter
// removal, replacing multi-valued attributes with [], adding an email that
// is already there, and userName / externalId changes.
func TestPatchPaths(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a := e.createUser("alice@example.com", `"externalId":"ext-a"`)
		b := e.createUser("bob@example.com", `"externalId":"ext-b"`)
		ok := func(id, ops string) *resp { return e.do("PATCH", "/Users/"+id, patchOps(ops)).want(t, http.StatusOK) }

		r := ok(a, `{"op":"replace","path":"urn:ietf:params:scim:schemas:core:2.0:User:displayName","value":"Al"}`)
		if r.str("displayName") != "Al" {
			t.Errorf("URN path: displayName %q", r.str("displayName"))
		}
		r = ok(a, `{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Eng"}`)
		if r.str("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "department") != "Eng" {
			t.Errorf("enterprise URN path not applied: %s", r.raw)
		}
		r = ok(a, `{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName":"Zed"}}`)
		if r.str("name", "givenName") != "Zed" {
			t.Errorf("value map with URN key: %s", r.raw)
		}

		// Adding the same email again (other case, with primary) keeps one.
		r = ok(a, `{"op":"add","path":"emails","value":[{"value":"ALICE@example.com","type":"work","primary":true}]}`)
		if n := len(r.body["emails"].([]any)); n != 1 {
			t.Errorf("duplicate email added: %d emails: %s", n, r.raw)
		}
		r = ok(a, `{"op":"add","path":"emails","value":[{"value":"al@example.com","type":"home","primary":true}]}`)
		primaries := 0
		for _, x := range r.body["emails"].([]any) {
			if x.(map[string]any)["primary"] == true {
				primaries++
			}
		}
		if primaries != 1 {
			t.Errorf("%d primary emails after add, want 1: %s", primaries, r.raw)
		}
		// Remove with a value filter, including one that matches nothing.
		r = ok(a, `{"op":"remove","path":"emails[type eq \"home\"]"}`)
		if n := len(r.body["emails"].([]any)); n != 1 {
			t.Errorf("remove emails[type eq home]: %d left", n)
		}
		ok(a, `{"op":"remove","path":"emails[type eq \"nope\"]"}`)
		// Replace a multi-valued attribute with [] clears it.
		r = ok(a, `{"op":"replace","path":"emails","value":[]}`)
		if _, has := r.body["emails"]; has {
			t.Errorf("emails survive replace with []: %s", r.raw)
		}
		// externalId may move to a value another user has? It is caseExact
		// and not unique in SCIM; the change is kept on the membership.
		ok(a, `{"op":"replace","path":"externalId","value":"ext-a2"}`)
		if m := e.membership(a); m.ExternalID != "ext-a2" {
			t.Errorf("membership externalId %q", m.ExternalID)
		}
		// userName colliding case-insensitively: 409, nothing written.
		e.do("PATCH", "/Users/"+a, patchOps(`{"op":"replace","path":"userName","value":"BOB@example.com"}`)).wantErr(t, http.StatusConflict, "uniqueness")
		e.do("PUT", "/Users/"+a, `{"userName":"Bob@Example.com"}`).wantErr(t, http.StatusConflict, "uniqueness")
		if got := e.do("GET", "/Users/"+a, "").want(t, 200).str("userName"); got != "alice@example.com" {
			t.Errorf("userName after refused change %q", got)
		}
		// Read-only targets and path-less removes.
		e.do("PATCH", "/Users/"+b, patchOps(`{"op":"remove"}`)).wantErr(t, http.StatusBadRequest, "noTarget")
		e.do("PATCH", "/Users/"+b, patchOps(`{"op":"replace","path":"id","value":"x"}`)).wantErr(t, http.StatusBadRequest, "mutability")
	})
}

// TestPutAndIfMatch: PUT ignores a body id (read-only), If-Match
// with the current ETag succeeds, a stale one is 412 with SCIM JSON.
func TestPutAndIfMatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a := e.createUser("alice@example.com")
		b := e.createUser("bob@example.com")
		r := e.do("PUT", "/Users/"+a, `{"userName":"alice@example.com","id":"`+b+`"}`).want(t, http.StatusOK)
		if r.str("id") != a {
			t.Fatalf("PUT with another id changed the resource id to %q", r.str("id"))
		}
		if got := e.do("GET", "/Users/"+b, "").want(t, 200).str("userName"); got != "bob@example.com" {
			t.Fatalf("PUT with body id touched the other user: %q", got)
		}
		e.do("PUT", "/Users/"+a, `{"displayName":"no userName"}`).wantErr(t, http.StatusBadRequest, "invalidValue")

		cur := e.do("GET", "/Users/"+a, "").want(t, 200).header.Get("ETag")
		send := func(ifMatch string) *resp {
			req, _ := http.NewRequest("PATCH", e.base+"/Users/"+a, strings.NewReader(patchOps(`{"op":"replace","path":"displayName","value":"X"}`)))
			req.Header.Set("Authorization", "Bearer "+e.token)
			req.Header.Set("If-Match", ifMatch)
			return e.send(req)
		}
		send(`W/"999"`).wantErr(t, http.StatusPreconditionFailed, "")
		next := send(cur).want(t, http.StatusOK).header.Get("ETag")
		send(cur).wantErr(t, http.StatusPreconditionFailed, "")
		send(`W/"1", `+next).want(t, http.StatusOK)
		send("*").want(t, http.StatusOK)
	})
}

// TestPaging: count=0 answers totalResults only; startIndex below 1
// is read as 1; attributes/excludedAttributes with URN names.
func TestPaging(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		for _, n := range []string{"a", "b", "c"} {
			e.createUser(n + "@example.com")
		}
		e.createGroup("G")
		for _, p := range []string{"/Users?count=0", "/Groups?count=0"} {
			r := e.do("GET", p, "").want(t, 200)
			if len(r.resources()) != 0 || r.total() == 0 {
				t.Errorf("%s: %d resources, total %d", p, len(r.resources()), r.total())
			}
		}
		for _, p := range []string{"/Users?startIndex=0&count=1", "/Users?startIndex=-7&count=1"} {
			r := e.do("GET", p, "").want(t, 200)
			if len(r.resources()) != 1 || r.body["startIndex"].(interface{ String() string }).String() != "1" {
				t.Errorf("%s: %s", p, r.raw)
			}
		}
		e.do("GET", "/Users?startIndex=abc", "").wantErr(t, 400, "invalidValue")
		e.do("GET", "/Users?count=1e3", "").wantErr(t, 400, "invalidValue")
		r := e.do("GET", "/Users?attributes="+urlq("urn:ietf:params:scim:schemas:core:2.0:User:userName"), "").want(t, 200)
		for _, u := range r.resources() {
			if _, has := u["emails"]; has || u["userName"] == nil || u["id"] == nil {
				t.Errorf("attributes=URN:userName gave %v", u)
			}
		}
		r = e.do("GET", "/Users?excludedAttributes=emails,NAME", "").want(t, 200)
		for _, u := range r.resources() {
			if u["emails"] != nil || u["name"] != nil || u["userName"] == nil {
				t.Errorf("excludedAttributes gave %v", u)
			}
		}
	})
}

// TestGroupMembers: removing a non-member is a no-op, members of
// another organization are refused without writing, and the group of
// org A is invisible to org B.
func TestGroupMembers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a := e.createUser("alice@example.com")
		b := e.createUser("bob@example.com")
		g := e.createGroup("G1", a)
		other := e.addOrg("other")
		otok, _ := e.issue(other.ID)
		ou := e.doTok(otok, "POST", "/Users", `{"userName":"carol@other.com"}`).want(t, 201).str("id")
		og := e.doTok(otok, "POST", "/Groups", `{"displayName":"OG"}`).want(t, 201).str("id")

		e.do("PATCH", "/Groups/"+g, patchOps(`{"op":"remove","path":"members[value eq \"`+b+`\"]"}`)).want(t, http.StatusNoContent)
		e.do("PATCH", "/Groups/"+g, patchOps(`{"op":"remove","path":"members","value":[{"value":"`+b+`"}]}`)).want(t, http.StatusNoContent)
		e.do("PATCH", "/Groups/"+g, patchOps(`{"op":"add","path":"members","value":[{"value":"`+b+`"},{"value":"`+ou+`"}]}`)).wantErr(t, 400, "invalidValue")
		e.do("PUT", "/Groups/"+g, `{"displayName":"G1","members":[{"value":"`+ou+`"}]}`).wantErr(t, 400, "invalidValue")
		e.do("POST", "/Groups", `{"displayName":"X","members":[{"value":"`+ou+`"}]}`).wantErr(t, 400, "invalidValue")
		r := e.do("GET", "/Groups/"+g, "").want(t, 200)
		ms, _ := r.body["members"].([]any)
		if len(ms) != 1 || ms[0].(map[string]any)["value"] != a {
			t.Errorf("members after refused writes: %v", ms)
		}
		for _, m := range []string{"GET", "PUT", "PATCH", "DELETE"} {
			body := ""
			switch m {
			case "PUT":
				body = `{"displayName":"stolen"}`
			case "PATCH":
				body = patchOps(`{"op":"add","path":"members","value":[{"value":"` + a + `"}]}`)
			}
			e.do(m, "/Groups/"+og, body).wantErr(t, http.StatusNotFound, "")
			e.do(m, "/Users/"+ou, strings.Replace(body, "displayName", "userName", 1)).wantErr(t, http.StatusNotFound, "")
		}
		if n := e.do("GET", "/Groups?filter="+urlq(`displayName eq "OG"`), "").want(t, 200).total(); n != 0 {
			t.Errorf("org A sees org B's group")
		}
		if got := e.doTok(otok, "GET", "/Groups/"+og, "").want(t, 200).str("displayName"); got != "OG" {
			t.Errorf("org B's group changed: %q", got)
		}
	})
}

// TestGroupPatchPaths: URN-form Group paths, value-filtered member
// removal with or-lists, path-less replace with members, and read-only
// targets.
func TestGroupPatchPaths(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a := e.createUser("alice@example.com")
		b := e.createUser("bob@example.com")
		g := e.createGroup("G1", a)
		members := func() int {
			ms, _ := e.do("GET", "/Groups/"+g, "").want(t, 200).body["members"].([]any)
			return len(ms)
		}
		patch := func(ops string, status int) {
			t.Helper()
			e.do("PATCH", "/Groups/"+g, patchOps(ops)).want(t, status)
		}
		patch(`{"op":"add","path":"urn:ietf:params:scim:schemas:core:2.0:Group:members","value":[{"value":"`+b+`"},{"value":"`+b+`"}]}`, 204)
		if n := members(); n != 2 {
			t.Fatalf("%d members after URN add with a repeated member, want 2", n)
		}
		patch(`{"op":"remove","path":"urn:ietf:params:scim:schemas:core:2.0:Group:members[value eq \"`+b+`\"]"}`, 204)
		if n := members(); n != 1 {
			t.Fatalf("%d members after URN remove, want 1", n)
		}
		patch(`{"op":"Replace","value":{"displayName":"G3","members":[{"value":"`+b+`"}]}}`, 204)
		r := e.do("GET", "/Groups/"+g, "").want(t, 200)
		if ms, _ := r.body["members"].([]any); r.str("displayName") != "G3" || len(ms) != 1 || ms[0].(map[string]any)["value"] != b {
			t.Fatalf("path-less replace: %s", r.raw)
		}
		patch(`{"op":"remove","path":"members[value eq \"`+a+`\" or value eq \"`+b+`\"]"}`, 204)
		if n := members(); n != 0 {
			t.Fatalf("%d members after or-list remove", n)
		}
		e.do("PATCH", "/Groups/"+g, patchOps(`{"op":"replace","path":"displayName","value":""}`)).wantErr(t, 400, "invalidValue")
		e.do("PATCH", "/Groups/"+g, patchOps(`{"op":"remove","path":"displayName"}`)).wantErr(t, 400, "invalidValue")
		e.do("PATCH", "/Groups/"+g, patchOps(`{"op":"add","path":"id","value":"x"}`)).wantErr(t, 400, "mutability")
		e.do("PATCH", "/Groups/"+g, patchOps(`{"op":"remove","path":"members[display eq \"x\"]"}`)).wantErr(t, 400, "invalidPath")
		e.do("PATCH", "/Users/"+a, patchOps(`{"op":"add","path":"groups","value":[{"value":"`+g+`"}]}`)).wantErr(t, 400, "mutability")
	})
}

// TestGroupMemberFilterKeepsIDCase: a member removed through a value
// filter (Okta's group push sends members[value eq "id"]) is the member
// with exactly that ID. User IDs are case-exact, and an adopted member
// keeps the ID the host gave it (a ULID, say, in upper case): the filter
// must not lower-case it, or the removal matches no one and the person
// keeps the group's roles.
func TestGroupMemberFilterKeepsIDCase(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		u := &sso.User{ID: "usr_01HZX3K9QW7M2V8R5T6Y4B1N0C", Email: "ulid@acme.example", EmailVerified: true, CreatedAt: now}
		m := &sso.Membership{OrgID: e.org.ID, UserID: u.ID, Status: sso.MembershipActive, Source: sso.SourceJIT, JoinedAt: now}
		if err := e.st.Provision(ctx, u, m, nil); err != nil {
			t.Fatal(err)
		}
		id := e.createUser("ulid@acme.example")
		if id != u.ID {
			t.Fatalf("SCIM create made user %s, want the member %s adopted", id, u.ID)
		}
		other := e.createUser("other@acme.example")
		g := e.createGroup("Admins", id, other)
		members := func() []string {
			t.Helper()
			var out []string
			ms, _ := e.do("GET", "/Groups/"+g, "").want(t, http.StatusOK).body["members"].([]any)
			for _, x := range ms {
				out = append(out, x.(map[string]any)["value"].(string))
			}
			return out
		}
		// Another case of the ID names no member.
		e.do("PATCH", "/Groups/"+g, patchOps(`{"op":"remove","path":"members[value eq \"`+strings.ToLower(id)+`\"]"}`)).want(t, http.StatusNoContent)
		if got := members(); len(got) != 2 {
			t.Fatalf("members after removing %s: %v, want both", strings.ToLower(id), got)
		}
		e.do("PATCH", "/Groups/"+g, patchOps(`{"op":"Remove","path":"members[value eq \"`+id+`\"]"}`)).want(t, http.StatusNoContent)
		if got := members(); len(got) != 1 || got[0] != other {
			t.Fatalf("members after removing %s: %v, want only %s", id, got, other)
		}
	})
}

// TestEmailStoredForLinking: the core user's email is stored as
// login completion looks it up (normalize.Email: punycode domain, no
// trailing dot, lower case), or SSO could never find SCIM-provisioned
// users with IDN domains.
func TestEmailStoredForLinking(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		for in, want := range map[string]string{
			"用户@例子.广告":       "用户@xn--fsqu00a.xn--4rr70v",
			"Bob@Acme.COM.":  "bob@acme.com",
			"not-an-address": "",
		} {
			id := e.do("POST", "/Users", `{"userName":`+q(in)+`}`).want(t, http.StatusCreated).str("id")
			u, err := e.st.GetUser(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			norm, _, _ := normalize.Email(in)
			if u.Email != want || (want != "" && u.Email != norm) {
				t.Errorf("%q stored as %q, want %q", in, u.Email, want)
			}
			if want != "" {
				if m, err := e.st.FindMemberByEmail(context.Background(), e.org.ID, want); err != nil || m.UserID != id {
					t.Errorf("%q: FindMemberByEmail: %v", in, err)
				}
			}
		}
	})
}
