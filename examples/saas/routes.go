package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/stack"
)

// Handler returns the demo's root handler: every route, behind
// cross-origin (CSRF) protection and the session loader.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	p := a.pages

	// Pages.
	mux.HandleFunc("GET /{$}", p.home)
	mux.HandleFunc("GET /login", p.login)
	mux.HandleFunc("GET /login/local", p.localLogin)
	mux.HandleFunc("POST /login/local", p.localLoginSubmit)
	mux.HandleFunc("GET /login/email", p.emailLogin)
	mux.HandleFunc("POST /login/email", p.emailLoginSubmit)
	mux.HandleFunc("POST /login/email/code", p.emailCodeSubmit)
	mux.HandleFunc("GET /signup", p.signUp)
	mux.HandleFunc("POST /signup", p.signUpSubmit)
	mux.HandleFunc("GET /account/verify", p.verifyPage)
	mux.HandleFunc("POST /account/verify", p.verifySubmit)
	mux.HandleFunc("GET /account/forgot", p.forgotPage)
	mux.HandleFunc("POST /account/forgot", p.forgotSubmit)
	mux.HandleFunc("GET /account/reset", p.resetPage)
	mux.HandleFunc("POST /account/reset", p.resetSubmit)
	mux.HandleFunc("POST /logout", p.logout)
	mux.Handle("GET /dashboard", a.member(http.HandlerFunc(p.dashboard)))
	mux.Handle("GET /account/mfa", a.sessions.Require(http.HandlerFunc(p.accountMFA)))
	mux.Handle("GET "+stepUpRefusedPath, a.sessions.Require(http.HandlerFunc(p.stepUpRefused)))
	mux.Handle("POST /account/switch", a.sessions.Require(http.HandlerFunc(p.switchOrg)))
	mux.Handle("GET /account/sessions", a.member(http.HandlerFunc(p.accountSessions)))
	mux.Handle("POST /account/sessions/{id}/revoke", a.sessions.Require(http.HandlerFunc(p.revokeSession)))
	// The admin pages are the admin portal's (mounted below); the old
	// addresses lead there.
	for old, page := range map[string]string{"sso": "sso", "domains": "domains", "scim": "directory", "audit": "audit"} {
		mux.Handle("GET /admin/"+old, http.RedirectHandler("/admin/portal/"+page, http.StatusMovedPermanently))
	}

	// Demo-only helpers standing in for the IdP console and DNS.
	mux.Handle("POST /demo/idp/register/{connection}", a.orgAdmin(http.HandlerFunc(p.registerAtDevIdP)))
	mux.Handle("POST /demo/dns/publish/{name}", a.orgAdmin(http.HandlerFunc(p.publishDNS)))

	// ssokit components.
	// Through the stack's router, so that its per-client limit applies.
	mux.Handle("/sso/saml/", a.kit.Handler())
	mux.Handle("/sso/oidc/", a.kit.Handler())
	mux.Handle("/sso/", http.StripPrefix("/sso", a.discovery))
	mux.Handle("/idp/", http.StripPrefix("/idp", a.idp))
	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", a.scim))
	mux.Handle("/api/admin/", http.StripPrefix("/api/admin", a.admin))
	// The admin portal, and setup links for it (POST to create, DELETE
	// /api/admin/setup-links/{id} to revoke).
	mux.Handle("/admin/portal/", http.StripPrefix("/admin/portal", a.sessions.Load(a.portal)))
	links := http.StripPrefix("/api/admin", a.portal.LinksHandler(a.authorizeAdmin))
	mux.Handle("/api/admin/setup-links", links)
	mux.Handle("/api/admin/setup-links/", links)
	mux.Handle("POST /admin/setup-link", a.orgAdmin(http.HandlerFunc(p.createSetupLink)))
	// The password flows (sign-up, verify, reset, change) and the emails
	// the development mailer caught.
	mux.Handle("/auth/password/", http.StripPrefix("/auth/password", a.password))
	mux.Handle("GET /dev/mail", a.mail)
	a.mountSignIn(mux) // social sign-in and passkeys (signin.go)
	// Email sign-in's own routes, among them the page of an emailed link.
	mux.Handle("/auth/email/", http.StripPrefix("/auth/email", a.emailcode))
	// The invitation accept page.
	mux.Handle("/invite/", http.StripPrefix("/invite", a.invites))
	mux.Handle("/mfa/", a.sessions.Require(http.StripPrefix("/mfa", a.mfa)))

	// API tokens: issue for the current browser session, refresh, verify.
	mux.Handle("POST /api/tokens", a.sessions.Require(http.HandlerFunc(a.issueTokens)))
	mux.Handle("POST /api/token", a.sessions.TokenHandler(session.TokenHandlerOptions{}))
	mux.Handle("GET /.well-known/jwks.json", a.sessions.JWKSHandler())
	mux.Handle("GET /api/me", a.sessions.LoadBearer(a.sessions.Require(http.HandlerFunc(a.apiMe))))
	mux.HandleFunc("GET /healthz", a.healthz)

	cop := http.NewCrossOriginProtection()
	// The IdP posts SAML responses and logout messages cross-site by design,
	// also to connections' own ACS and SLO URLs under /sso/saml/; those
	// endpoints authenticate by signature and request binding.
	cop.AddInsecureBypassPattern("POST /sso/saml/")
	cop.AddInsecureBypassPattern("POST /sso/oidc/backchannel-logout/{connection}")
	// The development IdP's login form posts to itself and to the ACS.
	cop.AddInsecureBypassPattern("POST /idp/")
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}))
	return securityHeaders(cop.Handler(a.sessions.Load(mux)))
}

// member requires a session and applies the organization's MFA policy.
func (a *App) member(h http.Handler) http.Handler {
	return a.sessions.Require(a.mfa.Require(h))
}

// orgAdmin requires a session of an organization admin, with the MFA policy.
func (a *App) orgAdmin(h http.Handler) http.Handler {
	return a.member(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := sso.PrincipalFrom(r.Context())
		if !ok || !p.HasRole("admin") {
			a.pages.renderError(w, r, http.StatusForbidden, "Only organization admins can open this page.")
			return
		}
		h.ServeHTTP(w, r)
	}))
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		// OIDC front-channel logout is loaded in the IdP's iframe.
		if !strings.HasPrefix(r.URL.Path, "/idp/") && !strings.HasPrefix(r.URL.Path, "/sso/saml/") &&
			!strings.HasPrefix(r.URL.Path, "/sso/oidc/frontchannel-logout/") {
			hd.Set("X-Frame-Options", "DENY")
		}
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// sessionError renders session failures: pages redirect to the login page,
// API calls get JSON, and an unreachable database gets a clean 503.
func (a *App) sessionError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, sso.ErrUnavailable):
		w.Header().Set("Retry-After", "2")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "unavailable", "message": "the service is temporarily unavailable"})
	case strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/mfa/") ||
		strings.Contains(r.Header.Get("Accept"), "application/json"):
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
	case r.Method == http.MethodGet:
		http.Redirect(w, r, "/login?return_to="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	default:
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
	}
}

// protocolError renders SAML and OIDC failures, and login completion's
// refusals, as a page that says what happened and what to do next
// (stack.Explain).
func (a *App) protocolError(w http.ResponseWriter, r *http.Request, err error) {
	e := stack.Explain(err)
	a.log.InfoContext(r.Context(), "sign-in rejected", "reason", e.Reason, "status", e.Status, "path", r.URL.Path)
	a.pages.renderExplanation(w, r, e)
}

func (a *App) issueTokens(w http.ResponseWriter, r *http.Request) {
	s, err := a.sessions.Current(r)
	if err != nil {
		a.sessionError(w, r, err)
		return
	}
	pair, err := a.sessions.IssueTokens(r.Context(), s, session.TokenOptions{})
	if err != nil {
		a.sessionError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": pair.AccessToken, "refresh_token": pair.RefreshToken,
		"token_type": "Bearer", "expires_in": int(pair.ExpiresIn.Seconds()), "scope": strings.Join(pair.Scopes, " "),
	})
}

func (a *App) apiMe(w http.ResponseWriter, r *http.Request) {
	p, _ := sso.PrincipalFrom(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"user_id": p.UserID, "org_id": p.OrgID, "roles": p.Roles, "kind": p.Kind})
}

func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := contextWithTimeout(r, 2*time.Second)
	defer cancel()
	if err := a.db.PingContext(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
