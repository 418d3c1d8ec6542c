package scim_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
)

// hammer sends the requests at once, alternating between the replicas, and
// returns each status. It is safe to call from the test goroutine only.
func hammer(t *testing.T, replicas []*env, method, path string, bodies []string) []int {
	t.Helper()
	statuses := make([]int, len(bodies))
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i, body := range bodies {
		e := replicas[i%len(replicas)]
		req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Content-Type", "application/scim+json")
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			res.Body.Close()
			statuses[i] = res.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	return statuses
}

// TestTC8_ConcurrentUserPatchesWithoutIfMatch: 20 PATCHes of one user
// without If-Match, each changing a different attribute or adding to
// emails, sent at once through two replicas (two Handlers on one store, so
// the in-process lock does not serialize them), on every backend
// (PostgreSQL is skipped with a message when SSOKIT_TEST_POSTGRES is
// unset). None may answer 412 (that is for a stale If-Match only) and the
// result holds every change.
func TestTC8_ConcurrentUserPatchesWithoutIfMatch(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser("race@acme.test")
		single := []string{"title", "nickName", "displayName", "profileUrl", "userType", "preferredLanguage",
			"locale", "timezone", "name.middleName", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"}
		var bodies []string
		for i, attr := range single {
			bodies = append(bodies, patchOps(`{"op":"replace","path":`+q(attr)+`,"value":`+q(fmt.Sprintf("v%d", i))+`}`))
			bodies = append(bodies, patchOps(`{"op":"add","path":"emails","value":[{"value":`+q(fmt.Sprintf("alias%d@acme.test", i))+`,"type":"other"}]}`))
		}
		for i, st := range hammer(t, []*env{e, e.replica()}, "PATCH", "/Users/"+id, bodies) {
			if st != http.StatusOK {
				t.Errorf("PATCH %d: status %d, want 200 (412 only answers a stale If-Match)", i, st)
			}
		}
		r := e.do("GET", "/Users/"+id, "").want(t, http.StatusOK)
		for i, attr := range single {
			var got any
			switch parent, sub, dotted := strings.Cut(attr, "."); {
			case strings.HasPrefix(attr, "urn:"):
				ext, _ := r.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)
				got = ext["employeeNumber"]
			case dotted:
				m, _ := r.body[parent].(map[string]any)
				got = m[sub]
			default:
				got = r.body[attr]
			}
			if want := fmt.Sprintf("v%d", i); got != want {
				t.Errorf("%s = %v, want %q (lost update)", attr, got, want)
			}
		}
		emails, _ := r.body["emails"].([]any)
		have := map[string]bool{}
		for _, x := range emails {
			m, _ := x.(map[string]any)
			v, _ := m["value"].(string)
			have[v] = true
		}
		for i := range single {
			if a := fmt.Sprintf("alias%d@acme.test", i); !have[a] {
				t.Errorf("email %s lost; emails %v", a, emails)
			}
		}
		if !have["race@acme.test"] || len(emails) != len(single)+1 {
			t.Errorf("emails %v, want the original and %d aliases", emails, len(single))
		}
		if v := r.header.Get("ETag"); v != `W/"21"` {
			t.Errorf("ETag %s after 20 PATCHes of version 1, want W/\"21\"", v)
		}
	})
}

// TestTC8_ConcurrentGroupPatchesWithoutIfMatch: 18 member adds, a rename
// and an externalId change of one group, at once through two replicas:
// every one answers 204 and none is lost, not even the rename, which a
// member add that wrote back the old displayName would undo.
func TestTC8_ConcurrentGroupPatchesWithoutIfMatch(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		const n = 18
		ids := make([]string, n)
		for i := range ids {
			ids[i] = e.createUser(fmt.Sprintf("m%02d@acme.test", i))
		}
		g := e.createGroup("Crowd")
		var bodies []string
		for _, id := range ids {
			bodies = append(bodies, patchOps(`{"op":"add","path":"members","value":[{"value":`+q(id)+`}]}`))
		}
		bodies = append(bodies, patchOps(`{"op":"replace","path":"displayName","value":"Renamed"}`),
			patchOps(`{"op":"replace","path":"externalId","value":"ext-1"}`))
		for i, st := range hammer(t, []*env{e, e.replica()}, "PATCH", "/Groups/"+g, bodies) {
			if st != http.StatusNoContent {
				t.Errorf("PATCH %d: status %d, want 204", i, st)
			}
		}
		r := e.do("GET", "/Groups/"+g, "").want(t, http.StatusOK)
		if ms, _ := r.body["members"].([]any); len(ms) != n {
			t.Errorf("members %d, want %d", len(ms), n)
		}
		if r.str("displayName") != "Renamed" || r.str("externalId") != "ext-1" {
			t.Errorf("displayName %q, externalId %q: a concurrent PATCH undid them", r.str("displayName"), r.str("externalId"))
		}
	})
}

// racingStore wraps a store to stage version conflicts deterministically:
// the next userConflicts (groupConflicts) updates fail with
// ErrVersionMismatch, as when another replica wrote first, and
// beforeGroupUpdate (beforeGroupDelete), when set, runs once before the
// next group update (delete).
type racingStore struct {
	backend
	mu                sync.Mutex
	userConflicts     int
	groupConflicts    int
	userCalls         int
	groupCalls        int
	beforeGroupUpdate func()
	beforeGroupDelete func()
}

func (s *racingStore) DeleteGroupSCIM(ctx context.Context, orgID, id string, prev int64) ([]string, error) {
	s.mu.Lock()
	before := s.beforeGroupDelete
	s.beforeGroupDelete = nil
	s.mu.Unlock()
	if before != nil {
		before()
	}
	return s.backend.DeleteGroupSCIM(ctx, orgID, id, prev)
}

func (s *racingStore) UpdateUserSCIM(ctx context.Context, r *scim.User, prev int64, u *sso.User, m *sso.Membership) error {
	s.mu.Lock()
	s.userCalls++
	fail := s.userConflicts > 0
	if fail {
		s.userConflicts--
	}
	s.mu.Unlock()
	if fail {
		return fmt.Errorf("racing: %w", scim.ErrVersionMismatch)
	}
	return s.backend.UpdateUserSCIM(ctx, r, prev, u, m)
}

func (s *racingStore) UpdateGroupSCIM(ctx context.Context, g *scim.Group, prev int64, ops []scim.MemberOp) ([]string, error) {
	s.mu.Lock()
	s.groupCalls++
	fail := s.groupConflicts > 0
	if fail {
		s.groupConflicts--
	}
	before := s.beforeGroupUpdate
	s.beforeGroupUpdate = nil
	s.mu.Unlock()
	if before != nil {
		before()
	}
	if fail {
		return nil, fmt.Errorf("racing: %w", scim.ErrVersionMismatch)
	}
	return s.backend.UpdateGroupSCIM(ctx, g, prev, ops)
}

// stage sets the conflicts to come and resets the call counters.
func (s *racingStore) stage(user, group int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userConflicts, s.groupConflicts, s.userCalls, s.groupCalls = user, group, 0, 0
}

func (s *racingStore) calls() (user, group int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userCalls, s.groupCalls
}

// TestTC8_VersionConflictRetryIsBoundedAndIfMatchStill412: without
// If-Match a lost compare-and-set is re-applied (PATCH and PUT, users and
// groups); after 8 lost attempts the answer is a retryable 503, never 412.
// With If-Match the conflict is a 412 at once, without retry.
func TestTC8_VersionConflictRetryIsBoundedAndIfMatchStill412(t *testing.T) {
	t.Parallel()
	st := &racingStore{backend: newMem()}
	e := newEnvOn(t, st)
	u := e.createUser("bounded@acme.test")
	g := e.createGroup("Bounded")
	withIfMatch := func(method, path, body, ifMatch string) *resp {
		req, _ := http.NewRequest(method, e.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("If-Match", ifMatch)
		return e.send(req)
	}
	userPatch := patchOps(`{"op":"replace","path":"title","value":"T"}`)
	groupPatch := patchOps(`{"op":"replace","path":"externalId","value":"E"}`)

	st.stage(3, 3)
	e.do("PATCH", "/Users/"+u, userPatch).want(t, http.StatusOK)
	e.do("PUT", "/Users/"+u, `{"userName":"bounded@acme.test","title":"P"}`).want(t, http.StatusOK)
	e.do("PATCH", "/Groups/"+g, groupPatch).want(t, http.StatusNoContent)
	if uc, gc := st.calls(); uc != 5 || gc != 4 {
		t.Errorf("store updates: users %d, groups %d; want 5 (3 lost + 2 won) and 4 (3 lost + 1 won)", uc, gc)
	}

	st.stage(1000, 1000)
	for _, c := range []struct{ method, path, body string }{
		{"PATCH", "/Users/" + u, userPatch},
		{"PUT", "/Users/" + u, `{"userName":"bounded@acme.test"}`},
		{"PATCH", "/Groups/" + g, groupPatch},
		{"PUT", "/Groups/" + g, `{"displayName":"Bounded"}`},
	} {
		r := e.do(c.method, c.path, c.body)
		r.wantErr(t, http.StatusServiceUnavailable, "")
		if r.header.Get("Retry-After") == "" {
			t.Errorf("%s %s: 503 without Retry-After", c.method, c.path)
		}
	}
	if uc, gc := st.calls(); uc != 32 || gc != 32 {
		t.Errorf("store updates while always losing: users %d, groups %d; want 16 per request", uc, gc)
	}

	st.stage(1, 1)
	cur := e.do("GET", "/Users/"+u, "").want(t, http.StatusOK).header.Get("ETag")
	withIfMatch("PATCH", "/Users/"+u, userPatch, cur).wantErr(t, http.StatusPreconditionFailed, "")
	gcur := e.do("GET", "/Groups/"+g, "").want(t, http.StatusOK).header.Get("ETag")
	withIfMatch("PATCH", "/Groups/"+g, groupPatch, gcur).wantErr(t, http.StatusPreconditionFailed, "")
	if uc, gc := st.calls(); uc != 1 || gc != 1 {
		t.Errorf("store updates with If-Match: users %d, groups %d; want 1 each (no retry)", uc, gc)
	}
}

// TestTC8_DeleteWithIfMatchKeepsAConcurrentChange: another replica
// changes the group between a DELETE's If-Match check and its delete; the
// DELETE answers 412 and the group stays, with the change.
func TestTC8_DeleteWithIfMatchKeepsAConcurrentChange(t *testing.T) {
	t.Parallel()
	st := &racingStore{backend: newMem()}
	e := newEnvOn(t, st)
	g := e.createGroup("Keep")
	other := e.replica()
	etag := e.do("GET", "/Groups/"+g, "").want(t, http.StatusOK).header.Get("ETag")
	st.mu.Lock()
	st.beforeGroupDelete = func() {
		// Runs in the DELETE's handler: report, do not t.Fatal.
		if r := other.do("PATCH", "/Groups/"+g, patchOps(`{"op":"replace","path":"displayName","value":"Kept"}`)); r.status != http.StatusNoContent {
			t.Errorf("concurrent rename: status %d: %s", r.status, r.raw)
		}
	}
	st.mu.Unlock()
	req, _ := http.NewRequest("DELETE", e.base+"/Groups/"+g, nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("If-Match", etag)
	e.send(req).wantErr(t, http.StatusPreconditionFailed, "")
	if r := e.do("GET", "/Groups/"+g, "").want(t, http.StatusOK); r.str("displayName") != "Kept" {
		t.Errorf("displayName %q after the refused DELETE", r.str("displayName"))
	}
	// Without If-Match the DELETE deletes.
	e.do("DELETE", "/Groups/"+g, "").want(t, http.StatusNoContent)
	e.do("GET", "/Groups/"+g, "").wantErr(t, http.StatusNotFound, "")
}

// TestTC8_MemberAddKeepsAConcurrentRename: another replica renames the
// group between this PATCH's read and its write; the member add must not
// write the old displayName back.
func TestTC8_MemberAddKeepsAConcurrentRename(t *testing.T) {
	t.Parallel()
	st := &racingStore{backend: newMem()}
	e := newEnvOn(t, st)
	u := e.createUser("joiner@acme.test")
	g := e.createGroup("Before")
	other := e.replica()
	st.mu.Lock()
	st.beforeGroupUpdate = func() {
		// Runs in the first request's handler: report, do not t.Fatal.
		if r := other.do("PATCH", "/Groups/"+g, patchOps(`{"op":"replace","path":"displayName","value":"After"}`)); r.status != http.StatusNoContent {
			t.Errorf("concurrent rename: status %d: %s", r.status, r.raw)
		}
	}
	st.mu.Unlock()
	e.do("PATCH", "/Groups/"+g, patchOps(`{"op":"add","path":"members","value":[{"value":`+q(u)+`}]}`)).want(t, http.StatusNoContent)
	r := e.do("GET", "/Groups/"+g, "").want(t, http.StatusOK)
	if r.str("displayName") != "After" {
		t.Errorf("displayName %q: the member add undid the concurrent rename", r.str("displayName"))
	}
	if ms, _ := r.body["members"].([]any); len(ms) != 1 {
		t.Errorf("members %v, want the added user", r.body["members"])
	}
}
