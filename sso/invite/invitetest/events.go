package invitetest

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/invite"
)

// eventBinder checks invite.EventBinder: every write of a view is stored
// with its events or, when the events are refused (an ID already stored,
// an invalid event) or the write fails, neither is.
func eventBinder(t *testing.T, s Stores) {
	ctx := context.Background()
	b, can := s.Store.(invite.EventBinder)
	if !can || s.Events == nil {
		t.Skip("the store does not implement invite.EventBinder (or Stores.Events is nil); the Manager records events after the change")
	}
	n := 0
	ev := func(typ string) *sso.Event {
		n++
		return &sso.Event{ID: "evt_inv_" + strconv.Itoa(n), OrgID: "org_a", Time: t0, Type: typ,
			Actor: sso.Actor{Type: sso.ActorAdmin, ID: "usr_admin"}, Outcome: sso.OutcomeSuccess}
	}
	taken := ev("test.seeded")
	if err := s.Events.AppendEvent(ctx, taken); err != nil {
		t.Fatal(err)
	}
	refused := map[string]func() *sso.Event{
		"taken":   func() *sso.Event { c := *taken; return &c },
		"invalid": func() *sso.Event { e := ev("x"); e.Type = ""; return e },
	}
	count := func() int {
		t.Helper()
		evs, err := s.Events.ListEvents(ctx, sso.EventQuery{OrgID: "org_a", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	// write is one write of each kind; ok reports whether it is stored.
	type write struct {
		name string
		do   func(st invite.Store) error
		ok   func() bool
	}
	a := inv("i1", "org_a", "jane@acme.example")
	used := *a
	used.Status, used.TokenHash, used.AcceptedBy, used.UpdatedAt = invite.StatusAccepted, "accepted:i1", "usr_1", t0.Add(time.Hour)
	jr := &invite.JoinRequest{ID: "jr1", OrgID: "org_a", UserID: "usr_1", Email: "u1@acme.example", Role: "member",
		Status: invite.StatusPending, CreatedAt: t0, UpdatedAt: t0}
	decided := *jr
	decided.Status, decided.DecidedBy, decided.UpdatedAt = invite.StatusApproved, "usr_admin", t0.Add(time.Hour)
	policy := &invite.AutoJoin{OrgID: "org_a", Mode: invite.ModeJoin, Role: "member", UpdatedAt: t0}
	writes := []write{
		{"CreateInvitation", func(st invite.Store) error { return st.CreateInvitation(ctx, a) }, func() bool {
			_, err := s.Store.GetInvitation(ctx, "org_a", "i1")
			return err == nil
		}},
		{"UpdateInvitation", func(st invite.Store) error { return st.UpdateInvitation(ctx, &used, a.TokenHash) }, func() bool {
			got, err := s.Store.GetInvitation(ctx, "org_a", "i1")
			return err == nil && got.Status == invite.StatusAccepted
		}},
		{"PutAutoJoin", func(st invite.Store) error { return st.PutAutoJoin(ctx, policy) }, func() bool {
			_, err := s.Store.GetAutoJoin(ctx, "org_a")
			return err == nil
		}},
		{"CreateJoinRequest", func(st invite.Store) error { return st.CreateJoinRequest(ctx, jr) }, func() bool {
			_, err := s.Store.GetJoinRequest(ctx, "org_a", "jr1")
			return err == nil
		}},
		{"DecideJoinRequest", func(st invite.Store) error { return st.DecideJoinRequest(ctx, &decided) }, func() bool {
			got, err := s.Store.GetJoinRequest(ctx, "org_a", "jr1")
			return err == nil && got.Status == invite.StatusApproved
		}},
	}
	for _, w := range writes {
		for name, bad := range refused {
			before := count()
			if err := w.do(b.WithEvents(ev("invitation.changed"), bad())); err == nil {
				t.Fatalf("%s with a %s event: succeeded, want an error", w.name, name)
			}
			if w.ok() || count() != before {
				t.Fatalf("%s with a %s event: the write or an event was stored", w.name, name)
			}
		}
		before := count()
		e1, e2 := ev("invitation.changed"), ev("invitation.noted")
		if err := w.do(b.WithEvents(e1, e2)); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		if !w.ok() || count() != before+2 {
			t.Fatalf("%s: stored %v with %d events, want the write and 2", w.name, w.ok(), count()-before)
		}
	}
	// A write that fails stores no event.
	before := count()
	failed := []error{
		b.WithEvents(ev("invitation.created")).CreateInvitation(ctx, a),
		b.WithEvents(ev("invitation.accepted")).UpdateInvitation(ctx, &used, a.TokenHash),
		b.WithEvents(ev("join_request.created")).CreateJoinRequest(ctx, jr),
		b.WithEvents(ev("join_request.denied")).DecideJoinRequest(ctx, &decided),
	}
	for i, err := range failed {
		if !errors.Is(err, sso.ErrConflict) {
			t.Errorf("failing write %d: got %v, want ErrConflict", i, err)
		}
	}
	if count() != before {
		t.Errorf("failed writes stored %d events", count()-before)
	}
	if err := s.Store.PutAutoJoin(ctx, &invite.AutoJoin{OrgID: "org_a", Mode: invite.ModeOff, UpdatedAt: t0}); err != nil || count() != before {
		t.Errorf("a write of the plain store: %v, %d events, want none", err, count()-before)
	}
}
