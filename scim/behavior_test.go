package scim_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memscim"
)

// TestOktaSpecSequence follows the steps of Okta's "SCIM 2.0 SPEC Test"
// for user provisioning, in order.
func TestOktaSpecSequence(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		e.createUser("existing@okta.test")
		// 1. GET /Users?count=1&startIndex=1: a ListResponse.
		r := e.do("GET", "/Users?count=1&startIndex=1", "").want(t, http.StatusOK)
		if r.total() < 1 || len(r.resources()) != 1 || r.body["itemsPerPage"] == nil || r.body["startIndex"] == nil {
			t.Fatalf("list: %s", r.raw)
		}
		if s := r.body["schemas"].([]any); s[0] != "urn:ietf:params:scim:api:messages:2.0:ListResponse" {
			t.Fatalf("schemas %v", s)
		}
		// 2. A random userName does not exist.
		userName := "spec." + strings.ToLower(opaque.NewID("")[:8]) + "@okta.test"
		r = e.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "`+userName+`"`)+"&startIndex=1&count=100", "").want(t, http.StatusOK)
		if r.total() != 0 {
			t.Fatalf("random user exists: %s", r.raw)
		}
		// 3. Create it.
		body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + userName + `",
			"name":{"givenName":"Spec","familyName":"Test"},"emails":[{"primary":true,"value":"` + userName + `","type":"work"}],
			"displayName":"Spec Test","locale":"en-US","externalId":"00u1","groups":[],"password":"p@ss","active":true}`
		r = e.do("POST", "/Users", body).want(t, http.StatusCreated)
		id := r.str("id")
		if id == "" || r.body["active"] != true || r.str("userName") != userName {
			t.Fatalf("create: %s", r.raw)
		}
		if !strings.HasSuffix(r.header.Get("Location"), "/Users/"+id) {
			t.Errorf("Location %q", r.header.Get("Location"))
		}
		// 4. Retrieve it by ID.
		r = e.do("GET", "/Users/"+id, "").want(t, http.StatusOK)
		if r.str("name", "givenName") != "Spec" || r.str("externalId") != "00u1" {
			t.Fatalf("get: %s", r.raw)
		}
		// 5. Find it by userName, and 6. case-insensitively.
		for _, un := range []string{userName, strings.ToUpper(userName)} {
			r = e.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "`+un+`"`)+"&startIndex=1&count=100", "").want(t, http.StatusOK)
			if r.total() != 1 || r.resources()[0]["id"] != id {
				t.Fatalf("filter %s: %s", un, r.raw)
			}
		}
		// 7. Creating it again is a conflict.
		e.do("POST", "/Users", body).wantErr(t, http.StatusConflict, "uniqueness")
		// 8. A made-up ID is 404.
		e.do("GET", "/Users/010101010101010101", "").wantErr(t, http.StatusNotFound, "")
		// 9. Replace the user's name (PUT).
		r = e.do("PUT", "/Users/"+id, strings.Replace(body, `"givenName":"Spec"`, `"givenName":"Changed"`, 1)).want(t, http.StatusOK)
		if r.str("name", "givenName") != "Changed" {
			t.Fatalf("PUT: %s", r.raw)
		}
		// 10. Deactivate (PATCH active=false) and read it back.
		e.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`).want(t, http.StatusOK)
		r = e.do("GET", "/Users/"+id, "").want(t, http.StatusOK)
		if r.body["active"] != false {
			t.Fatalf("deactivated user: %s", r.raw)
		}
		r = e.do("GET", "/Users?filter="+url.QueryEscape(`active eq false`), "").want(t, http.StatusOK)
		if r.total() != 1 {
			t.Fatalf("active eq false: %s", r.raw)
		}
		if e.rev.revoked(id) != 1 {
			t.Fatal("deactivation did not revoke")
		}
	})
}

// TestGroupRoles: group membership drives roles through the connections'
// GroupRoles, and every change is audited.
func TestGroupRoles(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		conn := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: e.org.ID, Protocol: oidc.Protocol, Status: sso.ConnectionActive,
			GroupRoles: []sso.GroupRole{{Group: "Admins", Role: "admin"}, {Group: "Eng", Role: "developer"}}, CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := e.st.CreateConnection(ctx, conn); err != nil {
			t.Fatal(err)
		}
		alice := e.createUser("alice@acme.test")
		bob := e.createUser("bob@acme.test")
		if got := e.membership(alice).Roles; len(got) != 1 || got[0] != "member" {
			t.Fatalf("initial roles %v", got)
		}
		admins := e.createGroup("Admins", alice)
		if got := e.membership(alice).Roles; len(got) != 1 || got[0] != "admin" {
			t.Fatalf("after Admins: %v", got)
		}
		eng := e.createGroup("Eng")
		e.do("PATCH", "/Groups/"+eng, `{"Operations":[{"op":"Add","path":"members","value":[{"value":`+q(alice)+`},{"value":`+q(bob)+`}]}]}`).want(t, http.StatusNoContent)
		if got := e.membership(alice).Roles; len(got) != 2 {
			t.Fatalf("alice roles %v", got)
		}
		if got := e.membership(bob).Roles; len(got) != 1 || got[0] != "developer" {
			t.Fatalf("bob roles %v", got)
		}
		// Renaming a group re-maps its members.
		e.do("PATCH", "/Groups/"+eng, `{"Operations":[{"op":"replace","path":"displayName","value":"Sales"}]}`).want(t, http.StatusNoContent)
		if got := e.membership(bob).Roles; len(got) != 1 || got[0] != "member" {
			t.Fatalf("bob after rename %v", got)
		}
		// Deleting a group removes its roles.
		e.do("DELETE", "/Groups/"+admins, "").want(t, http.StatusNoContent)
		e.do("GET", "/Groups/"+admins, "").wantErr(t, http.StatusNotFound, "")
		if got := e.membership(alice).Roles; len(got) != 1 || got[0] != "member" {
			t.Fatalf("alice after delete %v", got)
		}
		// The user's groups attribute.
		r := e.do("GET", "/Users/"+alice, "").want(t, http.StatusOK)
		gs, _ := r.body["groups"].([]any)
		if len(gs) != 1 || gs[0].(map[string]any)["display"] != "Sales" {
			t.Fatalf("groups attribute: %s", r.raw)
		}
		evs, _ := e.st.ListEvents(ctx, sso.EventQuery{OrgID: e.org.ID, Limit: 1000})
		n := map[string]int{}
		for _, ev := range evs {
			n[ev.Type]++
		}
		if n[scim.EventGroupChanged] != 5 || n[sso.EventRolesChanged] < 4 {
			t.Fatalf("events %v", n)
		}
		// Group filters and PUT.
		r = e.do("GET", "/Groups?filter="+urlq(`displayName eq "sales"`), "").want(t, http.StatusOK)
		if r.total() != 1 {
			t.Fatalf("group filter: %s", r.raw)
		}
		r = e.do("GET", "/Groups?filter="+urlq(`members[value eq "`+bob+`"]`), "").want(t, http.StatusOK)
		if r.total() != 1 {
			t.Fatalf("members filter: %s", r.raw)
		}
		r = e.do("PUT", "/Groups/"+eng, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Eng","members":[{"value":`+q(bob)+`}]}`).want(t, http.StatusOK)
		if ms := r.body["members"].([]any); len(ms) != 1 {
			t.Fatalf("PUT group: %s", r.raw)
		}
		if got := e.membership(alice).Roles; len(got) != 1 || got[0] != "member" {
			t.Fatalf("alice after PUT %v", got)
		}
		if got := e.membership(bob).Roles; len(got) != 1 || got[0] != "developer" {
			t.Fatalf("bob after PUT %v", got)
		}
		// Entra's extra group schemas are tolerated.
		e.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"displayName":"Entra","externalId":"x"}`).want(t, http.StatusCreated)
	})
}

// TestRateLimit: per organization, 429 with Retry-After, other
// organizations unaffected.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *scim.Config) { c.RateLimit = 3 })
	for i := 0; i < 3; i++ {
		e.do("GET", "/Users", "").want(t, http.StatusOK)
	}
	r := e.do("GET", "/Users", "")
	r.wantErr(t, http.StatusTooManyRequests, "")
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	other := e.addOrg("other")
	tok, _ := e.issue(other.ID)
	e.doTok(tok, "GET", "/Users", "").want(t, http.StatusOK)
}

// TestStoreLimiter: the shared limiter counts across handlers (replicas)
// on one store.
func TestStoreLimiter(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := b.open(t)
			now := time.Date(2026, 1, 1, 10, 0, 30, 0, time.UTC)
			clock := func() time.Time { return now }
			l1, err := scim.NewStoreLimiter(st, 5, clock)
			if err != nil {
				t.Fatal(err)
			}
			l2, _ := scim.NewStoreLimiter(st, 5, clock)
			ok := 0
			for i := 0; i < 10; i++ {
				l := l1
				if i%2 == 1 {
					l = l2
				}
				allowed, retry, err := l.Allow(context.Background(), "org1")
				if err != nil {
					t.Fatal(err)
				}
				if allowed {
					ok++
				} else if retry != 30*time.Second {
					t.Fatalf("retry %v", retry)
				}
			}
			if ok != 5 {
				t.Fatalf("allowed %d of 10, want 5", ok)
			}
			now = now.Add(time.Minute)
			if allowed, _, _ := l1.Allow(context.Background(), "org1"); !allowed {
				t.Fatal("new window still limited")
			}
			if allowed, _, _ := l1.Allow(context.Background(), "org2"); !allowed {
				t.Fatal("other org limited")
			}
		})
	}
}

// TestBadInput: every bad request gets SCIM error JSON with the right
// status and scimType, and writes nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser("keep@acme.test")
		g := e.createGroup("G", id)
		cases := []struct {
			method, path, body string
			status             int
			scimType           string
		}{
			{"POST", "/Users", `{`, 400, "invalidSyntax"},
			{"POST", "/Users", `[]`, 400, "invalidSyntax"},
			{"POST", "/Users", `null`, 400, "invalidSyntax"},
			{"POST", "/Users", `{"userName":"a"} {"x":1}`, 400, "invalidSyntax"},
			{"POST", "/Users", ``, 400, "invalidSyntax"},
			{"POST", "/Users", `{"userName":"a","shoeSize":44}`, 400, "invalidSyntax"},
			{"POST", "/Users", `{"userName":"a","name":{"nick":"x"}}`, 400, "invalidSyntax"},
			{"POST", "/Users", `{"userName":5}`, 400, "invalidValue"},
			{"POST", "/Users", `{"userName":"a","active":"maybe"}`, 400, "invalidValue"},
			{"POST", "/Users", `{"userName":"a","emails":"x@y"}`, 400, "invalidValue"},
			{"POST", "/Users", `{"userName":"a","emails":[{"value":1}]}`, 400, "invalidValue"},
			{"POST", "/Users", `{"userName":""}`, 400, "invalidValue"},
			{"POST", "/Users", `{"displayName":"no userName"}`, 400, "invalidValue"},
			{"POST", "/Users", `{"schemas":["urn:x"],"userName":"a"}`, 400, "invalidSyntax"},
			{"POST", "/Users", `{"userName":"` + strings.Repeat("a", 2000) + `"}`, 400, "invalidValue"},
			{"POST", "/Users", `{"userName":"KEEP@acme.test"}`, 409, "uniqueness"},
			{"POST", "/Users", `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"shoe":1}}`, 400, "invalidSyntax"},
			{"PUT", "/Users/" + id, `{"userName":7}`, 400, "invalidValue"},
			{"PUT", "/Users/nope", `{"userName":"x"}`, 404, ""},
			{"PATCH", "/Users/" + id, `{"Operations":"x"}`, 400, "invalidSyntax"},
			{"PATCH", "/Users/" + id, `{"Operations":[]}`, 400, "invalidSyntax"},
			{"PATCH", "/Users/" + id, `{"Operations":[{"op":"add","path":"emails"}]}`, 400, "invalidValue"},
			{"PATCH", "/Users/" + id, `{"Operations":[{"op":"replace","value":"x"}]}`, 400, "invalidValue"},
			{"PATCH", "/Users/" + id, `{"Operations":[{"op":"replace","path":"active","value":"x"}]}`, 400, "invalidValue"},
			{"PATCH", "/Users/" + id, `{"Operations":[{"op":"replace","path":"displayName","value":"ok"},{"op":"replace","path":"active","value":3}]}`, 400, "invalidValue"},
			{"PATCH", "/Users/" + id, `{"Operations":[{"op":"replace","path":"emails[value eq \"x\"]","value":"y"}]}`, 400, "invalidValue"},
			{"PATCH", "/Users/" + id, `{"Operations":[{"op":"replace","path":"emails[value co \"x\"].value","value":"y"}]}`, 400, "noTarget"},
			{"PATCH", "/Users/" + id, `{"Operations":[{"op":"add","path":"name[givenName eq \"x\"]","value":"y"}]}`, 400, "invalidPath"},
			{"PATCH", "/Users/" + id, `{"Operations":[{"op":"add","path":"groups","value":[]}]}`, 400, "mutability"},
			{"PATCH", "/Users/nope", `{"Operations":[{"op":"add","path":"title","value":"x"}]}`, 404, ""},
			{"DELETE", "/Users/nope", ``, 404, ""},
			{"POST", "/Groups", `{"members":[]}`, 400, "invalidValue"},
			{"POST", "/Groups", `{"displayName":"x","members":[{"value":"nope"}]}`, 400, "invalidValue"},
			{"POST", "/Groups", `{"displayName":"x","members":[{"id":"x"}]}`, 400, "invalidSyntax"},
			{"PATCH", "/Groups/" + g, `{"Operations":[{"op":"add","path":"members","value":[{"value":"nope"}]}]}`, 400, "invalidValue"},
			{"PATCH", "/Groups/" + g, `{"Operations":[{"op":"add","path":"owner","value":"x"}]}`, 400, "invalidPath"},
			{"PATCH", "/Groups/" + g, `{"Operations":[{"op":"remove","path":"displayName"}]}`, 400, "invalidValue"},
			{"PATCH", "/Groups/" + g, `{"Operations":[{"op":"replace","path":"displayName","value":5}]}`, 400, "invalidValue"},
			{"PATCH", "/Groups/" + g, `{"Operations":[{"op":"add","path":"members[value eq \"x\"]","value":[]}]}`, 400, "invalidPath"},
			{"GET", "/Groups/nope", ``, 404, ""},
			{"GET", "/Users?filter=" + urlq(`userName eq "a" extra`), ``, 400, "invalidFilter"},
			{"POST", "/Users/.search", `{"filter":5}`, 400, "invalidValue"},
			{"POST", "/Users/.search", `{"filter":"password pr"}`, 400, "invalidFilter"},
			{"POST", "/Users/.search", `{"sneaky":1}`, 400, "invalidSyntax"},
			{"GET", "/Nope", ``, 404, ""},
			{"DELETE", "/Users", ``, 405, ""},
			{"PUT", "/ServiceProviderConfig", `{}`, 405, ""},
		}
		for _, c := range cases {
			r := e.do(c.method, c.path, c.body)
			if r.status != c.status || r.str("scimType") != c.scimType {
				t.Errorf("%s %s %.60s: got %d %q, want %d %q (%s)", c.method, c.path, c.body, r.status, r.str("scimType"), c.status, c.scimType, r.raw)
			}
		}
		// Nothing was written.
		r := e.do("GET", "/Users/"+id, "").want(t, http.StatusOK)
		if r.str("displayName") != "" || r.header.Get("ETag") != `W/"1"` {
			t.Fatalf("a bad request wrote: %s", r.raw)
		}
		r = e.do("GET", "/Users", "").want(t, http.StatusOK)
		if r.total() != 1 {
			t.Fatalf("users: %d", r.total())
		}
		r = e.do("GET", "/Groups", "").want(t, http.StatusOK)
		if r.total() != 1 {
			t.Fatalf("groups: %d", r.total())
		}
	})
}

// TestConcurrentGroupPatches: parallel PATCHes adding members to one
// group through the handler lose none.
func TestConcurrentGroupPatches(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		const n = 16
		ids := make([]string, n)
		for i := range ids {
			ids[i] = e.createUser(fmt.Sprintf("c%02d@acme.test", i))
		}
		g := e.createGroup("Crowd")
		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("PATCH", e.base+"/Groups/"+g, strings.NewReader(`{"Operations":[{"op":"add","path":"members","value":[{"value":`+q(id)+`}]}]}`))
				req.Header.Set("Authorization", "Bearer "+e.token)
				res, err := e.srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				if res.StatusCode != http.StatusNoContent {
					t.Errorf("status %d", res.StatusCode)
				}
			}()
		}
		wg.Wait()
		r := e.do("GET", "/Groups/"+g, "").want(t, http.StatusOK)
		if ms, _ := r.body["members"].([]any); len(ms) != n {
			t.Fatalf("members %d, want %d", len(ms), n)
		}
	})
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	u, _ := url.Parse("https://app.test/scim/v2")
	good := scim.Config{Store: memscim.New(st), Core: st, Revoker: &recordingRevoker{}, BaseURL: u}
	if _, err := scim.New(good); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(c *scim.Config){
		"no store":     func(c *scim.Config) { c.Store = nil },
		"no core":      func(c *scim.Config) { c.Core = nil },
		"no revoker":   func(c *scim.Config) { c.Revoker = nil },
		"no base":      func(c *scim.Config) { c.BaseURL = nil },
		"relative":     func(c *scim.Config) { c.BaseURL = &url.URL{Path: "/scim"} },
		"negative":     func(c *scim.Config) { c.MaxBodyBytes = -1 },
		"huge results": func(c *scim.Config) { c.MaxResults = 5000 },
	} {
		c := good
		mut(&c)
		if _, err := scim.New(c); !errors.Is(err, sso.ErrInvalidConfig) {
			t.Errorf("%s: got %v, want ErrInvalidConfig", name, err)
		}
	}
}

// TestGroupRolesKeepTheOwner: a directory's group changes recompute a
// member's roles without taking the owner role, unless a connection's
// mapping names it; then membership of its group decides.
func TestGroupRolesKeepTheOwner(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		conn := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: e.org.ID, Protocol: oidc.Protocol, Status: sso.ConnectionActive,
			GroupRoles: []sso.GroupRole{{Group: "Eng", Role: "developer"}}, CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := e.st.CreateConnection(ctx, conn); err != nil {
			t.Fatal(err)
		}
		boss := e.createUser("boss@acme.test")
		m := e.membership(boss)
		m.Roles = []string{sso.RoleOwner, "member"}
		if err := e.st.UpdateMembership(ctx, m); err != nil {
			t.Fatal(err)
		}
		eng := e.createGroup("Eng", boss)
		if got := e.membership(boss).Roles; !sso.SameRoles(got, []string{"developer", sso.RoleOwner}) {
			t.Fatalf("owner added to a group mapped to developer: %v, want developer and owner", got)
		}
		e.do("PATCH", "/Groups/"+eng, `{"Operations":[{"op":"remove","path":"members[value eq \"`+boss+`\"]"}]}`).want(t, http.StatusNoContent)
		if got := e.membership(boss).Roles; !sso.SameRoles(got, []string{"member", sso.RoleOwner}) {
			t.Fatalf("owner out of every mapped group: %v, want member and owner", got)
		}

		conn.GroupRoles = append(conn.GroupRoles, sso.GroupRole{Group: "Founders", Role: sso.RoleOwner})
		if err := e.st.UpdateConnection(ctx, conn); err != nil {
			t.Fatal(err)
		}
		e.do("PATCH", "/Groups/"+eng, `{"Operations":[{"op":"add","path":"members","value":[{"value":`+q(boss)+`}]}]}`).want(t, http.StatusNoContent)
		if got := e.membership(boss).Roles; !sso.SameRoles(got, []string{"developer"}) {
			t.Fatalf("with a mapping that names owner, outside its group: %v, want developer", got)
		}
	})
}
