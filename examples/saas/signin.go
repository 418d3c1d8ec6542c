package main

import (
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/ssokit/ssokit/sso/social"
	"github.com/ssokit/ssokit/sso/stack"
	"github.com/ssokit/ssokit/store/sqlstore/sqlpasskey"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsocial"
)

// This file mounts the passwordless tiers: social sign-in (Google,
// Microsoft, GitHub) and passkeys. Social providers are enabled by
// environment variables (a provider without a client ID is off):
//
//	SSOKIT_GOOGLE_CLIENT_ID, SSOKIT_GOOGLE_CLIENT_SECRET, SSOKIT_GOOGLE_ISSUER (default Google's)
//	SSOKIT_MICROSOFT_CLIENT_ID, SSOKIT_MICROSOFT_CLIENT_SECRET, SSOKIT_MICROSOFT_TENANT (default "common"),
//	SSOKIT_MICROSOFT_AUTHORITY (default https://login.microsoftonline.com)
//	SSOKIT_GITHUB_CLIENT_ID, SSOKIT_GITHUB_CLIENT_SECRET
//
// Passkeys need a host name in the base URL (WebAuthn relying party IDs
// cannot be IP addresses): run with -base-url http://localhost:8080.

// socialProviders reads the providers from the environment.
func socialProviders() []social.Provider {
	var ps []social.Provider
	if id := os.Getenv("SSOKIT_GOOGLE_CLIENT_ID"); id != "" {
		p := social.Google(id, os.Getenv("SSOKIT_GOOGLE_CLIENT_SECRET"))
		if iss := os.Getenv("SSOKIT_GOOGLE_ISSUER"); iss != "" {
			p.Issuer = iss
		}
		ps = append(ps, p)
	}
	if id := os.Getenv("SSOKIT_MICROSOFT_CLIENT_ID"); id != "" {
		ps = append(ps, social.Microsoft(env("SSOKIT_MICROSOFT_TENANT", social.TenantCommon), id,
			os.Getenv("SSOKIT_MICROSOFT_CLIENT_SECRET"), os.Getenv("SSOKIT_MICROSOFT_AUTHORITY")))
	}
	if id := os.Getenv("SSOKIT_GITHUB_CLIENT_ID"); id != "" {
		ps = append(ps, social.GitHub(id, os.Getenv("SSOKIT_GITHUB_CLIENT_SECRET")))
	}
	return ps
}

// socialConfig turns social sign-in on when a provider is configured.
func (a *App) socialConfig() *stack.SocialConfig {
	ps := socialProviders()
	if len(ps) == 0 {
		return nil
	}
	// Newcomers join by invitation or their domain's auto-join policy
	// (the stack's Invites).
	return &stack.SocialConfig{Providers: ps, Store: sqlsocial.New(a.store), RateLimit: 20, Burst: 100}
}

// passkeyConfig turns passkeys on when the base URL has a host name.
func (a *App) passkeyConfig() *stack.PasskeyConfig {
	if net.ParseIP(a.base.Hostname()) != nil {
		return nil
	}
	return &stack.PasskeyConfig{RPDisplayName: "ssokit demo", Store: sqlpasskey.New(a.store), RateLimit: 20, Burst: 100}
}

// mountSignIn adds the routes of the passwordless tiers and the login
// page's script.
func (a *App) mountSignIn(mux *http.ServeMux) {
	mux.HandleFunc("GET /auth/signin.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		// Which tiers are on, so the page asks only for those.
		fmt.Fprintf(w, "window.ssokitSignIn = {social: %t, passkey: %t};\n", a.kit.Social != nil, a.kit.Passkeys != nil)
		fmt.Fprint(w, signinJS)
	})
	mux.Handle(stack.PrefixAccount, a.kit.Handler())
	if a.kit.Social != nil {
		mux.Handle(stack.PrefixSocial, a.kit.Handler())
		mux.Handle("GET /account/linked", a.member(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			fmt.Fprint(w, linkedPage)
		})))
	}
	if a.kit.Passkeys != nil {
		mux.Handle(stack.PrefixPasskey, a.kit.Handler())
		mux.Handle("GET /account/passkeys", a.member(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			fmt.Fprint(w, passkeysPage)
		})))
	}
}
