package emailcode

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/ssokit/ssokit/internal/httperr"
	"github.com/ssokit/ssokit/sso"
)

// page is what a link page shows.
type page struct {
	Title   string
	Message string
	Email   string
	Token   string
	Confirm bool
	Button  string
	// SSOURL, when set, starts the organization's SSO (an sso_required
	// refusal).
	SSOURL string
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}button{font-size:1rem;padding:.5rem 1rem}</style>
</head><body><main>
<h1>{{.Title}}</h1>
<p id="message">{{.Message}}</p>
{{if .Token}}<form method="post" action="link">
<input type="hidden" name="token" value="{{.Token}}">
{{if .Confirm}}<input type="hidden" name="confirm" value="yes">{{end}}
<button type="submit" id="continue">{{.Button}}</button>
</form>{{end}}
{{if .SSOURL}}<p><a id="sso-login" href="{{.SSOURL}}">Continue to your organization's sign-in</a></p>{{end}}
</main></body></html>
`))

// serveLinkPage shows the page of an emailed link: a button that posts it
// (a GET never uses it), with a confirmation question when the link was
// opened in another browser than the one that asked for it.
func (m *Manager) serveLinkPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	info, err := m.InspectLink(r.WithContext(m.requestCtx(r)), token)
	if err != nil {
		m.writePage(w, r, err)
		return
	}
	p := page{Title: "Sign in to " + m.cfg.AppName, Email: info.Email, Token: token, Button: "Sign in",
		Message: "Sign in as " + info.Email + "."}
	if !info.SameBrowser {
		p.Title, p.Confirm, p.Button = "Continue in this browser?", true, "Continue here"
		p.Message = "You opened this link in a different browser from the one that asked for it. " +
			"Continue here only if you asked to sign in as " + info.Email + " yourself; otherwise close this page."
	}
	m.render(w, http.StatusOK, p)
}

// writePage renders a refusal of the link routes as a page saying what
// happened and what to do next.
func (m *Manager) writePage(w http.ResponseWriter, r *http.Request, err error) {
	status := httperr.Status(err)
	p := page{Title: "This sign-in link does not work", Message: message(sso.ReasonOf(err))}
	var fe *FieldError
	if errors.As(err, &fe) {
		p.Message = fe.Fix
	}
	var se *sso.SSORequiredError
	if errors.As(err, &se) {
		p.Title, p.SSOURL = "Sign in with your organization", se.URL
	}
	switch {
	case errors.Is(err, errConfirm):
		// A post without confirmation from another browser: ask again.
		p = page{Title: "Continue in this browser?", Message: message(ReasonConfirmRequired),
			Token: r.PostForm.Get("token"), Confirm: true, Button: "Continue here"}
		status = http.StatusOK
	case status == http.StatusInternalServerError:
		p.Title, p.Message = "Something went wrong", "We could not sign you in; try the link again in a moment."
	}
	m.render(w, status, p)
}

func (m *Manager) render(w http.ResponseWriter, status int, p page) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, p)
}
