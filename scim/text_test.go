package scim_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestTC8_InvalidUTF8IsRefusedNotReplaced: encoding/json silently turns
// invalid UTF-8 (and unpaired surrogate escapes) into U+FFFD. At every
// entry point such a string must be a 400 invalidValue naming the
// attribute, and nothing may be stored.
func TestTC8_InvalidUTF8IsRefusedNotReplaced(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		const bad = "\xff\xfe" // raw bytes: never valid UTF-8
		u := e.createUser("utf8@acme.test")
		g := e.createGroup("Utf8", u)
		beforeUser := e.do("GET", "/Users/"+u, "").want(t, http.StatusOK).raw
		beforeGroup := e.do("GET", "/Groups/"+g, "").want(t, http.StatusOK).raw
		cases := []struct {
			method, path, body, attr string
		}{
			{"POST", "/Users", `{"userName":"a` + bad + `@acme.test"}`, "userName"},
			{"POST", "/Users", `{"userName":"n@acme.test","name":{"givenName":"Jo` + bad + `"}}`, "name.givenName"},
			{"POST", "/Users", `{"userName":"s@acme.test","name":{"familyName":"\ud800"}}`, "name.familyName"},
			{"POST", "/Users", `{"userName":"l@acme.test","name":{"familyName":"\udc00\ud83d"}}`, "name.familyName"},
			{"POST", "/Users", `{"userName":"e@acme.test","emails":[{"value":"x@acme.test"},{"value":"e` + bad + `@acme.test"}]}`, "emails.value"},
			{"POST", "/Users", `{"userName":"x@acme.test","externalId":"ext` + bad + `"}`, "externalId"},
			{"POST", "/Users", `{"userName":"k@acme.test","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"` + bad + `"}}`, "department"},
			{"POST", "/Users", `{"userName":"k@acme.test","nick` + bad + `":"x"}`, "attribute name"},
			{"PUT", "/Users/" + u, `{"userName":"utf8@acme.test","displayName":"` + bad + `"}`, "displayName"},
			{"PATCH", "/Users/" + u, patchOps(`{"op":"replace","path":"displayName","value":"D` + bad + `"}`), "displayName"},
			{"PATCH", "/Users/" + u, patchOps(`{"op":"replace","value":{"name.familyName":"` + bad + `"}}`), "name.familyName"},
			{"PATCH", "/Users/" + u, patchOps(`{"op":"add","path":"emails","value":[{"value":"` + bad + `@acme.test","type":"home"}]}`), "emails.value"},
			{"PATCH", "/Users/" + u, patchOps(`{"op":"replace","path":"externalId","value":"\ud800x"}`), "externalId"},
			{"PATCH", "/Users/" + u, patchOps(`{"op":"replace","path":"emails[value eq \"` + bad + `\"].type","value":"home"}`), "Operations.path"},
			{"POST", "/Groups", `{"displayName":"G` + bad + `"}`, "displayName"},
			{"POST", "/Groups", `{"displayName":"G2","externalId":"` + bad + `"}`, "externalId"},
			{"POST", "/Groups", `{"displayName":"G3","members":[{"value":"` + bad + `"}]}`, "members.value"},
			{"PUT", "/Groups/" + g, `{"displayName":"Utf8","members":[{"value":"` + u + `","display":"` + bad + `"}]}`, "members.display"},
			{"PATCH", "/Groups/" + g, patchOps(`{"op":"replace","path":"displayName","value":"` + bad + `"}`), "displayName"},
			{"PATCH", "/Groups/" + g, patchOps(`{"op":"add","path":"members","value":[{"value":"u` + bad + `"}]}`), "members.value"},
			{"GET", "/Users?filter=" + urlq(`userName eq "`+bad+`"`), "", "filter"},
			{"GET", "/Groups?filter=" + urlq(`displayName eq "`+bad+`"`), "", "filter"},
			{"GET", "/Users/" + u + "?attributes=" + urlq("title"+bad), "", "attributes"},
			{"POST", "/Users/.search", `{"filter":"userName eq \"` + bad + `\""}`, "filter"},
			{"POST", "/Groups/.search", `{"filter":"displayName eq \"\ud800\""}`, "filter"},
			{"POST", "/.search", `{"filter":"userName eq \"` + bad + `\""}`, "filter"},
		}
		for _, c := range cases {
			r := e.do(c.method, c.path, c.body)
			r.wantErr(t, http.StatusBadRequest, "invalidValue")
			if d := r.str("detail"); !strings.Contains(d, c.attr) || !strings.Contains(d, "UTF-8") {
				t.Errorf("%s %s %q: detail %q does not name %q as not UTF-8", c.method, c.path, c.body, d, c.attr)
			}
		}
		// A filter's own escapes follow the same rule: a lone surrogate is
		// a bad literal, not a search for U+FFFD.
		e.do("GET", "/Groups?filter="+urlq(`displayName eq "\ud800"`), "").wantErr(t, http.StatusBadRequest, "invalidFilter")

		// Nothing was stored.
		if got := e.do("GET", "/Users/"+u, "").want(t, http.StatusOK).raw; got != beforeUser {
			t.Errorf("user changed by refused requests:\n%s\n%s", beforeUser, got)
		}
		if got := e.do("GET", "/Groups/"+g, "").want(t, http.StatusOK).raw; got != beforeGroup {
			t.Errorf("group changed by refused requests:\n%s\n%s", beforeGroup, got)
		}
		users := e.do("GET", "/Users", "").want(t, http.StatusOK)
		groups := e.do("GET", "/Groups", "").want(t, http.StatusOK)
		if users.total() != 1 || groups.total() != 1 {
			t.Errorf("%d users and %d groups after refused creates, want 1 and 1", users.total(), groups.total())
		}
		if strings.Contains(users.raw+groups.raw, "\uFFFD") || strings.Contains(users.raw+groups.raw, `\ufffd`) {
			t.Error("U+FFFD was stored")
		}

		// Valid text is untouched: non-ASCII, an escaped surrogate pair,
		// and U+FFFD itself when the client sends it.
		r := e.do("POST", "/Users", `{"userName":"ok@acme.test","displayName":"Zoë \ud83d\ude00 \ufffd 用户"}`).want(t, http.StatusCreated)
		if got := r.str("displayName"); got != "Zoë 😀 \uFFFD 用户" {
			t.Errorf("valid text stored as %q", got)
		}
		if n := e.do("GET", "/Users?filter="+urlq(`displayName co "\ud83d\ude00"`), "").want(t, http.StatusOK).total(); n != 1 {
			t.Errorf("filter with an escaped surrogate pair found %d users, want 1", n)
		}
	})
}
