package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlscim"
)

// BenchmarkOutboxCost measures what writing the audit event (the outbox
// row) in the same transaction adds to a SCIM user create and to a login's
// session write on PostgreSQL: each case runs with and without the event.
func BenchmarkOutboxCost(b *testing.B) {
	st := open(b, testdb.Postgres(b), sqlstore.Postgres)
	ctx := context.Background()
	must(b, st.CreateOrg(ctx, &sso.Organization{ID: "org_bench", Slug: "bench", Name: "Bench"}))
	sc := sqlscim.New(st)
	now := time.Now().UTC()
	event := func(typ, target string) *sso.Event {
		return &sso.Event{ID: opaque.NewID("evt_"), OrgID: "org_bench", Time: now, Type: typ,
			Actor: sso.Actor{Type: sso.ActorSCIM, ID: "tok"}, Target: sso.Target{Type: "user", ID: target}, Outcome: sso.OutcomeSuccess}
	}
	createUser := func(i int, withEvent bool) {
		id := opaque.NewID("user_")
		name := strings.ToLower(fmt.Sprintf("u%d-%v-%s@example.com", i, withEvent, id[5:13]))
		r := &scim.User{OrgID: "org_bench", ID: id, Attributes: map[string]any{"userName": name, "active": true},
			Version: 1, Created: now, LastModified: now}
		r.Derive()
		u := &sso.User{ID: id, Email: name, CreatedAt: now, UpdatedAt: now}
		m := &sso.Membership{OrgID: "org_bench", UserID: id, Roles: []string{"member"}, Status: sso.MembershipActive,
			Source: sso.SourceSCIM, JoinedAt: now, UpdatedAt: now}
		var evs []*sso.Event
		if withEvent {
			evs = []*sso.Event{event(scim.EventUserCreated, id)}
		}
		must(b, sc.CreateUserSCIMEvents(ctx, u, m, r, evs))
	}
	must(b, st.CreateIdentity(ctx, &sso.Identity{ID: "id_bench", OrgID: "org_bench", Issuer: "https://idp.example", Subject: "s",
		UserID: "user_login", CreatedAt: now}))
	login := func(_ int, withEvent bool) {
		id, err := st.GetIdentity(ctx, "org_bench", "https://idp.example", "s")
		must(b, err)
		id.LastLoginAt = time.Now().UTC()
		w := &sso.LoginWrites{Identity: id}
		if withEvent {
			w.Event = event(sso.EventLoginSucceeded, "user_login")
		}
		ss := &session.Session{ID: opaque.NewID("ses_"), TokenHash: opaque.NewID("h_"), UserID: "user_login", OrgID: "org_bench",
			ConnectionID: "conn_1", Method: sso.AuthMethod("saml"), Roles: []string{"member"}, AuthAt: now,
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
		_, err = st.CreateLoginSession(ctx, ss, 0, w)
		must(b, err)
	}
	// Each iteration runs the write once without and once with the event,
	// in alternating order, so drift in the shared machine's load falls on
	// both alike; the metrics are the mean of each and their ratio.
	for _, c := range []struct {
		name string
		fn   func(i int, withEvent bool)
	}{{"scim_create", createUser}, {"login_session", login}} {
		b.Run(c.name, func(b *testing.B) {
			var without, with time.Duration
			for i := 0; b.Loop(); i++ {
				for _, ev := range []bool{i%2 == 0, i%2 != 0} {
					t0 := time.Now()
					c.fn(i, ev)
					if ev {
						with += time.Since(t0)
					} else {
						without += time.Since(t0)
					}
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(without.Microseconds())/n, "us-without")
			b.ReportMetric(float64(with.Microseconds())/n, "us-with-event")
			b.ReportMetric(float64(with)/float64(without), "ratio")
		})
	}
}
