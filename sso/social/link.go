package social

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/ssokit/ssokit/internal/mfactx"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/sso"
)

// StartLink begins linking an account at the provider named name to the
// signed-in user of r (the session sso.PrincipalFrom reports), then
// returns like Start: the flow cookie and a redirect to the provider. The
// callback links the account the person signs in with to that user and
// redirects (303) to returnTo when it is a safe relative path, else to
// Config.DefaultReturnTo.
//
// A linked account signs its user in to every organization that allows
// social sign-in, so linking needs proof that the person is the user: a
// session (not an access token) whose own login was by a local method
// (not an organization's IdP, not an organization switch) within
// Config.RecentLogin; otherwise the refusal is reauthentication_required.
// Whoever administers one organization's IdP can sign its users in, and
// must not gain a way into their other organizations. The callback must
// come back to the same session (link_session_changed), and an account
// linked to another user stays theirs (identity_in_use). Every outcome is
// audited as EventLinked.
func (m *Manager) StartLink(w http.ResponseWriter, r *http.Request, name, returnTo string) error {
	if err := m.startLink(w, r, name, returnTo); err != nil {
		return &LinkError{ReturnTo: returnto.Safe(returnTo, ""), Err: err}
	}
	return nil
}

// LinkError is a refusal or failure of linking an account: from
// StartLink, or from the callback of a link. An ErrorHandler sends the
// person back to where the link started instead of the sign-in page
// (WriteError does); errors.Is and errors.As see Err.
type LinkError struct {
	// ReturnTo is the safe relative path the link was to return to, ""
	// when none was given.
	ReturnTo string
	// Err is the refusal (sso.ReasonOf gives its reason) or the failure.
	Err error
}

// Error is the refusal's message.
func (e *LinkError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *LinkError) Unwrap() error { return e.Err }

// startLink is StartLink without the LinkError.
func (m *Manager) startLink(w http.ResponseWriter, r *http.Request, name, returnTo string) error {
	p, ok := m.providers[name]
	if !ok {
		return deny(ReasonUnknownProvider, sso.ErrNotFound, nil)
	}
	pr, ok := sso.PrincipalFrom(r.Context())
	if !ok || pr.Kind != sso.PrincipalSession || pr.UserID == "" || pr.SessionID == "" {
		return deny(ReasonUnauthenticated, sso.ErrForbidden, nil)
	}
	if !mfactx.RecentLocalLogin(pr, m.now(), m.cfg.RecentLogin) {
		err := deny(ReasonReauthenticationRequired, sso.ErrForbidden, nil)
		m.linkRefused(r.Context(), pr, p.Name, err)
		return err
	}
	f := &flowState{ReturnTo: returnto.Safe(returnTo, ""), LinkUser: pr.UserID, LinkSession: pr.SessionID}
	return m.startFlow(w, r, p, f, "")
}

// finishLink links acct, verified by provider p, to the user of the flow
// f, when the browser still holds the session that started it.
func (m *Manager) finishLink(w http.ResponseWriter, r *http.Request, p *Provider, f *flowState, acct *VerifiedAccount) error {
	ctx := r.Context()
	pr, ok := sso.PrincipalFrom(ctx)
	if !ok || pr.Kind != sso.PrincipalSession || pr.UserID != f.LinkUser || pr.SessionID != f.LinkSession {
		err := deny(ReasonLinkSessionChanged, sso.ErrForbidden, nil)
		m.linkRefused(ctx, &sso.Principal{UserID: f.LinkUser}, p.Name, err)
		return err
	}
	now := m.now()
	err := m.cfg.Store.CreateIdentity(ctx, &Identity{Provider: p.Name, Subject: acct.Subject, UserID: pr.UserID,
		Email: acct.Email, EmailVerified: acct.EmailVerified, CreatedAt: now, LastLoginAt: now})
	switch {
	case errors.Is(err, sso.ErrConflict):
		// Linked already: to this user (a second click) or to another.
		id, gerr := m.cfg.Store.GetIdentity(ctx, p.Name, acct.Subject)
		if gerr != nil {
			return fmt.Errorf("social: read linked account: %w", gerr)
		}
		if id.UserID != pr.UserID {
			err := deny(ReasonIdentityInUse, sso.ErrConflict, nil)
			m.linkRefused(ctx, pr, p.Name, err)
			return err
		}
	case err != nil:
		return fmt.Errorf("social: link identity: %w", err)
	default:
		m.audit(ctx, &sso.Event{OrgID: pr.OrgID, Type: EventLinked, Actor: sso.Actor{Type: sso.ActorUser, ID: pr.UserID},
			Target: sso.Target{Type: "user", ID: pr.UserID}, IP: m.cfg.ClientIP(r),
			Details: map[string]string{"provider": p.Name, "new_user": "false", "via": "link"}})
	}
	http.Redirect(w, r, returnto.Safe(f.ReturnTo, m.cfg.DefaultReturnTo), http.StatusSeeOther)
	return nil
}

// linkRefused audits a refused link for p's user.
func (m *Manager) linkRefused(ctx context.Context, p *sso.Principal, provider string, err error) {
	m.audit(ctx, &sso.Event{OrgID: p.OrgID, Type: EventLinked, Outcome: sso.OutcomeFailure, Reason: sso.ReasonOf(err),
		Actor: sso.Actor{Type: sso.ActorUser, ID: p.UserID}, Target: sso.Target{Type: "user", ID: p.UserID},
		Details: map[string]string{"provider": provider, "via": "link"}})
}
