package sso

import (
	"errors"
	"net/http"

	"github.com/ssokit/ssokit/internal/httpjson"
)

// HTTPStatus maps an error to the HTTP status the ssokit handlers answer it
// with.
func HTTPStatus(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrInvalidInput):
		return http.StatusBadRequest
	case errors.Is(err, ErrRateLimited):
		return http.StatusTooManyRequests
	case errors.Is(err, ErrForbidden), errors.Is(err, ErrAccessDenied), errors.Is(err, ErrSSORequired), errors.Is(err, ErrNotProvisioned):
		return http.StatusForbidden
	case errors.Is(err, ErrExpired):
		return http.StatusGone
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// WriteJSONError writes {"error": reason, "message": ...} with the status
// of HTTPStatus. The message is the user-safe text of a sentinel or
// *ValidationError, never an internal error's text.
func WriteJSONError(w http.ResponseWriter, _ *http.Request, err error) {
	status := HTTPStatus(err)
	reason := ReasonOf(err)
	msg := http.StatusText(status)
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		msg = ve.Error()
	case status != http.StatusInternalServerError:
		for _, s := range []error{ErrNotFound, ErrConflict, ErrInvalidInput, ErrRateLimited, ErrForbidden,
			ErrAccessDenied, ErrSSORequired, ErrNotProvisioned, ErrExpired, ErrUnavailable} {
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
