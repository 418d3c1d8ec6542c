package main

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/discovery"
	"github.com/ssokit/ssokit/sso/password"
	"github.com/ssokit/ssokit/sso/portal"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages renders the demo's server-side pages.
type pages struct {
	a    *App
	tmpl map[string]*template.Template
}

func newPages(a *App) (*pages, error) {
	p := &pages{a: a, tmpl: map[string]*template.Template{}}
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"join": strings.Join,
		"time": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
	}
	for _, n := range names {
		if n.Name() == "layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+n.Name())
		if err != nil {
			return nil, err
		}
		p.tmpl[strings.TrimSuffix(n.Name(), ".html")] = t
	}
	return p, nil
}

// view is the data every page gets.
type view struct {
	Title     string
	Principal *sso.Principal
	User      *sso.User
	Org       *sso.Organization
	IsAdmin   bool
	// Passkeys and Social say which account pages the demo serves.
	Passkeys, Social bool
	Data             any
}

func (p *pages) render(w http.ResponseWriter, r *http.Request, name, title string, data any) {
	v := view{Title: title, Data: data}
	if pr, ok := sso.PrincipalFrom(r.Context()); ok {
		v.Principal = pr
		v.IsAdmin = pr.HasRole("admin")
		v.Passkeys, v.Social = p.a.kit.Passkeys != nil, p.a.kit.Social != nil
		v.User, _ = p.a.store.GetUser(r.Context(), pr.UserID)
		v.Org, _ = p.a.store.GetOrg(r.Context(), pr.OrgID)
	}
	t, ok := p.tmpl[name]
	if !ok {
		http.Error(w, "page not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := t.Execute(w, v); err != nil {
		p.a.log.ErrorContext(r.Context(), "render page", "page", name, "err", err)
	}
}

func (p *pages) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	p.renderExplanation(w, r, sso.Explanation{Status: status, Title: errorTitles[status], What: msg})
}

// errorTitles are the headings of the demo's own error pages.
var errorTitles = map[int]string{
	http.StatusBadRequest:         "That did not work",
	http.StatusForbidden:          "Not allowed",
	http.StatusNotFound:           "Not found",
	http.StatusServiceUnavailable: "Temporarily unavailable",
}

// renderExplanation renders the error page: what happened, what to do
// next and the reference, with e's status.
func (p *pages) renderExplanation(w http.ResponseWriter, r *http.Request, e sso.Explanation) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	v := view{Title: e.Title, Data: e}
	if pr, ok := sso.PrincipalFrom(r.Context()); ok {
		v.Principal = pr
	}
	p.tmpl["error"].Execute(w, v)
}

func (p *pages) home(w http.ResponseWriter, r *http.Request) {
	if _, ok := sso.PrincipalFrom(r.Context()); ok {
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (p *pages) login(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, "login", "Sign in", map[string]string{
		"ReturnTo": returnto.Safe(r.URL.Query().Get("return_to"), "/dashboard"),
		"Email":    r.URL.Query().Get("login_hint"),
	})
}

func (p *pages) localLogin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.render(w, r, "local", "Sign in", p.a.newLocalView(q, q.Get("login_hint"), returnto.Safe(q.Get("return_to"), "/dashboard"), ""))
}

// localLoginSubmit is the host's own password login. The demo keeps only
// the seeded break-glass admins' password; SSO enforcement is checked
// through the Enforcer like a real host would.
func (p *pages) localLoginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	returnTo := returnto.Safe(r.PostFormValue("return_to"), "/dashboard")
	fail := func(status int, msg string) {
		w.WriteHeader(status)
		p.render(w, r, "local", "Sign in", p.a.newLocalView(r.PostForm, r.PostFormValue("email"), returnTo, msg))
	}
	// sso/password checks the password (argon2id, throttled, the same
	// answer for unknown addresses), SSO enforcement (break-glass admins
	// only) and issues the session.
	_, err := p.a.password.Login(w, r, password.LoginRequest{Email: r.PostFormValue("email"), Password: r.PostFormValue("password")})
	switch reason := sso.ReasonOf(err); {
	case err == nil:
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
	case reason == password.ReasonSSORequired:
		fail(http.StatusForbidden, "Your organization requires single sign-on. Use the SSO button on the sign-in page.")
	case reason == password.ReasonMethodDisabled:
		fail(http.StatusForbidden, "Your organization has turned off password sign-in. Use another way it offers below, or ask your administrator.")
	case reason == password.ReasonRateLimited:
		fail(http.StatusTooManyRequests, "Too many attempts. Wait a minute, then try again.")
	case errors.Is(err, sso.ErrUnavailable):
		p.a.sessionError(w, r, err)
	default:
		fail(http.StatusUnauthorized, "Unknown email or wrong password.")
	}
}

// logout ends the session here and at the IdP that made it (logout.go).
func (p *pages) logout(w http.ResponseWriter, r *http.Request) {
	if err := p.a.logoutEverywhere(w, r); err != nil {
		p.a.sessionError(w, r, err)
	}
}

func (p *pages) dashboard(w http.ResponseWriter, r *http.Request) {
	pr, _ := sso.PrincipalFrom(r.Context())
	st, _ := p.a.mfa.Status(r.Context(), pr)
	m, _ := p.a.store.GetMembership(r.Context(), pr.OrgID, pr.UserID)
	p.render(w, r, "dashboard", "Dashboard", map[string]any{"MFA": st, "Membership": m, "Others": p.otherOrgs(r, pr)})
}

// otherOrgs lists the organizations the user may switch to.
func (p *pages) otherOrgs(r *http.Request, pr *sso.Principal) []*sso.Organization {
	ms, err := p.a.store.ListUserMemberships(r.Context(), pr.UserID)
	if err != nil {
		return nil
	}
	var out []*sso.Organization
	for _, m := range ms {
		if m.OrgID == pr.OrgID || !m.Active() {
			continue
		}
		if o, err := p.a.store.GetOrg(r.Context(), m.OrgID); err == nil {
			out = append(out, o)
		}
	}
	return out
}

// switchOrg moves the session into another organization of the user. An
// organization that enforces SSO admits only a login through its own IdP:
// the user is sent there, and arrives back with a session of that
// organization.
func (p *pages) switchOrg(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	slug := r.PostFormValue("org")
	org, err := p.a.store.GetOrgBySlug(r.Context(), slug)
	if err != nil {
		p.renderError(w, r, http.StatusNotFound, "That organization does not exist or you are not a member of it.")
		return
	}
	_, err = p.a.sessions.SwitchOrg(w, r, org.ID)
	var se *session.SwitchError
	switch {
	case err == nil:
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	case errors.As(err, &se) && se.Reason == "sso_required":
		http.Redirect(w, r, "/sso/login/"+url.PathEscape(org.Slug)+"?return_to=%2Fdashboard", http.StatusSeeOther)
	case errors.As(err, &se) && se.Reason == "method_disabled":
		p.renderError(w, r, http.StatusForbidden, org.Name+" does not allow the way you signed in. Sign out, then sign in to it with a way it offers.")
	case errors.Is(err, sso.ErrForbidden):
		p.renderError(w, r, http.StatusNotFound, "That organization does not exist or you are not a member of it.")
	default:
		p.a.sessionError(w, r, err)
	}
}

func (p *pages) accountMFA(w http.ResponseWriter, r *http.Request) {
	pr, _ := sso.PrincipalFrom(r.Context())
	st, _ := p.a.mfa.Status(r.Context(), pr)
	p.render(w, r, "mfa", "Two-factor authentication", map[string]any{"Status": st})
}

func (p *pages) accountSessions(w http.ResponseWriter, r *http.Request) {
	pr, _ := sso.PrincipalFrom(r.Context())
	list, err := p.a.sessions.ListUserSessions(r.Context(), pr.UserID)
	if err != nil {
		p.a.sessionError(w, r, err)
		return
	}
	p.render(w, r, "sessions", "Your sessions", map[string]any{"Sessions": list, "Current": pr.SessionID})
}

func (p *pages) revokeSession(w http.ResponseWriter, r *http.Request) {
	pr, _ := sso.PrincipalFrom(r.Context())
	if err := p.a.sessions.RevokeUserSession(r.Context(), pr.UserID, r.PathValue("id")); err != nil && !errors.Is(err, sso.ErrNotFound) {
		p.a.sessionError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account/sessions", http.StatusSeeOther)
}

// createSetupLink issues a setup link to the admin portal for the
// current organization: what a host's support staff hands a customer's IT
// admin who has no account in the app.
func (p *pages) createSetupLink(w http.ResponseWriter, r *http.Request) {
	pr, _ := sso.PrincipalFrom(r.Context())
	link, sl, err := p.a.portal.CreateLink(r.Context(), portal.LinkRequest{OrgID: pr.OrgID, Sections: portal.AllSections,
		TTL: 24 * time.Hour, CreatedBy: sso.Actor{Type: sso.ActorAdmin, ID: pr.UserID}})
	if err != nil {
		p.renderError(w, r, http.StatusBadRequest, "The setup link could not be created: "+err.Error())
		return
	}
	p.render(w, r, "setup_link", "Setup link", map[string]any{"URL": link, "Expires": sl.ExpiresAt.Format(time.RFC1123)})
}

// registerAtDevIdP stands in for the step where an admin enters the SP
// details into the IdP's console: it registers the connection with the
// built-in development IdP (SAML SP or OIDC client).
func (p *pages) registerAtDevIdP(w http.ResponseWriter, r *http.Request) {
	pr, _ := sso.PrincipalFrom(r.Context())
	c, err := p.a.store.GetConnection(r.Context(), r.PathValue("connection"))
	if err != nil || c.OrgID != pr.OrgID {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found"})
		return
	}
	if c.Protocol == oidc.Protocol && (oidc.ConfigOf(c) == nil || oidc.ConfigOf(c).ClientID == "") {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "configure the client first"})
		return
	}
	if err := p.a.registerConnection(r.Context(), c); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "registration failed"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "registered"})
}

// publishDNS publishes a domain's TXT verification record in the demo DNS
// zone, standing in for the admin's DNS provider.
func (p *pages) publishDNS(w http.ResponseWriter, r *http.Request) {
	pr, _ := sso.PrincipalFrom(r.Context())
	d, err := p.a.domains.Get(r.Context(), pr.OrgID, r.PathValue("name"))
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found"})
		return
	}
	name, value := p.a.domains.Record(d)
	if err := p.a.dns.publish(r.Context(), name, value); err != nil {
		p.a.sessionError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": name, "value": value})
}

// renderChooser renders the connection chooser of home-realm discovery.
func (a *App) renderChooser(w http.ResponseWriter, r *http.Request, org *sso.Organization, choices []discovery.ConnectionChoice) {
	a.pages.render(w, r, "chooser", "Choose how to sign in", map[string]any{"Org": org, "Choices": choices})
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

func contextWithTimeout(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d)
}
