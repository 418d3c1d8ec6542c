package saml

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/sso"
)

// Test logins that never lie. A response that fails validation before its
// InResponseTo is verified is still recognised as the answer to an admin's
// test login when the store can read the request without consuming it
// (RequestPeeker), the request is a test of this connection and it was
// started by this browser (its binding cookie). The failure is then
// reported with Test set and a plain-language fix, so the diagnosis lands
// on the connection's LastTest. Nothing else changes: the request stays
// outstanding and no login proceeds.

// unverifiedTestFlow returns the request the unverified InResponseTo hint
// names when it is a test login of conn started by this browser, or nil.
func (s *SP) unverifiedTestFlow(r *http.Request, conn *sso.Connection, hint string) *AuthnRequestState {
	p, ok := s.cfg.Store.(RequestPeeker)
	if !ok || conn == nil || hint == "" || len(hint) > 256 {
		return nil
	}
	st, err := p.PeekAuthnRequest(r.Context(), hint)
	if err != nil || st == nil || !st.Test || st.ConnectionID != conn.ID {
		return nil
	}
	c, err := r.Cookie(requestCookiePrefix + cookieSuffix(hint))
	if err != nil || c.Value == "" || !opaque.Equal(opaque.Hash(c.Value), st.BindingHash) {
		return nil
	}
	return st
}

// failTest reports a failed test login and sends the admin back to where
// the test was started from (the portal's or the admin page's result),
// never to the end-user error page. Without a safe return address it
// renders the error as fail does.
func (s *SP) failTest(w http.ResponseWriter, r *http.Request, conn *sso.Connection, returnTo string, err error) {
	to := returnto.Safe(returnTo, "")
	if to == "" {
		s.fail(w, r, conn, true, err)
		return
	}
	opFail(r, conn, err)
	s.cfg.Completer.Fail(r, &sso.LoginFailure{Connection: conn, Protocol: Protocol, Test: true, Err: err})
	s.logReject(r, conn, err)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// failLogin reports a failure of login: a test login's through failTest.
func (s *SP) failLogin(w http.ResponseWriter, r *http.Request, login *sso.Login, err error) {
	if login.Test {
		s.failTest(w, r, login.Connection, login.ReturnTo, err)
		return
	}
	s.fail(w, r, login.Connection, false, err)
}

// failRequestedAuthn rejects a verified answer that lacks what the login
// asked for (MFA, a fresh authentication). The answer to a step-up goes to
// the completer's refusal page when it has one (sso.StepUpRefuser), which
// may offer the local factor; anything else fails as usual.
func (s *SP) failRequestedAuthn(w http.ResponseWriter, r *http.Request, login *sso.Login, err error) {
	ref, ok := s.cfg.Completer.(sso.StepUpRefuser)
	if login.Test || login.StepUp == nil || !ok {
		s.failLogin(w, r, login, err)
		return
	}
	opFail(r, login.Connection, err)
	s.cfg.Completer.Fail(r, &sso.LoginFailure{Connection: login.Connection, Protocol: Protocol, Err: err})
	s.logReject(r, login.Connection, err)
	if !ref.RefuseStepUp(w, r, login.StepUp, login.ReturnTo, err) {
		s.errFn(w, r, err)
	}
}

// testAdvice is the fix an admin is told, by reason, when a test login
// fails. Reasons whose cause already names the fix are not listed.
var testAdvice = map[string]string{
	ReasonSignatureInvalid:    "the response's signature does not verify with the certificates uploaded for this connection: upload the IdP's current signing certificate (or its metadata)",
	ReasonSignatureMissing:    "the IdP did not sign the assertion: turn on assertion signing at the IdP, or set AllowResponseSignatureOnly if it signs the whole response",
	ReasonWeakAlgorithm:       "the IdP uses SHA-1 or RSA PKCS#1 v1.5: configure it for SHA-256 and RSA-OAEP, or set AllowSHA1 / AllowRSA15KeyTransport on the connection",
	ReasonAudienceMismatch:    "the IdP addresses the assertion to another service provider: set the audience (SP entity ID) at the IdP to the one shown for this connection",
	ReasonAudienceMissing:     "the assertion names no audience: set the audience (SP entity ID) at the IdP to the one shown for this connection",
	ReasonDestinationMismatch: "the IdP posts to another ACS URL: set the ACS (reply) URL at the IdP to the one shown for this connection",
	ReasonRecipientMismatch:   "the IdP posts to another ACS URL: set the ACS (reply) URL at the IdP to the one shown for this connection",
	ReasonIssuerMismatch:      "the response comes from another IdP entity ID than the one configured: update the connection from the IdP's current metadata",
	ReasonDecryptionFailed:    "the assertion could not be decrypted: upload this connection's SP certificate to the IdP as its encryption certificate",
	ReasonEncryptionRequired:  "the connection requires encrypted assertions: turn on assertion encryption at the IdP",
	ReasonExpired:             "the response expired before it arrived: check the clocks of the IdP and of this server",
	ReasonNotYetValid:         "the response is not valid yet: check the clocks of the IdP and of this server",
	ReasonStatus:              "the IdP refused the sign-in: check the IdP's log and that the test user is assigned to the application",
	ReasonAssertionCount:      "the response must carry exactly one assertion: check the IdP's application settings",
	ReasonSubjectMissing:      "the assertion names no subject: configure the IdP to send a NameID",
}

// adviseTest adds the admin-facing fix to a test login's failure.
func adviseTest(err error) error {
	var ve *sso.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	advice, ok := testAdvice[ve.Reason]
	if !ok {
		return err
	}
	out := *ve
	if ve.Err != nil {
		out.Err = fmt.Errorf("%s: %w", advice, ve.Err)
	} else {
		out.Err = errors.New(advice)
	}
	return &out
}
