package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/ssokit/ssokit/internal/httperr"
	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
)

// InputError is bad input in one named request field. It matches
// sso.ErrInvalidInput; the JSON error names the field and the problem.
type InputError struct {
	// Field is the JSON name of the field at fault ("display_name",
	// "config", "overlap_seconds", ...).
	Field string
	// Problem says what is wrong and what is expected, without echoing
	// the input.
	Problem string
}

// Error implements error.
func (e *InputError) Error() string { return "admin: " + e.Field + ": " + e.Problem }

// Unwrap makes an InputError match sso.ErrInvalidInput.
func (e *InputError) Unwrap() error { return sso.ErrInvalidInput }

func inputErr(field, problem string) error { return &InputError{Field: field, Problem: problem} }

// UpstreamError reports that the IdP's (or OP's) side failed while a
// connection was being configured: its server did not answer properly, or
// the document it served (metadata, discovery) was unusable. It answers
// 502 with the cause, never a 500.
type UpstreamError struct {
	// Reason is "idp_unavailable" (no usable answer: timeout, refused,
	// 5xx) or "idp_document_invalid" (an answer that is not a usable
	// document: garbage, oversized, wrong issuer).
	Reason string
	Err    error
}

// Error implements error.
func (e *UpstreamError) Error() string {
	return "admin: identity provider: " + e.Reason + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *UpstreamError) Unwrap() error { return e.Err }

// configureErr classifies an error of a ConnectionConfigurer given raw,
// the request's config object: bad input names the setting at fault
// ("config.acs_url", see configField) or else the "config" field; a fetch
// failure or an unusable upstream document is an *UpstreamError.
func configureErr(err error, raw json.RawMessage) error {
	var ie *InputError
	var ve *sso.ValidationError
	switch {
	case err == nil || errors.As(err, &ie):
		return err
	case errors.Is(err, sso.ErrUnavailable):
		return &UpstreamError{Reason: "idp_unavailable", Err: err}
	case errors.As(err, &ve) && ve.Reason != "" && !errors.Is(err, sso.ErrInvalidInput):
		return &UpstreamError{Reason: "idp_document_invalid", Err: err}
	case errors.Is(err, sso.ErrInvalidInput):
		return &configInputError{err: err, field: configField(err, raw)}
	case httperr.Status(err) >= 500:
		return &UpstreamError{Reason: "idp_document_invalid", Err: err}
	}
	return err
}

// configInputError is a configurer's input error: field "config" or
// "config.<setting>", with the configurer's own description as detail.
type configInputError struct {
	err   error
	field string
}

// configField names the config setting a configurer's input error is
// about: an *sso.FieldError's Field, or the setting a *sso.ValidationError
// names in its reason ("invalid_mfa_acr_values") when raw carries it;
// "config" when the error names none.
func configField(err error, raw json.RawMessage) string {
	var fe *sso.FieldError
	if errors.As(err, &fe) && fe.Field != "" {
		return "config." + fe.Field
	}
	var ve *sso.ValidationError
	if errors.As(err, &ve) {
		if name, ok := strings.CutPrefix(ve.Reason, "invalid_"); ok {
			var keys map[string]json.RawMessage
			if json.Unmarshal(raw, &keys) == nil {
				if _, sent := keys[name]; sent {
					return "config." + name
				}
			}
		}
	}
	return "config"
}

// configReason is the error code of a configurer's input error: the
// reason it gives, or "invalid_input".
func configReason(err error) string {
	var fe *sso.FieldError
	if errors.As(err, &fe) && fe.Reason != "" {
		return fe.Reason
	}
	var ve *sso.ValidationError
	if errors.As(err, &ve) && ve.Reason != "" {
		return ve.Reason
	}
	return "invalid_input"
}

func (e *configInputError) Error() string { return e.err.Error() }
func (e *configInputError) Unwrap() error { return e.err }

// detail returns err's text (a *sso.ValidationError's Detail) without the
// sentinel prefix, clipped and without control characters.
func detail(err error) string {
	s := err.Error()
	// A rejected document's admin-facing description names the failed
	// check with want/got; the caller is the admin configuring it.
	var ve *sso.ValidationError
	if errors.As(err, &ve) {
		s = ve.Detail()
	}
	for _, p := range []string{sso.ErrInvalidInput.Error() + ": ", sso.ErrUnavailable.Error() + ": "} {
		s = strings.ReplaceAll(s, p, "")
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return clip(s, 300)
}

// writeError is the default ErrorHandler: httperr.WriteJSON's
// {"error", "message"}, plus "field" and "detail" where the caller's input
// or the IdP is at fault, and 502 for IdP faults.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ie *InputError
	var ue *UpstreamError
	var ce *configInputError
	var rf *Refusal
	switch {
	case errors.As(err, &rf):
		httpjson.Write(w, httperr.Status(err), map[string]string{"error": rf.Reason, "message": rf.Message})
	case errors.As(err, &ie):
		httpjson.Write(w, http.StatusBadRequest, map[string]string{"error": "invalid_input",
			"message": "invalid " + ie.Field + ": " + ie.Problem, "field": ie.Field})
	case errors.As(err, &ue):
		msg := "the identity provider did not answer properly"
		if ue.Reason == "idp_document_invalid" {
			msg = "the identity provider's document could not be used"
		}
		httpjson.Write(w, http.StatusBadGateway, map[string]string{"error": ue.Reason, "message": msg,
			"field": "config", "detail": detail(ue.Err)})
	case errors.As(err, &ce):
		d := detail(ce.err)
		var fe *sso.FieldError
		if errors.As(ce.err, &fe) {
			d = clip(fe.Message, 300)
		}
		httpjson.Write(w, http.StatusBadRequest, map[string]string{"error": configReason(ce.err),
			"message": "invalid " + ce.field + ": " + d, "field": ce.field, "detail": d})
	case httperr.Status(err) == http.StatusBadRequest && errors.Is(err, sso.ErrInvalidInput) && !errors.As(err, new(*sso.ValidationError)):
		// The API's own description of the bad input: what and why.
		httpjson.Write(w, http.StatusBadRequest, map[string]string{"error": "invalid_input",
			"message": sso.ErrInvalidInput.Error(), "detail": detail(err)})
	default:
		httperr.WriteJSON(w, r, err)
	}
}
