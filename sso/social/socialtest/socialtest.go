// Package socialtest is the conformance suite of social.Store: one
// function that every implementation runs (store/memstore/memsocial,
// store/sqlstore/sqlsocial on SQLite and PostgreSQL) and that a host runs
// against its own.
//
//	func TestConformance(t *testing.T) {
//		socialtest.Run(t, func(t *testing.T) socialtest.Stores { return newStores(t) })
//	}
package socialtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/social"
)

// Stores is a social store and the user store it finds users in (the same
// database).
type Stores struct {
	Social social.Store
	Users  sso.UserStore
}

// Run runs every subtest against fresh, empty stores from newStores. Times
// are compared at microsecond precision, which every store keeps.
func Run(t *testing.T, newStores func(t *testing.T) Stores) {
	t.Run("Identities", func(t *testing.T) { t.Parallel(); identities(t, newStores(t)) })
	t.Run("CreateOnce", func(t *testing.T) { t.Parallel(); createOnce(t, newStores(t)) })
	t.Run("UsersByEmail", func(t *testing.T) { t.Parallel(); usersByEmail(t, newStores(t)) })
	t.Run("KeepLast", func(t *testing.T) { t.Parallel(); keepLast(t, newStores(t).Social) })
}

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)

func ident(provider, subject, userID string, at time.Time) *social.Identity {
	return &social.Identity{Provider: provider, Subject: subject, UserID: userID, Email: subject + "@mail.example",
		EmailVerified: true, CreatedAt: at, LastLoginAt: at}
}

func same(a, b *social.Identity) bool {
	return a.Provider == b.Provider && a.Subject == b.Subject && a.UserID == b.UserID && a.Email == b.Email &&
		a.EmailVerified == b.EmailVerified && a.CreatedAt.Equal(b.CreatedAt) && a.LastLoginAt.Equal(b.LastLoginAt)
}

func identities(t *testing.T, s Stores) {
	ctx := context.Background()
	st := s.Social
	a := ident("google", "g-1", "usr_1", t0)
	if err := st.CreateIdentity(ctx, a); err != nil {
		t.Fatalf("CreateIdentity: %v", err)
	}
	if err := st.CreateIdentity(ctx, ident("google", "g-1", "usr_2", t0)); !errors.Is(err, sso.ErrConflict) {
		t.Errorf("CreateIdentity with a taken (provider, subject): got %v, want ErrConflict", err)
	}
	if got, err := st.GetIdentity(ctx, "google", "g-1"); err != nil || !same(got, a) {
		t.Errorf("GetIdentity = %+v, %v; want %+v", got, err, a)
	}
	// The same subject at another provider is another identity.
	b := ident("github", "g-1", "usr_1", t0.Add(time.Second))
	if err := st.CreateIdentity(ctx, b); err != nil {
		t.Errorf("the same subject at another provider: %v", err)
	}
	if _, err := st.GetIdentity(ctx, "microsoft", "g-1"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("GetIdentity of an unknown provider: got %v, want ErrNotFound", err)
	}
	list, err := st.ListUserIdentities(ctx, "usr_1")
	if err != nil || len(list) != 2 || list[0].Provider != "google" || list[1].Provider != "github" {
		t.Errorf("ListUserIdentities = %v, %v; want google then github", list, err)
	}
	if list, err := st.ListUserIdentities(ctx, "usr_none"); err != nil || list == nil || len(list) != 0 {
		t.Errorf("ListUserIdentities of a user without any: %v, %v; want an empty list", list, err)
	}
	at := t0.Add(time.Hour)
	if err := st.TouchIdentity(ctx, "google", "g-1", "new@mail.example", false, at); err != nil {
		t.Fatalf("TouchIdentity: %v", err)
	}
	got, _ := st.GetIdentity(ctx, "google", "g-1")
	if got.Email != "new@mail.example" || got.EmailVerified || !got.LastLoginAt.Equal(at) || got.UserID != "usr_1" || !got.CreatedAt.Equal(t0) {
		t.Errorf("after TouchIdentity: %+v", got)
	}
	if err := st.TouchIdentity(ctx, "google", "nobody", "x@mail.example", true, at); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("TouchIdentity of an unknown identity: got %v, want ErrNotFound", err)
	}
	if err := st.DeleteIdentity(ctx, "usr_2", "google", "g-1", false); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("DeleteIdentity by another user: got %v, want ErrNotFound", err)
	}
	if err := st.DeleteIdentity(ctx, "usr_1", "google", "g-1", false); err != nil {
		t.Errorf("DeleteIdentity: %v", err)
	}
	if _, err := st.GetIdentity(ctx, "google", "g-1"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("GetIdentity after delete: got %v, want ErrNotFound", err)
	}
	// A returned record is a copy.
	got, _ = st.GetIdentity(ctx, "github", "g-1")
	got.UserID = "usr_mallory"
	if again, _ := st.GetIdentity(ctx, "github", "g-1"); again.UserID != "usr_1" {
		t.Errorf("changing a returned identity changed the stored one: %q", again.UserID)
	}
}

// createOnce races creates of one (provider, subject) for different
// users: exactly one wins, so one provider account never links to two
// users.
func createOnce(t *testing.T, s Stores) {
	ctx := context.Background()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			err := s.Social.CreateIdentity(ctx, ident("github", "42", "usr_"+string(rune('a'+i)), t0))
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, sso.ErrConflict):
				t.Errorf("concurrent CreateIdentity: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d concurrent creates of one identity succeeded, want 1", wins.Load())
	}
}

// keepLast: with keepLast, the last identity of a user with no other way
// to sign in stays, also when two deletes of their last two race: exactly
// one succeeds. The race runs keepLastRounds times, as a lost one is rare.
// Ways in of other capabilities are store/storetest's RunWaysIn.
func keepLast(t *testing.T, st social.Store) {
	ctx := context.Background()
	for _, id := range []*social.Identity{ident("google", "g-1", "usr_1", t0), ident("github", "h-1", "usr_2", t0)} {
		if err := st.CreateIdentity(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.DeleteIdentity(ctx, "usr_2", "google", "g-1", true); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("DeleteIdentity with keepLast of another user's identity: got %v, want ErrNotFound", err)
	}
	if err := st.DeleteIdentity(ctx, "usr_1", "google", "nobody", true); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("DeleteIdentity with keepLast of an unknown identity: got %v, want ErrNotFound", err)
	}
	if err := st.DeleteIdentity(ctx, "usr_1", "google", "g-1", true); !errors.Is(err, sso.ErrConflict) {
		t.Errorf("DeleteIdentity with keepLast of the last identity: got %v, want ErrConflict", err)
	}
	if _, err := st.GetIdentity(ctx, "google", "g-1"); err != nil {
		t.Errorf("the last identity after a refused delete: %v", err)
	}
	if err := st.DeleteIdentity(ctx, "usr_1", "google", "g-1", false); err != nil {
		t.Errorf("DeleteIdentity without keepLast of the last identity: %v", err)
	}
	for round := range keepLastRounds {
		keepLastRace(t, st, fmt.Sprintf("usr_race%d", round))
	}
}

const keepLastRounds = 25

func keepLastRace(t *testing.T, st social.Store, user string) {
	ctx := context.Background()
	subjects := []string{user + "-a", user + "-b"}
	for _, sub := range subjects {
		if err := st.CreateIdentity(ctx, ident("google", sub, user, t0)); err != nil {
			t.Fatal(err)
		}
	}
	var ok atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, sub := range subjects {
		wg.Go(func() {
			<-start
			switch err := st.DeleteIdentity(ctx, user, "google", sub, true); {
			case err == nil:
				ok.Add(1)
			case !errors.Is(err, sso.ErrConflict):
				t.Errorf("concurrent DeleteIdentity with keepLast: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	list, err := st.ListUserIdentities(ctx, user)
	if err != nil || ok.Load() != 1 || len(list) != 1 {
		t.Fatalf("%s: %d deletes succeeded, %d identities left (%v); want 1 and 1", user, ok.Load(), len(list), err)
	}
}

func usersByEmail(t *testing.T, s Stores) {
	ctx := context.Background()
	for i, u := range []*sso.User{
		{ID: "usr_b", Email: "Jane@Acme.example", EmailVerified: false, CreatedAt: t0.Add(time.Second), UpdatedAt: t0},
		{ID: "usr_a", Email: "jane@acme.example", EmailVerified: true, CreatedAt: t0.Add(time.Second), UpdatedAt: t0},
		{ID: "usr_c", Email: "jane@acme.example", EmailVerified: true, CreatedAt: t0, UpdatedAt: t0},
		{ID: "usr_d", Email: "john@acme.example", EmailVerified: true, CreatedAt: t0, UpdatedAt: t0},
	} {
		if err := s.Users.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser %d: %v", i, err)
		}
	}
	got, err := s.Social.FindUsersByEmail(ctx, "JANE@acme.example")
	if err != nil {
		t.Fatalf("FindUsersByEmail: %v", err)
	}
	var ids []string
	for _, u := range got {
		ids = append(ids, u.ID)
	}
	if len(ids) != 3 || ids[0] != "usr_c" || ids[1] != "usr_a" || ids[2] != "usr_b" {
		t.Errorf("FindUsersByEmail = %v, want [usr_c usr_a usr_b] (created, then ID; any case)", ids)
	}
	if len(got) == 3 && (!got[0].EmailVerified || got[2].EmailVerified) {
		t.Errorf("FindUsersByEmail lost EmailVerified: %+v", got)
	}
	if got, err := s.Social.FindUsersByEmail(ctx, "nobody@acme.example"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("FindUsersByEmail of an unused address = %v, %v; want an empty list", got, err)
	}
}
