package scim_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
)

func scimEvents(t *testing.T, e *env, typ string) []*sso.Event {
	t.Helper()
	evs, err := e.st.ListEvents(context.Background(), sso.EventQuery{OrgID: e.org.ID, Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestSyncFailedOncePerWindow: the first failed directory request of an
// organization in a window records scim.sync_failed naming the request,
// without personal data; more failures in the window, from this replica
// or another, record none; a missing resource is not a failure; the next
// window gets its own.
func TestSyncFailedOncePerWindow(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now().UTC().Truncate(scim.SyncFailureWindow)
			clock := &fakeClock{t: start.Add(time.Minute)}
			e := newEnvOn(t, b.open(t), func(c *scim.Config) { c.Now = clock.now })
			other := e.replica()
			e.createUser("ann.private@acme.test")
			e.do("GET", "/Users/does_not_exist", "").wantErr(t, http.StatusNotFound, "")
			if n := len(scimEvents(t, e, scim.EventSyncFailed)); n != 0 {
				t.Fatalf("%d sync_failed events after a 404, want 0", n)
			}
			e.do("POST", "/Users", `{"userName":"ann.private@acme.test"}`).wantErr(t, http.StatusConflict, "uniqueness")
			e.do("GET", "/Users?filter="+urlq(`bogus`), "").wantErr(t, http.StatusBadRequest, "invalidFilter")
			other.do("POST", "/Users", `{"userName":"ann.private@acme.test"}`).wantErr(t, http.StatusConflict, "uniqueness")
			evs := scimEvents(t, e, scim.EventSyncFailed)
			if len(evs) != 1 {
				t.Fatalf("%d sync_failed events in one window from two replicas, want 1", len(evs))
			}
			ev := evs[0]
			if ev.Details["status"] != "409" || ev.Reason != "uniqueness" || ev.Details["method"] != "POST" ||
				ev.Details["route"] != "/Users" || ev.Actor.Type != sso.ActorSCIM || ev.Outcome != sso.OutcomeFailure {
				t.Fatalf("event %+v", ev)
			}
			for k, v := range ev.Details {
				if len(v) > 0 && (strings.Contains(v, "ann.private") || strings.Contains(k, "ann.private")) {
					t.Fatalf("personal data in the event: %s=%s", k, v)
				}
			}
			clock.add(scim.SyncFailureWindow)
			e.do("GET", "/Users?filter="+urlq(`bogus`), "").wantErr(t, http.StatusBadRequest, "invalidFilter")
			if evs = scimEvents(t, e, scim.EventSyncFailed); len(evs) != 2 || evs[1].Details["status"] != "400" {
				t.Fatalf("next window: %d events, want a second one for the 400", len(evs))
			}
		})
	}
}

// TestUserDeletedEvent: a SCIM DELETE of an active user records
// scim.user_deactivated then scim.user_deleted; deleting a user already
// deactivated records scim.user_deleted only.
func TestUserDeletedEvent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a := e.createUser("a@acme.test")
		e.do("DELETE", "/Users/"+a, "").want(t, http.StatusNoContent)
		b := e.createUser("b@acme.test")
		e.do("PATCH", "/Users/"+b, patchOps(`{"op":"replace","path":"active","value":false}`)).want(t, http.StatusOK)
		e.do("DELETE", "/Users/"+b, "").want(t, http.StatusNoContent)
		del := scimEvents(t, e, scim.EventUserDeleted)
		if len(del) != 2 || del[0].Target.ID != a || del[1].Target.ID != b {
			t.Fatalf("user_deleted events %+v, want one for each", del)
		}
		deact := scimEvents(t, e, scim.EventUserDeactivated)
		if len(deact) != 2 || deact[0].Target.ID != a || deact[1].Target.ID != b || deact[0].Seq > del[0].Seq {
			t.Fatalf("user_deactivated events %+v", deact)
		}
		if upd := scimEvents(t, e, scim.EventUserUpdated); len(upd) != 0 {
			t.Fatalf("a deletion recorded user_updated: %+v", upd)
		}
	})
}
