package invite_test

import (
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/invite"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/meminvite"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlinvite"
)

// refusals makes the events of chosen types fail validation as the
// memstore writes them, as a database trigger refuses them on SQLite and
// PostgreSQL.
type refusals struct {
	mu    sync.Mutex
	types map[string]bool
}

func (r *refusals) set(typ string, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.types[typ] = on
}

// spoil returns evs with those of a refused type made invalid.
func (r *refusals) spoil(evs []*sso.Event) []*sso.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*sso.Event, len(evs))
	for i, e := range evs {
		out[i] = e
		if r.types[e.Type] {
			c := *e
			c.Type = ""
			out[i] = &c
		}
	}
	return out
}

// refusingInvites is meminvite's store whose bound writes meet the
// refusals.
type refusingInvites struct {
	*meminvite.Store
	r *refusals
}

func (s refusingInvites) WithEvents(evs ...*sso.Event) invite.Store {
	return s.Store.WithEvents(s.r.spoil(evs)...)
}

// refusingCore is the memstore whose bound core writes meet the refusals.
type refusingCore struct {
	*memstore.Store
	r *refusals
}

func (s refusingCore) WithEvents(evs ...*sso.Event) sso.Store {
	return s.Store.WithEvents(s.r.spoil(evs)...)
}

var triggerChars = regexp.MustCompile(`[^a-z]+`)

// atomicEnv returns an env on backend and refuse, which makes the store
// refuse events of a type until the function it returns is called.
func atomicEnv(t *testing.T, backend string) (*env, func(typ string) (allow func())) {
	t.Helper()
	clock := newClock()
	if backend == "memstore" {
		ms := memstore.New(memstore.WithClock(clock.Now))
		r := &refusals{types: map[string]bool{}}
		e := newEnvWith(t, clock, ms, refusingInvites{meminvite.New(ms), r}, func(c *invite.Config) { c.Members = refusingCore{ms, r} })
		return e, func(typ string) func() {
			r.set(typ, true)
			return func() { r.set(typ, false) }
		}
	}
	pg := backend == "postgres"
	db := testdb.SQLite(t)
	d := sqlstore.SQLite
	if pg {
		db, d = testdb.Postgres(t), sqlstore.Postgres
		db.SetMaxOpenConns(4)
	}
	st, err := sqlstore.New(db, d, sqlstore.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, clock, st, sqlinvite.New(st), nil)
	return e, func(typ string) func() {
		name := "refuse_" + triggerChars.ReplaceAllString(typ, "_")
		testdb.RefuseEvents(t, db, pg, name, typ)
		return func() {
			drop := []string{`DROP TRIGGER ` + name}
			if pg {
				drop = []string{`DROP TRIGGER ` + name + ` ON ssokit_events`, `DROP FUNCTION ` + name + `()`}
			}
			for _, q := range drop {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// TestChangesAndEventsCommitTogether: on memstore, SQLite and PostgreSQL,
// every invitation, policy and join-request change whose audit event the
// store refuses fails and stores nothing (no invitation, token change,
// acceptance, user, membership, policy or request, and no email), so no
// change is ever stored without its event; once the event is accepted the
// change goes through.
func TestChangesAndEventsCommitTogether(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, _ func(t *testing.T) *env) {
		name := t.Name()[strings.LastIndex(t.Name(), "/")+1:]
		e, refuse := atomicEnv(t, name)
		// refused runs step with events of typ refused: it must fail, and
		// no such event may be stored.
		refused := func(typ string, step func() error) {
			t.Helper()
			before := len(e.events("org_acme", typ))
			allow := refuse(typ)
			defer allow()
			if err := step(); err == nil {
				t.Fatalf("a change whose %s event was refused succeeded", typ)
			}
			if n := len(e.events("org_acme", typ)) - before; n != 0 {
				t.Fatalf("%d %s events stored for a failed change", n, typ)
			}
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		pending := func(id string) *invite.Invitation {
			t.Helper()
			v, err := e.m.Pending(ctx, "org_acme", id)
			if err != nil {
				t.Fatalf("invitation %s: %v, want still pending", id, err)
			}
			return v
		}

		// Invite.
		refused(invite.EventInvited, func() error { _, err := e.m.Invite(ctx, "org_acme", "a@acme.example", []string{"member"}); return err })
		if list, _ := e.m.List(ctx, "org_acme"); len(list) != 0 {
			t.Fatalf("%d invitations stored without their event", len(list))
		}
		if _, sent := e.mailer.Last("a@acme.example"); sent {
			t.Fatal("an invitation whose event was refused was emailed")
		}
		inv, err := e.m.Invite(ctx, "org_acme", "a@acme.example", []string{"member"})
		must(err)
		tok := e.token("a@acme.example")

		// Resend and revoke.
		refused(invite.EventResent, func() error { _, err := e.m.Resend(ctx, "org_acme", inv.ID); return err })
		if v := pending(inv.ID); v.TokenHash != inv.TokenHash || !v.ExpiresAt.Equal(inv.ExpiresAt) {
			t.Fatalf("a resend whose event was refused changed the invitation: %+v", v)
		}
		refused(invite.EventRevoked, func() error { _, err := e.m.Revoke(ctx, "org_acme", inv.ID); return err })
		pending(inv.ID)

		// Accept with the token, by a new address.
		refused(invite.EventAccepted, func() error { _, _, err := e.m.Accept(ctx, tok, ""); return err })
		pending(inv.ID)
		if u, err := e.is.FindVerifiedUser(ctx, "a@acme.example"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("a user %+v (%v) was created by an acceptance whose event was refused", u, err)
		}
		if ms, _ := e.ms.ListMembers(ctx, "org_acme", "", 100); len(ms) != 0 {
			t.Fatalf("%d members joined through an acceptance whose event was refused", len(ms))
		}
		_, mem, err := e.m.Accept(ctx, tok, "")
		must(err)
		if !mem.HasRole("member") || len(e.events("org_acme", invite.EventAccepted)) != 1 {
			t.Fatalf("accept: %+v, %d events", mem, len(e.events("org_acme", invite.EventAccepted)))
		}

		// Enter: the way in of a sign-in.
		u := &sso.User{ID: "usr_b", Email: "b@acme.example", EmailVerified: true}
		must(e.ms.CreateUser(ctx, u))
		binv, err := e.m.Invite(ctx, "org_acme", u.Email, []string{"viewer"})
		must(err)
		w, err := e.m.WayIn(ctx, u.Email)
		must(err)
		refused(invite.EventAccepted, func() error { _, err := e.m.Enter(ctx, w, u); return err })
		pending(binv.ID)
		if _, err := e.ms.GetMembership(ctx, "org_acme", u.ID); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("a sign-in joined through an invitation whose event was refused: %v", err)
		}

		// The auto-join policy and the membership it makes.
		must(e.ms.CreateDomain(ctx, &sso.Domain{OrgID: "org_acme", Name: "acme.example", State: sso.DomainVerified}))
		refused(invite.EventAutoJoinPolicySet, func() error { _, err := e.m.SetPolicy(ctx, "org_acme", invite.ModeJoin, "member"); return err })
		if p, err := e.m.Policy(ctx, "org_acme"); err != nil || p.Mode != invite.ModeOff {
			t.Fatalf("policy %+v (%v) stored without its event", p, err)
		}
		_, err = e.m.SetPolicy(ctx, "org_acme", invite.ModeJoin, "member")
		must(err)
		joiner := &sso.User{ID: "usr_c", Email: "c@acme.example", EmailVerified: true}
		must(e.ms.CreateUser(ctx, joiner))
		refused(invite.EventAutoJoined, func() error { _, err := e.m.AutoJoin(ctx, joiner); return err })
		if _, err := e.ms.GetMembership(ctx, "org_acme", joiner.ID); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("an auto-join whose event was refused made a member: %v", err)
		}

		// Join requests and their decisions.
		_, err = e.m.SetPolicy(ctx, "org_acme", invite.ModeApproval, "viewer")
		must(err)
		refused(invite.EventJoinRequested, func() error { _, err := e.m.AutoJoin(ctx, joiner); return err })
		if jrs, _ := e.m.JoinRequests(ctx, "org_acme", ""); len(jrs) != 0 {
			t.Fatalf("%d join requests stored without their event", len(jrs))
		}
		out, err := e.m.AutoJoin(ctx, joiner)
		must(err)
		for _, typ := range []string{invite.EventJoinApproved, invite.EventJoinDenied} {
			refused(typ, func() error {
				_, err := e.m.Decide(ctx, "org_acme", out.Requested.ID, typ == invite.EventJoinApproved)
				return err
			})
			if jrs, _ := e.m.JoinRequests(ctx, "org_acme", invite.StatusPending); len(jrs) != 1 {
				t.Fatalf("a decision whose %s event was refused was stored", typ)
			}
		}
		if _, err := e.ms.GetMembership(ctx, "org_acme", joiner.ID); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("an approval whose event was refused made a member: %v", err)
		}
		_, err = e.m.Decide(ctx, "org_acme", out.Requested.ID, true)
		must(err)
		if len(e.events("org_acme", invite.EventJoinApproved)) != 1 {
			t.Fatal("no join_request.approved event")
		}
	})
}
