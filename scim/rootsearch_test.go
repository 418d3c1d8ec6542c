package scim_test

import (
	"net/http"
	"testing"
)

// TestRootSearchResourceSpecificAttributes: POST /.search applies one
// filter to Users and Groups; an attribute only one of them has is absent
// on the other (RFC 7644 §3.4.2, §3.4.3) instead of failing the search.
func TestRootSearchResourceSpecificAttributes(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		ann := e.createUser("ann@acme.test")
		bo := e.createUser("bo@acme.test", `"displayName":"Team"`)
		eng := e.createGroup("Team", ann)
		ops := e.createGroup("ops")
		other := e.addOrg("other")
		otok, _ := e.issue(other.ID)
		e.doTok(otok, "POST", "/Users", `{"userName":"ann@acme.test"}`).want(t, http.StatusCreated)

		search := func(filter string) *resp {
			return e.do("POST", "/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":`+q(filter)+`}`)
		}
		cases := []struct {
			filter string
			want   []string
		}{
			{`userName eq "ann@acme.test"`, []string{ann}},
			{`emails[type eq "work"].value eq "bo@acme.test"`, []string{bo}},
			{`members[value eq "` + ann + `"]`, []string{eng}},
			{`members.value eq "` + ann + `" or userName eq "bo@acme.test"`, []string{eng, bo}},
			{`displayName eq "team"`, []string{bo, eng}},               // both types have it
			{`userName ne "ann@acme.test"`, []string{bo, eng, ops}},    // absent is not equal
			{`not (userName pr)`, []string{eng, ops}},                  // no group has a userName
			{`userName pr and displayName eq "team"`, []string{bo}},    // false and x on groups
			{`active eq true and not (members pr)`, []string{ann, bo}}, // a boolean of users only
			{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr`, nil},
		}
		for _, c := range cases {
			r := search(c.filter).want(t, http.StatusOK)
			if got := ids(r); !sameIDs(got, c.want) || r.total() != len(c.want) {
				t.Errorf("%s: got %v (total %d), want %v", c.filter, got, r.total(), c.want)
			}
		}
		// Invalid for both types, or a bad operand: still invalidFilter.
		for _, f := range []string{
			`nickName2 eq "x"`,
			`userName gt "a"`,
			`active eq "yes"`,
			`members[value eq "a"`,
			`userName eq "a" or title2 pr`,
		} {
			search(f).wantErr(t, http.StatusBadRequest, "invalidFilter")
		}
		// The per-type endpoints stay strict.
		e.do("GET", "/Groups?filter="+urlq(`userName eq "a"`), "").wantErr(t, http.StatusBadRequest, "invalidFilter")
		e.do("GET", "/Users?filter="+urlq(`members pr`), "").wantErr(t, http.StatusBadRequest, "invalidFilter")
	})
}
