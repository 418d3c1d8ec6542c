// Package invitetest is the conformance suite of invite.Store: one
// function that every implementation runs (store/memstore/meminvite,
// store/sqlstore/sqlinvite on SQLite and PostgreSQL) and that a host runs
// against its own.
//
//	func TestConformance(t *testing.T) {
//		invitetest.Run(t, func(t *testing.T) invitetest.Stores { ... })
//	}
package invitetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/invite"
)

// Stores is a fresh, empty invite store and the core user store whose
// users its FindVerifiedUser looks up.
type Stores struct {
	Store invite.Store
	Users sso.UserStore
	// Events are the events of Store's database, where the views of an
	// invite.EventBinder Store append theirs. Nil skips the EventBinder
	// checks.
	Events sso.EventStore
}

// Run runs every subtest against fresh, empty stores from newStores.
func Run(t *testing.T, newStores func(t *testing.T) Stores) {
	t.Run("Invitations", func(t *testing.T) { t.Parallel(); invitations(t, newStores(t).Store) })
	t.Run("InvitationUsedOnce", func(t *testing.T) { t.Parallel(); usedOnce(t, newStores(t).Store) })
	t.Run("OnePendingPerAddress", func(t *testing.T) { t.Parallel(); onePending(t, newStores(t).Store) })
	t.Run("OnePendingPerAddressConcurrent", func(t *testing.T) { t.Parallel(); onePendingRace(t, newStores(t).Store) })
	t.Run("EventBinder", func(t *testing.T) { t.Parallel(); eventBinder(t, newStores(t)) })
	t.Run("AutoJoin", func(t *testing.T) { t.Parallel(); autoJoin(t, newStores(t).Store) })
	t.Run("JoinRequests", func(t *testing.T) { t.Parallel(); joinRequests(t, newStores(t).Store) })
	t.Run("FindVerifiedUser", func(t *testing.T) { t.Parallel(); findUser(t, newStores(t)) })
}

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)

func inv(id, org, email string) *invite.Invitation {
	return &invite.Invitation{ID: id, OrgID: org, Email: email, Roles: []string{"member", "viewer"}, TokenHash: "tok-" + id,
		Status: invite.StatusPending, InvitedBy: "usr_admin", CreatedAt: t0, ExpiresAt: t0.Add(7 * 24 * time.Hour), UpdatedAt: t0}
}

func equalInv(a, b *invite.Invitation) bool {
	return a.ID == b.ID && a.OrgID == b.OrgID && a.Email == b.Email && slices.Equal(a.Roles, b.Roles) && a.TokenHash == b.TokenHash &&
		a.Status == b.Status && a.InvitedBy == b.InvitedBy && a.AcceptedBy == b.AcceptedBy && a.CreatedAt.Equal(b.CreatedAt) &&
		a.ExpiresAt.Equal(b.ExpiresAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func invitations(t *testing.T, st invite.Store) {
	ctx := context.Background()
	a := inv("i1", "org_a", "jane@acme.example")
	later := inv("i2", "org_a", "joe@acme.example")
	later.CreatedAt = t0.Add(time.Minute)
	for _, v := range []*invite.Invitation{a, later, inv("i3", "org_b", "jane@acme.example")} {
		if err := st.CreateInvitation(ctx, v); err != nil {
			t.Fatalf("CreateInvitation: %v", err)
		}
	}
	dup := inv("i4", "org_a", "x@acme.example")
	dup.TokenHash = a.TokenHash
	if err := st.CreateInvitation(ctx, dup); !errors.Is(err, sso.ErrConflict) {
		t.Errorf("CreateInvitation with a taken token hash: got %v, want ErrConflict", err)
	}
	if got, err := st.GetInvitation(ctx, "org_a", "i1"); err != nil || !equalInv(got, a) {
		t.Errorf("GetInvitation: got %+v, %v, want %+v", got, err, a)
	}
	if _, err := st.GetInvitation(ctx, "org_b", "i1"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("GetInvitation of another organization: got %v, want ErrNotFound", err)
	}
	if got, err := st.FindInvitation(ctx, "tok-i1"); err != nil || !equalInv(got, a) {
		t.Errorf("FindInvitation: got %+v, %v", got, err)
	}
	list, err := st.ListInvitations(ctx, "org_a")
	if err != nil || len(list) != 2 || list[0].ID != "i2" || list[1].ID != "i1" {
		t.Errorf("ListInvitations: got %d, %v (want i2, i1)", len(list), err)
	}
	pend, err := st.ListPendingInvitations(ctx, "jane@acme.example")
	if err != nil || len(pend) != 2 || pend[0].ID != "i1" || pend[1].ID != "i3" {
		t.Errorf("ListPendingInvitations: got %d, %v (want i1, i3)", len(pend), err)
	}
	next := *a
	next.TokenHash, next.UpdatedAt = "tok-rotated", t0.Add(time.Hour)
	if err := st.UpdateInvitation(ctx, &next, "stale"); !errors.Is(err, sso.ErrConflict) {
		t.Errorf("UpdateInvitation with a stale hash: got %v, want ErrConflict", err)
	}
	wrongOrg := next
	wrongOrg.OrgID = "org_b"
	if err := st.UpdateInvitation(ctx, &wrongOrg, a.TokenHash); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("UpdateInvitation through another organization: got %v, want ErrNotFound", err)
	}
	if err := st.UpdateInvitation(ctx, &next, a.TokenHash); err != nil {
		t.Fatalf("UpdateInvitation: %v", err)
	}
	if _, err := st.FindInvitation(ctx, "tok-i1"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("the replaced token still finds the invitation: %v", err)
	}
	if got, err := st.FindInvitation(ctx, "tok-rotated"); err != nil || !equalInv(got, &next) {
		t.Errorf("FindInvitation(new hash): got %+v, %v", got, err)
	}
}

func usedOnce(t *testing.T, st invite.Store) {
	ctx := context.Background()
	a := inv("i1", "org_a", "jane@acme.example")
	if err := st.CreateInvitation(ctx, a); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := *a
			n.Status, n.TokenHash, n.AcceptedBy = invite.StatusAccepted, fmt.Sprintf("used-%d", i), fmt.Sprintf("usr_%d", i)
			if err := st.UpdateInvitation(ctx, &n, a.TokenHash); err == nil {
				wins.Add(1)
			} else if !errors.Is(err, sso.ErrConflict) {
				t.Errorf("concurrent UpdateInvitation: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("concurrent uses of one invitation: %d winners, want 1", wins.Load())
	}
}

func autoJoin(t *testing.T, st invite.Store) {
	ctx := context.Background()
	if _, err := st.GetAutoJoin(ctx, "org_a"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("GetAutoJoin before any: got %v, want ErrNotFound", err)
	}
	for _, p := range []*invite.AutoJoin{{OrgID: "org_a", Mode: invite.ModeJoin, Role: "member", UpdatedAt: t0},
		{OrgID: "org_a", Mode: invite.ModeApproval, Role: "viewer", UpdatedAt: t0.Add(time.Hour)}} {
		if err := st.PutAutoJoin(ctx, p); err != nil {
			t.Fatalf("PutAutoJoin: %v", err)
		}
		got, err := st.GetAutoJoin(ctx, "org_a")
		if err != nil || got.Mode != p.Mode || got.Role != p.Role || !got.UpdatedAt.Equal(p.UpdatedAt) {
			t.Errorf("GetAutoJoin: got %+v, %v, want %+v", got, err, p)
		}
	}
	if _, err := st.GetAutoJoin(ctx, "org_b"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("another organization's policy: got %v, want ErrNotFound", err)
	}
}

func joinRequests(t *testing.T, st invite.Store) {
	ctx := context.Background()
	jr := &invite.JoinRequest{ID: "jr1", OrgID: "org_a", UserID: "usr_1", Email: "u1@acme.example", Role: "member",
		Status: invite.StatusPending, CreatedAt: t0, UpdatedAt: t0}
	if err := st.CreateJoinRequest(ctx, jr); err != nil {
		t.Fatalf("CreateJoinRequest: %v", err)
	}
	again := *jr
	again.ID = "jr2"
	if err := st.CreateJoinRequest(ctx, &again); !errors.Is(err, sso.ErrConflict) {
		t.Errorf("a second pending request of one user: got %v, want ErrConflict", err)
	}
	if _, err := st.GetJoinRequest(ctx, "org_b", "jr1"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("GetJoinRequest of another organization: got %v, want ErrNotFound", err)
	}
	decided := *jr
	decided.Status, decided.DecidedBy, decided.UpdatedAt = invite.StatusApproved, "usr_admin", t0.Add(time.Hour)
	if err := st.DecideJoinRequest(ctx, &decided); err != nil {
		t.Fatalf("DecideJoinRequest: %v", err)
	}
	denied := decided
	denied.Status = invite.StatusDenied
	if err := st.DecideJoinRequest(ctx, &denied); !errors.Is(err, sso.ErrConflict) {
		t.Errorf("deciding a decided request: got %v, want ErrConflict", err)
	}
	if got, err := st.GetJoinRequest(ctx, "org_a", "jr1"); err != nil || got.Status != invite.StatusApproved || got.DecidedBy != "usr_admin" {
		t.Errorf("GetJoinRequest: got %+v, %v", got, err)
	}
	// Once decided, the user may ask again.
	if err := st.CreateJoinRequest(ctx, &again); err != nil {
		t.Errorf("a new request after the decision: %v", err)
	}
	if l, err := st.ListJoinRequests(ctx, "org_a", invite.StatusPending); err != nil || len(l) != 1 || l[0].ID != "jr2" {
		t.Errorf("ListJoinRequests(pending): %d, %v", len(l), err)
	}
	if l, err := st.ListJoinRequests(ctx, "org_a", ""); err != nil || len(l) != 2 {
		t.Errorf("ListJoinRequests(all): %d, %v", len(l), err)
	}
}

func findUser(t *testing.T, s Stores) {
	ctx := context.Background()
	for _, u := range []*sso.User{{ID: "usr_unverified", Email: "jane@acme.example", CreatedAt: t0.Add(-time.Hour)},
		{ID: "usr_b", Email: "jane@acme.example", EmailVerified: true, CreatedAt: t0}} {
		if err := s.Users.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Store.FindVerifiedUser(ctx, "jane@acme.example"); err != nil || got.ID != "usr_b" {
		t.Errorf("FindVerifiedUser: got %+v, %v, want usr_b", got, err)
	}
	if _, err := s.Store.FindVerifiedUser(ctx, "nobody@acme.example"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("FindVerifiedUser(unknown): got %v, want ErrNotFound", err)
	}
}
