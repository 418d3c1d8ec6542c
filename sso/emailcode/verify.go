package emailcode

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// browser returns the challenge ID and nonce of r's cookie.
func (m *Manager) browser(r *http.Request) (id, nonce string, ok bool) {
	c, err := r.Cookie(m.cfg.CookieName)
	if err != nil {
		return "", "", false
	}
	id, nonce, ok = strings.Cut(c.Value, ".")
	return id, nonce, ok && id != "" && nonce != "" && len(c.Value) < 256
}

// boundTo reports whether r comes from the browser that asked for c.
func (m *Manager) boundTo(r *http.Request, c *Challenge) bool {
	id, nonce, ok := m.browser(r)
	return ok && id == c.ID && opaque.Equal(opaque.Hash(nonce), c.BrowserHash)
}

// VerifyCode signs in the browser that asked for a code with it. The
// challenge is found through the browser's cookie, so a code is useless
// in any other browser (no_challenge). Refusals: code_invalid (wrong, used
// or superseded), code_expired, too_many_attempts (MaxAttempts wrong codes
// void the challenge), rate_limited (too many wrong codes from the client
// address, or more than CodeAttemptsPerDay codes for the address across
// its challenges), and those of the sign-in itself (see Manager.Start's doc and
// the package doc). It writes the session cookie on w.
func (m *Manager) VerifyCode(w http.ResponseWriter, r *http.Request, code string) (*sso.SessionGrant, string, error) {
	return m.measured(r, MethodCode, func(r *http.Request) (*sso.SessionGrant, string, error) { return m.verifyCode(w, r, code) })
}

// measured runs the sign-in f by method under an "sso.signin" span and
// counts it (telemetry.T.StartSignIn).
func (m *Manager) measured(r *http.Request, method sso.AuthMethod, f func(r *http.Request) (*sso.SessionGrant, string, error)) (*sso.SessionGrant, string, error) {
	ctx, finish := m.tel.StartSignIn(r.Context(), string(method), "")
	g, returnTo, err := f(r.WithContext(ctx))
	orgID := ""
	if g != nil {
		orgID = g.OrgID
	}
	finish(orgID, sso.ReasonOf(err), err)
	return g, returnTo, err
}

func (m *Manager) verifyCode(w http.ResponseWriter, r *http.Request, code string) (*sso.SessionGrant, string, error) {
	ctx := m.requestCtx(r)
	r = r.WithContext(ctx)
	id, nonce, ok := m.browser(r)
	if !ok {
		return nil, "", m.failed(ctx, MethodCode, "", errNoChallenge)
	}
	c, err := m.cfg.Store.GetChallenge(ctx, id)
	if errors.Is(err, sso.ErrNotFound) || (err == nil && !opaque.Equal(opaque.Hash(nonce), c.BrowserHash)) {
		return nil, "", m.failed(ctx, MethodCode, "", errNoChallenge)
	} else if err != nil {
		return nil, "", err
	}
	if !m.now().Before(c.ExpiresAt) {
		return nil, "", m.failed(ctx, MethodCode, c.UserID, errCodeExpired)
	}
	if err := m.limit(ctx, "ec-ip\x00"+m.cfg.ClientIP(r), m.cfg.IPRequestsPerHour, m.now()); err != nil {
		return nil, "", m.failed(ctx, MethodCode, c.UserID, err)
	}
	// MaxAttempts bounds one challenge; this bounds the address's
	// challenges together, which an attacker can ask for one after another.
	if err := m.limitWithin(ctx, "ec-code\x00"+c.Email, m.cfg.CodeAttemptsPerDay, m.now(), 24*time.Hour); err != nil {
		if errors.Is(err, errRateLimited) {
			err = errCodesSpent
		}
		return nil, "", m.failed(ctx, MethodCode, c.UserID, err)
	}
	n, err := m.cfg.Store.AddAttempt(ctx, c.ID)
	if errors.Is(err, sso.ErrNotFound) {
		return nil, "", m.failed(ctx, MethodCode, c.UserID, errCodeInvalid)
	} else if err != nil {
		return nil, "", err
	}
	if n > m.cfg.MaxAttempts {
		_, _ = m.cfg.Store.TakeChallenge(ctx, c.ID)
		return nil, "", m.failed(ctx, MethodCode, c.UserID, errTooMany)
	}
	code = strings.TrimSpace(code)
	if len(code) != m.cfg.CodeDigits || !opaque.Equal(codeHash(c.ID, code), c.CodeHash) {
		if n == m.cfg.MaxAttempts {
			_, _ = m.cfg.Store.TakeChallenge(ctx, c.ID)
			return nil, "", m.failed(ctx, MethodCode, c.UserID, errTooMany)
		}
		return nil, "", m.failed(ctx, MethodCode, c.UserID, errCodeInvalid)
	}
	return m.complete(w, r, c, MethodCode)
}

// LinkInfo is what the page of an opened link shows.
type LinkInfo struct {
	// Email is the address the link was sent to.
	Email string
	// SameBrowser reports whether the link was opened in the browser that
	// asked for it. When false the page asks the person to confirm.
	SameBrowser bool
	// ExpiresAt is when the link stops working.
	ExpiresAt time.Time
}

// InspectLink reports on the link token without using it, for the page a
// GET of the link shows (mail scanners that fetch links must not use
// them). Refusals: link_invalid, link_expired.
func (m *Manager) InspectLink(r *http.Request, token string) (*LinkInfo, error) {
	c, err := m.findLink(r.Context(), token)
	if err != nil {
		return nil, err
	}
	return &LinkInfo{Email: c.Email, SameBrowser: m.boundTo(r, c), ExpiresAt: c.ExpiresAt}, nil
}

// findLink returns the live challenge of a link token.
func (m *Manager) findLink(ctx context.Context, token string) (*Challenge, error) {
	if token == "" || len(token) > 256 {
		return nil, errLinkInvalid
	}
	c, err := m.cfg.Store.FindChallengeByLink(ctx, opaque.Hash(token))
	if errors.Is(err, sso.ErrNotFound) {
		return nil, errLinkInvalid
	} else if err != nil {
		return nil, err
	}
	if !m.now().Before(c.ExpiresAt) {
		return nil, errLinkExpired
	}
	return c, nil
}

// OpenLink signs in with a magic link. In the browser that asked for it
// the link works at once; in any other browser (no cookie, or another
// challenge's) it is refused with confirm_required unless confirmed is
// true, which the confirmation page's button posts. A link works once,
// confirmed or not, and a used code voids it (and the reverse).
// Refusals: link_invalid (unknown, used or superseded), link_expired,
// confirm_required, and those of the sign-in itself. It writes the
// session cookie on w and returns the challenge's return path.
func (m *Manager) OpenLink(w http.ResponseWriter, r *http.Request, token string, confirmed bool) (*sso.SessionGrant, string, error) {
	return m.measured(r, MethodLink, func(r *http.Request) (*sso.SessionGrant, string, error) { return m.openLink(w, r, token, confirmed) })
}

func (m *Manager) openLink(w http.ResponseWriter, r *http.Request, token string, confirmed bool) (*sso.SessionGrant, string, error) {
	ctx := m.requestCtx(r)
	r = r.WithContext(ctx)
	c, err := m.findLink(ctx, token)
	if err != nil {
		if errors.Is(err, errLinkInvalid) {
			if lerr := m.limit(ctx, "ec-ip\x00"+m.cfg.ClientIP(r), m.cfg.IPRequestsPerHour, m.now()); lerr != nil {
				err = lerr
			}
		}
		return nil, "", m.failed(ctx, MethodLink, "", err)
	}
	if !confirmed && !m.boundTo(r, c) {
		return nil, "", errConfirm
	}
	return m.complete(w, r, c, MethodLink)
}

// failed audits a refused sign-in and returns err.
func (m *Manager) failed(ctx context.Context, method sso.AuthMethod, userID string, err error) error {
	e := &sso.Event{Type: sso.EventLoginFailed, Outcome: sso.OutcomeFailure, Reason: sso.ReasonOf(err),
		Details: map[string]string{"method": string(method)}}
	if userID != "" {
		e.Target = sso.Target{Type: "user", ID: userID}
	}
	m.audit(ctx, e)
	return err
}
