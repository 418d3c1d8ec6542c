package passkey

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/ssokit/ssokit/internal/httperr"
	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
)

// maxBody bounds a request body (a WebAuthn response is a few KB).
const maxBody = 64 << 10

// routes sets up ServeHTTP (every body and answer is JSON; POSTs must be
// same-origin):
//
//	POST   /login/begin          {} -> {"ceremony", "options"} (options.mediation may be set to "conditional" by the page)
//	POST   /login/finish         {"ceremony", "credential", "org"} -> {"return_to"}; sets the session cookie
//	POST   /register/begin       (session) -> {"ceremony", "options"}
//	POST   /register/finish      (session) {"ceremony", "credential", "name"} -> the passkey
//	GET    /credentials          (session) -> {"passkeys": [...]}
//	PATCH  /credentials/{id}     (session) {"name"}
//	DELETE /credentials/{id}     (session)
func (m *Manager) routes() {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login/begin", func(w http.ResponseWriter, r *http.Request) {
		id, opts, err := m.BeginLogin(r.Context())
		m.answer(w, r, err, map[string]any{"ceremony": id, "options": opts})
	})
	mux.HandleFunc("POST /login/finish", func(w http.ResponseWriter, r *http.Request) {
		in, err := readInput(r)
		if err == nil {
			_, err = m.FinishLogin(w, r, in.Ceremony, in.Credential, in.Org)
		}
		m.answer(w, r, err, map[string]any{"signed_in": true})
	})
	mux.HandleFunc("POST /register/begin", func(w http.ResponseWriter, r *http.Request) {
		p, _ := sso.PrincipalFrom(r.Context())
		id, opts, err := m.BeginRegistration(r.Context(), p)
		m.answer(w, r, err, map[string]any{"ceremony": id, "options": opts})
	})
	mux.HandleFunc("POST /register/finish", func(w http.ResponseWriter, r *http.Request) {
		p, _ := sso.PrincipalFrom(r.Context())
		in, err := readInput(r)
		var i *Info
		if err == nil {
			i, err = m.FinishRegistration(r.Context(), p, in.Ceremony, in.Name, in.Credential)
		}
		m.answer(w, r, err, i)
	})
	mux.HandleFunc("GET /credentials", func(w http.ResponseWriter, r *http.Request) {
		p, _ := sso.PrincipalFrom(r.Context())
		list, err := m.List(r.Context(), p)
		m.answer(w, r, err, map[string]any{"passkeys": list})
	})
	mux.HandleFunc("PATCH /credentials/{id}", func(w http.ResponseWriter, r *http.Request) {
		p, _ := sso.PrincipalFrom(r.Context())
		in, err := readInput(r)
		if err == nil {
			err = m.Rename(r.Context(), p, r.PathValue("id"), in.Name)
		}
		m.answer(w, r, err, map[string]any{"renamed": true})
	})
	mux.HandleFunc("DELETE /credentials/{id}", func(w http.ResponseWriter, r *http.Request) {
		p, _ := sso.PrincipalFrom(r.Context())
		m.answer(w, r, m.Delete(r.Context(), p, r.PathValue("id")), map[string]any{"deleted": true})
	})
	m.mux = mux
}

// ServeHTTP serves the passkey routes; mount it behind the session
// middleware (session.Manager.Load) under a prefix with http.StripPrefix.
func (m *Manager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := http.NewCrossOriginProtection().Check(r); err != nil {
		WriteError(w, r, deny("cross_origin", sso.ErrForbidden, err))
		return
	}
	if !m.limiter.Allow(m.cfg.ClientIP(r)) {
		w.Header().Set("Retry-After", "1")
		WriteError(w, r, deny(ReasonRateLimited, sso.ErrRateLimited, nil))
		return
	}
	m.mux.ServeHTTP(w, r)
}

type input struct {
	Ceremony   string          `json:"ceremony"`
	Credential json.RawMessage `json:"credential"`
	Name       string          `json:"name"`
	Org        string          `json:"org"`
}

func readInput(r *http.Request) (*input, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(b) > maxBody {
		return nil, deny(ReasonMalformed, sso.ErrInvalidInput, err)
	}
	var in input
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, deny(ReasonMalformed, sso.ErrInvalidInput, err)
	}
	return &in, nil
}

func (m *Manager) answer(w http.ResponseWriter, r *http.Request, err error, v any) {
	if err != nil {
		if httperr.Status(err) >= http.StatusInternalServerError {
			m.log.ErrorContext(r.Context(), "passkey: request failed", "err", err)
		}
		WriteError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpjson.Write(w, http.StatusOK, v)
}

var messages = map[string]string{
	ReasonCeremonyInvalid: "This passkey request expired or was already used. Try again.",
	ReasonMalformed:       "The browser sent something that is not a passkey response. Try again.",
	ReasonInvalid:         "The passkey could not be verified. Try again, or sign in another way.",
	ReasonUnknown:         "This passkey is not registered here (it may have been deleted). Sign in another way.",
	ReasonCloned:          "This passkey may have been copied, so it was refused. Sign in another way and remove it.",
	ReasonSSORequired:     "Your organization requires its own single sign-on. Sign in with your organization's identity provider.",
	ReasonNoOrganization:  "You are not a member of any organization yet. Ask your administrator for an invitation.",
	ReasonOrgRequired:     "You belong to several organizations. Choose one, then sign in again.",
	ReasonAccessDenied:    "You are not a member of this organization.",
	ReasonFeature:         "Your organization's plan does not include passkeys. Sign in another way.",
	ReasonMethodDisabled:  "Your organization has turned off passkey sign-in. Use another way it offers on the sign-in page, or ask your administrator.",
	ReasonLastCredential:  "This is your only way to sign in. Add a password or another passkey first.",
	ReasonUnauthenticated: "Sign in first.",
	ReasonRateLimited:     "Too many attempts from your network. Wait a few seconds, then try again.",
	"unavailable":         "The service is temporarily unavailable. Your passkey is fine; try again in a minute.",
	ReasonReauthenticationRequired: "To add a passkey, sign in again on this site with your password, an emailed code or " +
		"another passkey (single sign-on through your organization does not count), then add it within a few minutes.",
	ReasonReverificationRequired: "First confirm it is you with your second factor: sign in with one of your passkeys, or enter a code " +
		"from your authenticator app, then try again within a few minutes.",
}

// WriteError answers a refusal as JSON {"error": reason, "message"}, with
// the status of its sentinel (401 for reauthentication_required).
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	reason, st := sso.ReasonOf(err), httperr.Status(err)
	if reason == ReasonReauthenticationRequired {
		st = http.StatusUnauthorized
	}
	msg, ok := messages[reason]
	if !ok {
		msg = "The request was refused. Try again."
	}
	if st == http.StatusInternalServerError {
		reason, msg = "internal", "Something went wrong on our side. Try again in a minute."
	}
	body := map[string]string{"error": reason, "message": msg}
	if st != http.StatusInternalServerError {
		httperr.AddSSOLogin(body, err)
	}
	httpjson.Write(w, st, body)
}
