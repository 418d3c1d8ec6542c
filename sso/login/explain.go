package login

import (
	"net/http"

	"github.com/ssokit/ssokit/sso"
)

// explanations are what a person is told when login completion refuses a
// login that the IdP accepted; the rest are sso.Explain's.
var explanations = sso.Explanations{
	"membership_suspended": {Status: http.StatusForbidden, Title: "Your access is suspended",
		What: "Your account in this organization is suspended.",
		Next: "Ask your administrator to restore your access."},
	"membership_deactivated": {Status: http.StatusForbidden, Title: "Your access has ended",
		What: "Your account in this organization was deactivated.",
		Next: "If you still need access, ask your administrator."},
	"membership_inactive": {Status: http.StatusForbidden, Title: "Your access is not active",
		What: "Your account in this organization is not active.",
		Next: "Ask your administrator to activate it."},
	"email_missing": {Status: http.StatusForbidden, Title: "Your email address is missing",
		What: "Your identity provider signed you in but did not send your email address.",
		Next: "Tell your administrator: the single sign-on connection must send the email attribute."},
	"email_invalid": {Status: http.StatusForbidden, Title: "Your email address was not accepted",
		What: "Your identity provider sent an email address that is not valid.",
		Next: "Tell your administrator: the single sign-on connection must send your email address in the email attribute."},
	"email_domain_not_verified": {Status: http.StatusForbidden, Title: "Your email domain is not set up",
		What: "Your email address is in a domain this organization has not verified.",
		Next: "Ask your administrator to verify your email domain for this organization, or sign in with your work address."},
	"link_not_allowed": {Status: http.StatusForbidden, Title: "Sign in the usual way first",
		What: "An account with your email address already exists, and it cannot be joined to this sign-in automatically.",
		Next: "Sign in the way you usually do, then ask your administrator to connect your single sign-on account."},
	"feature_disabled": {Status: http.StatusForbidden, Title: "Single sign-on is not available",
		What: "Single sign-on is not included in this organization's plan.",
		Next: "Sign in another way, or ask your administrator."},
	"connection_disabled":   sso.ExplainUnavailableLink.WithStatus(http.StatusForbidden),
	"connection_not_active": sso.ExplainUnavailableLink.WithStatus(http.StatusForbidden),
	ReasonStepUpNotTrusted:  sso.ExplainMFA,
	ReasonStepUpNoMFA:       sso.ExplainMFA,
	ReasonStepUpStale:       sso.ExplainMFA,
	ReasonStepUpMismatch: {Status: http.StatusForbidden, Title: "Signed in as someone else",
		What: "Your identity provider signed in another account than the one you are verifying.",
		Next: "Sign in again at your identity provider with the same account, then try again."},
}

// Explain says what happened to a login completion refused, for the person
// whose login it was: its own refusals (a suspended membership, a missing
// email, an unverified domain, a step-up that does not count), then
// sso.Explain's.
func Explain(err error) sso.Explanation {
	return explanations.Explain(err)
}
