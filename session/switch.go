package session

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// SwitchError reports an organization switch that the target
// organization's login policy refuses. Reason is stable:
//   - "sso_required": the organization enforces SSO and the session was not
//     authenticated by one of its own connections (nor is the user its
//     break-glass member with a local login). Err wraps sso.ErrSSORequired;
//     the host starts a login through the organization's IdP (for example
//     discovery.Handler's organization login route) and the user arrives there
//     with a session of that organization;
//   - "method_disabled": the session's local sign-in method (a password,
//     an emailed code or link, a passkey, a social account) is one the
//     organization does not allow (sso.Organization.SignInVerdict), so the
//     user must sign in there another way; a break-glass member's password
//     is always allowed. Err wraps sso.ErrAccessDenied;
//   - "not_member", "membership_inactive": Err wraps sso.ErrForbidden.
type SwitchError struct {
	OrgID  string
	Reason string
	Err    error
}

// Error names the organization and the reason of the refusal.
func (e *SwitchError) Error() string {
	return fmt.Sprintf("session: switch to organization %s refused: %s", e.OrgID, e.Reason)
}

// Unwrap returns the sentinel the refusal wraps.
func (e *SwitchError) Unwrap() error { return e.Err }

// SwitchOrg moves the request's session to another organization the user
// belongs to. The target organization's login policy is checked as if the
// user were signing in there:
//   - the membership must exist and be active;
//   - an organization that enforces SSO (sso.Organization.EnforcesSSO) admits only a
//     session authenticated by one of its own connections, which a session
//     of another organization never is, or its active break-glass member's
//     local login: otherwise the switch fails with *SwitchError
//     "sso_required" and the host starts that organization's login;
//   - a session of a local sign-in method keeps it, so the organization
//     must allow that method (*SwitchError "method_disabled" otherwise).
//
// Authentication facts belong to the organization they were earned in. A
// session that authenticated through another organization's IdP enters as
// sso.AuthSwitch: no connection, no IdP session, no MFA, and an AuthAt that
// recent-authentication checks ignore. A local login (a credential of the
// user, not of an organization) keeps its method and time. MFA is never
// carried over: the user verifies a second factor in the new organization
// when its policy asks. The new session keeps the old one's absolute
// deadline, so switching never extends a session.
//
// The session is re-issued (new ID and cookie; the old one and its API
// tokens revoked). Switching to the session's own organization returns it
// unchanged. The caller issues new API tokens for the returned session
// with IssueTokens.
func (m *Manager) SwitchOrg(w http.ResponseWriter, r *http.Request, orgID string) (*Session, error) {
	if m.cfg.Memberships == nil || m.cfg.Orgs == nil {
		return nil, fmt.Errorf("%w: session: SwitchOrg needs Memberships and Orgs", sso.ErrInvalidConfig)
	}
	ctx := r.Context()
	cur, err := m.Current(r)
	if err != nil {
		return nil, err
	}
	if cur.OrgID == orgID {
		return cur, nil
	}
	refuse := func(reason string, sentinel error) error {
		m.audit(ctx, &sso.Event{OrgID: orgID, Type: sso.EventLoginFailed, Outcome: sso.OutcomeFailure,
			Actor: sso.Actor{Type: sso.ActorUser, ID: cur.UserID}, Target: sso.Target{Type: "organization", ID: orgID},
			Reason: "org_switch_" + reason, IP: m.clientIP(r), UserAgent: truncate(r.UserAgent(), 512),
			Details: map[string]string{"from_org": cur.OrgID, "method": string(cur.Method)}})
		return &SwitchError{OrgID: orgID, Reason: reason, Err: sentinel}
	}
	mem, err := m.cfg.Memberships.GetMembership(ctx, orgID, cur.UserID)
	if errors.Is(err, sso.ErrNotFound) {
		return nil, refuse("not_member", sso.ErrForbidden)
	}
	if err != nil {
		return nil, fmt.Errorf("session: read membership: %w", err)
	}
	if !mem.Active() {
		return nil, refuse("membership_inactive", sso.ErrForbidden)
	}
	org, err := m.cfg.Orgs.GetOrg(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("session: read organization: %w", err)
	}
	local := cur.Method.Local()
	method := sso.AuthSwitch
	if local {
		method = cur.Method
	}
	// The rules a login into org follows, for the session as it will be.
	if err := m.localAdmits(ctx, &Session{OrgID: orgID, UserID: cur.UserID, Method: method}, org, mem); err != nil {
		var ve *sso.ValidationError
		if !errors.As(err, &ve) {
			return nil, err
		}
		return nil, refuse(ve.Reason, ve.Err)
	}
	if _, err := m.admitNetwork(ctx, r, orgID, cur.UserID, org, "org_switch"); err != nil {
		return nil, err
	}
	return m.reissue(w, r, func(s *Session) {
		s.OrgID, s.Roles = orgID, slices.Clone(mem.Roles)
		s.ConnectionID, s.IdPSessionIndex, s.IdPSubject, s.IdPLogoutHint = "", "", "", ""
		s.MFA, s.MFAAt = false, time.Time{}
		if !local {
			s.Method = sso.AuthSwitch
		}
	}, mem, org)
}
