package main

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/login"
	"github.com/ssokit/ssokit/sso/stack"
)

// stepUpRefusedPath is the page login completion sends a browser to when
// its organization's IdP did not give the second factor a step-up asked
// for (stack.MFAConfig.StepUpRefusedURL).
const stepUpRefusedPath = "/account/step-up"

// stepUpReasons says, per refusal reason, what happened, in the words of
// the person stepping up. Reasons not listed get stepUpReasonOther.
var stepUpReasons = map[string]string{
	saml.ReasonMFANotPerformed: "Your organization's sign-in service signed you in again but did not confirm a second factor " +
		"(such as an authenticator app or a security key).",
	login.ReasonStepUpNoMFA: "Your organization's sign-in service signed you in again but did not confirm a second factor " +
		"(such as an authenticator app or a security key).",
	saml.ReasonAuthnTooOld:       "Your organization's sign-in service reused an earlier sign-in instead of asking you again.",
	login.ReasonStepUpStale:      "Your organization's sign-in service reused an earlier sign-in instead of asking you again.",
	login.ReasonStepUpNotTrusted: "Your organization no longer counts the second factor of its sign-in service here.",
	login.ReasonStepUpMismatch:   "Your organization's sign-in service answered for another account than the one signed in here.",
}

const stepUpReasonOther = "Your organization's sign-in service did not confirm that it is you."

// stepUpView is what the refusal page shows.
type stepUpView struct {
	Message, Reason, ReturnTo, RetryURL string
	// Fallback is the organization's StepUpLocalFallback; TOTP and
	// WebAuthn the local factors the user has.
	Fallback, TOTP, WebAuthn, Recovery bool
}

// stepUpRefused renders the page for a refused step-up at the IdP: what
// happened, then the local factor (when the session's organization allows
// it and the user has one) or another try at the IdP. The page grants
// nothing: only a second factor checked by the mfa package on this
// session satisfies the step-up, and the way back is the safe relative
// return path. Everything it shows comes from the session's own user and
// organization, never from the query beyond the reason's known codes.
func (p *pages) stepUpRefused(w http.ResponseWriter, r *http.Request) {
	pr, _ := sso.PrincipalFrom(r.Context())
	ctx := r.Context()
	org, err := p.a.store.GetOrg(ctx, pr.OrgID)
	if err != nil && !errors.Is(err, sso.ErrNotFound) {
		p.renderError(w, r, http.StatusServiceUnavailable, "The service is temporarily unavailable. Please try again in a moment.")
		return
	}
	st, err := p.a.mfa.Status(ctx, pr)
	if err != nil {
		p.renderError(w, r, http.StatusServiceUnavailable, "The service is temporarily unavailable. Please try again in a moment.")
		return
	}
	q := r.URL.Query()
	v := stepUpView{Message: stepUpReasonOther, ReturnTo: returnto.Safe(q.Get("return_to"), "/dashboard"),
		TOTP: st.TOTP, WebAuthn: len(st.WebAuthn) > 0, Recovery: st.RecoveryCodes > 0}
	if msg, ok := stepUpReasons[q.Get("reason")]; ok {
		v.Message, v.Reason = msg, q.Get("reason")
	}
	if org != nil {
		pol := org.Settings.MFA
		v.Fallback = pol.StepUpLocalFallback
		if pol.TrustIdPMFA && pol.StepUpAtIdP && pr.ConnectionID != "" {
			v.RetryURL = stack.PrefixMFA + "step-up/idp?return_to=" + url.QueryEscape(v.ReturnTo)
		}
	}
	p.render(w, r, "stepup", "Confirm it's you", v)
}
