package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
)

// runSCIMEvents checks scim.EventWriter: a SCIM user write and its audit
// events are stored together or not at all.
func runSCIMEvents(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	get := func(t *testing.T) (scim.EventWriter, scim.Store, sso.Store) {
		st := newStores(t)
		ew, ok := st.SCIM.(scim.EventWriter)
		if !ok {
			t.Skip("the SCIM store does not implement scim.EventWriter; the handler appends events after each change")
		}
		return ew, st.SCIM, st.Core
	}
	ev := func(id, typ, user string) *sso.Event {
		return &sso.Event{ID: id, OrgID: "org_1", Time: scimT0, Type: typ, Actor: sso.Actor{Type: sso.ActorSCIM, ID: "tok"},
			Target: sso.Target{Type: "user", ID: user}, Outcome: sso.OutcomeSuccess}
	}
	events := func(t *testing.T, core sso.Store) []string {
		t.Helper()
		evs, err := core.ListEvents(ctx, sso.EventQuery{OrgID: "org_1"})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range evs {
			ids = append(ids, e.ID)
		}
		return ids
	}
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, ew scim.EventWriter, s scim.Store, core sso.Store)
	}{
		{"CreateWritesBoth", func(t *testing.T, ew scim.EventWriter, s scim.Store, core sso.Store) {
			u, m, r := scimUser("org_1", "u1", "ann@example.com", nil, scimT0)
			ok(t, ew.CreateUserSCIMEvents(ctx, u, m, r, []*sso.Event{ev("ev_1", scim.EventUserCreated, "u1")}))
			if _, err := s.GetUserSCIM(ctx, "org_1", "u1"); err != nil {
				t.Fatalf("user not stored: %v", err)
			}
			if got := events(t, core); len(got) != 1 || got[0] != "ev_1" {
				t.Fatalf("events %v, want [ev_1]", got)
			}
		}},
		{"CreateEventFailsWritesNothing", func(t *testing.T, ew scim.EventWriter, s scim.Store, core sso.Store) {
			ok(t, core.AppendEvent(ctx, ev("ev_taken", "test.seeded", "x")))
			u, m, r := scimUser("org_1", "u1", "ann@example.com", nil, scimT0)
			err := ew.CreateUserSCIMEvents(ctx, u, m, r, []*sso.Event{ev("ev_taken", scim.EventUserCreated, "u1")})
			is(t, "create with a refused event", err, sso.ErrConflict)
			if _, err := s.GetUserSCIM(ctx, "org_1", "u1"); !errors.Is(err, sso.ErrNotFound) {
				t.Fatalf("SCIM user stored without its event: %v", err)
			}
			if _, err := core.GetUser(ctx, "u1"); !errors.Is(err, sso.ErrNotFound) {
				t.Fatalf("core user stored without its event: %v", err)
			}
			if got := events(t, core); len(got) != 1 {
				t.Fatalf("events %v, want only the seeded one", got)
			}
		}},
		{"CreateFailsStoresNoEvent", func(t *testing.T, ew scim.EventWriter, s scim.Store, core sso.Store) {
			mustCreateSCIMUser(t, s, "org_1", "u1", "ann@example.com", nil)
			u, m, r := scimUser("org_1", "u2", "ann@example.com", nil, scimT0)
			err := ew.CreateUserSCIMEvents(ctx, u, m, r, []*sso.Event{ev("ev_2", scim.EventUserCreated, "u2")})
			is(t, "duplicate userName", err, sso.ErrConflict)
			if got := events(t, core); len(got) != 0 {
				t.Fatalf("events %v of a refused create", got)
			}
		}},
		{"UpdateEventFailsWritesNothing", func(t *testing.T, ew scim.EventWriter, s scim.Store, core sso.Store) {
			r := mustCreateSCIMUser(t, s, "org_1", "u1", "ann@example.com", nil)
			ok(t, core.AppendEvent(ctx, ev("ev_taken", "test.seeded", "x")))
			u, m, nr := scimUser("org_1", "u1", "ann.new@example.com", map[string]any{"active": false}, scimT0)
			nr.Version = r.Version + 1
			err := ew.UpdateUserSCIMEvents(ctx, nr, r.Version, u, m, []*sso.Event{ev("ev_taken", scim.EventUserDeactivated, "u1")})
			is(t, "update with a refused event", err, sso.ErrConflict)
			got, err := s.GetUserSCIM(ctx, "org_1", "u1")
			if err != nil || got.Version != r.Version || got.UserName != "ann@example.com" || !got.Active {
				t.Fatalf("user after a refused update: %+v %v", got, err)
			}
		}},
		{"UpdateFailsStoresNoEvent", func(t *testing.T, ew scim.EventWriter, s scim.Store, core sso.Store) {
			r := mustCreateSCIMUser(t, s, "org_1", "u1", "ann@example.com", nil)
			u, m, nr := scimUser("org_1", "u1", "ann.new@example.com", nil, scimT0)
			nr.Version = r.Version + 2
			err := ew.UpdateUserSCIMEvents(ctx, nr, r.Version+1, u, m, []*sso.Event{ev("ev_3", scim.EventUserUpdated, "u1")})
			is(t, "stale version", err, scim.ErrVersionMismatch)
			if got := events(t, core); len(got) != 0 {
				t.Fatalf("events %v of a refused update", got)
			}
			nr.Version = r.Version + 1
			ok(t, ew.UpdateUserSCIMEvents(ctx, nr, r.Version, u, m, []*sso.Event{ev("ev_4", scim.EventUserUpdated, "u1")}))
			if got := events(t, core); len(got) != 1 || got[0] != "ev_4" {
				t.Fatalf("events %v, want [ev_4]", got)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ew, s, core := get(t)
			ok(t, core.CreateOrg(ctx, &sso.Organization{ID: "org_1", Slug: "one", Name: "One"}))
			tc.fn(t, ew, s, core)
		})
	}
}
