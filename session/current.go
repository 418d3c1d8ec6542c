package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// lookupCookie returns the valid session named by r's cookie, nil when there
// is none (or it is malformed, unknown, expired, or ambiguous because r
// carries several cookies of that name), or an error wrapping
// sso.ErrUnavailable when the store failed. Malformed cookies never reach
// the store.
func (m *Manager) lookupCookie(r *http.Request) (*Session, error) {
	v, ok := m.cookieValue(r)
	if !ok {
		return nil, nil
	}
	return m.lookup(r.Context(), v)
}

// lookup returns the valid session of the bearer value v, nil when v is
// malformed, unknown or expired.
func (m *Manager) lookup(ctx context.Context, v string) (*Session, error) {
	if !wellFormed(v) {
		return nil, nil
	}
	s, err := m.cfg.Store.FindSession(ctx, opaque.Hash(v))
	if errors.Is(err, sso.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: session: find: %w", sso.ErrUnavailable, err)
	}
	if !s.Valid(m.now()) {
		return nil, nil
	}
	return s, nil
}

// cookieValue returns the value of the session cookie in r without parsing
// (and allocating) every other cookie. ok is false when there is none or
// when there are several: a second cookie of the same name comes from
// cookie tossing (a sibling subdomain or a path-scoped cookie, which the
// browser sends first), and picking either could log the user into the
// attacker's session. Quoted values are not accepted: the cookie this
// package sets is never quoted.
func (m *Manager) cookieValue(r *http.Request) (value string, ok bool) {
	n := 0
	m.eachCookie(r, func(v string) {
		if n == 0 {
			value = v
		}
		n++
	})
	return value, n == 1
}

// cookieValues returns the values of every session cookie in r.
func (m *Manager) cookieValues(r *http.Request) []string {
	var out []string
	m.eachCookie(r, func(v string) { out = append(out, v) })
	return out
}

func (m *Manager) eachCookie(r *http.Request, f func(v string)) {
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			name, val, ok := strings.Cut(part, "=")
			if ok && name == m.cookieName {
				f(val)
			}
		}
	}
}

// Current returns the valid session of r's cookie, or ErrNoSession.
func (m *Manager) Current(r *http.Request) (*Session, error) {
	s, err := m.fromCookie(r)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, ErrNoSession
	}
	return s, nil
}

// Logout ends the request's session (and its token families and access
// tokens) and clears the cookie. A request without a session is not an
// error.
func (m *Manager) Logout(w http.ResponseWriter, r *http.Request) error {
	m.ClearCookie(w)
	return m.endPresented(r)
}

// Reissue rotates the request's session after a privilege change (for
// example new roles): a new ID and cookie, the old session ended. mutate,
// when non-nil, edits the new session before it is stored.
func (m *Manager) Reissue(w http.ResponseWriter, r *http.Request, mutate func(*Session)) (*Session, error) {
	return m.reissue(w, r, mutate, nil, nil)
}

// reissue is Reissue; with member, the membership the new session's roles
// were copied from, and org, the organization its checks read, the session
// is written only while they are unchanged (sso.LoginWrites.Member, Org),
// else as issueGuarded decides.
func (m *Manager) reissue(w http.ResponseWriter, r *http.Request, mutate func(*Session), member *sso.Membership, org *sso.Organization) (*Session, error) {
	old, err := m.Current(r)
	if err != nil {
		return nil, err
	}
	ns := *old
	ns.Roles = slices.Clone(old.Roles)
	if mutate != nil {
		mutate(&ns)
	}
	if err := m.end(r.Context(), old); err != nil {
		return nil, err
	}
	if member == nil && org == nil {
		return m.create(r.Context(), w, &ns, nil, nil, m.now())
	}
	if org != nil && org.ID != ns.OrgID {
		org = nil
	}
	return m.issueGuarded(r.Context(), w, r, &ns, org, &sso.LoginWrites{Member: member, Org: org}, m.now())
}

// ElevateMFA implements sso.MFAElevator: it records a completed second
// factor and rotates the session.
func (m *Manager) ElevateMFA(w http.ResponseWriter, r *http.Request, at time.Time) error {
	_, err := m.Reissue(w, r, func(s *Session) { s.MFA, s.MFAAt = true, at })
	return err
}
