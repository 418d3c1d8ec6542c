// Package loaded lets a protocol package hand the connection it just read
// to login completion in the same request, saving a store round trip.
package loaded

import (
	"context"
	"reflect"

	"github.com/ssokit/ssokit/sso"
)

// WithConnection returns a copy of ctx recording that conn is the
// object just read by ID from the store from while serving this request.
// saml.SP and oidc.RP call it before Completer.Complete and Completer.Fail
// with the connection they loaded from Config.Connections and put in the
// Login; LoginCompleter then uses that object instead of reading the
// connection again, saving a store round trip per login.
//
// LoginCompleter relies on the record only when the Login carries that
// very object (the same pointer, so a copied or edited connection is read
// again) and from is the completer's own Store (the same comparable value):
// then a second read in the same request would return what the protocol
// package read a few milliseconds earlier, and every check (organization,
// status, plan, group mapping) is still made on the stored connection. In
// any other case, including no record, the completer reads the connection
// from its Store as before. Only code that read conn from from in the same
// request may call it.
func WithConnection(ctx context.Context, from sso.ConnectionStore, conn *sso.Connection) context.Context {
	if from == nil || conn == nil {
		return ctx
	}
	return context.WithValue(ctx, loadedConnKey{}, loadedConn{from: from, conn: conn})
}

type loadedConnKey struct{}

// loadedConn is what WithLoadedConnection records: the connection object a
// protocol package read and the store it read it from.
type loadedConn struct {
	from sso.ConnectionStore
	conn *sso.Connection
}

// Connection returns the stored connection of want: want itself when
// the request's protocol package recorded it as read from st (see
// WithLoadedConnection), else a fresh read from st.
func Connection(ctx context.Context, st sso.ConnectionStore, want *sso.Connection) (*sso.Connection, error) {
	if lc, ok := ctx.Value(loadedConnKey{}).(loadedConn); ok && lc.conn == want && sameStore(lc.from, st) {
		return want, nil
	}
	return st.GetConnection(ctx, want.ID)
}

// sameStore reports whether a and b are the same store: the same pointer
// of the same type. Stores held by value are never the same (comparing
// them could panic, and a copy need not share state).
func sameStore(a, b any) bool {
	ta := reflect.TypeOf(a)
	if ta == nil || ta.Kind() != reflect.Pointer || ta != reflect.TypeOf(b) {
		return false
	}
	return a == b
}
