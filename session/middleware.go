package session

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/sso"
)

// errCrossTenant is rendered as 404: the resource belongs to another
// organization, which the caller must not be able to tell from absence.
var errCrossTenant = &crossTenantError{}

type crossTenantError struct{}

func (*crossTenantError) Error() string        { return "session: resource of another organization" }
func (*crossTenantError) Is(target error) bool { return target == sso.ErrNotFound }

type loadErrKey struct{}

// Load is middleware that authenticates the request by its session cookie:
// when the cookie names a valid session, the request context carries an
// sso.Principal (read it with sso.PrincipalFrom or SessionPrincipal). It
// never rejects a request; use Require for that. A malformed cookie is
// ignored without touching the store; a valid one costs one store read,
// plus one LastSeenAt write at most once per TouchInterval, plus one
// organization read every few seconds per replica for its IP allowlist
// (sso.NetworkPolicy). A request from an address the allowlist refuses
// is not authenticated: Require answers it 403 ip_not_allowed.
func (m *Manager) Load(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.fromCookie(r)
		switch {
		case err != nil:
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), loadErrKey{}, err)))
			return
		case s == nil:
			next.ServeHTTP(w, r)
			return
		}
		if _, err := m.admitNetwork(r.Context(), r, s.OrgID, s.UserID, nil, "session"); err != nil {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), loadErrKey{}, err)))
			return
		}
		m.touch(r.Context(), s, m.now())
		next.ServeHTTP(w, r.WithContext(sso.WithPrincipal(r.Context(), principalOf(s))))
	})
}

// touch records activity of the valid session s at now, keeping it from
// idling out: LastSeenAt is written at most once per TouchInterval. A
// failed write is logged and the request goes on.
func (m *Manager) touch(ctx context.Context, s *Session, now time.Time) {
	if now.Sub(s.LastSeenAt) < m.cfg.TouchInterval {
		return
	}
	if err := m.cfg.Store.TouchSession(ctx, s.ID, now); err != nil && !errors.Is(err, sso.ErrNotFound) {
		m.log.WarnContext(ctx, "session: last-seen write failed", "err", err)
	}
}

func principalOf(s *Session) *sso.Principal {
	return &sso.Principal{
		Kind: sso.PrincipalSession, SessionID: s.ID, UserID: s.UserID, OrgID: s.OrgID,
		ConnectionID: s.ConnectionID, Method: s.Method, Roles: s.Roles,
		AuthAt: s.AuthAt, MFA: s.MFA, MFAAt: s.MFAAt,
	}
}

// SessionPrincipal returns the principal Load put in ctx when it came from a
// session cookie.
func SessionPrincipal(ctx context.Context) (*sso.Principal, bool) {
	p, ok := sso.PrincipalFrom(ctx)
	if !ok || p.Kind != sso.PrincipalSession {
		return nil, false
	}
	return p, true
}

// Require is middleware that lets a request through only when Load or
// LoadBearer authenticated it; otherwise it calls the ErrorHandler with
// ErrNoSession (401 by default) or with the store failure (503).
func (m *Manager) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := sso.PrincipalFrom(r.Context()); ok {
			next.ServeHTTP(w, r)
			return
		}
		if err, ok := r.Context().Value(loadErrKey{}).(error); ok {
			m.fail(w, r, err)
			return
		}
		m.fail(w, r, ErrNoSession)
	})
}

// RequireOrg returns middleware that lets a request through only when its
// principal's organization equals the organization owning the resource,
// as resolved by resourceOrg. A mismatch answers 404 (never 403, so other
// tenants' resources cannot be enumerated) and records an
// authz.cross_tenant_denied audit event in the principal's organization. A
// resolver error wrapping sso.ErrNotFound is a 404 too. Use it after
// Require.
func (m *Manager) RequireOrg(resourceOrg func(r *http.Request) (string, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := sso.PrincipalFrom(r.Context())
			if !ok {
				m.fail(w, r, ErrNoSession)
				return
			}
			org, err := resourceOrg(r)
			if err != nil {
				m.fail(w, r, err)
				return
			}
			if org != p.OrgID {
				m.audit(r.Context(), &sso.Event{OrgID: p.OrgID, Type: sso.EventCrossTenantDenied,
					Actor: sso.Actor{Type: sso.ActorUser, ID: p.UserID}, Target: sso.Target{Type: "organization", ID: org},
					Outcome: sso.OutcomeFailure, Reason: "cross_tenant", IP: m.clientIP(r), UserAgent: truncate(r.UserAgent(), 512),
					Details: map[string]string{"method": r.Method, "path": truncate(r.URL.Path, 256), "principal": string(p.Kind)}})
				m.fail(w, r, errCrossTenant)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// RequireRecentAuth returns middleware for sensitive operations (MFA
// enrolment, email change, SSO connection edits): the principal must have
// authenticated, or completed a second factor, within maxAge. Otherwise the
// ErrorHandler gets ErrReauthRequired (401 by default). Access-token
// principals carry no authentication time and are always refused: the
// user must re-authenticate interactively. A session that entered its
// organization by SwitchOrg counts only a second factor verified since.
func (m *Manager) RequireRecentAuth(maxAge time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := sso.PrincipalFrom(r.Context())
			if !ok {
				m.fail(w, r, ErrNoSession)
				return
			}
			last := p.AuthAt
			if p.Method == sso.AuthSwitch {
				// The login happened in another organization: nothing
				// was authenticated here yet.
				last = time.Time{}
			}
			if p.MFA && p.MFAAt.After(last) {
				last = p.MFAAt
			}
			if last.IsZero() || m.now().Sub(last) > maxAge {
				m.fail(w, r, ErrReauthRequired)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func (m *Manager) fail(w http.ResponseWriter, r *http.Request, err error) {
	if m.cfg.ErrorHandler != nil {
		m.cfg.ErrorHandler(w, r, err)
		return
	}
	m.defaultError(w, r, err)
}

// statusOf maps an error to its HTTP status and public code.
func statusOf(err error) (int, string) {
	var ve *sso.ValidationError
	switch {
	case errors.As(err, &ve) && ve.Reason == ReasonNetwork:
		// The session is fine; the address is not on the organization's
		// allowlist, and signing in again from it would not help.
		return http.StatusForbidden, ReasonNetwork
	case errors.Is(err, ErrNoSession), errors.As(err, &ve):
		return http.StatusUnauthorized, "unauthorized"
	case errors.Is(err, ErrReauthRequired):
		return http.StatusUnauthorized, "reauthentication_required"
	case errors.Is(err, sso.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, sso.ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, sso.ErrUnavailable):
		return http.StatusServiceUnavailable, "temporarily_unavailable"
	}
	return http.StatusInternalServerError, "server_error"
}

func (m *Manager) defaultError(w http.ResponseWriter, r *http.Request, err error) {
	status, code := statusOf(err)
	if status >= 500 {
		m.log.ErrorContext(r.Context(), "session: request failed", "err", err)
	}
	writeJSON(w, status, map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// LoginRedirect returns an ErrorHandler for browser apps: a GET or HEAD
// without a session (or needing re-authentication) is redirected with 303 to
// loginPath with the current path as a return_to parameter; every other
// error gets the default JSON response.
func LoginRedirect(loginPath string) func(w http.ResponseWriter, r *http.Request, err error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
			(errors.Is(err, ErrNoSession) || errors.Is(err, ErrReauthRequired)) {
			target := loginPath + "?return_to=" + url.QueryEscape(returnto.Safe(r.URL.RequestURI(), "/"))
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		status, code := statusOf(err)
		writeJSON(w, status, map[string]string{"error": code})
	}
}
