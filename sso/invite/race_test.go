package invite_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/invite"
)

// TestInviteConcurrent: concurrent invitations of one address to one
// organization, started together, make one invitation; the others are
// refused already_invited. Once that invitation expired, concurrent
// invitations again make one, and the expired one stops being pending, so
// an organization never holds two pending invitations of one address.
func TestInviteConcurrent(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv func(t *testing.T) *env) {
		e := newEnv(t)
		const rounds, callers = 20, 6
		race := func(addr string) {
			t.Helper()
			start := make(chan struct{})
			var wg sync.WaitGroup
			var won atomic.Int32
			for range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := e.m.Invite(ctx, "org_acme", addr, []string{"member"})
					if err == nil {
						won.Add(1)
					} else if sso.ReasonOf(err) != invite.ReasonAlreadyInvited {
						t.Errorf("invitation of %s: %v, want success or already_invited", addr, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if won.Load() != 1 {
				t.Fatalf("%d concurrent invitations of %s succeeded, want 1", won.Load(), addr)
			}
		}
		pending := func(addr string) int {
			t.Helper()
			list, err := e.m.List(ctx, "org_acme")
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, v := range list {
				if v.Email == addr && v.Status == invite.StatusPending {
					n++
				}
			}
			return n
		}
		addr := func(r int) string { return fmt.Sprintf("r%d@acme.example", r) }
		for r := range rounds {
			race(addr(r))
			if n := pending(addr(r)); n != 1 {
				t.Fatalf("%d pending invitations of %s, want 1", n, addr(r))
			}
		}
		e.clock.Advance(7*24*time.Hour + time.Second)
		for r := range rounds {
			race(addr(r))
			if n := pending(addr(r)); n != 1 {
				t.Fatalf("after the first expired: %d pending invitations of %s, want 1", n, addr(r))
			}
		}
	})
}
