package oidc

import (
	"errors"

	"github.com/ssokit/ssokit/sso"
)

// fixError adds a plain-language fix to an error for admin diagnostics
// (the Detail of a test login's *sso.ValidationError); it unwraps to the
// cause.
type fixError struct {
	err error
	fix string
}

func (e *fixError) Error() string {
	if e.err == nil {
		return "fix: " + e.fix
	}
	return e.err.Error() + " (fix: " + e.fix + ")"
}

func (e *fixError) Unwrap() error { return e.err }

// withFix returns err with fix attached, or err when fix is empty.
func withFix(err error, fix string) error {
	if fix == "" {
		return err
	}
	return &fixError{err: err, fix: fix}
}

// reasonFixes are the plain-language fixes of test-login failures, by
// reason; rejections that carry their own fix (upstream faults,
// authentication requirements) keep it.
var reasonFixes = map[string]string{
	ReasonStateMissing:        "the IdP's redirect carried no state: start the login from the application, IdP-initiated OIDC logins are not supported",
	ReasonStateInvalid:        "the login took longer than 10 minutes or its callback was used twice: start the test again",
	ReasonBrowserMismatch:     "finish the login in the browser that started it, with cookies allowed for this site",
	ReasonConnectionMismatch:  "the IdP sent the browser to another connection's redirect URI: register exactly this connection's redirect URI at the IdP",
	ReasonConnectionUnusable:  "the connection was changed or disabled during the login: start the test again",
	ReasonIssuerParamMismatch: "the authorization response came from another issuer: check the issuer setting and that the IdP application is the right one",
	ReasonIssuerParamMissing:  "the IdP advertises the iss response parameter but did not send it: check the IdP's configuration",
	ReasonCodeMissing:         "the IdP's redirect carried no authorization code: set the IdP application to the authorization code flow",
	ReasonIdPError:            "the IdP refused the login (see its error code and description): check that the user is assigned to the application and the application's settings at the IdP",
	ReasonTokenExchange:       "the token endpoint refused the code: check the client ID, the client secret or key, the authentication method, and that the redirect URI registered at the IdP is exactly this connection's",
	ReasonIDTokenMissing:      "the token response has no ID token: request the openid scope and enable OpenID Connect for the application at the IdP",
	ReasonTokenTooLarge:       "the ID token is too large: limit the groups or claims the IdP puts into it",
	ReasonTokenMalformed:      "the IdP returned a token that is not a well-formed signed JWT: make the application issue signed, not encrypted, ID tokens",
	ReasonAlgNotAllowed:       "the ID token's signing algorithm is not allowed: make the IdP sign with RS256, ES256 or another asymmetric algorithm of the allowlist",
	ReasonSignatureInvalid:    "the ID token's signature does not verify with the keys the IdP publishes: check the issuer (and the JWKS URL of manual endpoints); the token may come from another IdP",
	ReasonKeysUnavailable:     "the IdP's signing keys could not be fetched: check the JWKS URL and try again",
	ReasonIssuerMismatch:      "set the issuer to exactly the iss value the IdP puts into its tokens",
	ReasonAudienceMismatch:    "the ID token was issued to another client: check the client ID",
	ReasonAZPMismatch:         "the ID token was issued to another client: check the client ID",
	ReasonExpired:             "check that the clocks of this server and of the IdP are right (NTP)",
	ReasonExpMissing:          "the ID token lacks exp: the IdP is not issuing conformant ID tokens for this application",
	ReasonNotYetValid:         "check that the clocks of this server and of the IdP are right (NTP)",
	ReasonIATMissing:          "the ID token lacks iat: the IdP is not issuing conformant ID tokens for this application",
	ReasonIATInFuture:         "check that the clocks of this server and of the IdP are right (NTP)",
	ReasonTokenTooOld:         "the ID token was issued long ago: check the clocks (NTP) and that the IdP does not cache tokens",
	ReasonSubMissing:          "the ID token lacks sub: the IdP is not issuing conformant ID tokens for this application",
	ReasonNonceMismatch:       "the ID token does not answer this login's request: start the test again; if it repeats, the IdP ignores the nonce parameter",
	ReasonAtHashMismatch:      "the ID token does not belong to the access token it came with: report it to the IdP vendor",
	ReasonTenantNotAllowed:    "add the user's tenant ID to allowed_tenant_ids, or use the tenant's own issuer",
	ReasonHostedDomainNotAllowed: "sign in with a Google Workspace account of one of hosted_domains (a personal Google account carries no hd), " +
		"or add the account's Workspace domain to hosted_domains",
	ReasonUserInfoSubMismatch: "the userinfo endpoint answered for another user: check the userinfo endpoint URL",
	ReasonUserInfoInvalid:     "the userinfo endpoint did not return a valid document: check the userinfo endpoint URL, or set userinfo to never",
	ReasonPKCEUnsupported:     "enable PKCE with S256 for the application at the IdP",
	ReasonReplayed:            "the same response was used twice: start the test again",
	ReasonBadRequest:          "the callback request was malformed: start the test again",
}

// diagnosis returns err as the *sso.ValidationError a test login's
// failure reports: the check (Reason), want/got and a detail that ends
// with a plain-language fix. A rejection without a fix gets one from
// reasonFixes; an error that is not a rejection (store, sealer, network)
// becomes one with the reason sso.ReasonOf gives it.
func diagnosis(err error) *sso.ValidationError {
	var ve *sso.ValidationError
	if !errors.As(err, &ve) {
		fix := "the IdP or this application's database could not be reached: try again"
		if !errors.Is(err, sso.ErrUnavailable) {
			fix = "an internal error stopped the login: see the server logs"
		}
		return &sso.ValidationError{Protocol: Protocol, Reason: sso.ReasonOf(err), Err: withFix(err, fix)}
	}
	var fe *fixError
	if errors.As(ve.Err, &fe) {
		return ve
	}
	fix, ok := reasonFixes[ve.Reason]
	if !ok {
		return ve
	}
	cp := *ve
	cp.Err = withFix(ve.Err, fix)
	return &cp
}
