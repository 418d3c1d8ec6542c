package social_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/passkey"
	"github.com/ssokit/ssokit/sso/social"
	"github.com/ssokit/ssokit/store/memstore/mempasskey"
	"github.com/ssokit/ssokit/store/memstore/memsocial"
	"github.com/ssokit/ssokit/store/sqlstore/sqlpasskey"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsocial"
)

// wayInRounds is how many times the race of the last two ways in runs per
// backend: a lost race needs both removals to check before either removes.
const wayInRounds = 100

// TestLastWayInUnderRace runs on every backend: a user whose only ways to
// sign in are one passkey and one linked social identity removes both at
// once, the passkey through passkey.Manager.Delete and the identity
// through Manager.Unlink, each wired as sso/stack wires them (OtherMethods
// reports whether the other way remains). Exactly one removal succeeds;
// the other is refused with its keep-last reason (last_credential or
// last_method, both wrapping sso.ErrConflict), so a way in always remains.
func TestLastWayInUnderRace(t *testing.T) {
	r := newRP(t)
	for _, name := range teststore.Available(t) {
		t.Run(name, func(t *testing.T) {
			var pks passkey.Store
			b := backend{name, func(t *testing.T) (coreStore, social.Store) {
				ms, st := teststore.Open(t, name, time.Now)
				if ms != nil {
					pks = mempasskey.New(ms)
					return ms, memsocial.New(ms)
				}
				pks = sqlpasskey.New(st)
				return st, sqlsocial.New(st)
			}}
			gh := newFakeGitHub(t, r.redirectURI("github"))
			e := newEnv(t, r, b, []social.Provider{gh.provider()}, func(c *social.Config) {
				c.OtherMethods = func(ctx context.Context, userID string) (bool, error) {
					cs, err := pks.ListCredentials(ctx, userID)
					return len(cs) > 0, err
				}
			})
			pm, err := passkey.New(passkey.Config{RPID: "app.acme.example", Origins: []string{"https://app.acme.example"},
				Store: pks, Users: e.st, Orgs: e.st, Members: e.st, Sessions: e.iss, Enforcer: e.cfg.Enforcer, Auditor: e.cfg.Auditor,
				OtherMethods: func(ctx context.Context, userID string) (bool, error) {
					ids, err := e.social.ListUserIdentities(ctx, userID)
					return len(ids) > 0, err
				}})
			if err != nil {
				t.Fatal(err)
			}
			for round := range wayInRounds {
				e.lastWayInRace(pm, pks, fmt.Sprintf("usr_way%d", round))
			}
		})
	}
}

// lastWayInRace gives user one passkey and one social identity, removes
// both at once and checks that exactly one went and the other was refused
// for being the last way in.
func (e *env) lastWayInRace(pm *passkey.Manager, pks passkey.Store, user string) {
	e.t.Helper()
	ctx := context.Background()
	now := time.Now()
	if err := e.st.CreateUser(ctx, &sso.User{ID: user, Email: user + "@acme.example", EmailVerified: true, CreatedAt: now, UpdatedAt: now}); err != nil {
		e.t.Fatal(err)
	}
	raw := []byte(user + "-key")
	if err := pks.CreateCredential(ctx, &passkey.Credential{ID: raw, UserID: user, Name: "Key", Data: []byte(`{}`), SignCount: 1, CreatedAt: now}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.social.CreateIdentity(ctx, &social.Identity{Provider: "github", Subject: user, UserID: user,
		Email: user + "@mail.example", EmailVerified: true, CreatedAt: now, LastLoginAt: now}); err != nil {
		e.t.Fatal(err)
	}
	var keyErr, idErr error
	var wg sync.WaitGroup
	start := make(chan struct{})
	wg.Go(func() {
		<-start
		// A session the passkey just signed in: one allowed to delete it.
		p := &sso.Principal{Kind: sso.PrincipalSession, UserID: user, Method: sso.AuthPasskey, AuthAt: now, MFA: true, MFAAt: now}
		keyErr = pm.Delete(ctx, p, base64.RawURLEncoding.EncodeToString(raw))
	})
	wg.Go(func() {
		<-start
		idErr = e.m.Unlink(ctx, user, "github", user)
	})
	close(start)
	wg.Wait()
	cs, err := pks.ListCredentials(ctx, user)
	if err != nil {
		e.t.Fatal(err)
	}
	left := len(cs) + len(e.identities(user))
	switch {
	case keyErr == nil && idErr == nil:
		e.t.Fatalf("%s: the passkey delete and the unlink both succeeded, %d ways in left; want one refused as the last way in", user, left)
	case keyErr != nil && idErr != nil:
		e.t.Fatalf("%s: both removals refused (passkey: %v; unlink: %v); want one to succeed", user, keyErr, idErr)
	case keyErr != nil && (sso.ReasonOf(keyErr) != passkey.ReasonLastCredential || !errors.Is(keyErr, sso.ErrConflict)):
		e.t.Fatalf("%s: passkey delete: %v; want last_credential (ErrConflict)", user, keyErr)
	case idErr != nil && (sso.ReasonOf(idErr) != social.ReasonLastMethod || !errors.Is(idErr, sso.ErrConflict)):
		e.t.Fatalf("%s: unlink: %v; want last_method (ErrConflict)", user, idErr)
	case left != 1:
		e.t.Fatalf("%s: %d ways in left after one removal; want 1", user, left)
	}
}
