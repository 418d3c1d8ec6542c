package storetest

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
)

// runChangeEvents checks audit.EventBinder: an administrator's change of
// an organization, domain, connection, membership or SCIM token and the
// events that
// describe it are stored together or not at all.
func runChangeEvents(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	n := 0
	ev := func(typ string) *sso.Event {
		n++
		return &sso.Event{ID: "evt_change_" + strconv.Itoa(n), OrgID: "org_1", Time: t0, Type: typ,
			Actor: sso.Actor{Type: sso.ActorAdmin, ID: "usr_admin"}, Outcome: sso.OutcomeSuccess}
	}
	// taken is stored before each case, so a view carrying its ID is refused
	// by the store as an event insert a constraint or trigger refuses.
	taken := func() *sso.Event {
		e := ev("test.seeded")
		e.ID = "evt_taken"
		return e
	}
	get := func(t *testing.T) (audit.EventBinder, sso.Store) {
		st := newStores(t)
		b, can := st.Core.(audit.EventBinder)
		if !can {
			t.Skip("the core store does not implement audit.EventBinder; admin changes record their events after the change")
		}
		ok(t, st.Core.CreateOrg(ctx, &sso.Organization{ID: "org_1", Slug: "one", Name: "One", CreatedAt: t0, UpdatedAt: t0}))
		ok(t, st.Core.CreateOrg(ctx, &sso.Organization{ID: "org_2", Slug: "two", Name: "Two", CreatedAt: t0, UpdatedAt: t0}))
		ok(t, st.Core.AppendEvent(ctx, taken()))
		return b, st.Core
	}
	eventIDs := func(t *testing.T, core sso.Store) []string {
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
	onlySeeded := func(t *testing.T, core sso.Store, what string) {
		t.Helper()
		if got := eventIDs(t, core); len(got) != 1 || got[0] != "evt_taken" {
			t.Fatalf("%s: events %v, want only the seeded one", what, got)
		}
	}
	conn := func(id string) *sso.Connection {
		return &sso.Connection{ID: id, OrgID: "org_1", Protocol: "saml", Status: sso.ConnectionActive,
			DisplayName: "Okta", CreatedAt: t0, UpdatedAt: t0}
	}

	t.Run("WritesBoth", func(t *testing.T) {
		b, core := get(t)
		c := conn("conn_1")
		e1, e2 := ev("connection.created"), ev("connection.security_weakened")
		ok(t, b.WithEvents(e1, e2).CreateConnection(ctx, c))
		if _, err := core.GetConnection(ctx, c.ID); err != nil {
			t.Fatalf("connection not stored: %v", err)
		}
		got := eventIDs(t, core)
		if len(got) != 3 || got[1] != e1.ID || got[2] != e2.ID {
			t.Fatalf("events %v, want the seeded one, %s and %s in order", got, e1.ID, e2.ID)
		}
		evs, err := core.ListEvents(ctx, sso.EventQuery{OrgID: "org_1"})
		ok(t, err)
		if err := audit.VerifyChain(evs); err != nil {
			t.Fatalf("the chain does not hold the bound events: %v", err)
		}
	})
	t.Run("PlainWritesStoreNoEvent", func(t *testing.T) {
		_, core := get(t)
		ok(t, core.CreateConnection(ctx, conn("conn_1")))
		onlySeeded(t, core, "a write without a view")
	})
	t.Run("RefusedEventLeavesConnectionUnchanged", func(t *testing.T) {
		b, core := get(t)
		c := conn("conn_1")
		ok(t, core.CreateConnection(ctx, c))
		c.Status = sso.ConnectionDisabled
		is(t, "disable with a refused event", b.WithEvents(ev("connection.disabled"), taken()).UpdateConnection(ctx, c), sso.ErrConflict)
		got, err := core.GetConnection(ctx, c.ID)
		if err != nil || got.Status != sso.ConnectionActive {
			t.Fatalf("connection after a refused event: %+v %v, want it still active", got, err)
		}
		is(t, "delete with a refused event", b.WithEvents(taken()).DeleteConnection(ctx, c.ID), sso.ErrConflict)
		if _, err := core.GetConnection(ctx, c.ID); err != nil {
			t.Fatalf("connection deleted without its event: %v", err)
		}
		is(t, "create with a refused event", b.WithEvents(taken()).CreateConnection(ctx, conn("conn_2")), sso.ErrConflict)
		if _, err := core.GetConnection(ctx, "conn_2"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("connection created without its event: %v", err)
		}
		onlySeeded(t, core, "refused events")
	})
	t.Run("FailedChangeStoresNoEvent", func(t *testing.T) {
		b, core := get(t)
		ok(t, core.CreateConnection(ctx, conn("conn_1")))
		is(t, "update of a missing connection", b.WithEvents(ev("connection.updated")).UpdateConnection(ctx, conn("conn_x")), sso.ErrNotFound)
		is(t, "delete of a missing connection", b.WithEvents(ev("connection.deleted")).DeleteConnection(ctx, "conn_x"), sso.ErrNotFound)
		is(t, "duplicate connection", b.WithEvents(ev("connection.created")).CreateConnection(ctx, conn("conn_1")), sso.ErrConflict)
		onlySeeded(t, core, "failed connection writes")
	})
	t.Run("Domains", func(t *testing.T) {
		b, core := get(t)
		dom := &sso.Domain{OrgID: "org_1", Name: "acme.test", Token: "tok", State: sso.DomainPending, CreatedAt: t0}
		ok(t, b.WithEvents(ev("domain.added")).CreateDomain(ctx, dom))
		held := &sso.Domain{OrgID: "org_2", Name: "acme.test", Token: "tok2", State: sso.DomainVerified, VerifiedAt: t0, CreatedAt: t0}
		ok(t, core.CreateDomain(ctx, held))
		dom.State, dom.VerifiedAt = sso.DomainVerified, t0
		is(t, "verifying a name another organization holds", b.WithEvents(ev("domain.verified")).UpdateDomain(ctx, dom), sso.ErrConflict)
		ok(t, core.DeleteDomain(ctx, "org_2", held.Name))
		is(t, "verify with a refused event", b.WithEvents(taken()).UpdateDomain(ctx, dom), sso.ErrConflict)
		if got, _ := core.GetDomain(ctx, "org_1", dom.Name); got == nil || got.State != sso.DomainPending {
			t.Fatalf("domain after a refused event: %+v, want it still pending", got)
		}
		verified := ev("domain.verified")
		ok(t, b.WithEvents(verified).UpdateDomain(ctx, dom))
		is(t, "remove with a refused event", b.WithEvents(taken()).DeleteDomain(ctx, "org_1", dom.Name), sso.ErrConflict)
		if _, err := core.FindVerifiedDomain(ctx, dom.Name); err != nil {
			t.Fatalf("verified domain removed without its event: %v", err)
		}
		if got := eventIDs(t, core); len(got) != 3 || got[2] != verified.ID {
			t.Fatalf("events %v, want the seeded one, domain.added and domain.verified", got)
		}
	})
	t.Run("OrgAndSCIMTokens", func(t *testing.T) {
		b, core := get(t)
		org, err := core.GetOrg(ctx, "org_1")
		ok(t, err)
		org.Settings.Network.AllowedCIDRs = []string{"192.0.2.0/24"}
		is(t, "org change with a refused event", b.WithEvents(taken()).UpdateOrg(ctx, org), sso.ErrConflict)
		if got, _ := core.GetOrg(ctx, "org_1"); got == nil || len(got.Settings.Network.AllowedCIDRs) != 0 {
			t.Fatalf("allowlist stored without its event: %+v", got)
		}
		tok := &sso.SCIMToken{ID: "scimtok_1", OrgID: "org_1", Hash: "hash_1", Hint: "ssokit_scim_ab", CreatedAt: t0}
		is(t, "token with a refused event", b.WithEvents(taken()).CreateSCIMToken(ctx, tok), sso.ErrConflict)
		if _, err := core.FindSCIMToken(ctx, tok.Hash); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("SCIM token stored without its event: %v", err)
		}
		ok(t, b.WithEvents(ev("scim.token_created")).CreateSCIMToken(ctx, tok))
		tok.RevokedAt = t0
		is(t, "revocation with a refused event", b.WithEvents(taken()).UpdateSCIMToken(ctx, tok), sso.ErrConflict)
		if got, _ := core.FindSCIMToken(ctx, tok.Hash); got == nil || !got.RevokedAt.IsZero() {
			t.Fatalf("token revoked without its event: %+v", got)
		}
		ok(t, b.WithEvents(ev("scim.token_revoked")).UpdateSCIMToken(ctx, tok))
		org.UpdatedAt = t0.Add(time.Minute)
		ok(t, b.WithEvents(ev("org.network_policy_changed")).UpdateOrg(ctx, org))
		if got := eventIDs(t, core); len(got) != 4 {
			t.Fatalf("events %v, want the seeded one and three changes", got)
		}
	})
	t.Run("Memberships", func(t *testing.T) {
		b, core := get(t)
		ok(t, core.CreateUser(ctx, &sso.User{ID: "usr_1", Email: "ann@example.com", CreatedAt: t0, UpdatedAt: t0}))
		m := &sso.Membership{OrgID: "org_1", UserID: "usr_1", Roles: []string{"member"}, Status: sso.MembershipActive,
			Source: sso.SourceAdmin, JoinedAt: t0, UpdatedAt: t0}
		is(t, "membership with a refused event", b.WithEvents(taken()).CreateMembership(ctx, m), sso.ErrConflict)
		if _, err := core.GetMembership(ctx, "org_1", "usr_1"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("membership stored without its event: %v", err)
		}
		ok(t, b.WithEvents(ev("membership.added")).CreateMembership(ctx, m))
		m.Roles = []string{"admin"}
		is(t, "promotion with a refused event", b.WithEvents(taken()).UpdateMembership(ctx, m), sso.ErrConflict)
		if got, _ := core.GetMembership(ctx, "org_1", "usr_1"); got == nil || got.Roles[0] != "member" {
			t.Fatalf("roles changed without their event: %+v", got)
		}
		is(t, "removal with a refused event", b.WithEvents(taken()).DeleteMembership(ctx, "org_1", "usr_1"), sso.ErrConflict)
		is(t, "update of a missing membership", b.WithEvents(ev("membership.roles_changed")).UpdateMembership(ctx,
			&sso.Membership{OrgID: "org_1", UserID: "usr_x", Roles: []string{"admin"}, Status: sso.MembershipActive,
				Source: sso.SourceAdmin, JoinedAt: t0, UpdatedAt: t0}), sso.ErrNotFound)
		ok(t, b.WithEvents(ev("membership.roles_changed")).UpdateMembership(ctx, m))
		ok(t, b.WithEvents(ev("membership.removed")).DeleteMembership(ctx, "org_1", "usr_1"))
		if got := eventIDs(t, core); len(got) != 4 {
			t.Fatalf("events %v, want the seeded one, added, roles_changed and removed", got)
		}
	})
	t.Run("OneViewOneWrite", func(t *testing.T) {
		b, core := get(t)
		v := b.WithEvents(ev("connection.created"))
		ok(t, v.CreateConnection(ctx, conn("conn_1")))
		is(t, "a second write through the view", v.CreateConnection(ctx, conn("conn_2")), sso.ErrConflict)
		if _, err := core.GetConnection(ctx, "conn_2"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("second write stored: %v", err)
		}
	})
}
