package mfa

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/ssokit/ssokit/sso"
)

// maxBody bounds JSON request bodies.
const maxBody = 64 << 10

func (m *Manager) routes() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", m.ServeStatus)
	mux.HandleFunc("GET /step-up/idp", m.ServeIdPStepUp)
	mux.HandleFunc("POST /totp/enroll", m.ServeTOTPEnroll)
	mux.HandleFunc("POST /totp/confirm", m.ServeTOTPConfirm)
	mux.HandleFunc("POST /verify", m.ServeVerify)
	mux.HandleFunc("POST /recovery", m.ServeRecovery)
	mux.HandleFunc("POST /recovery/regenerate", m.ServeRegenerateRecovery)
	mux.HandleFunc("POST /disable", m.ServeDisable)
	mux.HandleFunc("POST /webauthn/register/begin", m.ServeWebAuthnRegisterBegin)
	mux.HandleFunc("POST /webauthn/register/finish", m.ServeWebAuthnRegisterFinish)
	mux.HandleFunc("POST /webauthn/login/begin", m.ServeWebAuthnLoginBegin)
	mux.HandleFunc("POST /webauthn/login/finish", m.ServeWebAuthnLoginFinish)
	mux.HandleFunc("POST /passkey/begin", m.ServePasskeyBegin)
	mux.HandleFunc("POST /passkey/finish", m.ServePasskeyFinish)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeJSONError(w, http.StatusNotFound, "not_found") })
	m.mux = mux
}

// ServeHTTP serves the JSON API on relative routes; mount it behind the
// session middleware with http.StripPrefix:
//
//	GET  /status                   factors, recovery codes left, policy
//	POST /totp/enroll              start TOTP enrolment (secret, URI, QR)  [enrol]
//	POST /totp/confirm             {"code","enrollment"}: activate; returns recovery codes  [enrol]
//	POST /verify                   {"code"}: TOTP as second factor
//	POST /recovery                 {"code"}: recovery code as second factor
//	POST /recovery/regenerate      new recovery codes  [reverify]
//	POST /disable                  {"factor","credential_id"}  [reverify]
//	POST /webauthn/register/begin  creation options + ceremony  [enrol]
//	POST /webauthn/register/finish {"ceremony","name","credential"}  [enrol]
//	POST /webauthn/login/begin     request options + ceremony
//	POST /webauthn/login/finish    {"ceremony","credential"}
//	POST /passkey/begin            request options + ceremony (Config.Passkeys)
//	POST /passkey/finish           {"ceremony","credential"}
//
// POST requests must be application/json (which also keeps cross-site forms
// out). A successful second factor elevates and rotates the session through
// Config.Elevator.
//
// The routes marked [reverify] manage the user's factors: the session must
// have verified one of the user's existing factors here, locally (POST
// /verify, /recovery or a WebAuthn login), within Config.RecentMFA; an MFA
// asserted by an IdP never counts, whatever TrustIdPMFA says. Otherwise
// they answer 403 {"error": "mfa_reverification_required"}. The routes
// marked [enrol] need the same while the user has an active factor; for the
// first factor they need a login of the session's own within
// Config.RecentLogin (a session that entered its organization by a switch
// has none) or a fresh local verification, and answer 401
// {"error": "reauthentication_required"} otherwise. Access tokens get
// "reauthentication_required" on every [enrol] and [reverify] route.
func (m *Manager) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }

// principal returns the request's principal or answers 401.
func (m *Manager) principal(w http.ResponseWriter, r *http.Request) (*sso.Principal, *http.Request, bool) {
	p, ok := sso.PrincipalFrom(r.Context())
	if !ok || p.UserID == "" {
		writeJSONError(w, http.StatusUnauthorized, CodeUnauthenticated)
		return nil, r, false
	}
	return p, r.WithContext(withRequestInfo(r)), true
}

// decode reads a JSON body into v (an empty body leaves v alone).
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" {
		writeJSONError(w, http.StatusUnsupportedMediaType, "unsupported_media_type")
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeJSONError(w, http.StatusRequestEntityTooLarge, "invalid_request")
		return false
	}
	if len(body) == 0 || v == nil {
		return true
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeJSONError(w, http.StatusBadRequest, "invalid_request")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeJSONError writes {"error": code, "message": ...} (see messages).
func writeJSONError(w http.ResponseWriter, status int, code string) {
	body := map[string]string{"error": code}
	if msg, ok := messages[code]; ok {
		body["message"] = msg
	}
	writeJSON(w, status, body)
}

// defaultError renders err as JSON {"error": reason} and logs causes that
// are not the user's doing.
func (m *Manager) defaultError(w http.ResponseWriter, r *http.Request, err error) {
	var le *LockoutError
	if errors.As(err, &le) {
		secs := int(le.Until.Sub(m.now()).Seconds()) + 1
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		writeJSONError(w, http.StatusTooManyRequests, ReasonLockedOut)
		return
	}
	switch {
	case errors.Is(err, ErrReauthenticationRequired):
		writeJSONError(w, http.StatusUnauthorized, CodeReauthenticationRequired)
		return
	case errors.Is(err, ErrReverificationRequired):
		m.deny(w, r, m.cfg.VerifyURL, CodeReverificationRequired)
		return
	case errors.Is(err, ErrStepUpRequired):
		writeJSONError(w, http.StatusForbidden, CodeStepUpRequired)
		return
	}
	var ve *sso.ValidationError
	if errors.As(err, &ve) {
		status := http.StatusUnauthorized
		switch ve.Reason {
		case ReasonCodeMalformed, ReasonRecoveryMalformed, ReasonWebAuthnMalformed:
			status = http.StatusBadRequest
		case ReasonAlreadyEnrolled, ReasonNoPendingEnrolment, ReasonEnrolmentReplaced:
			status = http.StatusConflict
		case ReasonNotEnrolled, ReasonWebAuthnDisabled:
			status = http.StatusNotFound
		}
		writeJSONError(w, status, ve.Reason)
		return
	}
	switch {
	case errors.Is(err, sso.ErrInvalidInput):
		writeJSONError(w, http.StatusBadRequest, "invalid_request")
	case errors.Is(err, sso.ErrUnavailable):
		m.log.ErrorContext(r.Context(), "mfa: backend unavailable", slog.Any("error", err))
		writeJSONError(w, http.StatusServiceUnavailable, "unavailable")
	default:
		m.log.ErrorContext(r.Context(), "mfa: request failed", slog.String("path", r.URL.Path), slog.Any("error", err))
		writeJSONError(w, http.StatusInternalServerError, "internal")
	}
}

// elevate records the completed second factor on the session.
func (m *Manager) elevate(w http.ResponseWriter, r *http.Request) bool {
	if m.cfg.Elevator == nil {
		m.errorFn(w, r, errors.New("mfa: no Elevator configured"))
		return false
	}
	if err := m.cfg.Elevator.ElevateMFA(w, r, m.now()); err != nil {
		m.errorFn(w, r, err)
		return false
	}
	return true
}

type codeRequest struct {
	Code string `json:"code"`
}

// confirmRequest is the body of POST /totp/confirm: the code, and the
// enrolment it is for (Enrollment.ID; optional).
type confirmRequest struct {
	Code       string `json:"code"`
	Enrollment string `json:"enrollment"`
}

// ServeStatus answers GET /status with the principal's Status.
func (m *Manager) ServeStatus(w http.ResponseWriter, r *http.Request) {
	p, r, ok := m.principal(w, r)
	if !ok {
		return
	}
	st, err := m.Status(r.Context(), p)
	if err != nil {
		m.errorFn(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

type enrollResponse struct {
	Secret    string `json:"secret"`
	URI       string `json:"uri"`
	QRPNG     string `json:"qr_png"`
	QRDataURL string `json:"qr_data_url"`
	Issuer    string `json:"issuer"`
	Account   string `json:"account"`
}

// ServeTOTPEnroll answers POST /totp/enroll with the new secret, otpauth
// URI and QR code (PNG as base64 and as a data URL).
func (m *Manager) ServeTOTPEnroll(w http.ResponseWriter, r *http.Request) {
	p, r, ok := m.principal(w, r)
	if !ok || !decode(w, r, nil) {
		return
	}
	e, err := m.StartTOTPEnrollment(r.Context(), p)
	if err != nil {
		m.errorFn(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, enrollResponse{Secret: e.Secret, URI: e.URI, QRPNG: base64.StdEncoding.EncodeToString(e.QRPNG),
		QRDataURL: e.QRDataURL, Issuer: e.Issuer, Account: e.Account})
}

type codesResponse struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// ServeTOTPConfirm answers POST /totp/confirm {"code"}: it activates the
// pending factor, elevates the session and returns recovery codes (empty
// when the user already had some).
func (m *Manager) ServeTOTPConfirm(w http.ResponseWriter, r *http.Request) {
	p, r, ok := m.principal(w, r)
	var req confirmRequest
	if !ok || !decode(w, r, &req) {
		return
	}
	codes, err := m.ConfirmTOTPEnrollmentOf(r.Context(), p, req.Enrollment, req.Code)
	if err != nil {
		m.errorFn(w, r, err)
		return
	}
	// The new factor is enrolled either way; it elevates the session only
	// where a local factor may satisfy the organization's MFA.
	// A failed policy lookup elevates nothing (the factor stays enrolled).
	switch refused, err := m.localFactorRefused(r.Context(), p); {
	case err != nil:
		m.log.ErrorContext(r.Context(), "mfa: step-up policy lookup failed; session not elevated", "error", err)
	case !refused:
		if !m.elevate(w, r) {
			return
		}
	}
	writeJSON(w, http.StatusOK, codesResponse{RecoveryCodes: nonNil(codes)})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ServeVerify answers POST /verify {"code"}: the TOTP second login step.
func (m *Manager) ServeVerify(w http.ResponseWriter, r *http.Request) {
	p, r, ok := m.principal(w, r)
	var req codeRequest
	if !ok || !decode(w, r, &req) {
		return
	}
	if err := m.VerifyTOTP(r.Context(), p, req.Code); err != nil {
		m.answerFactorErr(w, r, err)
		return
	}
	if !m.elevate(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// ServeRecovery answers POST /recovery {"code"}: a recovery code as the
// second factor.
func (m *Manager) ServeRecovery(w http.ResponseWriter, r *http.Request) {
	p, r, ok := m.principal(w, r)
	var req codeRequest
	if !ok || !decode(w, r, &req) {
		return
	}
	res, err := m.UseRecoveryCode(r.Context(), p, req.Code)
	if err != nil {
		m.answerFactorErr(w, r, err)
		return
	}
	if !m.elevate(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// ServeRegenerateRecovery answers POST /recovery/regenerate with a new set
// of recovery codes.
func (m *Manager) ServeRegenerateRecovery(w http.ResponseWriter, r *http.Request) {
	p, r, ok := m.principal(w, r)
	if !ok || !decode(w, r, nil) {
		return
	}
	codes, err := m.RegenerateRecoveryCodes(r.Context(), p)
	if err != nil {
		m.errorFn(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, codesResponse{RecoveryCodes: codes})
}

type disableRequest struct {
	Factor       string `json:"factor"`
	CredentialID string `json:"credential_id"`
}

// ServeDisable answers POST /disable {"factor", "credential_id"}.
func (m *Manager) ServeDisable(w http.ResponseWriter, r *http.Request) {
	p, r, ok := m.principal(w, r)
	var req disableRequest
	if !ok || !decode(w, r, &req) {
		return
	}
	if err := m.Disable(r.Context(), p, req.Factor, req.CredentialID); err != nil {
		m.errorFn(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

type ceremonyResponse struct {
	Ceremony string `json:"ceremony"`
	Options  any    `json:"options"`
}

// ServeWebAuthnRegisterBegin answers POST /webauthn/register/begin with
// {"ceremony", "options"}; options is the CredentialCreation JSON
// ({"publicKey": ...}).
func (m *Manager) ServeWebAuthnRegisterBegin(w http.ResponseWriter, r *http.Request) {
	p, r, ok := m.principal(w, r)
	if !ok || !decode(w, r, nil) {
		return
	}
	id, opts, err := m.BeginWebAuthnRegistration(r.Context(), p)
	if err != nil {
		m.errorFn(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ceremonyResponse{Ceremony: id, Options: opts})
}

type finishRequest struct {
	Ceremony   string          `json:"ceremony"`
	Name       string          `json:"name"`
	Credential json.RawMessage `json:"credential"`
}

// ServeWebAuthnRegisterFinish answers POST /webauthn/register/finish.
func (m *Manager) ServeWebAuthnRegisterFinish(w http.ResponseWriter, r *http.Request) {
	p, r, ok := m.principal(w, r)
	var req finishRequest
	if !ok || !decode(w, r, &req) {
		return
	}
	info, codes, err := m.FinishWebAuthnRegistration(r.Context(), p, req.Ceremony, req.Name, req.Credential)
	if err != nil {
		m.errorFn(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Credential    *CredentialInfo `json:"credential"`
		RecoveryCodes []string        `json:"recovery_codes"`
	}{info, nonNil(codes)})
}

// ServeWebAuthnLoginBegin answers POST /webauthn/login/begin with
// {"ceremony", "options"}; options is the CredentialAssertion JSON.
func (m *Manager) ServeWebAuthnLoginBegin(w http.ResponseWriter, r *http.Request) {
	m.serveAssertionBegin(w, r, m.BeginWebAuthnLogin)
}

// ServeWebAuthnLoginFinish answers POST /webauthn/login/finish and elevates
// the session on success.
func (m *Manager) ServeWebAuthnLoginFinish(w http.ResponseWriter, r *http.Request) {
	m.serveAssertionFinish(w, r, m.FinishWebAuthnLogin)
}

// ServePasskeyBegin answers POST /passkey/begin with {"ceremony",
// "options"}: a check by one of the user's passkeys (Config.Passkeys).
func (m *Manager) ServePasskeyBegin(w http.ResponseWriter, r *http.Request) {
	m.serveAssertionBegin(w, r, m.BeginPasskeyCheck)
}

// ServePasskeyFinish answers POST /passkey/finish and elevates the session
// on success.
func (m *Manager) ServePasskeyFinish(w http.ResponseWriter, r *http.Request) {
	m.serveAssertionFinish(w, r, m.FinishPasskeyCheck)
}

// serveAssertionBegin answers the begin step of an assertion ceremony
// (a security key's or a passkey's) with {"ceremony", "options"}.
func (m *Manager) serveAssertionBegin(w http.ResponseWriter, r *http.Request,
	begin func(context.Context, *sso.Principal) (string, *protocol.CredentialAssertion, error)) {
	p, r, ok := m.principal(w, r)
	if !ok || !decode(w, r, nil) {
		return
	}
	id, opts, err := begin(r.Context(), p)
	if err != nil {
		m.answerFactorErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ceremonyResponse{Ceremony: id, Options: opts})
}

// serveAssertionFinish answers the finish step of an assertion ceremony
// ({"ceremony", "credential"}) and elevates the session on success.
func (m *Manager) serveAssertionFinish(w http.ResponseWriter, r *http.Request,
	finish func(ctx context.Context, p *sso.Principal, ceremonyID string, body []byte) error) {
	p, r, ok := m.principal(w, r)
	var req finishRequest
	if !ok || !decode(w, r, &req) {
		return
	}
	if err := finish(r.Context(), p, req.Ceremony, req.Credential); err != nil {
		m.answerFactorErr(w, r, err)
		return
	}
	if !m.elevate(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}
