package invite

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"

	"github.com/ssokit/ssokit/internal/httperr"
	"github.com/ssokit/ssokit/sso"
)

// ServeHTTP serves the accept page on relative routes; mount it with
// http.StripPrefix behind the session middleware, at Config.AcceptURL's
// directory:
//
//	GET  /accept?token=...  the invitation: organization, address, roles, and an Accept button
//	POST /accept            form: token; accepts as the signed-in user (or a new account)
//
// A GET never uses the invitation. Pages say what happened and what to do
// next; cross-origin POSTs are refused.
func (m *Manager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/accept" && r.Method == http.MethodGet:
		m.servePage(w, r)
	case r.URL.Path == "/accept" && r.Method == http.MethodPost:
		if err := http.NewCrossOriginProtection().Check(r); err != nil {
			m.render(w, http.StatusForbidden, page{Title: "Request refused", Message: "Cross-origin request refused. Open the invitation link again."})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		m.serveAccept(w, r)
	default:
		m.render(w, http.StatusNotFound, page{Title: "Not found", Message: "There is no such page. Open the link from your invitation email."})
	}
}

type page struct {
	Title   string
	Message string
	Token   string
	Button  string
	Next    string
	NextTxt string
}

var pageTmpl = template.Must(template.New("p").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}button{font-size:1rem;padding:.5rem 1rem}</style>
</head><body><main><h1>{{.Title}}</h1><p id="message">{{.Message}}</p>
{{if .Token}}<form method="post" action="accept"><input type="hidden" name="token" value="{{.Token}}"><button type="submit" id="accept">{{.Button}}</button></form>{{end}}
{{if .Next}}<p><a id="next" href="{{.Next}}">{{.NextTxt}}</a></p>{{end}}
</main></body></html>
`))

func (m *Manager) render(w http.ResponseWriter, status int, p page) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, p)
}

func (m *Manager) servePage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	info, err := m.Inspect(r.Context(), token)
	if err != nil {
		m.fail(w, r, err, "")
		return
	}
	msg := "You are invited to join " + info.OrgName + " as " + info.Email + "."
	if info.SSO {
		msg += " " + info.OrgName + " uses single sign-on: after accepting, sign in through its identity provider."
	}
	m.render(w, http.StatusOK, page{Title: "Join " + info.OrgName, Message: msg, Token: token, Button: "Accept the invitation"})
}

func (m *Manager) serveAccept(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		m.render(w, http.StatusBadRequest, page{Title: "Request refused", Message: "Open the invitation link again."})
		return
	}
	userID := ""
	if p, ok := sso.PrincipalFrom(r.Context()); ok && p.Kind == sso.PrincipalSession {
		userID = p.UserID
	}
	org, mem, err := m.Accept(r.Context(), r.PostForm.Get("token"), userID)
	if err != nil {
		m.fail(w, r, err, "")
		return
	}
	u, err := m.cfg.Users.GetUser(r.Context(), mem.UserID)
	if err != nil {
		m.fail(w, r, err, "")
		return
	}
	next := m.cfg.LoginURL + "?login_hint=" + url.QueryEscape(u.Email)
	msg := "You joined " + org.Name + ". Sign in to " + org.Name + " to continue."
	if org.EnforcesSSO() {
		msg = "You joined " + org.Name + ". It uses single sign-on: sign in through its identity provider."
	}
	m.render(w, http.StatusOK, page{Title: "Welcome to " + org.Name, Message: msg, Next: next, NextTxt: "Sign in"})
}

// fail renders a refusal as a page that says what to do next.
func (m *Manager) fail(w http.ResponseWriter, r *http.Request, err error, _ string) {
	var fe *FieldError
	p := page{Title: "This invitation cannot be used", Message: "Ask the organization's admin for a new invitation."}
	if errors.As(err, &fe) {
		p.Message = fe.Fix
	}
	status := httperr.Status(err)
	if status >= 500 {
		m.log.ErrorContext(r.Context(), "invite: accept failed", "err", err)
		p = page{Title: "Something went wrong", Message: "We could not accept the invitation; try the link again in a moment."}
	}
	if sso.ReasonOf(err) == ReasonSignInRequired || sso.ReasonOf(err) == ReasonWrongAccount {
		p.Next, p.NextTxt = m.cfg.LoginURL, "Go to the sign-in page"
	}
	m.render(w, status, p)
}
