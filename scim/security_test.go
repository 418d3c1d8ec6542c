package scim_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/scimtoken"
	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
)

// T-C.1: authentication of the SCIM client.
func TestTC1_Authentication(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.createUser("a@acme.test")
		revokedTok, revokedID := e.issue(e.org.ID)
		toks, _ := e.st.ListSCIMTokens(ctx, e.org.ID)
		for _, tk := range toks {
			if tk.ID == revokedID {
				tk.RevokedAt = time.Now()
				if err := e.st.UpdateSCIMToken(ctx, tk); err != nil {
					t.Fatal(err)
				}
			}
		}
		cases := []struct{ name, header string }{
			{"missing", ""},
			{"wrong scheme", "Basic " + e.token},
			{"wrong token", "Bearer " + scimtoken.Prefix + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
			{"revoked", "Bearer " + revokedTok},
			{"truncated", "Bearer " + e.token[:len(e.token)-1]},
			{"oversized", "Bearer " + strings.Repeat("x", 4096)},
		}
		for _, c := range cases {
			for _, path := range []string{"/Users", "/Groups", "/Users/x"} {
				req, _ := http.NewRequest("GET", e.base+path, nil)
				if c.header != "" {
					req.Header.Set("Authorization", c.header)
				}
				r := e.send(req)
				r.wantErr(t, http.StatusUnauthorized, "")
				if r.header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s %s: no WWW-Authenticate", c.name, path)
				}
			}
		}
		// Rotation with overlap: both tokens work until the overlap ends.
		now := time.Now()
		newTok, _, err := scimtoken.Rotate(ctx, e.st, e.org.ID, e.tokenID, time.Hour, now)
		if err != nil {
			t.Fatal(err)
		}
		e.doTok(e.token, "GET", "/Users", "").want(t, http.StatusOK)
		e.doTok(newTok, "GET", "/Users", "").want(t, http.StatusOK)
		if _, _, err := scimtoken.Rotate(ctx, e.st, e.org.ID, e.tokenID, 0, now); err != nil {
			t.Fatal(err)
		}
		e.doTok(e.token, "GET", "/Users", "").wantErr(t, http.StatusUnauthorized, "")
		e.doTok(newTok, "GET", "/Users", "").want(t, http.StatusOK)
		// Discovery reveals nothing about any organization.
		for _, p := range []string{"/ServiceProviderConfig", "/Schemas", "/ResourceTypes", "/ResourceTypes/User", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"} {
			r := e.doTok("", "GET", p, "").want(t, http.StatusOK)
			if strings.Contains(r.raw, e.org.ID) || strings.Contains(r.raw, "a@acme.test") {
				t.Errorf("%s leaks tenant data", p)
			}
		}
		// An organization without the SCIM feature is refused.
		off := e.addOrg("off")
		off.Settings.Features = off.Settings.Features.Without("scim")
		if err := e.st.UpdateOrg(ctx, off); err != nil {
			t.Fatal(err)
		}
		offTok, _ := e.issue(off.ID)
		e.doTok(offTok, "GET", "/Users", "").wantErr(t, http.StatusForbidden, "")
	})
}

// T-C.2: tenant isolation.
func TestTC2_TenantIsolation(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		orgB := e.addOrg("beta")
		tokB, _ := e.issue(orgB.ID)
		idA := e.createUser("shared@x.test", `"externalId":"same-ext"`)
		rb := e.doTok(tokB, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x@b.com","externalId":"same-ext"}`).want(t, http.StatusCreated)
		idB := rb.str("id")
		// The same userName in another organization is allowed.
		e.doTok(tokB, "POST", "/Users", `{"userName":"shared@x.test"}`).want(t, http.StatusCreated)
		gB := e.doTok(tokB, "POST", "/Groups", `{"displayName":"B team","members":[{"value":`+q(idB)+`}]}`).want(t, http.StatusCreated).str("id")

		for _, m := range []struct{ method, body string }{
			{"GET", ""},
			{"PUT", `{"userName":"stolen@a.test"}`},
			{"PATCH", `{"Operations":[{"op":"replace","path":"active","value":false}]}`},
			{"DELETE", ""},
		} {
			e.do(m.method, "/Users/"+idB, m.body).wantErr(t, http.StatusNotFound, "")
			e.do(m.method, "/Groups/"+gB, strings.Replace(m.body, "userName", "displayName", 1)).wantErr(t, http.StatusNotFound, "")
		}
		if e.rev.revoked(idB) != 0 {
			t.Fatal("a cross-tenant PATCH revoked sessions")
		}
		r := e.do("GET", "/Users?filter="+urlq(`userName eq "x@b.com"`), "").want(t, http.StatusOK)
		if r.total() != 0 {
			t.Fatalf("cross-tenant filter found %d", r.total())
		}
		r = e.do("GET", "/Users?filter="+urlq(`externalId eq "same-ext"`), "").want(t, http.StatusOK)
		if r.total() != 1 || r.resources()[0]["id"] != idA {
			t.Fatalf("externalId filter: %s", r.raw)
		}
		gA := e.createGroup("A team", idA)
		e.do("PATCH", "/Groups/"+gA, `{"Operations":[{"op":"add","path":"members","value":[{"value":`+q(idB)+`}]}]}`).wantErr(t, http.StatusBadRequest, "invalidValue")
		e.do("POST", "/Groups", `{"displayName":"x","members":[{"value":`+q(idB)+`}]}`).wantErr(t, http.StatusBadRequest, "invalidValue")
		// B's user and group are untouched.
		rb = e.doTok(tokB, "GET", "/Users/"+idB, "").want(t, http.StatusOK)
		if rb.body["active"] != true {
			t.Fatal("B's user changed")
		}
		r = e.doTok(tokB, "GET", "/Groups/"+gB, "").want(t, http.StatusOK)
		if !strings.Contains(r.raw, idB) {
			t.Fatal("B's group lost its member")
		}
		r = e.do("GET", "/Groups", "").want(t, http.StatusOK)
		if r.total() != 1 {
			t.Fatalf("A sees %d groups", r.total())
		}
	})
}

// T-C.3: filter injection and filter limits.
func TestTC3_FilterInjection(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		e.createUser("plain@acme.test")
		pct := e.createUser("100%_off@acme.test")
		under := e.createUser("a_b@acme.test")
		cases := []struct {
			filter string
			want   []string // IDs, nil = zero results
		}{
			{`userName eq "a\" or \"1\"=\"1"`, nil},
			{`userName co "%"`, []string{pct}},
			{`userName co "_"`, []string{pct, under}},
			{`userName sw "100%"`, []string{pct}},
			{`userName ew "_OFF@ACME.TEST"`, []string{pct}},
			{`emails[type eq "work" and value co "%_"]`, []string{pct}},
			{`emails.value eq "A_B@ACME.TEST"`, []string{under}},
			{`userName eq "x' OR '1'='1"`, nil},
		}
		for _, c := range cases {
			r := e.do("GET", "/Users?filter="+urlq(c.filter), "").want(t, http.StatusOK)
			if r.total() != len(c.want) {
				t.Errorf("%s: %d results, want %d: %s", c.filter, r.total(), len(c.want), r.raw)
				continue
			}
			for i, res := range r.resources() {
				if !contains(c.want, res["id"].(string)) {
					t.Errorf("%s: result %d = %v", c.filter, i, res["id"])
				}
			}
		}
		bad := []string{
			`password eq "x"`,
			`meta.x eq "1"`,
			`userName gt "a"`,
			`active co "t"`,
			`title eq "x"`,
			`userName eq`,
			`(userName eq "a"`,
			`userName zz "a"`,
			`emails[type eq "work"`,
			`emails[value eq "a"].value`,           // no operator after the sub-attribute
			`emails[value eq "a"].nope eq "b"`,     // unknown sub-attribute
			`emails[value eq "a"].value gt "b"`,    // ordering on a string
			`emails[value eq "a"]. eq "b"`,         // no sub-attribute name
			`emails[value eq "a"].value eq "b"]`,   // stray bracket
			`members[value eq "a"].value eq "b"`,   // a group attribute on users
			`emails[type eq "work"].emails eq "b"`, // not a sub-attribute
			`meta.lastModified gt "not-a-date"`,
			`name.middleName eq "x"`,
			`userName eq "a" and`,
			strings.Repeat("(", 500) + `userName eq "a"` + strings.Repeat(")", 500),
			`userName eq "` + strings.Repeat("a", 10*1024) + `"`,
			strings.TrimSuffix(strings.Repeat(`userName eq "a" or `, 100), " or "),
		}
		for _, f := range bad {
			start := time.Now()
			r := e.do("GET", "/Users?filter="+urlq(f), "")
			r.wantErr(t, http.StatusBadRequest, "invalidFilter")
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("rejecting %.40q took %v", f, d)
			}
		}
		// POST /.search takes the filter out of the URL (T-C.7).
		r := e.do("POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName eq \"plain@acme.test\"","startIndex":1,"count":10}`).want(t, http.StatusOK)
		if r.total() != 1 {
			t.Fatalf(".search: %s", r.raw)
		}
	})
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// T-C.4: large lists and resource exhaustion.
func TestTC4_LargeLists(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		for i := 0; i < 12; i++ {
			e.createUser(fmt.Sprintf("u%02d@acme.test", i))
		}
		r := e.do("GET", "/Users?count=1000000", "").want(t, http.StatusOK)
		if len(r.resources()) != 5 || r.total() != 12 {
			t.Fatalf("count clamp: %d resources, total %d", len(r.resources()), r.total())
		}
		r = e.do("GET", "/Users?count=99999999999999999999999", "").want(t, http.StatusOK)
		if len(r.resources()) != 5 {
			t.Fatalf("overflowing count: %d", len(r.resources()))
		}
		r = e.do("GET", "/Users?startIndex=-5&count=2", "").want(t, http.StatusOK)
		if r.body["startIndex"].(interface{ String() string }).String() != "1" || len(r.resources()) != 2 {
			t.Fatalf("negative startIndex: %s", r.raw)
		}
		r = e.do("GET", "/Users?startIndex=11&count=5", "").want(t, http.StatusOK)
		if len(r.resources()) != 2 || r.total() != 12 {
			t.Fatalf("last page: %s", r.raw)
		}
		r = e.do("GET", "/Users?count=0", "").want(t, http.StatusOK)
		if len(r.resources()) != 0 || r.total() != 12 {
			t.Fatalf("count=0: %s", r.raw)
		}
		e.do("GET", "/Users?startIndex=9223372036854775808", "").wantErr(t, http.StatusBadRequest, "invalidValue")
		e.do("GET", "/Users?startIndex=abc", "").wantErr(t, http.StatusBadRequest, "invalidValue")
		e.do("GET", "/Users?count=ten", "").wantErr(t, http.StatusBadRequest, "invalidValue")
		// Pagination walks every user exactly once.
		seen := map[string]bool{}
		for start := 1; start <= 12; start += 5 {
			r := e.do("GET", fmt.Sprintf("/Users?startIndex=%d&count=5", start), "").want(t, http.StatusOK)
			for _, u := range r.resources() {
				seen[u["id"].(string)] = true
			}
		}
		if len(seen) != 12 {
			t.Fatalf("pages covered %d users", len(seen))
		}
		// Oversize body.
		big := `{"userName":"big@acme.test","displayName":"` + strings.Repeat("x", 2<<20) + `"}`
		e.do("POST", "/Users", big).wantErr(t, http.StatusRequestEntityTooLarge, "")
		// Too many PATCH operations.
		id := e.createUser("ops@acme.test")
		ops := strings.TrimSuffix(strings.Repeat(`{"op":"replace","path":"displayName","value":"x"},`, 101), ",")
		e.do("PATCH", "/Users/"+id, `{"Operations":[`+ops+`]}`).wantErr(t, http.StatusBadRequest, "tooMany")
		r = e.do("GET", "/Users/"+id, "").want(t, http.StatusOK)
		if r.str("displayName") != "" {
			t.Fatal("a rejected PATCH wrote")
		}
	}, func(c *scim.Config) { c.MaxResults = 5; c.MaxOperations = 100 })
}

// T-C.5: PATCH edge cases (the IdP traces are replayed in idp_test.go).
func TestTC5_PatchEdgeCases(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser("edge@acme.test", `"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D"}`)
		other := e.createUser("other@acme.test")
		patch := func(body string) *resp { return e.do("PATCH", "/Users/"+id, body) }

		patch(`{"Operations":[{"op":"remove"}]}`).wantErr(t, http.StatusBadRequest, "noTarget")
		patch(`{"Operations":[{"op":"replace","path":"id","value":"x"}]}`).wantErr(t, http.StatusBadRequest, "mutability")
		patch(`{"Operations":[{"op":"replace","path":"meta.created","value":"x"}]}`).wantErr(t, http.StatusBadRequest, "mutability")
		patch(`{"Operations":[{"op":"replace","path":"userName","value":"OTHER@acme.test"}]}`).wantErr(t, http.StatusConflict, "uniqueness")
		patch(`{"Operations":[{"op":"replace","path":"nickName","value":7}]}`).wantErr(t, http.StatusBadRequest, "invalidValue")
		patch(`{"Operations":[{"op":"replace","path":"shoeSize","value":"44"}]}`).wantErr(t, http.StatusBadRequest, "invalidPath")
		patch(`{"Operations":[{"op":"jump","path":"userName","value":"x"}]}`).wantErr(t, http.StatusBadRequest, "invalidSyntax")
		patch(`{"Operations":[{"op":"replace","path":"emails[type eq ]","value":"x"}]}`).wantErr(t, http.StatusBadRequest, "invalidPath")
		patch(`{"Operations":[{"op":"remove","path":"userName"}]}`).wantErr(t, http.StatusBadRequest, "invalidValue")

		// Entra: capitalised ops, string booleans, value-filtered paths,
		// path-less maps with dotted keys, manager as a bare string.
		r := patch(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"Replace","path":"emails[type eq \"work\"].value","value":"new@acme.test"},
			{"op":"Add","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1 555"},
			{"op":"Replace","value":{"name.givenName":"Ada","name.familyName":"Lovelace","displayName":"Ada L"}},
			{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"`+other+`"},
			{"op":"Replace","path":"active","value":"True"}]}`).want(t, http.StatusOK)
		emails := r.body["emails"].([]any)
		if len(emails) != 1 || emails[0].(map[string]any)["value"] != "new@acme.test" {
			t.Errorf("emails = %v", emails)
		}
		if r.str("name", "givenName") != "Ada" || r.str("name", "familyName") != "Lovelace" || r.str("displayName") != "Ada L" {
			t.Errorf("names: %s", r.raw)
		}
		ext := r.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)
		if ext["manager"].(map[string]any)["value"] != other || ext["department"] != "R&D" {
			t.Errorf("enterprise: %v", ext)
		}
		if !strings.Contains(r.raw, "+1 555") {
			t.Errorf("phone not added: %s", r.raw)
		}
		// Manager as an object, through a path-less map keyed by the URN.
		r = patch(`{"Operations":[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m-2"}}}}]}`).want(t, http.StatusOK)
		if r.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)["manager"].(map[string]any)["value"] != "m-2" {
			t.Errorf("manager object: %s", r.raw)
		}
		// A filtered remove.
		r = patch(`{"Operations":[{"op":"remove","path":"phoneNumbers[type eq \"mobile\"]"}]}`).want(t, http.StatusOK)
		if strings.Contains(r.raw, "+1 555") {
			t.Errorf("phone not removed")
		}
		// If-Match with a stale version.
		cur := r.header.Get("ETag")
		req, _ := http.NewRequest("PATCH", e.base+"/Users/"+id, strings.NewReader(`{"Operations":[{"op":"replace","path":"title","value":"x"}]}`))
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("If-Match", `W/"1"`)
		e.send(req).wantErr(t, http.StatusPreconditionFailed, "")
		req, _ = http.NewRequest("PATCH", e.base+"/Users/"+id, strings.NewReader(`{"Operations":[{"op":"replace","path":"title","value":"x"}]}`))
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("If-Match", cur)
		e.send(req).want(t, http.StatusOK)

		// Groups: adding an existing member is idempotent; removal by
		// filter; Okta replaces the whole list.
		g := e.createGroup("Eng", id)
		e.do("PATCH", "/Groups/"+g, `{"Operations":[{"op":"add","path":"members","value":[{"value":`+q(id)+`}]}]}`).want(t, http.StatusNoContent)
		r = e.do("GET", "/Groups/"+g, "").want(t, http.StatusOK)
		if n := len(r.body["members"].([]any)); n != 1 {
			t.Fatalf("members after idempotent add: %d", n)
		}
		e.do("PATCH", "/Groups/"+g, `{"Operations":[{"op":"replace","path":"members","value":[{"value":`+q(other)+`},{"value":`+q(id)+`}]}]}`).want(t, http.StatusNoContent)
		e.do("PATCH", "/Groups/"+g, `{"Operations":[{"op":"Remove","path":"members[value eq \"`+other+`\"]"}]}`).want(t, http.StatusNoContent)
		r = e.do("GET", "/Groups/"+g+"?excludedAttributes=members", "").want(t, http.StatusOK)
		if _, ok := r.body["members"]; ok {
			t.Error("excludedAttributes=members ignored")
		}
		r = e.do("GET", "/Groups/"+g, "").want(t, http.StatusOK)
		if ms := r.body["members"].([]any); len(ms) != 1 || ms[0].(map[string]any)["value"] != id {
			t.Fatalf("members: %s", r.raw)
		}
		e.do("PATCH", "/Groups/"+g, `{"Operations":[{"op":"remove","path":"members"}]}`).want(t, http.StatusNoContent)
		r = e.do("GET", "/Groups/"+g, "").want(t, http.StatusOK)
		if _, ok := r.body["members"]; ok {
			t.Fatalf("remove all members: %s", r.raw)
		}
	})
}

// T-C.6: lifecycle and sessions.
func TestTC6_LifecycleRevokesSessions(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		id := e.createUser("life@acme.test")
		ident := &sso.Identity{ID: opaque.NewID("idn_"), OrgID: e.org.ID, Issuer: "https://idp", Subject: "sub-1", UserID: id, CreatedAt: time.Now()}
		if err := e.st.CreateIdentity(ctx, ident); err != nil {
			t.Fatal(err)
		}
		// An email change does not re-link or touch identities.
		e.do("PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"emails","value":[{"value":"attacker@evil.test","primary":true}]}]}`).want(t, http.StatusOK)
		ids, err := e.st.ListUserIdentities(ctx, id)
		if err != nil || len(ids) != 1 || ids[0].Subject != "sub-1" || ids[0].UserID != id {
			t.Fatalf("identities after email change: %v %v", ids, err)
		}
		if e.rev.revoked(id) != 0 {
			t.Fatal("revoked without deactivation")
		}
		// PUT with active=false.
		e.do("PUT", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"life@acme.test","active":false}`).want(t, http.StatusOK)
		if e.rev.revoked(id) != 1 || e.membership(id).Status != sso.MembershipDeactivated {
			t.Fatalf("PUT active=false: revoked %d, status %s", e.rev.revoked(id), e.membership(id).Status)
		}
		// Re-activation restores access.
		e.do("PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"active","value":true}]}`).want(t, http.StatusOK)
		if e.membership(id).Status != sso.MembershipActive {
			t.Fatal("reactivation did not restore the membership")
		}
		// A failing revoker: the deactivation is kept, the client is told
		// to retry, and the retry revokes.
		e.rev.mu.Lock()
		e.rev.err = errors.New("session store down")
		e.rev.mu.Unlock()
		e.do("PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"active","value":false}]}`).wantErr(t, http.StatusServiceUnavailable, "")
		if e.membership(id).Status != sso.MembershipDeactivated {
			t.Fatal("deactivation not kept")
		}
		e.rev.mu.Lock()
		e.rev.err = nil
		e.rev.mu.Unlock()
		e.do("PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"active","value":false}]}`).want(t, http.StatusOK)
		if e.rev.revoked(id) != 2 {
			t.Fatalf("retry did not revoke: %d", e.rev.revoked(id))
		}
		// DELETE keeps the data and revokes.
		e.do("DELETE", "/Users/"+id, "").want(t, http.StatusNoContent)
		if e.rev.revoked(id) != 3 {
			t.Fatal("DELETE did not revoke")
		}
		if _, err := e.st.GetUser(ctx, id); err != nil {
			t.Fatalf("core user gone after DELETE: %v", err)
		}
		e.rev.wantOnly(t, e.org.ID)
		// Audit trail.
		evs, err := e.st.ListEvents(ctx, sso.EventQuery{OrgID: e.org.ID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, ev := range evs {
			count[ev.Type]++
			if ev.Actor.Type != sso.ActorSCIM && ev.Type != sso.EventSessionRevoked {
				t.Errorf("event %s actor %v", ev.Type, ev.Actor)
			}
		}
		if count[scim.EventUserCreated] != 1 || count[scim.EventUserDeactivated] < 2 || count[scim.EventUserReactivated] != 1 || count[scim.EventUserUpdated] < 1 {
			t.Errorf("events: %v", count)
		}
		if err := audit.VerifyChain(evs); err != nil {
			t.Errorf("audit chain: %v", err)
		}
		hooks := strings.Join(e.events.all(), " ")
		for _, want := range []string{"created:" + id, "deactivated:" + id, "reactivated:" + id, "updated:" + id} {
			if !strings.Contains(hooks, want) {
				t.Errorf("hook %s missing in %s", want, hooks)
			}
		}
	})
}

// T-C.7: PII in URLs and logs. Filters may travel in POST bodies, and the
// handler never logs query strings.
func TestTC7_NoPIIInLogs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	e := newEnv(t, func(c *scim.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	})
	e.createUser("secret.person@acme.test")
	e.do("GET", "/Users?filter="+urlq(`userName eq "secret.person@acme.test"`), "").want(t, http.StatusOK)
	e.do("GET", "/Users?filter="+urlq(`password eq "secret.person@acme.test"`), "").wantErr(t, http.StatusBadRequest, "invalidFilter")
	e.rev.err = errors.New("down")
	e.do("DELETE", "/Users/nope?x=secret.person@acme.test", "").wantErr(t, http.StatusNotFound, "")
	if strings.Contains(buf.String(), "secret.person") {
		t.Fatalf("log contains PII: %s", buf.String())
	}
	r := e.do("POST", "/.search", `{"filter":"displayName pr"}`).want(t, http.StatusOK)
	if r.total() != 0 {
		t.Fatalf("root search: %s", r.raw)
	}
}
