package scim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/scim"
)

// TestUserSizeBound runs on every backend: PATCH adds to what a user
// stores and customer-defined extensions are kept as sent, so each write
// within the body limit could grow one record without end. A write that
// would store more than scim.MaxUserBytes is refused (400 invalidValue)
// and changes nothing; one within it is stored.
func TestUserSizeBound(t *testing.T) {
	const ext = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
	chunk := strings.Repeat("x", scim.MaxUserBytes/2)
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser("big@acme.test")
		add := func(key string) *resp {
			return e.do("PATCH", "/Users/"+id, patchOps(`{"op":"add","path":`+q(ext+":"+key)+`,"value":`+q(chunk)+`}`))
		}
		add("first").want(t, http.StatusOK)
		add("second").wantErr(t, http.StatusBadRequest, "invalidValue")
		r := e.do("GET", "/Users/"+id, "").want(t, http.StatusOK)
		got, _ := r.body[ext].(map[string]any)
		if _, ok := got["first"]; !ok || len(got) != 1 {
			t.Errorf("extension after the refused PATCH has keys %v, want only first", keys(got))
		}
		// Too big in one request (within the body limit).
		e.do("POST", "/Users", `{"userName":"huge@acme.test",`+q(ext)+`:{"a":`+q(chunk)+`,"b":`+q(chunk)+`}}`).
			wantErr(t, http.StatusBadRequest, "invalidValue")
		if n := e.do("GET", "/Users?filter="+urlq(`userName eq "huge@acme.test"`), "").want(t, http.StatusOK).total(); n != 0 {
			t.Errorf("%d users stored by the refused POST", n)
		}
	})
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
