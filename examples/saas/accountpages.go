package main

import (
	"errors"
	"net/http"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/password"
)

// The password account pages: sign-up, email verification and reset, the
// host's own forms around sso/password's methods. The emails (at /dev/mail
// in the demo) link to /account/verify and /account/reset.

const accountTitle = "Your account"

// accountPage renders the account template in one of its modes.
func (p *pages) accountPage(w http.ResponseWriter, r *http.Request, status int, data map[string]string) {
	w.WriteHeader(status)
	p.render(w, r, "account", accountTitle, data)
}

// accountError shows a password refusal on the page with its fix, or
// renders the unavailable page.
func (p *pages) accountError(w http.ResponseWriter, r *http.Request, err error, data map[string]string) {
	var fe *password.FieldError
	switch {
	case errors.As(err, &fe):
		data["Error"] = fe.Fix
		if fe.Fix == "" {
			data["Error"] = "Check the " + fe.Field + " field."
		}
		p.accountPage(w, r, http.StatusBadRequest, data)
	case errors.Is(err, sso.ErrRateLimited):
		data["Error"] = "Too many attempts; wait a minute, then try again."
		p.accountPage(w, r, http.StatusTooManyRequests, data)
	default:
		p.a.sessionError(w, r, err)
	}
}

func (p *pages) signUp(w http.ResponseWriter, r *http.Request) {
	p.accountPage(w, r, http.StatusOK, map[string]string{"Mode": "signup", "Email": r.URL.Query().Get("login_hint")})
}

func (p *pages) signUpSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	data := map[string]string{"Mode": "signup", "Email": r.PostFormValue("email")}
	if err := p.a.password.SignUp(r.Context(), r.PostFormValue("email"), r.PostFormValue("password"), r.PostFormValue("name")); err != nil {
		p.accountError(w, r, err, data)
		return
	}
	data["Mode"], data["Notice"] = "sent", "We emailed "+data["Email"]+" a link to confirm the address. Open it to finish signing up."
	p.accountPage(w, r, http.StatusOK, data)
}

func (p *pages) verifyPage(w http.ResponseWriter, r *http.Request) {
	p.accountPage(w, r, http.StatusOK, map[string]string{"Mode": "verify", "Token": r.URL.Query().Get("token")})
}

func (p *pages) verifySubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	data := map[string]string{"Mode": "verify", "Token": r.PostFormValue("token")}
	u, err := p.a.password.VerifyEmail(r.Context(), r.PostFormValue("token"))
	if err != nil {
		data["Token"] = ""
		p.accountError(w, r, err, data)
		return
	}
	data["Mode"], data["Email"] = "verified", u.Email
	data["Notice"] = "Your address " + u.Email + " is confirmed. An organization's invitation or admin adds you; then sign in."
	p.accountPage(w, r, http.StatusOK, data)
}

func (p *pages) forgotPage(w http.ResponseWriter, r *http.Request) {
	p.accountPage(w, r, http.StatusOK, map[string]string{"Mode": "forgot", "Email": r.URL.Query().Get("login_hint")})
}

func (p *pages) forgotSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	data := map[string]string{"Mode": "forgot", "Email": r.PostFormValue("email")}
	if err := p.a.password.RequestReset(r.Context(), r.PostFormValue("email")); err != nil {
		p.accountError(w, r, err, data)
		return
	}
	data["Mode"], data["Notice"] = "sent", "If "+data["Email"]+" has an account, we emailed it a link to choose a new password."
	p.accountPage(w, r, http.StatusOK, data)
}

func (p *pages) resetPage(w http.ResponseWriter, r *http.Request) {
	p.accountPage(w, r, http.StatusOK, map[string]string{"Mode": "reset", "Token": r.URL.Query().Get("token")})
}

func (p *pages) resetSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	data := map[string]string{"Mode": "reset", "Token": r.PostFormValue("token")}
	if err := p.a.password.ResetPassword(r.Context(), r.PostFormValue("token"), r.PostFormValue("password")); err != nil {
		p.accountError(w, r, err, data)
		return
	}
	data["Mode"], data["Token"], data["Notice"] = "verified", "", "Your password was changed and your other sessions were ended. Sign in with the new password."
	p.accountPage(w, r, http.StatusOK, data)
}
