package stack

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/ssokit/ssokit/session"
)

// extraACSURLs turns SAMLExtraACSPaths into absolute URLs on base's host.
func extraACSURLs(base *url.URL, paths []string) []string {
	var out []string
	for _, p := range paths {
		u := url.URL{Scheme: base.Scheme, Host: base.Host, Path: p}
		out = append(out, u.String())
	}
	return out
}

// under returns base with p appended to its path. Unlike url.JoinPath it
// keeps the path absolute when base has none ("https://app.example"):
// components derive cookie paths from it.
func under(base *url.URL, p string) *url.URL {
	u := *base
	u.Path = strings.TrimSuffix(base.Path, "/") + p
	u.RawPath = ""
	return &u
}

// routes builds the handler of every mounted component.
func (s *Stack) routes() http.Handler {
	mux := http.NewServeMux()
	for _, r := range s.mounts() {
		mux.Handle(r.pattern, r.h)
	}
	return mux
}

type mount struct {
	pattern string
	h       http.Handler
}

func (s *Stack) mounts() []mount {
	p := s.prefix
	strip := func(prefix string, h http.Handler) mount {
		return mount{p + prefix, http.StripPrefix(p+strings.TrimSuffix(prefix, "/"), h)}
	}
	ms := []mount{
		strip(PrefixSAML, s.protocols("saml", s.SAML)),
	}
	for _, x := range s.samlExtra {
		// Connections' own ACS, SLO and metadata URLs: the SAML handler
		// reads the path.
		ms = append(ms, mount{x, s.protocols("saml", s.SAML)})
	}
	ms = append(ms,
		strip(PrefixOIDC, s.protocols("oidc", s.OIDC)),
		strip(PrefixDiscovery, s.Discovery),
		strip(PrefixSCIM, s.SCIM),
	)
	// The MFA and admin routes act on the session cookie: a cross-origin
	// (CSRF) request never reaches them. The protocol endpoints that an
	// IdP posts to cross-site by design authenticate by signature instead.
	cop := http.NewCrossOriginProtection()
	if s.MFA != nil {
		ms = append(ms, strip(PrefixMFA, cop.Handler(s.loadOnce(s.MFA))))
	}
	if s.Admin != nil {
		ms = append(ms, strip(PrefixAdmin, cop.Handler(s.loadOnce(s.Admin))))
	}
	if s.Password != nil {
		// The password handler checks the origin of its posts itself.
		ms = append(ms, strip(PrefixPassword, s.loadOnce(s.Password)))
	}
	if s.EmailCode != nil {
		// The email handler checks the origin of its posts itself.
		ms = append(ms, strip(PrefixEmailCode, s.loadOnce(s.EmailCode)))
	}
	if s.Invites != nil {
		// The accept page checks the origin of its posts itself.
		ms = append(ms, strip(PrefixInvite, s.loadOnce(s.Invites)))
	}
	ms = append(ms, s.signInMounts(strip)...)
	if s.Portal != nil {
		// The portal checks its own CSRF tokens and origins: its setup
		// links arrive from mail and chat, cross-site by design.
		ms = append(ms, strip(PrefixPortal, s.loadOnce(s.Portal)))
	}
	if s.tokens {
		ms = append(ms,
			mount{"POST " + p + PathToken, s.Sessions.TokenHandler(session.TokenHandlerOptions{})},
			mount{"GET " + p + PathJWKS, s.Sessions.JWKSHandler()})
	}
	return ms
}

// loadedKey marks a request whose session Middleware already loaded.
type loadedKey struct{}

// loadOnce runs Sessions.Load unless Middleware already ran for the request.
func (s *Stack) loadOnce(next http.Handler) http.Handler {
	loaded := s.Sessions.Load(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(loadedKey{}) != nil {
			next.ServeHTTP(w, r)
			return
		}
		loaded.ServeHTTP(w, r)
	})
}

// Handler serves every mounted component under its fixed prefix (see the
// package documentation), relative to the path of Config.BaseURL; other
// paths answer 404. Mount registers it on a host's mux.
func (s *Stack) Handler() http.Handler { return s.handler }

// Mount registers Handler on mux under each of its prefixes, leaving every
// other path to the host.
func (s *Stack) Mount(mux *http.ServeMux) {
	for _, m := range s.mounts() {
		mux.Handle(m.pattern, s.handler)
	}
}

// Middleware loads the session cookie of every request (session.Manager.Load)
// so that sso.PrincipalFrom works in the host's handlers. Wrap the host's
// whole mux with it.
func (s *Stack) Middleware(next http.Handler) http.Handler {
	marked := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), loadedKey{}, true)))
	})
	return s.Sessions.Load(marked)
}

// Require lets a request through only with a session (session.Manager.Require)
// and, when MFA is on, only once the organization's MFA policy is met
// (mfa.Manager.Require). It needs Middleware in front.
func (s *Stack) Require(next http.Handler) http.Handler {
	if s.MFA != nil {
		next = s.MFA.Require(next)
	}
	return s.Sessions.Require(next)
}
