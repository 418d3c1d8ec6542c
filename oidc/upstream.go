package oidc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"

	"github.com/ssokit/ssokit/internal/egress"
	"github.com/ssokit/ssokit/sso"
)

// UpstreamKind names what went wrong on the IdP's side of a request.
type UpstreamKind string

// Kinds of UpstreamError.
const (
	// UpstreamStatus: the IdP answered with a status other than 200.
	UpstreamStatus UpstreamKind = "http_status"
	// UpstreamTimeout: the IdP did not answer within Config.FetchTimeout.
	UpstreamTimeout UpstreamKind = "timeout"
	// UpstreamRefused: nothing listens at the IdP's address.
	UpstreamRefused UpstreamKind = "connection_refused"
	// UpstreamDNS: the IdP's host name does not resolve.
	UpstreamDNS UpstreamKind = "dns"
	// UpstreamTLS: the TLS handshake failed (certificate not trusted,
	// expired or for another name).
	UpstreamTLS UpstreamKind = "tls"
	// UpstreamNetwork: another network failure.
	UpstreamNetwork UpstreamKind = "network"
	// UpstreamMalformed: the body is not the JSON document expected.
	UpstreamMalformed UpstreamKind = "malformed"
	// UpstreamTooLarge: the body exceeds the size cap.
	UpstreamTooLarge UpstreamKind = "too_large"
	// UpstreamIssuerMismatch: the discovery document names another issuer.
	UpstreamIssuerMismatch UpstreamKind = "issuer_mismatch"
	// UpstreamIncomplete: the document lacks a required member.
	UpstreamIncomplete UpstreamKind = "incomplete"
)

// Documents an UpstreamError may be about.
const (
	docDiscovery = "discovery document"
	docJWKS      = "JWKS"
	docToken     = "token endpoint"
	docUserInfo  = "userinfo endpoint"
)

// UpstreamError is a fault of the IdP (OpenID provider) met while fetching
// its discovery document, its keys, or calling its token or userinfo
// endpoint: what went wrong (Kind), where (Doc, URL without query), the
// HTTP status when there was one, and want/got for a document that
// answered with the wrong content. Transient faults (5xx, 429, timeout,
// refused connection, network) wrap sso.ErrUnavailable; the others need
// an administrator (a wrong issuer URL, a broken or foreign document) and
// wrap sso.ErrInvalidInput. Fix says, in plain words, what to do.
//
// Configure, StartLogin and the callback report it inside a
// *sso.ValidationError (ReasonDiscoveryFailed, ReasonJWKSFailed,
// ReasonKeysUnavailable, ReasonTokenExchange, ReasonUserInfoFailed); use
// errors.As to reach it.
type UpstreamError struct {
	Kind   UpstreamKind
	Doc    string
	URL    string
	Status int
	Want   string
	Got    string
	Err    error
}

// Error describes the fault for logs and admin diagnostics; it never
// includes a response body.
func (e *UpstreamError) Error() string {
	s := fmt.Sprintf("oidc: %s %s: %s", e.Doc, e.URL, e.what())
	if e.Err != nil && e.Kind != UpstreamStatus {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *UpstreamError) what() string {
	switch e.Kind {
	case UpstreamStatus:
		return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	case UpstreamIssuerMismatch:
		return fmt.Sprintf("issuer %q, want %q", e.Got, e.Want)
	case UpstreamIncomplete:
		return e.Got + " missing"
	}
	return string(e.Kind)
}

// Unwrap returns the class sentinel (sso.ErrUnavailable when Retryable,
// else sso.ErrInvalidInput) and the cause.
func (e *UpstreamError) Unwrap() []error {
	class := sso.ErrInvalidInput
	if e.Retryable() {
		class = sso.ErrUnavailable
	}
	if e.Err == nil {
		return []error{class}
	}
	return []error{class, e.Err}
}

// Retryable reports whether the same request may succeed later without a
// change of configuration.
func (e *UpstreamError) Retryable() bool {
	switch e.Kind {
	case UpstreamTimeout, UpstreamRefused, UpstreamNetwork:
		return true
	case UpstreamStatus:
		return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout
	}
	return false
}

// HTTPStatus is the status an admin API answers the fault with: 502 Bad
// Gateway for a fault of the IdP itself, 422 for a fault of the settings
// (an issuer URL that does not resolve, answers 404, or names another
// issuer).
func (e *UpstreamError) HTTPStatus() int {
	switch {
	case e.Kind == UpstreamDNS, e.Kind == UpstreamIssuerMismatch,
		e.Kind == UpstreamStatus && (e.Status == http.StatusNotFound || e.Status == http.StatusGone):
		return http.StatusUnprocessableEntity
	}
	return http.StatusBadGateway
}

// Fix is a plain-language suggestion for the administrator.
func (e *UpstreamError) Fix() string {
	switch e.Kind {
	case UpstreamStatus:
		switch {
		case e.Status == http.StatusNotFound || e.Status == http.StatusGone:
			return "check the issuer URL: it must be the exact issuer your IdP publishes, so that issuer + /.well-known/openid-configuration serves its configuration"
		case e.Doc == docGraph && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden):
			return "grant the application the GroupMember.Read.All application permission (with admin consent) at the IdP"
		case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
			return "the IdP refuses the request: check that the endpoint is public and not behind a login or an IP allowlist"
		case e.Retryable():
			return "the IdP is failing or overloaded: try again later, or check its status page"
		}
		return "the IdP refuses the request: check the URL and the IdP's application settings"
	case UpstreamTimeout:
		return "the IdP did not answer in time: try again later, or check that the URL points at the IdP and it is reachable from this server"
	case UpstreamRefused, UpstreamNetwork:
		return "the IdP could not be reached: check the host and port of the URL and that the IdP is running and reachable from this server"
	case UpstreamDNS:
		return "the host name does not resolve: check the spelling of the issuer URL"
	case UpstreamTLS:
		return "the IdP's TLS certificate is not trusted or not valid for its host name: fix the IdP's certificate"
	case UpstreamMalformed:
		return "the URL does not serve the expected JSON document: check that it is the IdP's issuer (or endpoint) URL and not a login or web page"
	case UpstreamTooLarge:
		return "the document is far larger than an IdP publishes: check that the URL points at the IdP's document"
	case UpstreamIssuerMismatch:
		return fmt.Sprintf("set the issuer to exactly %q if that is your IdP, otherwise correct the URL (the comparison is exact: scheme, case and trailing slash count)", e.Got)
	case UpstreamIncomplete:
		return "the IdP's configuration lacks an endpoint a login needs: enable the authorization code flow at the IdP or enter the endpoints by hand"
	}
	return ""
}

// classifyTransport turns an error of http.Client.Do, or of reading the
// body, into an UpstreamError.
func classifyTransport(doc, rawURL string, err error) *UpstreamError {
	e := &UpstreamError{Kind: UpstreamNetwork, Doc: doc, URL: redactURL(rawURL), Err: err}
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	var unknownCA x509.UnknownAuthorityError
	var invalidCert x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	var ne net.Error
	switch {
	case errors.Is(err, egress.ErrTooLarge):
		e.Kind = UpstreamTooLarge
	case errors.As(err, &dnsErr) && !dnsErr.IsTimeout:
		e.Kind = UpstreamDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Kind = UpstreamRefused
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &unknownCA), errors.As(err, &invalidCert), errors.As(err, &recErr):
		e.Kind = UpstreamTLS
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		e.Kind = UpstreamTimeout
	}
	return e
}

// upstreamFailure reports err, an error of a fetch for the check reason,
// as a *sso.ValidationError carrying the UpstreamError (want: a working
// answer; got: what came back) and its fix. Other errors are returned as
// they are.
func upstreamFailure(reason string, err error) error {
	var ve *sso.ValidationError
	var ue *UpstreamError
	if errors.As(err, &ve) || !errors.As(err, &ue) {
		return err
	}
	want := "HTTP 200 with a valid " + ue.Doc
	if ue.Want != "" {
		want = ue.Want
	}
	got := ue.what()
	return &sso.ValidationError{Protocol: Protocol, Reason: reason, Want: want, Got: got,
		Err: withFix(err, ue.Fix())}
}
