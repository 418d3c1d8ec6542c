package login

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/mfactx"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/sso"
)

// Step-up refusal reasons (sso.ReasonOf), stable for audit and hosts.
const (
	// ReasonStepUpMismatch: the answer came for another user, organization
	// or connection than the session stepping up.
	ReasonStepUpMismatch = "step_up_mismatch"
	// ReasonStepUpNotTrusted: the organization does not count its IdP's MFA
	// (sso.MFAPolicy.TrustIdPMFA is off).
	ReasonStepUpNotTrusted = "step_up_not_trusted"
	// ReasonStepUpNoMFA: the IdP's answer asserts no multi-factor
	// authentication (AuthnContextClassRef, acr or amr).
	ReasonStepUpNoMFA = "step_up_mfa_missing"
	// ReasonStepUpStale: the IdP's authentication time is missing, older
	// than the step-up's MaxAge, or before the step-up started.
	ReasonStepUpStale = "step_up_stale"
)

var _ sso.StepUpRefuser = (*Completer)(nil)

// stepUpSkew is the clock difference allowed between the IdP and here.
const stepUpSkew = time.Minute

// checkStepUp admits a login started as the step-up of a session
// (login.StepUp) only when the answer is for that session's user,
// organization and connection, the organization trusts its IdP's MFA, the
// IdP asserted a multi-factor authentication, and it authenticated the
// user after the step-up started and within its MaxAge. That the step-up
// is used once is the session issuer's part (SessionGrant.ReplacesSession).
func (c *Completer) checkStepUp(login *sso.Login, res *Resolution) error {
	su, p := login.StepUp, login.Profile
	switch {
	case login.Test,
		su.ConnectionID != res.Connection.ID, su.OrgID != res.Org.ID, su.UserID != res.User.ID:
		return deny(ReasonStepUpMismatch)
	case !res.Org.Settings.MFA.TrustIdPMFA:
		return deny(ReasonStepUpNotTrusted)
	case !(p.MFA || mfactx.IsContext(p.AuthnContext) || mfactx.HasMethod(p.AMR)):
		return deny(ReasonStepUpNoMFA)
	}
	now := c.cfg.Now()
	maxAge := su.MaxAge
	if maxAge <= 0 {
		maxAge = 5 * time.Minute
	}
	switch at := p.AuthTime; {
	case at.IsZero(), now.Sub(at) > maxAge+stepUpSkew, at.Before(su.At.Add(-stepUpSkew)):
		return deny(ReasonStepUpStale)
	}
	return nil
}

// stepUpRefused answers a refused step-up: a redirect to
// Config.StepUpRefusedURL with the reason and the step-up's return path,
// or err for the protocol's ErrorHandler when that URL is not set or the
// failure is not a refusal (a store fault).
func (c *Completer) stepUpRefused(w http.ResponseWriter, r *http.Request, login *sso.Login, err error) error {
	if c.redirectRefusal(w, r, login.ReturnTo, err) {
		return nil
	}
	return err
}

// RefuseStepUp implements sso.StepUpRefuser: a protocol package refused
// the answer to the step-up su (the IdP asserted no MFA, or an
// authentication too old). With Config.StepUpRefusedURL set and err a
// refusal (*sso.ValidationError) it redirects there as completion does for
// its own refusals and returns true; the protocol package has already
// audited the failure.
func (c *Completer) RefuseStepUp(w http.ResponseWriter, r *http.Request, su *sso.StepUp, returnTo string, err error) bool {
	if su == nil || su.IsZero() {
		return false
	}
	return c.redirectRefusal(w, r, returnTo, err)
}

// redirectRefusal redirects to Config.StepUpRefusedURL with the refusal's
// reason and the safe return path, when that URL is set and err is a
// *sso.ValidationError.
func (c *Completer) redirectRefusal(w http.ResponseWriter, r *http.Request, returnTo string, err error) bool {
	var ve *sso.ValidationError
	if c.cfg.StepUpRefusedURL == "" || !errors.As(err, &ve) {
		return false
	}
	q := url.Values{"reason": {ve.Reason}}
	if rt := returnto.Safe(returnTo, ""); rt != "" {
		q.Set("return_to", rt)
	}
	sep := "?"
	if strings.Contains(c.cfg.StepUpRefusedURL, "?") {
		sep = "&"
	}
	http.Redirect(w, r, c.cfg.StepUpRefusedURL+sep+q.Encode(), http.StatusSeeOther)
	return true
}
