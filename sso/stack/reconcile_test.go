package stack_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// TestRunEndsSessionsAMissedSyncLeft: a member is suspended by a write
// that no session sync followed (the host's own code, or a directory
// change whose sync and revocation both failed). While Run runs, the
// member's session stops working within a few sweeps, and the audit trail
// says why.
func TestRunEndsSessionsAMissedSyncLeft(t *testing.T) {
	t.Parallel()
	for name, newStores := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			stores := newStores(t)
			stores.SweepInterval = 20 * time.Millisecond
			st := stores.Store
			s, base := start(t, stores)
			b, _ := login(t, base, "alice@acme.test")
			status := func() int {
				res, err := b.Client.Get(base + "/app/again")
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return res.StatusCode
			}
			if got := status(); got != http.StatusOK {
				t.Fatalf("with the session: status %d, want 200", got)
			}
			m, err := st.FindMemberByEmail(ctx, "org_acme", "alice@acme.test")
			if err != nil {
				t.Fatal(err)
			}
			m.Status, m.UpdatedAt = sso.MembershipSuspended, time.Now()
			if err := st.UpdateMembership(ctx, m); err != nil {
				t.Fatal(err)
			}
			if got := status(); got != http.StatusOK {
				t.Fatalf("before Run: status %d; the test needs the session to outlive the write", got)
			}
			stop := testkit.Start(t, s.Run)
			defer stop()
			deadline := time.Now().Add(10 * time.Second)
			for status() != http.StatusUnauthorized {
				if time.Now().After(deadline) {
					t.Fatal("the suspended member's session still works 10 s into Run")
				}
				time.Sleep(10 * time.Millisecond)
			}
			evs, err := st.ListEvents(ctx, sso.EventQuery{OrgID: "org_acme", Type: sso.EventSessionRevoked})
			if err != nil || len(evs) != 1 || evs[0].Reason != session.ReasonMembershipChanged {
				t.Fatalf("revocation events: %+v, %v", evs, err)
			}
		})
	}
}
