// Package httperr maps ssokit errors to HTTP statuses and JSON error
// bodies for the JSON endpoints.
package httperr

import (
	"errors"
	"net/http"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
)

// Status maps an error to the HTTP status the ssokit handlers answer it
// with.
func Status(err error) int {
	switch {
	case errors.Is(err, sso.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, sso.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, sso.ErrInvalidInput):
		return http.StatusBadRequest
	case errors.Is(err, sso.ErrRateLimited):
		return http.StatusTooManyRequests
	case errors.Is(err, sso.ErrForbidden), errors.Is(err, sso.ErrAccessDenied), errors.Is(err, sso.ErrSSORequired), errors.Is(err, sso.ErrNotProvisioned):
		return http.StatusForbidden
	case errors.Is(err, sso.ErrExpired):
		return http.StatusGone
	case errors.Is(err, sso.ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// WriteJSON writes {"error": reason, "message": ...} with the status
// of HTTPStatus. The message is the user-safe text of a sentinel or
// *ValidationError, never an internal error's text.
func WriteJSON(w http.ResponseWriter, _ *http.Request, err error) {
	status := Status(err)
	reason := sso.ReasonOf(err)
	msg := http.StatusText(status)
	var ve *sso.ValidationError
	switch {
	case errors.As(err, &ve):
		msg = ve.Error()
	case status != http.StatusInternalServerError:
		for _, s := range []error{sso.ErrNotFound, sso.ErrConflict, sso.ErrInvalidInput, sso.ErrRateLimited, sso.ErrForbidden,
			sso.ErrAccessDenied, sso.ErrSSORequired, sso.ErrNotProvisioned, sso.ErrExpired, sso.ErrUnavailable} {
			if errors.Is(err, s) {
				msg = s.Error()
				break
			}
		}
	}
	if status == http.StatusInternalServerError {
		reason = "internal"
	}
	httpjson.Write(w, status, map[string]string{"error": reason, "message": msg})
}

// AddSSOLogin adds to a JSON error body, when err is an
// *sso.SSORequiredError, where the organization's SSO starts
// ("sso_login_url") and a message that says so.
func AddSSOLogin(body map[string]string, err error) {
	var se *sso.SSORequiredError
	if errors.As(err, &se) && se.URL != "" {
		body["sso_login_url"] = se.URL
		body["message"] = "Your organization requires single sign-on: sign in through its identity provider at " + se.URL + "."
	}
}
