package saml

import (
	"errors"
	"net/http"
	"strings"

	rtvalidator "github.com/mattermost/xml-roundtrip-validator"
	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssokit/ssokit/sso"
)

// Stable reasons of the *sso.ValidationError values this package returns.
// They appear in audit events, test-login diagnostics and metrics; they
// never change meaning.
const (
	ReasonTooLarge             = "too_large"
	ReasonMalformed            = "malformed"
	ReasonDoctype              = "doctype_forbidden"
	ReasonRoundTrip            = "xml_roundtrip_unstable"
	ReasonTooComplex           = "too_complex"
	ReasonWrapping             = "signature_wrapping"
	ReasonDuplicateID          = "duplicate_id"
	ReasonCommentInAssertion   = "comment_in_assertion"
	ReasonDuplicateElement     = "duplicate_element"
	ReasonForeignNamespace     = "foreign_namespace"
	ReasonSignatureMissing     = "signature_missing"
	ReasonSignatureInvalid     = "signature_invalid"
	ReasonWeakAlgorithm        = "weak_algorithm"
	ReasonUnsupportedAlgorithm = "unsupported_algorithm"
	ReasonAssertionCount       = "assertion_count"
	ReasonEncryptionRequired   = "encryption_required"
	ReasonDecryptionFailed     = "decryption_failed"
	ReasonIssuerMismatch       = "issuer_mismatch"
	ReasonDestinationMismatch  = "destination_mismatch"
	ReasonRecipientMismatch    = "recipient_mismatch"
	ReasonAudienceMismatch     = "audience_mismatch"
	ReasonAudienceMissing      = "audience_missing"
	ReasonBearerRequired       = "bearer_required"
	ReasonExpired              = "expired"
	ReasonNotYetValid          = "not_yet_valid"
	ReasonTooOld               = "too_old"
	ReasonInResponseTo         = "in_response_to_mismatch"
	ReasonUnsolicited          = "unsolicited"
	ReasonReplayed             = "replayed"
	ReasonStatus               = "status_not_success"
	ReasonMissingElement       = "missing_element"
	ReasonSubjectMissing       = "subject_missing"
	ReasonUnknownConnection    = "unknown_connection"
	ReasonConnectionDisabled   = "connection_disabled"
	ReasonNotSAML              = "not_saml"
	ReasonRelayState           = "relay_state_invalid"
	ReasonLogoutUnsigned       = "logout_unsigned"
	ReasonLogoutInvalid        = "logout_invalid"
	ReasonMetadataInvalid      = "metadata_invalid"
	// ReasonLogoutParameter refuses a logout message whose binding
	// parameters are duplicated, spelled other than exactly (percent-encoded
	// or in another case), or carry both SAMLRequest and SAMLResponse
	// (T-S.25).
	ReasonLogoutParameter = "logout_parameter_invalid"
	// ReasonVersion refuses a Response, Assertion or logout message whose
	// Version is not "2.0".
	ReasonVersion = "version_unsupported"
	// ReasonAuthnStatementMissing refuses an Assertion without the
	// AuthnStatement the Web Browser SSO profile requires (SAML Profiles
	// 4.1.4.2).
	ReasonAuthnStatementMissing = "authn_statement_missing"
	// ReasonSessionExpired refuses an AuthnStatement whose
	// SessionNotOnOrAfter has passed.
	ReasonSessionExpired = "session_expired"
	// ReasonDestinationEmpty refuses a signed message whose Destination
	// attribute is present but empty (SAML Bindings 3.5.5.2 requires the
	// URL there).
	ReasonDestinationEmpty = "destination_empty"
	// ReasonAttributeConflict refuses an assertion that uses one attribute
	// Name with two different NameFormats.
	ReasonAttributeConflict = "attribute_conflict"
	// ReasonCertificateExpired refuses a response verified with a pinned
	// certificate past its NotAfter, on a connection that sets
	// EnforceCertificateDates; ReasonCertificateNotYetValid one before its
	// NotBefore. Without the opt-in such a key is trusted (trust.go).
	ReasonCertificateExpired     = "certificate_expired"
	ReasonCertificateNotYetValid = "certificate_not_yet_valid"
	// ReasonCertificateUntrusted refuses a response signed with a
	// certificate that is none of the connection's: Want lists the pinned
	// SHA-256 fingerprints, Got the one in the response's KeyInfo.
	ReasonCertificateUntrusted = "certificate_untrusted"
	// ReasonNotPosted answers a request to an ACS that is not an HTTP-POST:
	// the address opened directly (a bookmark, a reload), or a response
	// sent with the HTTP-Redirect binding, which the Web Browser SSO
	// profile does not allow for responses (SAML Profiles 4.1.2).
	ReasonNotPosted = "acs_not_posted"
)

func invalid(reason string, cause error) *sso.ValidationError {
	return &sso.ValidationError{Protocol: Protocol, Reason: reason, Err: cause}
}

func mismatch(reason, want, got string) *sso.ValidationError {
	return &sso.ValidationError{Protocol: Protocol, Reason: reason, Want: want, Got: got}
}

// classify turns an error from the scan, gosaml2 or goxmldsig into a
// *sso.ValidationError with a stable reason.
func classify(err error) *sso.ValidationError {
	var ve *sso.ValidationError
	if errors.As(err, &ve) {
		return ve
	}
	var se *scanError
	if errors.As(err, &se) {
		return invalid(se.reason, err)
	}
	var rt rtvalidator.XMLRoundtripError
	var rtv rtvalidator.XMLValidationError
	if errors.As(err, &rt) || errors.As(err, &rtv) {
		return invalid(ReasonRoundTrip, err)
	}
	var ivv saml2.ErrInvalidValue
	if errors.As(err, &ivv) {
		r := ReasonMissingElement
		switch ivv.Key {
		case saml2.DestinationAttr:
			r = ReasonDestinationMismatch
		case saml2.IssuerTag:
			r = ReasonIssuerMismatch
		case saml2.RecipientAttr:
			r = ReasonRecipientMismatch
		case saml2.StatusCodeTag:
			r = ReasonStatus
		case saml2.NotOnOrAfterAttr:
			r = ReasonExpired
		case saml2.SubjectConfirmationTag:
			r = ReasonBearerRequired
		case "SAML version":
			r = ReasonVersion
		}
		return &sso.ValidationError{Protocol: Protocol, Reason: r, Want: ivv.Expected, Got: ivv.Actual, Err: err}
	}
	var pe saml2.ErrParsing
	if errors.As(err, &pe) {
		return &sso.ValidationError{Protocol: Protocol, Reason: ReasonMalformed, Want: pe.Type, Got: pe.Value, Err: err}
	}
	var me saml2.ErrMissingElement
	if errors.As(err, &me) {
		if me.Tag == saml2.SubjectTag || me.Tag == saml2.NameIdTag {
			return invalid(ReasonSubjectMissing, err)
		}
		return invalid(ReasonMissingElement, err)
	}
	if errors.Is(err, dsig.ErrMissingSignature) {
		return invalid(ReasonSignatureMissing, err)
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "decrypt"):
		return invalid(ReasonDecryptionFailed, err)
	case strings.Contains(msg, "too many XML tokens"):
		return invalid(ReasonTooComplex, err)
	case strings.Contains(msg, "illegal base64"):
		return invalid(ReasonMalformed, err)
	}
	return invalid(ReasonSignatureInvalid, err)
}

// explanations are what a person is told for SAML's own reasons; the
// rest are sso.Explain's.
var explanations = sso.Explanations{
	ReasonExpired:                sso.ExplainRetry,
	ReasonTooOld:                 sso.ExplainRetry,
	ReasonInResponseTo:           sso.ExplainRetry,
	ReasonReplayed:               sso.ExplainRetry,
	ReasonNotYetValid:            sso.ExplainClock,
	ReasonStatus:                 sso.ExplainIdPRefused,
	ReasonUnknownConnection:      sso.ExplainUnavailableLink,
	ReasonConnectionDisabled:     sso.ExplainUnavailableLink.WithStatus(http.StatusBadRequest),
	ReasonMFANotPerformed:        sso.ExplainMFA,
	ReasonLogoutUnsigned:         sso.ExplainLogout,
	ReasonLogoutInvalid:          sso.ExplainLogout,
	ReasonLogoutParameter:        sso.ExplainLogout,
	ReasonAuthnTooOld:            sso.ExplainMFA,
	ReasonCertificateExpired:     certificateExplanation,
	ReasonCertificateNotYetValid: certificateExplanation,
	ReasonUnsolicited: {Status: http.StatusBadRequest, Title: "Start from this application",
		What: "Your organization does not allow signing in from the identity provider's app portal.",
		Next: "Open this application's sign-in page and sign in from there."},
	ReasonNotPosted: {Status: http.StatusMethodNotAllowed, Title: "Start signing in from the sign-in page",
		What: "This address only receives the sign-in answers your identity provider sends; it cannot be opened directly.",
		Next: "Start signing in again from the sign-in page. If you got here right after signing in at your identity provider, " +
			"tell your administrator: it must send its answer with HTTP-POST."},
	ReasonTooLarge: {Status: http.StatusRequestEntityTooLarge, Title: "Sign-in failed",
		What: "Your identity provider's answer is too large to accept.",
		Next: "Tell your administrator: the identity provider may be sending too many groups or attributes."},
}

var certificateExplanation = sso.Explanation{Status: http.StatusBadRequest, Title: "Sign-in failed",
	What: "Your identity provider signed its answer with a certificate this application does not accept at this date.",
	Next: "Tell your administrator: the single sign-on connection needs the identity provider's current certificate."}

// Explain says what happened to a failed SAML sign-in, for the person
// whose sign-in it was: SAML's own reasons, then sso.Explain's.
func Explain(err error) sso.Explanation {
	return explanations.Explain(err)
}

// DefaultErrorHandler renders a plain SAML error page: what happened
// and what to do next (Explain), and the stable reason, never the
// internal cause.
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	Explain(err).ServeHTTP(w, r)
}
