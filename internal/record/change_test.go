package record_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/record"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
)

// plain hides the memstore's WithEvents: a host store without the
// capability.
type plain struct{ sso.Store }

// trail records into the store, as audit.Trail does.
type trail struct{ st sso.EventStore }

func (r trail) Record(ctx context.Context, e *sso.Event) error {
	e.FillDefaults(ctx, time.Now())
	return r.st.AppendEvent(ctx, e)
}

func newOrg(t *testing.T, st sso.Store) *sso.Organization {
	t.Helper()
	o := &sso.Organization{ID: "org_1", Slug: "one", Name: "One"}
	if err := st.CreateOrg(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return o
}

func events(t *testing.T, st sso.Store) []*sso.Event {
	t.Helper()
	evs, err := st.ListEvents(context.Background(), sso.EventQuery{OrgID: "org_1"})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestChange: with a binding store the change and its events are one
// write (a refused event stores no change); with a store without the
// capability the change is written and its events recorded after it; a
// failed change records none in either case; without a recorder nothing is
// recorded.
func TestChange(t *testing.T) {
	ctx := sso.WithAuditInfo(context.Background(), sso.AuditInfo{Actor: sso.Actor{Type: sso.ActorAdmin, ID: "usr_admin"}, IP: "192.0.2.1"})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rename := func(o *sso.Organization, name string) func(sso.Store) error {
		return func(s sso.Store) error {
			c := *o
			c.Name = name
			return s.UpdateOrg(ctx, &c)
		}
	}
	for name, wrap := range map[string]func(*memstore.Store) sso.Store{
		"binder": func(ms *memstore.Store) sso.Store { return ms },
		"plain":  func(ms *memstore.Store) sso.Store { return plain{ms} },
	} {
		t.Run(name, func(t *testing.T) {
			ms := memstore.New()
			st := wrap(ms)
			o := newOrg(t, st)
			r := trail{ms}
			ev := &sso.Event{OrgID: o.ID, Type: "org.renamed"}
			if err := record.Change[sso.Store, sso.Store](ctx, st, r, now, []*sso.Event{ev}, nil, rename(o, "Two")); err != nil {
				t.Fatal(err)
			}
			evs := events(t, st)
			if len(evs) != 1 || evs[0].Actor.ID != "usr_admin" || evs[0].IP != "192.0.2.1" || evs[0].ID == "" {
				t.Fatalf("events %+v, want the change's with the request's actor and address", evs)
			}
			if got, _ := st.GetOrg(ctx, o.ID); got.Name != "Two" {
				t.Fatalf("name %q, want the change stored", got.Name)
			}
			failed := errors.New("refused")
			err := record.Change[sso.Store, sso.Store](ctx, st, r, now, []*sso.Event{{OrgID: o.ID, Type: "org.renamed"}}, nil,
				func(sso.Store) error { return failed })
			if !errors.Is(err, failed) || len(events(t, st)) != 1 {
				t.Fatalf("failed change: %v, %d events; want its error and no event", err, len(events(t, st)))
			}
			if err := record.Change[sso.Store, sso.Store](ctx, st, nil, now, []*sso.Event{{OrgID: o.ID, Type: "org.renamed"}}, nil,
				rename(o, "Three")); err != nil || len(events(t, st)) != 1 {
				t.Fatalf("without a recorder: %v, %d events; want the change alone", err, len(events(t, st)))
			}
		})
	}
	t.Run("RefusedEvent", func(t *testing.T) {
		ms := memstore.New()
		o := newOrg(t, ms)
		taken := &sso.Event{ID: "evt_taken", OrgID: o.ID, Type: "test.seeded", Time: now, Actor: sso.Actor{Type: sso.ActorSystem}}
		if err := ms.AppendEvent(ctx, taken); err != nil {
			t.Fatal(err)
		}
		err := record.Change[sso.Store, sso.Store](ctx, ms, trail{ms}, now, []*sso.Event{{ID: "evt_taken", OrgID: o.ID, Type: "org.renamed"}}, nil,
			rename(o, "Two"))
		if !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("refused event: %v, want ErrConflict", err)
		}
		if got, _ := ms.GetOrg(ctx, o.ID); got.Name != "One" {
			t.Fatalf("name %q stored without its event", got.Name)
		}
	})
	t.Run("InvalidEvent", func(t *testing.T) {
		ms := memstore.New()
		o := newOrg(t, ms)
		err := record.Change[sso.Store, sso.Store](ctx, ms, trail{ms}, now, []*sso.Event{{OrgID: o.ID}}, nil, rename(o, "Two"))
		if err == nil {
			t.Fatal("an event without a type was accepted")
		}
		if got, _ := ms.GetOrg(ctx, o.ID); got.Name != "One" {
			t.Fatalf("name %q stored with an invalid event", got.Name)
		}
	})
}
