package portal

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
)

// Brand is how the portal looks: the host's name, logo and accent colour.
type Brand struct {
	// AppName names the host application in titles and text. Empty means
	// "Single sign-on setup".
	AppName string
	// LogoURL is an https (or same-origin relative) image URL shown in the
	// header; empty shows none.
	LogoURL string
	// Accent is the accent colour as #rrggbb. It must reach a contrast of
	// 4.5:1 against white, since buttons use white text on it. Empty means
	// a dark blue.
	Accent string
}

// Config configures the portal.
type Config struct {
	// Admin configures the JSON admin API the pages act through. Its
	// Authorize and TestReturnTo are set by the portal.
	Admin admin.Config
	// Store keeps setup links and portal sessions. Required.
	Store Store
	// BaseURL is the absolute URL the portal is mounted at, for example
	// https://app.example/settings/sso. Setup links start with it and the
	// portal's own links and cookie use its path. Required.
	BaseURL string
	// Authorize, when set, lets the host's own admins in: it authenticates
	// the request the way the host's admin pages do and returns the
	// organization and the admin (as admin.Config.Authorize does). An error
	// sends the browser to the "sign in" page. Nil means setup links only.
	Authorize func(r *http.Request) (orgID string, actor sso.Actor, err error)
	// SCIMBaseURL returns the SCIM base URL an organization's directory
	// connects to. Nil hides the directory sync section.
	SCIMBaseURL func(orgID string) string
	// Brand sets the name, logo and accent colour.
	Brand Brand
	// IdleTimeout ends a session this long after its last request. Zero
	// means 30 minutes.
	IdleTimeout time.Duration
	// MaxLifetime ends a session this long after it started. Zero means 8
	// hours.
	MaxLifetime time.Duration
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Logger logs internal errors. Nil means slog.Default().
	Logger *slog.Logger
}

// Portal is the admin portal's http.Handler. Mount it at BaseURL's path
// with http.StripPrefix.
type Portal struct {
	cfg      Config
	base     *url.URL
	basePath string
	api      *admin.Handler
	mux      *http.ServeMux
	tmpl     map[string]*template.Template
	log      *slog.Logger
	csp      string
}

var accentRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// New returns the portal.
func New(cfg Config) (*Portal, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: portal: nil Store", sso.ErrInvalidConfig)
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" ||
		(u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		return nil, fmt.Errorf("%w: portal: BaseURL must be an absolute https URL", sso.ErrInvalidConfig)
	}
	if cfg.Brand.Accent == "" {
		cfg.Brand.Accent = "#1d4ed8"
	}
	if !accentRE.MatchString(cfg.Brand.Accent) || contrastOnWhite(cfg.Brand.Accent) < 4.5 {
		return nil, fmt.Errorf("%w: portal: Brand.Accent must be #rrggbb with at least 4.5:1 contrast on white", sso.ErrInvalidConfig)
	}
	imgSrc := "'self'"
	if cfg.Brand.LogoURL != "" {
		lu, err := url.Parse(cfg.Brand.LogoURL)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%w: portal: bad Brand.LogoURL", sso.ErrInvalidConfig)
		case lu.Scheme == "https" && lu.Host != "":
			imgSrc += " https://" + lu.Host
		case lu.Scheme != "" || lu.Host != "" || !strings.HasPrefix(lu.Path, "/"):
			return nil, fmt.Errorf("%w: portal: Brand.LogoURL must be https or a relative path", sso.ErrInvalidConfig)
		}
	}
	if cfg.Brand.AppName == "" {
		cfg.Brand.AppName = "Single sign-on setup"
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.MaxLifetime <= 0 {
		cfg.MaxLifetime = 8 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Portal{cfg: cfg, base: u, basePath: strings.TrimSuffix(u.Path, "/"), log: cfg.Logger,
		csp: "default-src 'self'; img-src " + imgSrc + "; base-uri 'none'; frame-ancestors 'none'; object-src 'none'"}
	if p.log == nil {
		p.log = slog.Default()
	}
	ac := cfg.Admin
	ac.Authorize = authorizeFromContext
	ac.RequireAdmin = exemptSetupLinks(ac.RequireAdmin)
	ac.TestReturnTo = p.basePath + "/sso/tested"
	if ac.Now == nil {
		ac.Now = cfg.Now
	}
	if ac.Logger == nil {
		ac.Logger = p.log
	}
	if p.api, err = admin.New(ac); err != nil {
		return nil, err
	}
	if p.tmpl, err = parseTemplates(); err != nil {
		return nil, err
	}
	p.routes()
	return p, nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// ServeHTTP implements http.Handler.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", p.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	p.mux.ServeHTTP(w, r)
}

type sessionKey struct{}

func withSession(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

func sessionFrom(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey{}).(*Session)
	return s
}

var errNoSession = errors.New("portal: no portal session")

// authorizeFromContext is the admin API's Authorize inside the portal: the
// portal session the request carries names the organization and actor.
// exemptSetupLinks makes the admin API's member policy (MFA, a recent
// login) skip setup-link sessions: their holder is not a member of the
// organization and has no member session to satisfy it; the link, its
// sections and the portal session's limits are the credential. Admins
// signed in through Config.Authorize still pass every middleware.
func exemptSetupLinks(mws []func(http.Handler) http.Handler) []func(http.Handler) http.Handler {
	out := make([]func(http.Handler) http.Handler, len(mws))
	for i, mw := range mws {
		out[i] = func(next http.Handler) http.Handler {
			guarded := mw(next)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if s := sessionFrom(r.Context()); s != nil && s.Actor.Type == ActorSetupLink {
					next.ServeHTTP(w, r)
					return
				}
				guarded.ServeHTTP(w, r)
			})
		}
	}
	return out
}

func authorizeFromContext(r *http.Request) (string, sso.Actor, error) {
	s := sessionFrom(r.Context())
	if s == nil {
		return "", sso.Actor{}, errNoSession
	}
	return s.OrgID, s.Actor, nil
}
