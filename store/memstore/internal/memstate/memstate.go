// Package memstate holds what package memstore shares with its capability
// packages (memsaml, memoidc, memscim, memmfa): the one mutex that guards
// every record, the clock, the core records a SCIM write changes, and the
// records of each capability. It is not API: hosts use memstore and the
// capability packages.
package memstate

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// State is the state of one memstore.Store, shared by every capability
// package built on it.
type State struct {
	// Mu guards every record of every capability. One lock keeps
	// multi-record operations atomic, which is what the storage contracts
	// ask for.
	Mu sync.Mutex
	// Now is the store's clock, for expiry.
	Now func() time.Time
	// Core is the core records, for capabilities whose writes change them
	// too. Its methods need Mu held.
	Core Core

	data map[reflect.Type]any // capability records by type; guarded by Mu
	// waysIn counts a user's ways to sign in, by capability; guarded by
	// Mu.
	waysIn map[string]func(userID string) int
}

// Core is the part of memstore's core records that a SCIM write changes
// with its own records, under the same lock. Every method needs State.Mu
// held; the Put and Create methods store copies.
type Core interface {
	// HasUser reports whether the user exists.
	HasUser(id string) bool
	// PutUser stores u, replacing a user of the same ID.
	PutUser(u *sso.User)
	// UsersByEmail returns copies of the users whose lower-cased Email is
	// email, ordered by CreatedAt then ID.
	UsersByEmail(email string) []*sso.User
	// HasMembership reports whether the membership exists.
	HasMembership(orgID, userID string) bool
	// PutMembership stores m, replacing the membership of the same
	// organization and user.
	PutMembership(m *sso.Membership)
	// PutSCIMMembership writes what a SCIM user write owns of an existing
	// membership: its status, source, external ID and update time; the
	// roles, break-glass mark and join time stay as stored.
	PutSCIMMembership(m *sso.Membership)
	// CreateMembership stores m, or fails with sso.ErrConflict when the
	// membership exists.
	CreateMembership(m *sso.Membership) error
	// VerifiedUserByEmail returns a copy of the earliest created (then
	// smallest ID) user whose lower-cased email is email and verified, or
	// nil.
	VerifiedUserByEmail(email string) *sso.User
	// CheckEvents reports the error AppendEvents would fail with: an
	// invalid event, or sso.ErrConflict for an ID already stored or given
	// twice.
	CheckEvents(evs []*sso.Event) error
	// AppendEvents appends evs, which CheckEvents accepted, to their
	// organizations' chains.
	AppendEvents(evs []*sso.Event)
}

// Of returns the State of a *memstore.Store. Package memstore sets it in its
// init function; it takes any because this package cannot import memstore,
// which imports it. It panics on a nil store.
var Of func(store any) *State

// Data returns st's records of type T, creating them on first use, so that
// every capability store built on one memstore.Store shares them. It takes
// st.Mu: do not call it with the lock held.
func Data[T any](st *State) *T {
	st.Mu.Lock()
	defer st.Mu.Unlock()
	k := reflect.TypeFor[T]()
	if v, ok := st.data[k]; ok {
		return v.(*T)
	}
	if st.data == nil {
		st.data = map[reflect.Type]any{}
	}
	v := new(T)
	st.data[k] = v
	return v
}

// CountWaysIn registers count, which returns how many ways to sign in
// (passkeys, social identities, a password) the capability kind holds for
// a user and is called with Mu held. A capability store registers it when
// built; registering kind again replaces its count. It takes Mu.
func (st *State) CountWaysIn(kind string, count func(userID string) int) {
	st.Mu.Lock()
	defer st.Mu.Unlock()
	if st.waysIn == nil {
		st.waysIn = map[string]func(string) int{}
	}
	st.waysIn[kind] = count
}

// WaysIn returns how many ways to sign in the user has, of every
// capability built on st. A keep-last removal counts them and removes
// under one hold of Mu, so that of concurrent removals of a user's last
// two ways in, of whatever kinds, one is refused. It needs Mu held.
func (st *State) WaysIn(userID string) int {
	n := 0
	for _, count := range st.waysIn {
		n += count(userID)
	}
	return n
}

// NotFound returns an error wrapping sso.ErrNotFound for the record what
// with key.
func NotFound(what, key string) error {
	return fmt.Errorf("memstore: %s %q: %w", what, key, sso.ErrNotFound)
}

// Conflict returns an error wrapping sso.ErrConflict for the record what
// with key.
func Conflict(what, key string) error {
	return fmt.Errorf("memstore: %s %q: %w", what, key, sso.ErrConflict)
}

// Page returns the first limit elements of xs; zero or negative means all.
func Page[T any](xs []T, limit int) []T {
	if limit > 0 && len(xs) > limit {
		return xs[:limit]
	}
	return xs
}

// PageAfter returns, in key order, copies (clone) of up to limit values
// of m whose key sorts after after and that keep admits (nil admits all);
// nil when there is none.
func PageAfter[T any](m map[string]T, after string, keep func(T) bool, limit int, clone func(T) T) []T {
	var keys []string
	for k, v := range m {
		if k > after && (keep == nil || keep(v)) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.Sort(keys)
	keys = Page(keys, limit)
	out := make([]T, len(keys))
	for i, k := range keys {
		out[i] = clone(m[k])
	}
	return out
}
