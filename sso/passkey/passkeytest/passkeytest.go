// Package passkeytest is the conformance suite of passkey.Store, run by
// store/memstore/mempasskey and store/sqlstore/sqlpasskey (SQLite and
// PostgreSQL) and by a host against its own store.
package passkeytest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/passkey"
)

// Run runs every subtest against a fresh, empty store from newStore.
func Run(t *testing.T, newStore func(t *testing.T) passkey.Store) {
	t.Run("Credentials", func(t *testing.T) { t.Parallel(); credentials(t, newStore(t)) })
	t.Run("KeepLast", func(t *testing.T) { t.Parallel(); keepLast(t, newStore(t)) })
	t.Run("Ceremonies", func(t *testing.T) { t.Parallel(); ceremonies(t, newStore(t)) })
}

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)

func cred(id, user string, at time.Time) *passkey.Credential {
	return &passkey.Credential{ID: []byte(id), UserID: user, Name: "Key " + id, Data: []byte(`{"id":"` + id + `"}`), SignCount: 1, CreatedAt: at}
}

func credentials(t *testing.T, st passkey.Store) {
	ctx := context.Background()
	if err := st.CreateCredential(ctx, cred("\x01\x02b", "usr_1", t0.Add(time.Second))); err != nil {
		t.Fatalf("CreateCredential: %v", err)
	}
	if err := st.CreateCredential(ctx, cred("\x01\x02a", "usr_1", t0)); err != nil {
		t.Fatalf("CreateCredential: %v", err)
	}
	if err := st.CreateCredential(ctx, cred("\x01\x02a", "usr_2", t0)); !errors.Is(err, sso.ErrConflict) {
		t.Errorf("CreateCredential with a taken ID: got %v, want ErrConflict", err)
	}
	got, err := st.GetCredential(ctx, []byte("\x01\x02a"))
	if err != nil || got.UserID != "usr_1" || string(got.Data) != `{"id":"`+"\x01\x02a"+`"}` || got.SignCount != 1 || !got.CreatedAt.Equal(t0) {
		t.Errorf("GetCredential = %+v, %v", got, err)
	}
	list, err := st.ListCredentials(ctx, "usr_1")
	if err != nil || len(list) != 2 || string(list[0].ID) != "\x01\x02a" {
		t.Errorf("ListCredentials = %v, %v; want a then b (creation order)", list, err)
	}
	if list, err := st.ListCredentials(ctx, "usr_none"); err != nil || list == nil || len(list) != 0 {
		t.Errorf("ListCredentials of none = %v, %v; want empty", list, err)
	}
	at := t0.Add(time.Hour)
	if err := st.UpdateUse(ctx, []byte("\x01\x02a"), 1, 5, []byte(`{"n":5}`), at); err != nil {
		t.Errorf("UpdateUse: %v", err)
	}
	if err := st.UpdateUse(ctx, []byte("\x01\x02a"), 1, 6, []byte(`{}`), at); !errors.Is(err, sso.ErrConflict) {
		t.Errorf("UpdateUse with a stale counter: got %v, want ErrConflict", err)
	}
	if err := st.UpdateUse(ctx, []byte("nope"), 1, 2, nil, at); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("UpdateUse of an unknown credential: got %v, want ErrNotFound", err)
	}
	got, _ = st.GetCredential(ctx, []byte("\x01\x02a"))
	if got.SignCount != 5 || string(got.Data) != `{"n":5}` || !got.LastUsedAt.Equal(at) {
		t.Errorf("after UpdateUse: %+v", got)
	}
	if err := st.RenameCredential(ctx, "usr_2", []byte("\x01\x02a"), "stolen"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("RenameCredential by another user: got %v, want ErrNotFound", err)
	}
	if err := st.RenameCredential(ctx, "usr_1", []byte("\x01\x02a"), "Laptop"); err != nil {
		t.Errorf("RenameCredential: %v", err)
	}
	if got, _ := st.GetCredential(ctx, []byte("\x01\x02a")); got.Name != "Laptop" {
		t.Errorf("name after rename: %q", got.Name)
	}
	if err := st.DeleteCredential(ctx, "usr_2", []byte("\x01\x02a"), false); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("DeleteCredential by another user: got %v, want ErrNotFound", err)
	}
}

// keepLast: with keepLast, the last passkey of a user with no other way to
// sign in stays, also when two deletes of their last two race: exactly one
// succeeds. The race is run keepLastRounds times, as a lost one is rare.
// Ways in of other capabilities are store/storetest's RunWaysIn.
func keepLast(t *testing.T, st passkey.Store) {
	for round := range keepLastRounds {
		keepLastRace(t, st, fmt.Sprintf("usr_race%d", round))
	}
}

const keepLastRounds = 25

func keepLastRace(t *testing.T, st passkey.Store, user string) {
	ctx := context.Background()
	ids := []string{user + "k1", user + "k2"}
	for _, id := range ids {
		if err := st.CreateCredential(ctx, cred(id, user, t0)); err != nil {
			t.Fatal(err)
		}
	}
	var ok atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, id := range ids {
		wg.Go(func() {
			<-start
			switch err := st.DeleteCredential(ctx, user, []byte(id), true); {
			case err == nil:
				ok.Add(1)
			case !errors.Is(err, sso.ErrConflict):
				t.Errorf("DeleteCredential: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	list, err := st.ListCredentials(ctx, user)
	if err != nil || ok.Load() != 1 || len(list) != 1 {
		t.Fatalf("%s: %d deletes succeeded, %d passkeys left (%v); want 1 and 1", user, ok.Load(), len(list), err)
	}
	if err := st.DeleteCredential(ctx, user, list[0].ID, false); err != nil {
		t.Errorf("DeleteCredential without keepLast: %v", err)
	}
}

func ceremonies(t *testing.T, st passkey.Store) {
	ctx := context.Background()
	c := &passkey.Ceremony{ID: "c1", UserID: "usr_1", SessionID: "s1", Kind: "register", Data: []byte(`{"challenge":"x"}`), ExpiresAt: time.Now().Add(time.Minute)}
	if err := st.SaveCeremony(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveCeremony(ctx, c); !errors.Is(err, sso.ErrConflict) {
		t.Errorf("SaveCeremony twice: got %v, want ErrConflict", err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if got, err := st.TakeCeremony(ctx, "c1"); err == nil && got.SessionID == "s1" && string(got.Data) == `{"challenge":"x"}` {
				wins.Add(1)
			} else if err != nil && !errors.Is(err, sso.ErrNotFound) {
				t.Errorf("TakeCeremony: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d takes of one ceremony succeeded, want 1", wins.Load())
	}
	old := &passkey.Ceremony{ID: "c2", Kind: "login", Data: []byte(`{}`), ExpiresAt: time.Now().Add(-time.Second)}
	if err := st.SaveCeremony(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := st.TakeCeremony(ctx, "c2"); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("TakeCeremony of an expired one: got %v, want ErrNotFound", err)
	}
}
