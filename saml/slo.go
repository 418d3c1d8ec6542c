package saml

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/sso"
)

// SAML status codes of a LogoutResponse (SAML Core 3.2.2.2).
const (
	statusSuccess       = "urn:oasis:names:tc:SAML:2.0:status:Success"
	statusResponder     = "urn:oasis:names:tc:SAML:2.0:status:Responder"
	statusPartialLogout = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout"
)

// logoutStatus is a top-level status code with an optional second-level one.
type logoutStatus struct {
	code, sub string
}

// ServeSLO is the single logout endpoint of the {connection} path value,
// for the HTTP-Redirect (GET) and HTTP-POST bindings. It accepts an IdP's
// LogoutRequest, ending the sessions it names through Config.Sessions (or
// Config.OnLogout) and answering with a LogoutResponse, and the IdP's
// LogoutResponse to a logout started with StartLogout. Unsigned, replayed
// and stale messages are rejected.
func (s *SP) ServeSLO(w http.ResponseWriter, r *http.Request) {
	s.serveSLO(w, r, r.PathValue("connection"), false)
}

// serveSLO serves the SLO endpoint of connection id, reached at its own
// SLO URL (own) or at the default route; a connection with its own SLO
// URL is served there only.
func (s *SP) serveSLO(w http.ResponseWriter, r *http.Request, id string, own bool) {
	conn, err := s.connection(r.Context(), id)
	if err != nil {
		s.rejectLogout(w, r, conn, err)
		return
	}
	if !own && ConfigOf(conn).SPSLOURL != "" {
		s.rejectLogout(w, r, conn, mismatch(ReasonDestinationMismatch, ConfigOf(conn).SPSLOURL, s.SLOURL(conn.ID)))
		return
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 2*maxLogoutBytes)
		if err := r.ParseForm(); err != nil {
			s.rejectLogout(w, r, conn, invalid(ReasonTooLarge, err))
			return
		}
	}
	msg, relay, err := s.verifyLogout(r, conn)
	if err != nil {
		s.rejectLogout(w, r, conn, err)
		return
	}
	switch msg.XMLName.Local {
	case "LogoutRequest":
		s.serveLogoutRequest(w, r, conn, msg, relay)
	case "LogoutResponse":
		s.serveLogoutResponse(w, r, conn, msg)
	default:
		s.rejectLogout(w, r, conn, invalid(ReasonLogoutInvalid, nil))
	}
}

func (s *SP) rejectLogout(w http.ResponseWriter, r *http.Request, conn *sso.Connection, err error) {
	s.logReject(r, conn, err)
	s.errFn(w, r, err)
}

// serveLogoutRequest ends the sessions a verified LogoutRequest names, once,
// and answers the IdP.
func (s *SP) serveLogoutRequest(w http.ResponseWriter, r *http.Request, conn *sso.Connection, msg *logoutMessage, relay string) {
	nameID, err := msg.nameID()
	if err != nil {
		s.rejectLogout(w, r, conn, err)
		return
	}
	if err := s.markLogoutUsed(r.Context(), conn, msg); err != nil {
		s.rejectLogout(w, r, conn, err)
		return
	}
	req := &LogoutRequest{Connection: conn, NameID: nameID,
		SessionIndex: strings.Join(msg.SessionIndex, " "), SessionIndexes: slices.Clone(msg.SessionIndex)}
	st := s.endSessions(r.Context(), req)
	if ConfigOf(conn).SLOURL == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := s.sendLogoutResponse(w, r, conn, msg.ID, st, relay); err != nil {
		s.errFn(w, r, err)
	}
}

// markLogoutUsed records a LogoutRequest ID in the replay cache until the
// request is too old to be accepted anyway: of two deliveries of one
// request only the first is acted on. The key names the connection and the
// issuer, and cannot collide with an assertion's (issuer, ID) pair.
func (s *SP) markLogoutUsed(ctx context.Context, conn *sso.Connection, msg *logoutMessage) error {
	key := fmt.Sprintf("slo %d %s %s", len(conn.ID), conn.ID, msg.issuer())
	until := msg.IssueInstant.Add(s.cfg.MaxLogoutAge + s.cfg.MaxClockSkew)
	if err := s.cfg.Store.MarkAssertionUsed(ctx, key, msg.ID, until); err != nil {
		if errors.Is(err, sso.ErrConflict) {
			return invalid(ReasonReplayed, err)
		}
		return fmt.Errorf("saml: logout replay cache: %w", err)
	}
	return nil
}

// endSessions ends the sessions of a verified LogoutRequest and returns the
// status to answer (SAML Core 3.7.3.2): Success when at least one session
// ended, Success/PartialLogout when none was found, Responder/PartialLogout
// on an error or when the SP has no way to end sessions. Config.OnLogout,
// when set, decides instead of Config.Sessions.
func (s *SP) endSessions(ctx context.Context, req *LogoutRequest) logoutStatus {
	failed := logoutStatus{statusResponder, statusPartialLogout}
	conn := req.Connection
	switch {
	case s.cfg.OnLogout != nil:
		if err := s.cfg.OnLogout(ctx, req); err != nil {
			s.log.ErrorContext(ctx, "saml: ending local sessions failed", "connection", conn.ID, "error", err)
			return failed
		}
		return logoutStatus{code: statusSuccess}
	case s.cfg.Sessions != nil:
		n, err := s.cfg.Sessions.EndIdPSessions(ctx, &sso.IdPLogout{OrgID: conn.OrgID, ConnectionID: conn.ID,
			Subject: req.NameID, SessionIndexes: slices.Clone(req.SessionIndexes)})
		switch {
		case err != nil:
			s.log.ErrorContext(ctx, "saml: ending local sessions failed", "connection", conn.ID, "error", err)
			return failed
		case n == 0:
			return logoutStatus{statusSuccess, statusPartialLogout}
		}
		return logoutStatus{code: statusSuccess}
	}
	// Neither is configured (New logged a warning): nothing can end.
	return failed
}

// serveLogoutResponse finishes a logout started with StartLogout.
func (s *SP) serveLogoutResponse(w http.ResponseWriter, r *http.Request, conn *sso.Connection, msg *logoutMessage) {
	if msg.InResponseTo == "" {
		s.rejectLogout(w, r, conn, invalid(ReasonLogoutInvalid, errors.New("saml: LogoutResponse without InResponseTo")))
		return
	}
	st, err := s.cfg.Store.TakeAuthnRequest(r.Context(), msg.InResponseTo)
	if err != nil || st.ConnectionID != conn.ID {
		s.rejectLogout(w, r, conn, invalid(ReasonInResponseTo, err))
		return
	}
	if msg.Status == nil || msg.Status.Code == nil || !isSuccessStatus(msg.Status.Code.Value) {
		s.rejectLogout(w, r, conn, invalid(ReasonStatus, nil))
		return
	}
	http.Redirect(w, r, returnto.Safe(st.ReturnTo, s.cfg.DefaultReturnTo), http.StatusSeeOther)
}

// StartLogout sends the browser to the IdP with a LogoutRequest for the
// given NameID and SessionIndex (HTTP-Redirect binding, signed when an SP
// key is configured). returnTo is where the browser goes after the IdP's
// LogoutResponse.
func (s *SP) StartLogout(w http.ResponseWriter, r *http.Request, conn *sso.Connection, nameID, sessionIndex, returnTo string) error {
	if conn == nil || ConfigOf(conn) == nil || ConfigOf(conn).SLOURL == "" {
		return fmt.Errorf("%w: saml: connection has no IdP logout URL", sso.ErrInvalidInput)
	}
	if err := checkLocation(ConfigOf(conn).SLOURL); err != nil {
		return fmt.Errorf("%w: %v", sso.ErrInvalidInput, err)
	}
	now := s.now()
	id := "_" + opaque.NewID("")
	if err := s.cfg.Store.SaveAuthnRequest(r.Context(), &AuthnRequestState{ID: id, ConnectionID: conn.ID,
		BindingHash: opaque.Hash(opaque.NewToken(16)), ReturnTo: returnto.Safe(returnTo, ""), CreatedAt: now, ExpiresAt: now.Add(s.cfg.RequestTTL)}); err != nil {
		return err
	}
	doc := etree.NewDocument()
	req := doc.CreateElement("samlp:LogoutRequest")
	req.CreateAttr("xmlns:samlp", nsProtocol)
	req.CreateAttr("xmlns:saml", nsAssertion)
	req.CreateAttr("ID", id)
	req.CreateAttr("Version", "2.0")
	req.CreateAttr("IssueInstant", now.UTC().Format(time.RFC3339))
	req.CreateAttr("Destination", ConfigOf(conn).SLOURL)
	req.CreateElement("saml:Issuer").SetText(s.SPEntityIDOf(conn))
	req.CreateElement("saml:NameID").SetText(nameID)
	if sessionIndex != "" {
		req.CreateElement("samlp:SessionIndex").SetText(sessionIndex)
	}
	b, err := doc.WriteToBytes()
	if err != nil {
		return err
	}
	loc, err := redirectURL(ConfigOf(conn).SLOURL, "SAMLRequest", b, "", s.signingKey(conn))
	if err != nil {
		return err
	}
	http.Redirect(w, r, loc, http.StatusFound)
	return nil
}

// sendLogoutResponse answers an IdP LogoutRequest with the HTTP-Redirect
// binding.
func (s *SP) sendLogoutResponse(w http.ResponseWriter, r *http.Request, conn *sso.Connection, inResponseTo string, st logoutStatus, relay string) error {
	if err := checkLocation(ConfigOf(conn).SLOURL); err != nil {
		return invalid(ReasonMetadataInvalid, err)
	}
	doc := etree.NewDocument()
	resp := doc.CreateElement("samlp:LogoutResponse")
	resp.CreateAttr("xmlns:samlp", nsProtocol)
	resp.CreateAttr("xmlns:saml", nsAssertion)
	resp.CreateAttr("ID", "_"+opaque.NewID(""))
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", s.now().UTC().Format(time.RFC3339))
	resp.CreateAttr("Destination", ConfigOf(conn).SLOURL)
	resp.CreateAttr("InResponseTo", inResponseTo)
	resp.CreateElement("saml:Issuer").SetText(s.SPEntityIDOf(conn))
	code := resp.CreateElement("samlp:Status").CreateElement("samlp:StatusCode")
	code.CreateAttr("Value", st.code)
	if st.sub != "" {
		code.CreateElement("samlp:StatusCode").CreateAttr("Value", st.sub)
	}
	b, err := doc.WriteToBytes()
	if err != nil {
		return err
	}
	if len(relay) > 80 {
		relay = ""
	}
	loc, err := redirectURL(ConfigOf(conn).SLOURL, "SAMLResponse", b, relay, s.signingKey(conn))
	if err != nil {
		return err
	}
	http.Redirect(w, r, loc, http.StatusFound)
	return nil
}
