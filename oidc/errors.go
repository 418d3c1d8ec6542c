package oidc

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"

	"github.com/ssokit/ssokit/sso"
)

// Stable reasons of the *sso.ValidationError values this package returns.
const (
	ReasonStateMissing        = "state_missing"
	ReasonStateInvalid        = "state_invalid"
	ReasonBrowserMismatch     = "state_browser_mismatch"
	ReasonConnectionMismatch  = "connection_mismatch"
	ReasonConnectionUnusable  = "connection_unusable"
	ReasonIssuerParamMismatch = "iss_param_mismatch"
	ReasonIssuerParamMissing  = "iss_param_missing"
	ReasonCodeMissing         = "code_missing"
	ReasonIdPError            = "idp_error"
	ReasonTokenExchange       = "token_exchange_failed"
	ReasonIDTokenMissing      = "id_token_missing"
	ReasonTokenTooLarge       = "token_too_large"
	ReasonTokenMalformed      = "token_malformed"
	ReasonAlgNotAllowed       = "alg_not_allowed"
	ReasonSignatureInvalid    = "signature_invalid"
	ReasonKeysUnavailable     = "keys_unavailable"
	ReasonIssuerMismatch      = "issuer_mismatch"
	ReasonAudienceMismatch    = "audience_mismatch"
	ReasonAZPMismatch         = "azp_mismatch"
	ReasonExpired             = "token_expired"
	ReasonExpMissing          = "exp_missing"
	ReasonNotYetValid         = "token_not_yet_valid"
	ReasonIATMissing          = "iat_missing"
	ReasonIATInFuture         = "iat_in_future"
	ReasonTokenTooOld         = "token_too_old"
	ReasonSubMissing          = "sub_missing"
	ReasonNonceMismatch       = "nonce_mismatch"
	ReasonAtHashMismatch      = "at_hash_mismatch"
	ReasonTenantNotAllowed    = "tenant_not_allowed"
	// ReasonHostedDomainNotAllowed refuses a Google ID token without hd (a
	// personal account) or with an hd not in HostedDomains.
	ReasonHostedDomainNotAllowed  = "hd_not_allowed"
	ReasonUserInfoSubMismatch     = "userinfo_sub_mismatch"
	ReasonUserInfoInvalid         = "userinfo_invalid"
	ReasonDiscoveryIssuerMismatch = "discovery_issuer_mismatch"
	// ReasonDiscoveryFailed, ReasonJWKSFailed and ReasonUserInfoFailed
	// report a fault of the IdP (an *UpstreamError inside: status,
	// timeout, refused connection, malformed or oversized document) while
	// fetching its discovery document, its JWKS (at configuration; during
	// a login that is ReasonKeysUnavailable) or its userinfo.
	ReasonDiscoveryFailed    = "discovery_failed"
	ReasonJWKSFailed         = "jwks_fetch_failed"
	ReasonUserInfoFailed     = "userinfo_failed"
	ReasonPKCEUnsupported    = "pkce_s256_unsupported"
	ReasonLogoutTokenInvalid = "logout_token_invalid"
	// ReasonLogoutRequestInvalid refuses a front-channel logout request
	// without iss and sid.
	ReasonLogoutRequestInvalid = "logout_request_invalid"
	// ReasonMFANotPerformed refuses a login that asked for MFA
	// (sso.StartOptions.RequireMFA) when neither acr nor amr says so;
	// ReasonAuthnTooOld one whose auth_time is missing or older than
	// MaxAge, or (ForceAuthn) before the request.
	ReasonMFANotPerformed = "mfa_not_performed"
	ReasonAuthnTooOld     = "authn_too_old"
	ReasonReplayed        = "replayed"
	ReasonBadRequest      = "bad_request"
	// ReasonClientSecretRequired and ReasonPrivateKeyRequired refuse a
	// connection update that changed the issuer or token endpoint without
	// supplying the client credential again (T-O.20).
	ReasonClientSecretRequired = "client_secret_required"
	ReasonPrivateKeyRequired   = "private_key_required"
)

func invalid(reason string, cause error) *sso.ValidationError {
	return &sso.ValidationError{Protocol: Protocol, Reason: reason, Err: cause}
}

func mismatch(reason, want, got string) *sso.ValidationError {
	return &sso.ValidationError{Protocol: Protocol, Reason: reason, Want: want, Got: got}
}

// IdPError is an error response from the IdP: an authorization response
// with an "error" parameter or a failed token request (RFC 6749 sections
// 4.1.2.1 and 5.2). Description and URI come from the IdP and are for logs
// and admin diagnostics only.
type IdPError struct {
	Code        string
	Description string
	URI         string
}

// Error implements error. It includes only the error code.
func (e *IdPError) Error() string { return "oidc: identity provider returned error " + e.Code }

// LogValue implements slog.LogValuer.
func (e *IdPError) LogValue() slog.Value {
	return slog.GroupValue(slog.String("code", e.Code), slog.String("description", e.Description))
}

// rejection wraps e for the check reason, with want and, as got, the
// error code and description (admin diagnostics only).
func (e *IdPError) rejection(reason, want string) *sso.ValidationError {
	got := "error " + e.Code
	if e.Description != "" {
		got += ": " + e.Description
	}
	return &sso.ValidationError{Protocol: Protocol, Reason: reason, Want: want, Got: got, Err: e}
}

var errorCodeRe = regexp.MustCompile(`^[a-z0-9_.\-]{1,64}$`)

// safeCode returns an IdP error code fit for display, or "error".
func safeCode(c string) string {
	if errorCodeRe.MatchString(c) {
		return c
	}
	return "error"
}

// explanations are what a person is told for OIDC's own reasons; the
// rest are sso.Explain's.
var explanations = sso.Explanations{
	ReasonStateMissing:           sso.ExplainRetry,
	ReasonStateInvalid:           sso.ExplainRetry,
	ReasonBrowserMismatch:        sso.ExplainRetry,
	ReasonExpired:                sso.ExplainClock,
	ReasonNotYetValid:            sso.ExplainClock,
	ReasonIATInFuture:            sso.ExplainClock,
	ReasonTokenTooOld:            sso.ExplainClock,
	ReasonConnectionMismatch:     sso.ExplainRetry,
	ReasonConnectionUnusable:     sso.ExplainUnavailableLink.WithStatus(http.StatusBadRequest),
	ReasonMFANotPerformed:        sso.ExplainMFA,
	ReasonLogoutRequestInvalid:   sso.ExplainLogout,
	ReasonAuthnTooOld:            sso.ExplainMFA,
	ReasonHostedDomainNotAllowed: workAccount,
	ReasonTenantNotAllowed:       workAccount,
}

// workAccount explains a sign-in with an account of another directory
// (an Entra tenant, a Google Workspace) or a personal one.
var workAccount = sso.Explanation{Status: http.StatusBadRequest, Title: "Use your work account",
	What: "You signed in with a personal account, or one from a directory this organization does not use.",
	Next: "Sign in again with your work account for this organization (sign out of other accounts at your identity provider first)."}

// Explain says what happened to a failed OIDC sign-in, for the person
// whose sign-in it was: an error the IdP returned (its code as the
// reference), OIDC's own reasons, a fault of the IdP, then sso.Explain's.
func Explain(err error) sso.Explanation {
	var ie *IdPError
	var ue *UpstreamError
	switch {
	case errors.As(err, &ie):
		e := sso.ExplainIdPRefused
		if ie.Code == "access_denied" {
			e.Title = "Sign-in was cancelled"
			e.What = "Sign-in was cancelled or refused at your identity provider."
			e.Next = "Try again. If you did not cancel it, ask your administrator whether you are assigned to this application."
		}
		e.Reason = safeCode(ie.Code)
		return e
	case errors.Is(err, sso.ErrUnavailable):
		return sso.Explain(err)
	case errors.As(err, &ue):
		return sso.ExplainUpstream.For(err)
	}
	return explanations.Explain(err)
}

// DefaultErrorHandler renders a small HTML error page: what happened and
// what to do next (Explain), with its status: 400 for rejected responses,
// 404 for unknown connections, 503 when the IdP, its keys or the store is
// unavailable (a retryable failure, also when it is a rejection such as
// ReasonKeysUnavailable), 502 for another fault of the IdP (an
// *UpstreamError: a discovery document, JWKS or userinfo answer that is
// missing or malformed), 500 otherwise. It never includes the private
// cause.
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	Explain(err).ServeHTTP(w, r)
}

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: oidc: %s", sso.ErrInvalidConfig, fmt.Sprintf(format, args...))
}
