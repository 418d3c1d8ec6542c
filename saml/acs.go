package saml

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/loaded"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/sso"
)

// requestCookiePrefix names the short-lived cookies that bind an
// outstanding AuthnRequest to the browser that started it. The cookie is
// SameSite=None because the IdP returns the browser with a cross-site POST,
// on which SameSite=Lax cookies are not sent.
const requestCookiePrefix = "ssokit_saml_"

// ServeACS is the assertion consumer service (HTTP-POST binding). A POST
// to the path of a connection's own ACS URL (ConnectionConfig.ACSURL) is
// for that connection; any other is for the connection named by the
// {connection} path value. It validates the response and hands the
// verified profile to Config.Completer.
func (s *SP) ServeACS(w http.ResponseWriter, r *http.Request) {
	ctx, op := s.tel.StartOp(r.Context(), "saml.acs", string(Protocol))
	defer s.tel.EndLogin(ctx, op)
	r = r.WithContext(ctx)
	conn, err := s.acsConnection(r)
	if err != nil {
		s.fail(w, r, conn, false, err)
		return
	}
	op.SetTenant(conn.OrgID, conn.ID)
	// conn was just read from Connections: the completer need not read it
	// again when Connections is its own store.
	r = r.WithContext(loaded.WithConnection(ctx, s.cfg.Connections, conn))
	ctx = r.Context()
	encoded, err := s.readSAMLResponse(w, r)
	if err != nil {
		s.fail(w, r, conn, false, err)
		return
	}
	now := s.now()
	v, hint, err := s.validateResponseHint(conn, s.spIdentityOf(conn), encoded, now)
	if err != nil {
		if st := s.unverifiedTestFlow(r, conn, hint); st != nil {
			s.failTest(w, r, conn, st.ReturnTo, adviseTest(err))
			return
		}
		s.fail(w, r, conn, false, err)
		return
	}
	login := &sso.Login{Connection: conn, Profile: buildProfile(conn, v)}
	if pl, ok := s.cfg.Completer.(sso.LoginPreloader); ok {
		// The completer's read overlaps the replay cache's write.
		r = r.WithContext(pl.PreloadLogin(ctx, login))
		ctx = r.Context()
	}
	var st *AuthnRequestState
	marked := false // the assertion is recorded in the replay cache
	if v.inResponseTo != "" {
		st, marked, err = s.takeRequest(r, conn, v)
		if err != nil {
			s.fail(w, r, conn, false, err)
			return
		}
		login.ReturnTo, login.Test, login.StepUp = st.ReturnTo, st.Test, sso.StepUpOf(st.StepUp)
		clearRequestCookie(w, s.cookiePath(conn), v.inResponseTo)
	} else {
		if err := s.checkUnsolicited(conn, v, now); err != nil {
			s.fail(w, r, conn, false, err)
			return
		}
		// RelayState is never used as a URL: only an allowlisted relative
		// path survives, anything else falls back to the default.
		login.ReturnTo = returnto.Safe(r.PostForm.Get("RelayState"), "")
	}
	if conn.Status != sso.ConnectionActive && !login.Test {
		s.fail(w, r, conn, login.Test, invalid(ReasonConnectionDisabled, errors.New("saml: connection is not active")))
		return
	}
	if !marked {
		if err := s.cfg.Store.MarkAssertionUsed(ctx, ConfigOf(conn).IdPEntityID, v.assertionID, v.expiresAt); err != nil {
			s.failLogin(w, r, login, replayErr(err))
			return
		}
	}
	if v.expiredSigner != nil {
		s.warnExpiredSigner(ctx, conn, v.expiredSigner)
	}
	if st != nil {
		if err := s.checkRequestedAuthn(conn, st, login.Profile, now); err != nil {
			s.failRequestedAuthn(w, r, login, err)
			return
		}
	}
	if err := s.cfg.Completer.Complete(w, r, login); err != nil {
		op.Fail(err, sso.ReasonOf(err))
		s.logReject(r, conn, err)
		s.errFn(w, r, err)
	}
}

// acsConnection is the connection an ACS request is for: the one whose own
// ACS URL it came to, or the one its {connection} path value names, which
// must not have an ACS URL of its own (it is served there only). On an
// error the connection is returned only when it was found.
func (s *SP) acsConnection(r *http.Request) (*sso.Connection, error) {
	id := r.PathValue("connection")
	conn, own, err := s.connectionByACS(r, id == "")
	switch {
	case own:
	case id != "":
		conn, err = s.connection(r.Context(), id)
	default:
		err = invalid(ReasonUnknownConnection, errACSPathUnknown)
	}
	if err != nil {
		return nil, err
	}
	if !own && ConfigOf(conn).ACSURL != "" {
		return conn, mismatch(ReasonDestinationMismatch, ConfigOf(conn).ACSURL, s.ACSURL(conn.ID))
	}
	return conn, nil
}

// readSAMLResponse parses r's form, within MaxResponseBytes, and returns
// its SAMLResponse.
func (s *SP) readSAMLResponse(w http.ResponseWriter, r *http.Request) (string, error) {
	if r.ContentLength > s.cfg.MaxResponseBytes {
		return "", invalid(ReasonTooLarge, errors.New("saml: request body too large"))
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxResponseBytes)
	if err := r.ParseForm(); err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return "", invalid(ReasonTooLarge, err)
		}
		return "", invalid(ReasonMalformed, err)
	}
	encoded := r.PostForm.Get("SAMLResponse")
	if encoded == "" {
		return "", invalid(ReasonMalformed, errors.New("saml: no SAMLResponse"))
	}
	return encoded, nil
}

// checkUnsolicited admits a response without InResponseTo only when conn
// allows IdP-initiated logins and the response is recent.
func (s *SP) checkUnsolicited(conn *sso.Connection, v *verified, now time.Time) error {
	if !ConfigOf(conn).AllowIdPInitiated {
		return invalid(ReasonUnsolicited, errors.New("saml: response without InResponseTo"))
	}
	if v.issueInstant.IsZero() || now.Sub(v.issueInstant) > s.cfg.MaxIdPInitiatedAge {
		return mismatch(ReasonTooOld, "issued within "+s.cfg.MaxIdPInitiatedAge.String(), v.issueInstant.UTC().Format(time.RFC3339))
	}
	return nil
}

// takeRequest consumes the outstanding request v answers and checks that
// it was started by this browser for this connection. With a
// LoginConsumer store it records the assertion in the replay cache in the
// same step and reports marked.
func (s *SP) takeRequest(r *http.Request, conn *sso.Connection, v *verified) (st *AuthnRequestState, marked bool, err error) {
	id := v.inResponseTo
	if len(id) > 256 {
		return nil, false, invalid(ReasonInResponseTo, errors.New("saml: InResponseTo too long"))
	}
	if lc, ok := s.cfg.Store.(LoginConsumer); ok {
		st, err = lc.ConsumeLogin(r.Context(), id, ConfigOf(conn).IdPEntityID, v.assertionID, v.expiresAt)
		marked = err == nil
	} else {
		st, err = s.cfg.Store.TakeAuthnRequest(r.Context(), id)
	}
	switch {
	case errors.Is(err, sso.ErrNotFound):
		return nil, false, invalid(ReasonInResponseTo, errors.New("saml: unknown, expired or already used request ID"))
	case err != nil:
		return nil, false, replayErr(err)
	case st.ConnectionID != conn.ID:
		return nil, false, mismatch(ReasonInResponseTo, conn.ID, st.ConnectionID)
	case !st.ExpiresAt.IsZero() && !s.now().Before(st.ExpiresAt):
		return nil, false, invalid(ReasonInResponseTo, errors.New("saml: request expired"))
	}
	c, err := r.Cookie(requestCookiePrefix + cookieSuffix(id))
	if err != nil || c.Value == "" || !opaque.Equal(opaque.Hash(c.Value), st.BindingHash) {
		return nil, false, invalid(ReasonInResponseTo, errors.New("saml: request was started by another browser"))
	}
	return st, marked, nil
}

// replayErr reports a replay cache conflict as a replayed assertion.
func replayErr(err error) error {
	if errors.Is(err, sso.ErrConflict) {
		return invalid(ReasonReplayed, err)
	}
	return err
}

// cookieSuffix turns a request ID into a cookie-name-safe suffix.
func cookieSuffix(id string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return -1
	}, id)
}

// cookiePath is the path of conn's ACS URL, where the request-tracking
// cookie is sent.
func (s *SP) cookiePath(conn *sso.Connection) string {
	if cfg := ConfigOf(conn); cfg != nil && cfg.ACSURL != "" {
		if u, err := url.Parse(cfg.ACSURL); err == nil && strings.HasPrefix(u.EscapedPath(), "/") {
			return u.EscapedPath()
		}
	}
	connID := conn.ID
	p := strings.TrimRight(s.cfg.BaseURL.EscapedPath(), "/")
	if !strings.HasPrefix(p, "/") {
		// A relative path would make the browser fall back to the
		// directory of whatever URL set the cookie.
		p = "/" + p
	}
	return strings.TrimRight(p, "/") + "/acs/" + connID
}

func clearRequestCookie(w http.ResponseWriter, path, id string) {
	http.SetCookie(w, &http.Cookie{Name: requestCookiePrefix + cookieSuffix(id), Value: "", Path: path, MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode})
}
