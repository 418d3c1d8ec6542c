package main

import (
	"errors"
	"net/http"

	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/emailcode"
)

// The email sign-in pages: the host's own forms around sso/emailcode's
// methods. The emailed link goes to sso/emailcode's own page under
// /auth/email/link, which asks for a click (and, in another browser than
// the one that asked, a confirmation) before it signs in.

// emailLogin shows the form that asks for a sign-in email.
func (p *pages) emailLogin(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, "email", "Sign in with an emailed code", map[string]string{
		"Email":    r.URL.Query().Get("login_hint"),
		"ReturnTo": returnto.Safe(r.URL.Query().Get("return_to"), "/dashboard"),
	})
}

// emailLoginSubmit asks sso/emailcode for a code and a link (the same
// answer whether or not the address may sign in) and shows the code form.
func (p *pages) emailLoginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	data := map[string]string{"Email": r.PostFormValue("email"), "ReturnTo": returnto.Safe(r.PostFormValue("return_to"), "/dashboard")}
	err := p.a.emailcode.Start(w, r, emailcode.Request{Email: data["Email"], ReturnTo: data["ReturnTo"]})
	switch reason := sso.ReasonOf(err); {
	case err == nil:
		data["Sent"] = "yes"
	case reason == emailcode.ReasonEmailInvalid:
		w.WriteHeader(http.StatusBadRequest)
		data["Error"] = "Enter an email address such as jane@example.com."
	case reason == emailcode.ReasonRateLimited:
		w.WriteHeader(http.StatusTooManyRequests)
		data["Error"] = "Too many sign-in emails were asked for; wait a while, then try again."
	default:
		p.a.sessionError(w, r, err)
		return
	}
	p.render(w, r, "email", "Sign in with an emailed code", data)
}

// emailCodeSubmit signs in with the code typed into this browser.
func (p *pages) emailCodeSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	data := map[string]string{"Email": r.PostFormValue("email"), "Sent": "yes"}
	_, to, err := p.a.emailcode.VerifyCode(w, r, r.PostFormValue("code"))
	if err == nil {
		http.Redirect(w, r, returnto.Safe(to, "/dashboard"), http.StatusSeeOther)
		return
	}
	var fe *emailcode.FieldError
	switch reason := sso.ReasonOf(err); {
	case reason == emailcode.ReasonSSORequired:
		w.WriteHeader(http.StatusForbidden)
		data["Error"], data["Sent"] = "Your organization requires single sign-on. Use the sign-in page to go to its identity provider.", ""
	case reason == emailcode.ReasonNoOrganization:
		w.WriteHeader(http.StatusForbidden)
		data["Error"], data["Sent"] = "Your address is confirmed, but no organization has added you yet. Ask your administrator for an invitation.", ""
	case reason == emailcode.ReasonMethodDisabled || reason == emailcode.ReasonFeature:
		w.WriteHeader(http.StatusForbidden)
		data["Error"], data["Sent"] = "Your organization does not allow sign-in with an emailed code. Go back to the sign-in page and use a way it offers.", ""
	case errors.As(err, &fe):
		w.WriteHeader(http.StatusBadRequest)
		data["Error"] = fe.Fix
		if reason != emailcode.ReasonCodeInvalid {
			data["Sent"] = ""
		}
	case errors.Is(err, sso.ErrRateLimited) || errors.Is(err, sso.ErrAccessDenied):
		w.WriteHeader(http.StatusForbidden)
		data["Error"], data["Sent"] = "You cannot sign in this way right now; ask for a new code later.", ""
	default:
		p.a.sessionError(w, r, err)
		return
	}
	p.render(w, r, "email", "Sign in with an emailed code", data)
}
