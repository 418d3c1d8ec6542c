package stack

import (
	"errors"

	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/login"
)

// Explain says what happened to a sign-in that failed in any of the
// Stack's protocols, and what the person should do next: for a
// Config.ErrorHandler that renders its own page. It takes SAML's or
// OIDC's explanation for their rejections and for errors the IdP sent,
// login completion's for its refusals (a suspended membership, a missing
// email, an unverified domain, a step-up that does not count), and
// sso.Explain's for the rest.
func Explain(err error) sso.Explanation {
	var ve *sso.ValidationError
	var ie *oidc.IdPError
	var ue *oidc.UpstreamError
	switch {
	case errors.As(err, &ve) && ve.Protocol == saml.Protocol:
		return saml.Explain(err)
	case errors.As(err, &ve) && ve.Protocol == oidc.Protocol, errors.As(err, &ie), errors.As(err, &ue):
		return oidc.Explain(err)
	}
	return login.Explain(err)
}
