package emailcode

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/ssokit/ssokit/internal/httperr"
	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/sso"
)

// maxBody bounds request bodies.
const maxBody = 8 << 10

func (m *Manager) routes() {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /request", m.guard(m.serveRequest, m.cfg.ErrorHandler))
	mux.HandleFunc("POST /code", m.guard(m.serveCode, m.cfg.ErrorHandler))
	mux.HandleFunc("GET /link", m.serveLinkPage)
	mux.HandleFunc("POST /link", m.guard(m.serveLink, m.writePage))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusNotFound, map[string]string{"error": "not_found", "message": "no such route"})
	})
	m.mux = mux
}

// ServeHTTP serves the flows on relative routes; mount it with
// http.StripPrefix at Config.BaseURL's path, behind the session
// middleware:
//
//	POST /request  {email, org, return_to}  202 {"status": "check_email"} and the browser cookie
//	POST /code     {code}                   200 {"status": "signed_in", "return_to": ...}
//	GET  /link?token=...                    a page with a button that posts the link
//	POST /link     form: token, confirm     303 to the return path, or a page saying what failed
//
// /request and /code take JSON (application/json); their refusals follow
// the admin API's JSON shape (see WriteError). The link routes are pages a
// person reads: a GET never uses the link (mail scanners fetch links), and
// a link opened in another browser than the one that asked for it asks
// "continue here?" before its button posts confirm=yes. Cross-origin
// POSTs are refused (cross_origin) by http.CrossOriginProtection, and
// every route is rate limited per client address.
func (m *Manager) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }

// guard applies the same-origin check, the per-address rate limit and the
// body bound, and renders errors with onErr.
func (m *Manager) guard(next func(w http.ResponseWriter, r *http.Request) error, onErr func(http.ResponseWriter, *http.Request, error)) http.HandlerFunc {
	cop := http.NewCrossOriginProtection()
	return func(w http.ResponseWriter, r *http.Request) {
		if err := cop.Check(r); err != nil {
			onErr(w, r, deny(ReasonCrossOrigin, sso.ErrForbidden))
			return
		}
		if !m.limiter.Allow(m.cfg.ClientIP(r)) {
			onErr(w, r, errRateLimited)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		r = r.WithContext(m.requestCtx(r))
		if err := next(w, r); err != nil {
			if httperr.Status(err) >= 500 && !errors.As(err, new(*sso.ValidationError)) {
				m.log.ErrorContext(r.Context(), "emailcode: request failed", "path", r.URL.Path, "err", err)
			}
			onErr(w, r, err)
		}
	}
}

// form is every field the JSON routes read.
type form struct {
	Email    string `json:"email"`
	Org      string `json:"org"`
	ReturnTo string `json:"return_to"`
	Code     string `json:"code"`
}

// decode reads a JSON object into f.
func decode(r *http.Request) (*form, error) {
	malformed := deny(ReasonMalformed, sso.ErrInvalidInput)
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		return nil, malformed
	}
	var f form
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, malformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, malformed
	}
	return &f, nil
}

func (m *Manager) serveRequest(w http.ResponseWriter, r *http.Request) error {
	f, err := decode(r)
	if err != nil {
		return err
	}
	if err := m.Start(w, r, Request{Email: f.Email, Org: f.Org, ReturnTo: f.ReturnTo}); err != nil {
		return err
	}
	httpjson.Write(w, http.StatusAccepted, map[string]string{"status": "check_email",
		"message": "If this address may sign in, we emailed it a code and a link. Enter the code here, or open the link."})
	return nil
}

func (m *Manager) serveCode(w http.ResponseWriter, r *http.Request) error {
	f, err := decode(r)
	if err != nil {
		return err
	}
	_, to, err := m.VerifyCode(w, r, f.Code)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, map[string]string{"status": "signed_in", "return_to": returnto.Safe(to, m.cfg.DefaultReturnTo)})
	return nil
}

func (m *Manager) serveLink(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return deny(ReasonMalformed, sso.ErrInvalidInput)
	}
	_, to, err := m.OpenLink(w, r, r.PostForm.Get("token"), r.PostForm.Get("confirm") == "yes")
	if err != nil {
		return err
	}
	http.Redirect(w, r, returnto.Safe(to, m.cfg.DefaultReturnTo), http.StatusSeeOther)
	return nil
}

// WriteError is the default Config.ErrorHandler of the JSON routes. It
// writes the admin API's JSON error shape, {"error": reason, "message":
// text}, adding "field" and "fix" for input refusals, with the status of
// the reason: 400 for input, 403 for sso_required, access_denied,
// confirm_required and cross_origin, 410 for expired codes and links, 429
// with Retry-After when limited, 503 when storage is unavailable, 500
// otherwise (reason "internal", the cause never shown).
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	reason := sso.ReasonOf(err)
	status := httperr.Status(err)
	if status == http.StatusTooManyRequests {
		retry := 60
		if errors.Is(err, errCodesSpent) {
			// The day's codes for the address: the oldest leaves the
			// 24-hour window at the latest a day from now.
			retry = 24 * 60 * 60
		}
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	body := map[string]string{"error": reason, "message": message(reason)}
	var fe *FieldError
	if errors.As(err, &fe) {
		body["field"], body["fix"], body["message"] = fe.Field, fe.Fix, fe.Fix
	}
	httperr.AddSSOLogin(body, err)
	if status == http.StatusInternalServerError {
		body = map[string]string{"error": "internal", "message": http.StatusText(status)}
	}
	httpjson.Write(w, status, body)
}
