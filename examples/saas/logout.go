package main

import (
	"errors"
	"net/http"

	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// signedOutPath is where a logout ends, here or after the IdP's logout.
const signedOutPath = "/login"

// logoutEverywhere ends the request's session and, when an IdP made it,
// the user's session there too: a SAML session through SP-initiated Single
// Logout (a LogoutRequest naming its NameID and SessionIndex; the IdP's
// LogoutResponse returns to the SLO endpoint, which sends the browser on
// to signedOutPath), an OIDC session through RP-initiated logout (the
// IdP's end_session_endpoint with the login's ID token as id_token_hint
// and the connection's post_logout_redirect_uri). The local session always
// ends first: an IdP that is down or has no logout endpoint leaves the
// user signed out here, on the sign-in page.
func (a *App) logoutEverywhere(w http.ResponseWriter, r *http.Request) error {
	s, err := a.sessions.Current(r)
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		return err
	}
	if err := a.sessions.Logout(w, r); err != nil && !errors.Is(err, session.ErrNoSession) {
		return err
	}
	if s == nil || s.ConnectionID == "" {
		http.Redirect(w, r, signedOutPath, http.StatusSeeOther)
		return nil
	}
	ctx := r.Context()
	conn, err := a.store.GetConnection(ctx, s.ConnectionID)
	if err != nil || conn.OrgID != s.OrgID {
		http.Redirect(w, r, signedOutPath, http.StatusSeeOther)
		return nil
	}
	switch s.Method {
	case sso.AuthMethod(saml.Protocol):
		if c := saml.ConfigOf(conn); c != nil && c.SLOURL != "" {
			err := a.saml.StartLogout(w, r, conn, s.IdPSubject, s.IdPSessionIndex, signedOutPath)
			if err == nil {
				return nil
			}
			a.log.WarnContext(ctx, "demo: SAML single logout not started", "connection", conn.ID, "reason", sso.ReasonOf(err), "error", err)
		}
	case sso.AuthMethod(oidc.Protocol):
		hint, err := a.sessions.IdPLogoutHint(s)
		if err != nil && !errors.Is(err, session.ErrNoLogoutHint) {
			a.log.WarnContext(ctx, "demo: ID token of the session unreadable; logging out at the IdP without it", "error", err)
		}
		u, err := a.oidc.LogoutURL(ctx, conn, hint, "")
		if err == nil {
			http.Redirect(w, r, u, http.StatusSeeOther)
			return nil
		}
		if !errors.Is(err, sso.ErrNotFound) {
			a.log.WarnContext(ctx, "demo: OIDC logout URL unavailable", "connection", conn.ID, "reason", sso.ReasonOf(err), "error", err)
		}
	}
	http.Redirect(w, r, signedOutPath, http.StatusSeeOther)
	return nil
}
