package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/login"
)

// runProvisionEvent checks login.EventProvisioner: a JIT user's records
// and its audit event are stored together or not at all.
func runProvisionEvent(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	records := func(n string) (*sso.User, *sso.Membership, *sso.Identity, *sso.Event) {
		u := &sso.User{ID: "usr_" + n, Email: n + "@example.com", CreatedAt: t0, UpdatedAt: t0}
		m := &sso.Membership{OrgID: "org_1", UserID: u.ID, Roles: []string{"member"}, Status: sso.MembershipActive,
			Source: sso.SourceJIT, JoinedAt: t0, UpdatedAt: t0}
		id := &sso.Identity{ID: "idn_" + n, OrgID: "org_1", Issuer: "https://idp.example", Subject: n, UserID: u.ID, CreatedAt: t0}
		e := &sso.Event{ID: "evt_" + n, OrgID: "org_1", Time: t0, Type: login.EventJITProvisioned, Actor: sso.Actor{Type: sso.ActorIdP},
			Target: sso.Target{Type: "user", ID: u.ID}, Outcome: sso.OutcomeSuccess}
		return u, m, id, e
	}
	get := func(t *testing.T) (login.EventProvisioner, sso.Store) {
		st := newStores(t)
		ep, can := st.Core.(login.EventProvisioner)
		if !can {
			t.Skip("the core store does not implement login.EventProvisioner; the completer records the event after the records")
		}
		ok(t, st.Core.CreateOrg(ctx, &sso.Organization{ID: "org_1", Slug: "one", Name: "One"}))
		return ep, st.Core
	}
	t.Run("WritesBoth", func(t *testing.T) {
		ep, core := get(t)
		u, m, id, e := records("a")
		ok(t, ep.ProvisionEvent(ctx, u, m, id, e))
		if _, err := core.GetMembership(ctx, "org_1", u.ID); err != nil {
			t.Fatalf("membership: %v", err)
		}
		evs, err := core.ListEvents(ctx, sso.EventQuery{OrgID: "org_1"})
		if err != nil || len(evs) != 1 || evs[0].ID != e.ID {
			t.Fatalf("events %v %v, want the JIT event", evs, err)
		}
	})
	t.Run("EventFailsWritesNothing", func(t *testing.T) {
		ep, core := get(t)
		_, _, _, seeded := records("x")
		ok(t, core.AppendEvent(ctx, seeded))
		u, m, id, e := records("b")
		e.ID = seeded.ID
		is(t, "provision with a refused event", ep.ProvisionEvent(ctx, u, m, id, e), sso.ErrConflict)
		if _, err := core.GetUser(ctx, u.ID); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("user stored without its event: %v", err)
		}
		if _, err := core.GetMembership(ctx, "org_1", u.ID); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("membership stored without its event: %v", err)
		}
		if _, err := core.GetIdentity(ctx, "org_1", id.Issuer, id.Subject); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("identity stored without its event: %v", err)
		}
	})
	t.Run("ConflictStoresNoEvent", func(t *testing.T) {
		ep, core := get(t)
		u, m, id, e := records("c")
		ok(t, ep.ProvisionEvent(ctx, u, m, id, e))
		u2, m2, id2, e2 := records("d")
		id2.Subject = id.Subject // the same IdP identity: a racing login
		is(t, "duplicate identity", ep.ProvisionEvent(ctx, u2, m2, id2, e2), sso.ErrConflict)
		evs, _ := core.ListEvents(ctx, sso.EventQuery{OrgID: "org_1"})
		if len(evs) != 1 {
			t.Fatalf("%d events, want only the first provisioning's", len(evs))
		}
	})
}
