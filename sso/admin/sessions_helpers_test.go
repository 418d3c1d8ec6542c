package admin_test

import (
	"testing"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// sessionStores is what a real session.Manager keeps its records in;
// memstore and sqlstore implement it beside sso.Store.
type sessionStores interface {
	session.Store
	session.TokenStore
	session.RevocationStore
}

// realSessions returns a session.Manager with API tokens on st, which must
// also keep sessions (memstore, sqlstore).
func realSessions(t testing.TB, st sso.Store) *session.Manager {
	t.Helper()
	ss, ok := st.(sessionStores)
	if !ok {
		t.Fatalf("%T keeps no sessions", st)
	}
	key, err := session.GenerateSigningKey("k1", session.ES256)
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(session.Config{Store: ss, Tokens: ss, Revocations: ss, Events: st, Orgs: st, Memberships: st,
		SigningKeys: []session.SigningKey{key}, Issuer: "https://app.test"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
