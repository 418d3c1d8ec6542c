package invitetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/invite"
)

// onePending checks that an organization holds one pending invitation per
// address: a second live one is refused, an expired one is marked expired
// (keeping its token hash) by the invitation that replaces it, and an
// update cannot make a second one pending.
func onePending(t *testing.T, st invite.Store) {
	ctx := context.Background()
	a := inv("i1", "org_a", "jane@acme.example")
	if err := st.CreateInvitation(ctx, a); err != nil {
		t.Fatal(err)
	}
	dup := inv("i2", "org_a", "jane@acme.example")
	dup.CreatedAt = a.ExpiresAt.Add(-time.Second)
	if err := st.CreateInvitation(ctx, dup); !errors.Is(err, sso.ErrConflict) {
		t.Fatalf("a second live pending invitation of one address: got %v, want ErrConflict", err)
	}
	if _, err := st.GetInvitation(ctx, "org_a", "i2"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("the refused invitation was stored: %v", err)
	}
	for _, v := range []*invite.Invitation{inv("i3", "org_b", "jane@acme.example"), inv("i4", "org_a", "joe@acme.example")} {
		if err := st.CreateInvitation(ctx, v); err != nil {
			t.Errorf("a pending invitation of another organization or address: %v", err)
		}
	}
	next := inv("i5", "org_a", "jane@acme.example")
	next.CreatedAt, next.UpdatedAt, next.ExpiresAt = a.ExpiresAt, a.ExpiresAt, a.ExpiresAt.Add(7*24*time.Hour)
	if err := st.CreateInvitation(ctx, next); err != nil {
		t.Fatalf("an invitation replacing an expired one: %v", err)
	}
	old, err := st.GetInvitation(ctx, "org_a", "i1")
	want := *a
	want.Status, want.UpdatedAt = invite.StatusExpired, next.CreatedAt
	if err != nil || !equalInv(old, &want) {
		t.Errorf("the replaced invitation: got %+v, %v, want %+v", old, err, &want)
	}
	if got, err := st.FindInvitation(ctx, a.TokenHash); err != nil || got.ID != "i1" {
		t.Errorf("the expired invitation's token: got %+v, %v, want it found", got, err)
	}
	if other, err := st.GetInvitation(ctx, "org_b", "i3"); err != nil || other.Status != invite.StatusPending {
		t.Errorf("another organization's invitation of the address: %+v, %v, want still pending", other, err)
	}
	revived := *old
	revived.Status = invite.StatusPending
	if err := st.UpdateInvitation(ctx, &revived, old.TokenHash); !errors.Is(err, sso.ErrConflict) {
		t.Errorf("an update making a second pending invitation: got %v, want ErrConflict", err)
	}
	if got, _ := st.GetInvitation(ctx, "org_a", "i1"); got == nil || got.Status != invite.StatusExpired {
		t.Errorf("the refused update was stored: %+v", got)
	}
}

// onePendingRace creates invitations of one address concurrently, started
// together, round after round: one wins each round, the others get
// ErrConflict.
func onePendingRace(t *testing.T, st invite.Store) {
	ctx := context.Background()
	const rounds, callers = 20, 6
	for r := range rounds {
		start := make(chan struct{})
		var wg sync.WaitGroup
		var won atomic.Int32
		for c := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v := inv(fmt.Sprintf("i%d_%d", r, c), "org_a", fmt.Sprintf("r%d@acme.example", r))
				<-start
				if err := st.CreateInvitation(ctx, v); err == nil {
					won.Add(1)
				} else if !errors.Is(err, sso.ErrConflict) {
					t.Errorf("concurrent CreateInvitation: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("round %d: %d concurrent invitations of one address stored, want 1", r, won.Load())
		}
	}
}
