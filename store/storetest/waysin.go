package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/passkey"
	"github.com/ssokit/ssokit/sso/password"
	"github.com/ssokit/ssokit/sso/social"
)

// WaysIn are the stores of one database that hold a user's ways to sign
// in: passkeys, linked social identities and a password.
type WaysIn struct {
	Passkeys  passkey.Store
	Social    social.Store
	Passwords password.CredentialStore
}

// waysInRounds is how many times each race of RunWaysIn runs: a lost race
// needs every removal to count before any removes.
const waysInRounds = 100

// RunWaysIn checks the keep-last rule across capabilities, each case on
// fresh stores from newStores: a keep-last removal of a passkey
// (passkey.Store.DeleteCredential) or of a social identity
// (social.Store.DeleteIdentity) goes while the user keeps another way to
// sign in of any of the three kinds, and is refused with sso.ErrConflict
// when it would take the last; of concurrent keep-last removals of a
// user's ways in, whatever their kinds, one way always remains.
func RunWaysIn(t *testing.T, newStores func(t *testing.T) WaysIn) {
	t.Run("Counts", func(t *testing.T) { t.Parallel(); waysInCounts(t, newStores(t)) })
	t.Run("PasskeyAndIdentityRace", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		for round := range waysInRounds {
			waysInRace(t, s, fmt.Sprintf("usr_pi%d", round), 1, 1)
		}
	})
	t.Run("ThreeWaysRace", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		for round := range waysInRounds {
			waysInRace(t, s, fmt.Sprintf("usr_ppi%d", round), 2, 1)
		}
	})
}

var waysInT0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func addPasskey(t *testing.T, s WaysIn, user string, n int) []byte {
	t.Helper()
	id := fmt.Appendf(nil, "%s-key%d", user, n)
	ok(t, s.Passkeys.CreateCredential(context.Background(), &passkey.Credential{ID: id, UserID: user, Name: "Key",
		Data: []byte(`{}`), SignCount: 1, CreatedAt: waysInT0}))
	return id
}

func addIdentity(t *testing.T, s WaysIn, user string, n int) string {
	t.Helper()
	sub := fmt.Sprintf("%s-sub%d", user, n)
	ok(t, s.Social.CreateIdentity(context.Background(), &social.Identity{Provider: "github", Subject: sub, UserID: user,
		Email: sub + "@mail.example", EmailVerified: true, CreatedAt: waysInT0, LastLoginAt: waysInT0}))
	return sub
}

func addPassword(t *testing.T, s WaysIn, user string) {
	t.Helper()
	ok(t, s.Passwords.CreateCredential(context.Background(), &password.Credential{UserID: user, Email: user + "@acme.example",
		Hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", Version: 1, CreatedAt: waysInT0, UpdatedAt: waysInT0}))
}

// waysLeft counts the user's passkeys, identities and password.
func waysLeft(t *testing.T, s WaysIn, user string) int {
	t.Helper()
	ctx := context.Background()
	cs, err := s.Passkeys.ListCredentials(ctx, user)
	ok(t, err)
	ids, err := s.Social.ListUserIdentities(ctx, user)
	ok(t, err)
	n := len(cs) + len(ids)
	if _, err := s.Passwords.GetCredential(ctx, user); err == nil {
		n++
	} else if !errors.Is(err, sso.ErrNotFound) {
		t.Fatal(err)
	}
	return n
}

func waysInCounts(t *testing.T, s WaysIn) {
	ctx := context.Background()
	// A passkey and an identity: the first to go goes, the other stays.
	key, sub := addPasskey(t, s, "usr_1", 1), addIdentity(t, s, "usr_1", 1)
	ok(t, s.Social.DeleteIdentity(ctx, "usr_1", "github", sub, true))
	is(t, "keep-last delete of the last passkey, the identity gone", s.Passkeys.DeleteCredential(ctx, "usr_1", key, true), sso.ErrConflict)
	key2 := addPasskey(t, s, "usr_2", 1)
	sub2 := addIdentity(t, s, "usr_2", 1)
	ok(t, s.Passkeys.DeleteCredential(ctx, "usr_2", key2, true))
	is(t, "keep-last unlink of the last identity, the passkey gone", s.Social.DeleteIdentity(ctx, "usr_2", "github", sub2, true), sso.ErrConflict)
	// A password is a way in for both.
	key3, sub3 := addPasskey(t, s, "usr_3", 1), addIdentity(t, s, "usr_3", 1)
	addPassword(t, s, "usr_3")
	ok(t, s.Passkeys.DeleteCredential(ctx, "usr_3", key3, true))
	ok(t, s.Social.DeleteIdentity(ctx, "usr_3", "github", sub3, true))
	// Another user's ways do not count.
	key4 := addPasskey(t, s, "usr_4", 1)
	addIdentity(t, s, "usr_5", 1)
	addPassword(t, s, "usr_5")
	is(t, "keep-last delete of the last passkey, another user holding other ways", s.Passkeys.DeleteCredential(ctx, "usr_4", key4, true), sso.ErrConflict)
	if n1, n2, n4 := waysLeft(t, s, "usr_1"), waysLeft(t, s, "usr_2"), waysLeft(t, s, "usr_4"); n1 != 1 || n2 != 1 || n4 != 1 {
		t.Errorf("ways in left after refused removals: %d, %d, %d; want 1 each", n1, n2, n4)
	}
}

// waysInRace gives user keys passkeys and ids social identities, removes
// them all at once with keepLast and checks that exactly one way in is
// left and every refusal is sso.ErrConflict.
func waysInRace(t *testing.T, s WaysIn, user string, keys, ids int) {
	t.Helper()
	ctx := context.Background()
	var removals []func() error
	for i := range keys {
		id := addPasskey(t, s, user, i)
		removals = append(removals, func() error { return s.Passkeys.DeleteCredential(ctx, user, id, true) })
	}
	for i := range ids {
		sub := addIdentity(t, s, user, i)
		removals = append(removals, func() error { return s.Social.DeleteIdentity(ctx, user, "github", sub, true) })
	}
	errs := make([]error, len(removals))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, remove := range removals {
		wg.Go(func() {
			<-start
			errs[i] = remove()
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, sso.ErrConflict):
			t.Fatalf("%s: concurrent keep-last removal: %v; want nil or ErrConflict", user, err)
		}
	}
	if left := waysLeft(t, s, user); won != len(removals)-1 || left != 1 {
		t.Fatalf("%s: %d of %d concurrent keep-last removals succeeded, %d ways in left; want %d and 1",
			user, won, len(removals), left, len(removals)-1)
	}
}
