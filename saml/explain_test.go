package saml_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

// TestDefaultErrorHandlerExplains checks the SAML error page a person
// sees: what happened and what to do next for SAML's own reasons and the
// shared ones, the status, the reference, and never the private cause.
func TestDefaultErrorHandlerExplains(t *testing.T) {
	t.Parallel()
	cause := errors.New("private cause detail")
	for _, tc := range []struct {
		err          error
		status       int
		what, next   string
		wantedReason string
	}{
		{&sso.ValidationError{Protocol: saml.Protocol, Reason: saml.ReasonReplayed, Err: cause}, http.StatusBadRequest,
			"already used", "Start signing in again", saml.ReasonReplayed},
		{&sso.ValidationError{Protocol: saml.Protocol, Reason: saml.ReasonNotYetValid, Err: cause}, http.StatusBadRequest,
			"clock", "identity provider&#39;s clock may be wrong", saml.ReasonNotYetValid},
		{&sso.ValidationError{Protocol: saml.Protocol, Reason: saml.ReasonUnsolicited, Err: cause}, http.StatusBadRequest,
			"app portal", "sign in from there", saml.ReasonUnsolicited},
		{&sso.ValidationError{Protocol: saml.Protocol, Reason: saml.ReasonCertificateExpired, Err: cause}, http.StatusBadRequest,
			"certificate", "current certificate", saml.ReasonCertificateExpired},
		{&sso.ValidationError{Protocol: saml.Protocol, Reason: saml.ReasonSignatureInvalid, Err: cause}, http.StatusBadRequest,
			"could not be accepted", "quote the reference", saml.ReasonSignatureInvalid},
		{&sso.ValidationError{Protocol: saml.Protocol, Reason: saml.ReasonTooLarge, Err: cause}, http.StatusRequestEntityTooLarge,
			"too large", "too many groups", saml.ReasonTooLarge},
		{fmt.Errorf("login: %w", sso.ErrNotProvisioned), http.StatusForbidden,
			"do not have an account", "give you access", "not_provisioned"},
		{fmt.Errorf("%w: %w", sso.ErrUnavailable, cause), http.StatusServiceUnavailable,
			"could not be reached", "Try again in a few minutes", "unavailable"},
	} {
		rec := httptest.NewRecorder()
		saml.DefaultErrorHandler(rec, httptest.NewRequest(http.MethodPost, "/acs", nil), tc.err)
		body := rec.Body.String()
		if rec.Code != tc.status || !strings.Contains(body, tc.what) || !strings.Contains(body, tc.next) ||
			!strings.Contains(body, "Reference: <code>"+tc.wantedReason+"</code>") {
			t.Errorf("%v: status %d, body %s; want %d with %q, %q and the reference %q", tc.err, rec.Code, body, tc.status, tc.what, tc.next, tc.wantedReason)
		}
		if strings.Contains(body, "private cause") {
			t.Errorf("%v: the page shows the private cause", tc.err)
		}
	}
}
