package password

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/ssokit/ssokit/internal/httperr"
	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/sso"
)

// maxBody bounds request bodies.
const maxBody = 16 << 10

func (m *Manager) routes() {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /signup", m.guard(m.serveSignUp))
	mux.HandleFunc("POST /login", m.guard(m.serveLogin))
	mux.HandleFunc("POST /verify", m.guard(m.serveVerify))
	mux.HandleFunc("POST /verify/resend", m.guard(m.serveResend))
	mux.HandleFunc("POST /reset/request", m.guard(m.serveResetRequest))
	mux.HandleFunc("POST /reset", m.guard(m.serveReset))
	mux.HandleFunc("POST /change", m.guard(m.serveChange))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusNotFound, map[string]string{"error": "not_found", "message": "no such route"})
	})
	m.mux = mux
}

// ServeHTTP serves the flows on relative routes; mount it with
// http.StripPrefix behind the session middleware (which /change needs):
//
//	POST /signup         {email, password, name}          202 check_email
//	POST /login          {email, password, org, return_to} 200 signed_in (form: 303 to return_to)
//	POST /verify         {token}                          200 verified
//	POST /verify/resend  {email}                          202 check_email
//	POST /reset/request  {email}                          202 check_email
//	POST /reset          {token, password}                200 password_reset
//	POST /change         {current_password, new_password} 200 password_changed
//
// Bodies are JSON (application/json) or form posts
// (application/x-www-form-urlencoded) with the same field names; a form
// post is answered with a 303 to its return_to (or Config.DefaultReturnTo)
// instead of JSON. Cross-origin POSTs are refused (403 cross_origin) by
// http.CrossOriginProtection, which keeps login CSRF out too. Refusals
// follow the admin API's JSON shape and name the field and the fix; see
// WriteError. Every route is rate limited per client address.
func (m *Manager) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }

// guard applies the same-origin check, the per-address rate limit and the
// body bound.
func (m *Manager) guard(next func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	cop := http.NewCrossOriginProtection()
	return func(w http.ResponseWriter, r *http.Request) {
		if err := cop.Check(r); err != nil {
			m.cfg.ErrorHandler(w, r, deny(ReasonCrossOrigin, sso.ErrForbidden))
			return
		}
		if !m.limiter.Allow(m.cfg.ClientIP(r)) {
			m.cfg.ErrorHandler(w, r, deny(ReasonRateLimited, sso.ErrRateLimited))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		r = r.WithContext(m.requestCtx(r))
		if err := next(w, r); err != nil {
			if httperr.Status(err) >= 500 && !errors.As(err, new(*sso.ValidationError)) {
				m.log.ErrorContext(r.Context(), "password: request failed", "path", r.URL.Path, "err", err)
			}
			m.cfg.ErrorHandler(w, r, err)
		}
	}
}

// form is every field a route reads.
type form struct {
	Email           string `json:"email"`
	Password        string `json:"password"`
	Name            string `json:"name"`
	Org             string `json:"org"`
	ReturnTo        string `json:"return_to"`
	Token           string `json:"token"`
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// isForm reports whether r is a form post.
func isForm(r *http.Request) bool {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct == "application/x-www-form-urlencoded"
}

// decode reads a JSON object or a form post into f.
func decode(r *http.Request) (*form, error) {
	malformed := deny(ReasonMalformed, sso.ErrInvalidInput)
	var f form
	if isForm(r) {
		if err := r.ParseForm(); err != nil {
			return nil, malformed
		}
		p := r.PostForm
		f = form{Email: p.Get("email"), Password: p.Get("password"), Name: p.Get("name"), Org: p.Get("org"),
			ReturnTo: p.Get("return_to"), Token: p.Get("token"), CurrentPassword: p.Get("current_password"), NewPassword: p.Get("new_password")}
		return &f, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" {
		return nil, malformed
	}
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

// done answers a successful request: JSON with status, or a 303 to the
// form's return path.
func (m *Manager) done(w http.ResponseWriter, r *http.Request, f *form, code int, status string) {
	to := returnto.Safe(f.ReturnTo, m.cfg.DefaultReturnTo)
	if isForm(r) {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	httpjson.Write(w, code, map[string]string{"status": status, "return_to": to})
}

func (m *Manager) serveSignUp(w http.ResponseWriter, r *http.Request) error {
	f, err := decode(r)
	if err != nil {
		return err
	}
	if err := m.SignUp(r.Context(), f.Email, f.Password, f.Name); err != nil {
		return err
	}
	m.done(w, r, f, http.StatusAccepted, "check_email")
	return nil
}

func (m *Manager) serveLogin(w http.ResponseWriter, r *http.Request) error {
	f, err := decode(r)
	if err != nil {
		return err
	}
	if _, err := m.Login(w, r, LoginRequest{Email: f.Email, Password: f.Password, Org: f.Org}); err != nil {
		return err
	}
	m.done(w, r, f, http.StatusOK, "signed_in")
	return nil
}

func (m *Manager) serveVerify(w http.ResponseWriter, r *http.Request) error {
	f, err := decode(r)
	if err != nil {
		return err
	}
	if _, err := m.VerifyEmail(r.Context(), f.Token); err != nil {
		return err
	}
	m.done(w, r, f, http.StatusOK, "verified")
	return nil
}

func (m *Manager) serveResend(w http.ResponseWriter, r *http.Request) error {
	f, err := decode(r)
	if err != nil {
		return err
	}
	if err := m.ResendVerification(r.Context(), f.Email); err != nil {
		return err
	}
	m.done(w, r, f, http.StatusAccepted, "check_email")
	return nil
}

func (m *Manager) serveResetRequest(w http.ResponseWriter, r *http.Request) error {
	f, err := decode(r)
	if err != nil {
		return err
	}
	if err := m.RequestReset(r.Context(), f.Email); err != nil {
		return err
	}
	m.done(w, r, f, http.StatusAccepted, "check_email")
	return nil
}

func (m *Manager) serveReset(w http.ResponseWriter, r *http.Request) error {
	f, err := decode(r)
	if err != nil {
		return err
	}
	if err := m.ResetPassword(r.Context(), f.Token, f.Password); err != nil {
		return err
	}
	m.done(w, r, f, http.StatusOK, "password_reset")
	return nil
}

// serveChange changes the signed-in user's password, ends all their
// sessions and issues a fresh one in the session's organization, under
// the same SSO enforcement as a login (a user whose organization enforces
// SSO and who is not break-glass is left signed out).
func (m *Manager) serveChange(w http.ResponseWriter, r *http.Request) error {
	p, ok := sso.PrincipalFrom(r.Context())
	if !ok || p.UserID == "" || p.Kind != sso.PrincipalSession {
		return deny(ReasonUnauthenticated, errUnauthenticated)
	}
	f, err := decode(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if err := m.ChangePassword(ctx, p.UserID, f.CurrentPassword, f.NewPassword, m.cfg.ClientIP(r)); err != nil {
		return renameField(err, "new_password")
	}
	u, err := m.cfg.Users.GetUser(ctx, p.UserID)
	if err != nil {
		return err
	}
	org, err := m.cfg.Orgs.GetOrg(ctx, p.OrgID)
	if err != nil {
		return err
	}
	mem, err := m.cfg.Members.GetMembership(ctx, p.OrgID, u.ID)
	if err != nil && !errors.Is(err, sso.ErrNotFound) {
		return err
	}
	if mem != nil && mem.Active() && m.allowed(ctx, org, mem) == nil {
		if _, err := m.issue(w, r, u, org, mem, sso.EventLoginSucceeded); err != nil {
			return err
		}
	}
	m.done(w, r, f, http.StatusOK, "password_changed")
	return nil
}

// errUnauthenticated answers 401.
var errUnauthenticated = errors.New("password: sign in first")

// renameField points a password refusal of the change route at its
// new_password field.
func renameField(err error, field string) error {
	var fe *FieldError
	if errors.As(err, &fe) && fe.Field == "password" {
		fe.Field = field
	}
	return err
}

// WriteError is the default Config.ErrorHandler. It writes the admin API's
// JSON error shape, {"error": reason, "message": text}, adding "field" and
// "fix" for input refusals and "sso_login_url" (where to sign in instead)
// for sso_required, with the status of the reason: 400 for input,
// 401 for invalid_credentials and unauthenticated, 403 for sso_required,
// email_not_verified, access_denied and cross_origin, 429 with Retry-After
// when throttled, 503 when mail or storage is unavailable, 500 otherwise
// (reason "internal", the cause never shown).
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	reason := sso.ReasonOf(err)
	status := httperr.Status(err)
	switch reason {
	case ReasonInvalidCredentials, ReasonUnauthenticated:
		status = http.StatusUnauthorized
	case ReasonTokenExpired:
		status = http.StatusBadRequest
	}
	if errors.Is(err, errUnauthenticated) {
		status = http.StatusUnauthorized
	}
	var te *ThrottleError
	if errors.As(err, &te) {
		secs := int(time.Until(te.Until).Seconds()) + 1
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
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
