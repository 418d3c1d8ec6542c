package social

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/ssokit/ssokit/internal/clientlimit"
	"github.com/ssokit/ssokit/internal/egress"
	"github.com/ssokit/ssokit/internal/record"
	"github.com/ssokit/ssokit/internal/reqinfo"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// LocalLoginPolicy decides whether a user may sign in to an organization
// without its IdP (sso.LocalLoginPolicy); sso/policy's Enforcer implements
// it.
type LocalLoginPolicy = sso.LocalLoginPolicy

// Offer is a way into an organization for a person who has none yet: a
// pending invitation for their address, or the organization's auto-join
// policy for its verified domain.
type Offer struct {
	OrgID string
	// Via says which: "invitation" or "auto_join".
	Via string
	// Ref identifies the invitation (empty for auto-join), for Accept.
	Ref string
}

// Admission places people in organizations. The invitations package (or the
// host) implements it. A social login asks it only with an address the
// provider verified, never offers an organization that enforces SSO to
// anyone, and accepts the offer only after its own checks passed.
type Admission interface {
	// Offer returns the best offer for the verified address email, or an
	// error wrapping sso.ErrNotFound when nothing admits it.
	Offer(ctx context.Context, email string) (*Offer, error)
	// Accept turns o into an active membership of u (consuming an
	// invitation), atomically: of concurrent calls for one invitation one
	// wins. It returns the membership, or an error wrapping
	// ErrJoinRequested when the organization must approve the person
	// first (a join request was made).
	Accept(ctx context.Context, o *Offer, u *sso.User) (*sso.Membership, error)
}

// Config configures a Manager.
type Config struct {
	// BaseURL is the absolute URL where the handler is mounted, e.g.
	// https://app.example.com/auth/social/. A provider's redirect URI is
	// BaseURL + name + "/callback"; register it at the provider. With an
	// https BaseURL the flow cookie is Secure and "__Host-" prefixed.
	BaseURL *url.URL
	// Providers are the configured providers. At least one is required.
	Providers []Provider
	// Store keeps social identities. Required.
	Store Store
	// Users, Orgs and Members are the core stores. Required.
	Users   sso.UserStore
	Orgs    sso.OrgStore
	Members sso.MembershipStore
	// Sessions issues the session (session.Manager). Required.
	Sessions sso.SessionIssuer
	// Enforcer applies SSO enforcement and break-glass (policy.Enforcer).
	// Required.
	Enforcer LocalLoginPolicy
	// Admission places a person without an organization into one. Nil
	// admits nobody: such sign-ins are refused with no_organization.
	Admission Admission
	// OtherMethods reports whether a user can sign in without social
	// identities, guarding the unlinking of their last way to sign in. The
	// store already counts the ways its database holds (identities,
	// passkeys, a password) in the unlink itself, under the per-user lock
	// every keep-last removal takes; OtherMethods is asked only when the
	// store refuses, and outside that lock, so it is for ways the store
	// does not hold and that a concurrent removal cannot take away. Nil
	// means none: an identity that is the user's last way in stays linked.
	OtherMethods func(ctx context.Context, userID string) (bool, error)
	// Auditor records every outcome. Required.
	Auditor sso.EventRecorder
	// Sealer seals the flow cookie (state, nonce, PKCE verifier). Required.
	Sealer sso.Sealer
	// SSOLoginPath is the path that starts an organization's SSO, to which
	// the slug is appended (sso/discovery mounted at /sso/ serves
	// "/sso/login/"). A member of an organization that enforces SSO is sent
	// there. Empty means "/sso/login/".
	SSOLoginPath string
	// HTTPClient is the base client for provider requests; only its
	// Transport is used, guarded against internal addresses unless
	// AllowPrivateAddresses is set.
	HTTPClient            *http.Client
	AllowPrivateAddresses bool
	// AllowInsecureURLs accepts http:// provider URLs (tests only).
	AllowInsecureURLs bool
	// DefaultReturnTo is where a login goes without a safe return_to.
	// Empty means "/".
	DefaultReturnTo string
	// FlowTTL bounds the time between start and callback. Zero means 10
	// minutes.
	FlowTTL time.Duration
	// RecentLogin is how recent the session's own login by a local method
	// must be to link an account to it (Manager.StartLink). Zero means 10
	// minutes.
	RecentLogin time.Duration
	// RateLimit and Burst bound requests per client address to the
	// handler's routes, per replica (a callback calls the provider). Zero
	// mean 1 per second and 20.
	RateLimit rate.Limit
	Burst     int
	// ClientIP extracts the client address. Nil means reqinfo.RemoteIP.
	ClientIP func(*http.Request) string
	// ErrorHandler renders refusals. Nil means WriteError (an HTML page
	// that says what happened and what to do next, or JSON when asked).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Now and Rand are the clock and the randomness. Nil means time.Now
	// and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
	// Logger logs audit failures. Nil means slog.Default().
	Logger *slog.Logger
	// TracerProvider and MeterProvider receive an "sso.signin" span per
	// sign-in and the ssokit.login.attempts and ssokit.login.duration
	// metrics, whose protocol attribute is the sign-in method. Nil means
	// the global providers (no-ops until the host installs an SDK).
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Manager runs social sign-in: it starts the provider's authorization,
// verifies the callback, links or creates the account by verified email
// only, applies organization policy and issues the session. It is safe for
// concurrent use.
type Manager struct {
	cfg       Config
	log       *slog.Logger
	tel       *telemetry.T
	client    *http.Client
	providers map[string]*Provider
	secure    bool
	mux       *http.ServeMux
	limiter   *clientlimit.Buckets

	mu   sync.Mutex
	meta map[string]*oidcMeta // discovery per provider, read once
}

// New returns a Manager, reporting every missing or invalid field at once.
func New(cfg Config) (*Manager, error) {
	var errs []error
	need := func(ok bool, name string) {
		if !ok {
			errs = append(errs, fmt.Errorf("%w: social: %s is required", sso.ErrInvalidConfig, name))
		}
	}
	need(cfg.BaseURL != nil && cfg.BaseURL.IsAbs(), "BaseURL (absolute)")
	need(len(cfg.Providers) > 0, "Providers")
	need(cfg.Store != nil, "Store")
	need(cfg.Users != nil, "Users")
	need(cfg.Orgs != nil, "Orgs")
	need(cfg.Members != nil, "Members")
	need(cfg.Sessions != nil, "Sessions")
	need(cfg.Enforcer != nil, "Enforcer")
	need(cfg.Auditor != nil, "Auditor")
	need(cfg.Sealer != nil, "Sealer")
	if cfg.DefaultReturnTo == "" {
		cfg.DefaultReturnTo = "/"
	}
	need(returnto.IsSafe(cfg.DefaultReturnTo), "DefaultReturnTo as a relative path")
	if cfg.SSOLoginPath == "" {
		cfg.SSOLoginPath = "/sso/login/"
	}
	need(returnto.IsSafe(cfg.SSOLoginPath), "SSOLoginPath as a relative path")
	m := &Manager{providers: map[string]*Provider{}, meta: map[string]*oidcMeta{}}
	m.tel = telemetry.New("social", telemetry.Config{TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
	for i := range cfg.Providers {
		p := cfg.Providers[i]
		if err := p.valid(); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := m.providers[p.Name]; dup {
			errs = append(errs, fmt.Errorf("%w: social: provider %q configured twice", sso.ErrInvalidConfig, p.Name))
		}
		m.providers[p.Name] = &p
	}
	client, err := egress.New(egress.Options{Base: cfg.HTTPClient, AllowPrivate: cfg.AllowPrivateAddresses, AllowHTTP: cfg.AllowInsecureURLs})
	if err != nil {
		errs = append(errs, fmt.Errorf("%w: social: %w", sso.ErrInvalidConfig, err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if !strings.HasSuffix(cfg.BaseURL.Path, "/") {
		u := *cfg.BaseURL
		u.Path += "/"
		cfg.BaseURL = &u
	}
	if cfg.FlowTTL <= 0 {
		cfg.FlowTTL = 10 * time.Minute
	}
	if cfg.RecentLogin <= 0 {
		cfg.RecentLogin = 10 * time.Minute
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = reqinfo.RemoteIP
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 1
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 20
	}
	m.limiter = clientlimit.New(cfg.RateLimit, cfg.Burst, 10000)
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = WriteError
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	m.cfg, m.client, m.secure = cfg, client, cfg.BaseURL.Scheme == "https"
	m.log = cfg.Logger
	if m.log == nil {
		m.log = slog.Default()
	}
	m.routes()
	return m, nil
}

// Providers returns the configured providers' names and display names, in
// configuration order, for login pages.
func (m *Manager) Providers() []ProviderInfo {
	out := make([]ProviderInfo, 0, len(m.cfg.Providers))
	for _, p := range m.cfg.Providers {
		out = append(out, ProviderInfo{Name: p.Name, DisplayName: p.DisplayName})
	}
	return out
}

// ProviderInfo names a provider for a login page.
type ProviderInfo struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
}

// RedirectURI returns the callback URL of the provider named name.
func (m *Manager) RedirectURI(name string) string {
	return m.cfg.BaseURL.ResolveReference(&url.URL{Path: url.PathEscape(name) + "/callback"}).String()
}

// now returns the current time in UTC.
func (m *Manager) now() time.Time { return m.cfg.Now().UTC() }

// audit records e, logging a failure instead of returning it.
func (m *Manager) audit(ctx context.Context, e *sso.Event) {
	record.Quietly(ctx, m.cfg.Auditor, e, m.log.ErrorContext)
}
