package mfa

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/mfactx"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/sso"
)

// Requirement is what the MFA policy asks of a principal right now.
type Requirement int

// Requirements, from the most to the least permissive.
const (
	// NotRequired: neither the organization nor the platform asks for MFA.
	NotRequired Requirement = iota + 1
	// Satisfied: MFA is required and the session has a second factor that
	// counts.
	Satisfied
	// InGracePeriod: MFA is required, the user has no factor yet and may
	// postpone enrolment until Decision.Deadline.
	InGracePeriod
	// VerificationRequired: the user has a factor but this session has not
	// used it (or used only an IdP-asserted MFA the organization does not
	// trust).
	VerificationRequired
	// EnrollmentRequired: the user has no factor and no grace left.
	EnrollmentRequired
)

// String returns the requirement's stable name, as in Status.Policy.
func (r Requirement) String() string {
	switch r {
	case NotRequired:
		return "not_required"
	case Satisfied:
		return "satisfied"
	case InGracePeriod:
		return "grace_period"
	case VerificationRequired:
		return "verification_required"
	case EnrollmentRequired:
		return "enrollment_required"
	}
	return fmt.Sprintf("Requirement(%d)", int(r))
}

// Decision is the outcome of Evaluate.
type Decision struct {
	Requirement Requirement
	// Deadline ends the grace period (set with InGracePeriod).
	Deadline time.Time
	// PlatformAdmin is true when Config.IsPlatformAdmin matched.
	PlatformAdmin bool
}

// idpAsserted reports whether the session's MFA flag came from the IdP at
// login (SSO method, MFA recorded at the login itself) rather than from a
// local second factor, which is always recorded after the login. A session
// that entered its organization by a switch (sso.AuthSwitch) never has an
// IdP-asserted MFA: the IdP that asserted one belongs to another
// organization (see mfactx.OriginOf).
func idpAsserted(p *sso.Principal, now time.Time) bool {
	return mfactx.OriginOf(p, now) == mfactx.OriginIdP
}

// Evaluate applies the MFA policy to p:
//   - platform admins (Config.IsPlatformAdmin) always need a second factor,
//     with no grace period;
//   - members of an organization whose Settings.MFA.Required is set, and
//     whose plan includes Settings.Features.Has("enforce_mfa"), need one, with a grace period (Settings.MFA.GracePeriod, default 7 days)
//     counted from the later of the policy change and the member's joining;
//   - a session MFA asserted by the IdP (SAML AuthnContextClassRef, OIDC
//     amr, recorded by login completion) counts only when the organization
//     sets TrustIdPMFA; a local TOTP, WebAuthn or recovery-code check always
//     counts;
//   - a session that entered the organization by a switch (sso.AuthSwitch)
//     has no IdP MFA: only a local check after the switch counts, whatever
//     TrustIdPMFA says;
//   - a user with a passkey (Config.Passkeys) has a factor: they are asked
//     to verify, not to enrol.
func (m *Manager) Evaluate(ctx context.Context, p *sso.Principal) (*Decision, error) {
	return m.evaluate(ctx, p, func() (bool, error) { return m.anyFactor(ctx, p.UserID) })
}

// evaluate is Evaluate with hasFactor reporting whether the user has a
// factor, asked only when the policy depends on it (Status already knows).
func (m *Manager) evaluate(ctx context.Context, p *sso.Principal, hasFactor func() (bool, error)) (*Decision, error) {
	admin := m.cfg.IsPlatformAdmin != nil && m.cfg.IsPlatformAdmin(p)
	d := &Decision{PlatformAdmin: admin}
	origin := mfactx.OriginOf(p, m.now())
	if origin == mfactx.OriginLocal {
		d.Requirement = Satisfied
		return d, nil
	}
	var pol sso.MFAPolicy
	if p.OrgID != "" {
		org, err := m.cfg.Orgs.GetOrg(ctx, p.OrgID)
		switch {
		case errors.Is(err, sso.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("mfa: load organization: %w", err)
		default:
			pol = org.Settings.MFA
			// The plan gates enforcement: without the feature an
			// organization's Required setting has no effect.
			pol.Required = pol.Required && org.Settings.Features.Has("enforce_mfa")
		}
	}
	if !admin && !pol.Required {
		d.Requirement = NotRequired
		return d, nil
	}
	if origin == mfactx.OriginIdP && pol.TrustIdPMFA {
		d.Requirement = Satisfied
		return d, nil
	}
	enrolled, err := hasFactor()
	if err != nil {
		return nil, err
	}
	if enrolled {
		d.Requirement = VerificationRequired
		return d, nil
	}
	if admin {
		d.Requirement = EnrollmentRequired
		return d, nil
	}
	start := pol.ChangedAt
	if mem, err := m.cfg.Members.GetMembership(ctx, p.OrgID, p.UserID); err == nil {
		if mem.JoinedAt.After(start) {
			start = mem.JoinedAt
		}
	} else if !errors.Is(err, sso.ErrNotFound) {
		return nil, fmt.Errorf("mfa: load membership: %w", err)
	}
	grace := pol.GracePeriod
	if grace <= 0 {
		grace = DefaultGracePeriod
	}
	if deadline := start.Add(grace); !start.IsZero() && m.now().Before(deadline) {
		d.Requirement, d.Deadline = InGracePeriod, deadline
		return d, nil
	}
	d.Requirement = EnrollmentRequired
	return d, nil
}

// HasFactor reports whether the user has a second factor of this
// package: an active TOTP factor or a WebAuthn credential. sso/passkey's
// Config.SecondFactor takes it, so that a password alone adds no passkey
// (which signs in with MFA) for a user with such a factor.
func (m *Manager) HasFactor(ctx context.Context, userID string) (bool, error) {
	return m.enrolled(ctx, userID)
}

// enrolled reports whether the user has an active TOTP factor or a
// WebAuthn credential.
func (m *Manager) enrolled(ctx context.Context, userID string) (bool, error) {
	f, err := m.cfg.Store.GetTOTP(ctx, userID)
	switch {
	case err == nil && f.Active:
		return true, nil
	case err != nil && !errors.Is(err, sso.ErrNotFound):
		return false, fmt.Errorf("mfa: load factor: %w", err)
	}
	creds, err := m.cfg.Store.ListWebAuthnCredentials(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("mfa: list credentials: %w", err)
	}
	return len(creds) > 0, nil
}

type graceKey struct{}

// EnrollmentDue returns the end of the grace period when Require let the
// request through only because the user may still postpone enrolment. The
// host should prompt the user to enrol.
func EnrollmentDue(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(graceKey{}).(time.Time)
	return t, ok
}

// HeaderEnrollmentDue is the response header Require sets, with the
// RFC 3339 deadline, while a user is in the grace period.
const HeaderEnrollmentDue = "MFA-Enrollment-Due"

// Require is middleware enforcing the MFA policy (see Evaluate) on the
// request's principal, which session middleware must have set:
//   - satisfied or not required: the request goes through;
//   - grace period: it goes through with the HeaderEnrollmentDue header and
//     EnrollmentDue(ctx) set, so the app can prompt;
//   - otherwise a browser GET is redirected to Config.EnrollmentURL or
//     Config.VerifyURL, and anything else gets 403 JSON
//     {"error": "mfa_enrollment_required"} or "mfa_verification_required".
//
// Without a principal it answers 401 {"error": "unauthenticated"}; if the
// policy cannot be read it fails closed with 503. Do not wrap the mfa
// handlers themselves in Require.
func (m *Manager) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := sso.PrincipalFrom(r.Context())
		if !ok {
			writeJSONError(w, http.StatusUnauthorized, CodeUnauthenticated)
			return
		}
		d, err := m.Evaluate(r.Context(), p)
		if err != nil {
			m.log.ErrorContext(r.Context(), "mfa: policy evaluation failed", "error", err)
			writeJSONError(w, http.StatusServiceUnavailable, "unavailable")
			return
		}
		switch d.Requirement {
		case NotRequired, Satisfied:
			next.ServeHTTP(w, r)
		case InGracePeriod:
			w.Header().Set(HeaderEnrollmentDue, d.Deadline.UTC().Format(time.RFC3339))
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), graceKey{}, d.Deadline)))
		case VerificationRequired:
			m.deny(w, r, m.stepUpTarget(r, p, 0), CodeVerificationRequired)
		default:
			target := m.cfg.EnrollmentURL
			if t := m.stepUpTarget(r, p, 0); t != m.cfg.VerifyURL {
				// The IdP's MFA satisfies the policy: no local enrolment.
				target = t
			}
			m.deny(w, r, target, CodeEnrollmentRequired)
		}
	})
}

// StepUp returns middleware for sensitive actions: the session must have
// completed a local second factor within maxAge (an IdP-asserted MFA at
// login also counts when it is that recent and the organization trusts it;
// one carried across an organization switch never does).
// Otherwise a browser GET is redirected to Config.VerifyURL and anything
// else gets 403 JSON {"error": "mfa_step_up_required"}. The package's own
// factor-management routes ask for more: see [Manager.ServeHTTP].
func (m *Manager) StepUp(maxAge time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := sso.PrincipalFrom(r.Context())
			if !ok {
				writeJSONError(w, http.StatusUnauthorized, CodeUnauthenticated)
				return
			}
			if m.freshLocalMFA(p, maxAge) {
				next.ServeHTTP(w, r)
				return
			}
			if now := m.now(); idpAsserted(p, now) && !p.MFAAt.IsZero() && now.Sub(p.MFAAt) <= maxAge {
				org, err := m.cfg.Orgs.GetOrg(r.Context(), p.OrgID)
				if err == nil && org.Settings.MFA.TrustIdPMFA {
					next.ServeHTTP(w, r)
					return
				}
				if err != nil && !errors.Is(err, sso.ErrNotFound) {
					m.log.ErrorContext(r.Context(), "mfa: step-up policy lookup failed", "error", err)
					writeJSONError(w, http.StatusServiceUnavailable, "unavailable")
					return
				}
			}
			m.deny(w, r, m.stepUpTarget(r, p, maxAge), CodeStepUpRequired)
		})
	}
}

// stepUpTarget is where a browser that needs a second factor goes: the
// IdP step-up when p's organization asks for it there and p's session was
// made by one of its connections, else Config.VerifyURL.
func (m *Manager) stepUpTarget(r *http.Request, p *sso.Principal, maxAge time.Duration) string {
	if m.cfg.IdPStepUpURL == "" {
		return m.cfg.VerifyURL
	}
	org, err := m.cfg.Orgs.GetOrg(r.Context(), p.OrgID)
	if err != nil {
		return m.cfg.VerifyURL
	}
	if conn, err := m.idpStepUpConn(r.Context(), p, org); err != nil || conn == nil {
		return m.cfg.VerifyURL
	}
	return m.idpStepUpURL(maxAge)
}

// deny redirects browsers to target (with return_to) or answers 403 JSON.
func (m *Manager) deny(w http.ResponseWriter, r *http.Request, target, code string) {
	if target != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		strings.Contains(r.Header.Get("Accept"), "text/html") {
		u := target
		if rt := returnto.Safe(r.URL.RequestURI(), ""); rt != "" {
			sep := "?"
			if strings.Contains(u, "?") {
				sep = "&"
			}
			u += sep + "return_to=" + url.QueryEscape(rt)
		}
		http.Redirect(w, r, u, http.StatusSeeOther)
		return
	}
	writeJSONError(w, http.StatusForbidden, code)
}
