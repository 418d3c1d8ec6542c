package social

import (
	"errors"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/ssokit/ssokit/internal/httperr"
	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
)

// routes sets up ServeHTTP:
//
//	GET /providers              the providers, as JSON, for a login page
//	GET /{provider}/start       begins a login (?return_to=, ?org=, ?login_hint=)
//	POST /{provider}/link       links an account to the signed-in user (return_to=; same-origin)
//	GET /{provider}/callback    the redirect URI registered at the provider
//	GET /linked, DELETE /linked/{provider}/{subject}  the signed-in user's linked accounts (linked.go)
func (m *Manager) routes() {
	m.mux = http.NewServeMux()
	m.mux.HandleFunc("GET /providers", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, map[string]any{"providers": m.Providers()})
	})
	m.mux.HandleFunc("GET /{provider}/start", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		err := m.Start(w, r, r.PathValue("provider"), StartOptions{ReturnTo: q.Get("return_to"), Org: q.Get("org"), LoginHint: q.Get("login_hint")})
		if err != nil {
			m.renderError(w, r, err)
		}
	})
	m.mux.HandleFunc("POST /{provider}/link", func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewCrossOriginProtection().Check(r); err != nil {
			httpjson.Write(w, http.StatusForbidden, map[string]string{"error": "cross_origin", "message": "Cross-origin request refused."})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		if err := m.StartLink(w, r, r.PathValue("provider"), r.FormValue("return_to")); err != nil {
			m.renderError(w, r, err)
		}
	})
	m.linkedRoutes()
	m.mux.HandleFunc("GET /{provider}/callback", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Callback(w, r, r.PathValue("provider")); err != nil {
			m.renderError(w, r, err)
		}
	})
}

// ServeHTTP serves the routes of the social sign-in; mount it under
// Config.BaseURL's path with http.StripPrefix.
func (m *Manager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !m.limiter.Allow(m.cfg.ClientIP(r)) {
		w.Header().Set("Retry-After", "1")
		m.cfg.ErrorHandler(w, r, deny(ReasonRateLimited, sso.ErrRateLimited, nil))
		return
	}
	m.mux.ServeHTTP(w, r)
}

func (m *Manager) renderError(w http.ResponseWriter, r *http.Request, err error) {
	if httperr.Status(err) == http.StatusInternalServerError && !isUpstream(err) {
		m.log.ErrorContext(r.Context(), "social: sign-in failed", "err", err)
	}
	m.cfg.ErrorHandler(w, r, err)
}

// status is the HTTP status of a refusal: 502 for provider faults, 401
// when the person must sign in (again) first.
func status(err error) int {
	switch {
	case isUpstream(err):
		return http.StatusBadGateway
	case sso.ReasonOf(err) == ReasonUnauthenticated || sso.ReasonOf(err) == ReasonReauthenticationRequired:
		return http.StatusUnauthorized
	}
	return httperr.Status(err)
}

// messages say what happened and what to do next, per reason.
var messages = map[string]string{
	ReasonUnknownProvider:  "This sign-in option does not exist. Go back to the sign-in page and choose another.",
	ReasonStateInvalid:     "This sign-in link was already used, has expired or was started in another browser. Start the sign-in again from the sign-in page.",
	ReasonProviderError:    "The provider did not sign you in (you may have cancelled). Start again from the sign-in page, or choose another way to sign in.",
	ReasonTokenInvalid:     "The provider's answer could not be verified. Start the sign-in again; if it keeps failing, choose another way to sign in.",
	ReasonIssuerMismatch:   "The provider's answer came from an unexpected account directory. Start the sign-in again or choose another way to sign in.",
	ReasonTenantNotAllowed: "Accounts of your organization's directory cannot sign in here. Use another account or another way to sign in.",
	ReasonNoEmail:          "The provider did not share an email address. Allow access to your email address at the provider, or sign in another way.",
	ReasonEmailNotVerified: "The provider has not verified your email address, so it cannot be used to sign in here. Verify it at the provider (for GitHub: make a verified address your primary one; for Google: use a Gmail or Google Workspace account), or sign in another way.",
	ReasonAmbiguous:        "Several accounts use this email address. Sign in with your password or passkey, then link this provider from your account settings.",
	ReasonSSORequired:      "Your organization requires its own single sign-on. Continue to your organization's sign-in.",
	ReasonNoOrganization:   "You are signed in with the provider, but no organization has invited you yet. Ask your administrator for an invitation, then sign in again.",
	ReasonOrgRequired:      "You belong to several organizations. Choose the organization on the sign-in page, then sign in again.",
	ReasonAccessDenied:     "You are not a member of this organization. Check the organization's name, or ask its administrator for an invitation.",
	ReasonFeature:          "Your organization's plan does not include this sign-in option. Sign in another way, or ask your administrator.",
	ReasonMethodDisabled:   "Your organization has turned off sign-in with Google, Microsoft or GitHub. Use another way it offers on the sign-in page, or ask your administrator.",
	ReasonUpstream:         "The provider could not be reached. Try again in a minute, or sign in another way.",
	ReasonJoinRequested:    "Your request to join the organization was sent to its administrators. Sign in again once one of them approves it.",
	ReasonLinkRequired: "This provider confirmed your email address only when you added it to your account there, which does not show that it is still yours, " +
		"so the account cannot sign you in until you link it. Sign in another way (an emailed code, your password or passkey, or your organization's sign-in), " +
		"then link it from your account settings.",
	ReasonUnauthenticated:          "Sign in first, then link the account from your account settings.",
	ReasonReauthenticationRequired: "To link an account, sign in again (with an emailed code, your password or a passkey, not through your organization), then link it right away.",
	ReasonIdentityInUse:            "This account is already linked to another user here. Sign in with it to use that user, or unlink it there first.",
	ReasonLinkSessionChanged:       "You signed out or switched users while linking the account, so nothing was linked. Sign in again, then link it from your account settings.",
	ReasonRateLimited:              "Too many sign-in attempts from your network. Wait a few seconds, then try again.",
}

// Message returns the end-user text of a refusal's reason.
func Message(reason string) string {
	if s, ok := messages[reason]; ok {
		return s
	}
	return "Sign-in failed. Start again from the sign-in page."
}

var errorPage = template.Must(template.New("e").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><main><h1>{{.Heading}}</h1><p id="social-error" data-reason="{{.Reason}}">{{.Message}}</p>
<p><a href="{{.Back}}">{{.BackText}}</a></p></main></body></html>`))

// errorView is what errorPage shows.
type errorView struct {
	Title, Heading, Reason, Message string
	Back                            string // a relative path or the organization's sign-in
	BackText                        string
}

// newErrorView is the page of a refusal: a link goes back to the account
// page it started from, a sign-in to the sign-in page or, with redirect,
// on to the organization's sign-in.
func newErrorView(err error, reason, msg, redirect string) errorView {
	v := errorView{Title: "Sign-in failed", Heading: "Sign-in did not complete", Reason: reason, Message: msg,
		Back: "/", BackText: "Back to the sign-in page"}
	var le *LinkError
	switch {
	case redirect != "":
		v.Back, v.BackText = redirect, "Continue to your organization's sign-in"
	case errors.As(err, &le):
		v.Title, v.Heading, v.BackText = "Linking failed", "The account was not linked", "Back to your account"
		if le.ReturnTo != "" {
			v.Back = le.ReturnTo
		}
	}
	return v
}

// WriteError is the default Config.ErrorHandler. A member who must use
// their organization's SSO is redirected there (303); JSON clients get
// {"error": reason, "message", "redirect"}; browsers get a page that says
// what happened and what to do next. Provider faults answer 502.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	reason, st := sso.ReasonOf(err), status(err)
	msg := Message(reason)
	if st == http.StatusInternalServerError {
		reason, msg = "internal", "Something went wrong on our side. Try again in a minute."
	}
	var se *SSORequiredError
	redirect := ""
	if errors.As(err, &se) {
		redirect = se.Redirect
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" || strings.Contains(r.Header.Get("Accept"), "application/json") {
		body := map[string]string{"error": reason, "message": msg}
		if redirect != "" {
			body["redirect"] = redirect
		}
		httpjson.Write(w, st, body)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if redirect != "" {
		http.Redirect(w, r, redirect, http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(st)
	if err := errorPage.Execute(w, newErrorView(err, reason, msg, redirect)); err != nil {
		slog.Default().WarnContext(r.Context(), "social: error page", "err", err)
	}
}
