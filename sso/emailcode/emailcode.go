package emailcode

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
	"github.com/ssokit/ssokit/internal/record"
	"github.com/ssokit/ssokit/internal/reqinfo"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// Message is one email (sso.MailMessage, the same type as sso/mail's Message).
type Message = sso.MailMessage

// Mailer sends the sign-in emails (sso.Mailer); sso/mail's SMTP and
// DevMailer implement it.
type Mailer = sso.Mailer

// LocalLoginPolicy decides whether a user may sign in to an organization
// without its IdP (sso.LocalLoginPolicy); sso/policy's Enforcer implements
// it.
type LocalLoginPolicy = sso.LocalLoginPolicy

// Config configures a Manager.
type Config struct {
	// Store keeps challenges and counters and finds accounts. Required.
	Store Store
	// Users, Orgs and Members are the core stores. Required.
	Users   sso.UserStore
	Orgs    sso.OrgStore
	Members sso.MembershipStore
	// Sessions issues the session after a sign-in (session.Manager).
	// Required.
	Sessions sso.SessionIssuer
	// Enforcer applies SSO enforcement and break-glass (policy.Enforcer).
	// Required.
	Enforcer LocalLoginPolicy
	// Auditor records requests, sign-ins and refusals. Required.
	Auditor sso.EventRecorder
	// Mailer sends the emails. Required.
	Mailer Mailer
	// BaseURL is the absolute URL the handler is mounted at
	// ("https://app.acme.example/auth/email"); emailed links point to its
	// /link route. Required.
	BaseURL *url.URL
	// AllowSignUp reports whether an address without an account may sign
	// up by email: it then gets a code, and a user with that verified
	// address is created when it is used. Nil means no sign-ups: such
	// addresses get no email (and the same answer).
	AllowSignUp func(ctx context.Context, email string) bool
	// Joiner, when set, runs after the address is proved and before the
	// organization is picked, so that a user may join one on the way in
	// (invite.Manager.AutoJoin's policy for verified domains). Its error
	// fails the sign-in.
	Joiner func(ctx context.Context, u *sso.User) error
	// AppName names the service in emails. Empty means "your account".
	AppName string
	// CodeDigits is the length of codes, 6 to 8. Zero means 6.
	CodeDigits int
	// TTL is the lifetime of a code and its link. Zero means 10 minutes.
	TTL time.Duration
	// MaxAttempts is how many wrong codes void a challenge. Zero means 5.
	MaxAttempts int
	// RequestsPerHour bounds the sign-in emails asked for one address per
	// hour, whether or not it has an account. Zero means 5.
	RequestsPerHour int
	// CodeAttemptsPerDay bounds the codes entered for one address per 24
	// hours, across all its challenges and client addresses: beyond it
	// codes for the address are refused (rate_limited) while links, which
	// cannot be guessed, keep working. Zero means 30.
	CodeAttemptsPerDay int
	// IPRequestsPerHour bounds, per client address and hour, the requests
	// for emails, code attempts and invalid links, counted together. Zero
	// means 60.
	IPRequestsPerHour int
	// RateLimit and Burst bound requests per client address to the
	// handler's routes, per replica. Zero mean 1 per second and 20.
	RateLimit rate.Limit
	Burst     int
	// CookieName names the cookie binding a challenge to its browser.
	// Zero means "__Host-ssokit_email" ("ssokit_email" with
	// AllowInsecureCookie).
	CookieName string
	// AllowInsecureCookie drops the Secure attribute and the __Host-
	// prefix of the browser cookie. It MUST only be set for plain-HTTP
	// development on localhost.
	AllowInsecureCookie bool
	// SSOLoginPath is the path that starts an organization's SSO, to which
	// its slug is appended (sso/discovery mounted at /sso/ serves
	// "/sso/login/"). A sign-in refused because the organization enforces
	// SSO names it (sso_login_url). Empty means "/sso/login/".
	SSOLoginPath string
	// DefaultReturnTo is where a sign-in goes when it carries no safe
	// return_to. Empty means "/".
	DefaultReturnTo string
	// ClientIP extracts the client address (through the host's trusted
	// proxies). Nil means reqinfo.RemoteIP, trusting no forwarding header.
	ClientIP func(*http.Request) string
	// ErrorHandler renders refusals of the JSON routes. Nil means
	// WriteError.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Now and Rand are the clock and the randomness. Nil means time.Now
	// and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
	// Logger logs audit and mail failures. Nil means slog.Default().
	Logger *slog.Logger
	// TracerProvider and MeterProvider receive an "sso.signin" span per
	// sign-in and the ssokit.login.attempts and ssokit.login.duration
	// metrics, whose protocol attribute is the sign-in method. Nil means
	// the global providers (no-ops until the host installs an SDK).
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Manager runs email sign-in by one-time code and magic link. It is safe
// for concurrent use.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	tel     *telemetry.T
	limiter *clientlimit.Buckets
	mux     *http.ServeMux
	mails   sync.WaitGroup
}

// New returns a Manager, reporting every missing or invalid field at once.
func New(cfg Config) (*Manager, error) {
	var errs []error
	need := func(ok bool, name string) {
		if !ok {
			errs = append(errs, fmt.Errorf("%w: emailcode: %s is required", sso.ErrInvalidConfig, name))
		}
	}
	need(cfg.Store != nil, "Store")
	need(cfg.Users != nil, "Users")
	need(cfg.Orgs != nil, "Orgs")
	need(cfg.Members != nil, "Members")
	need(cfg.Sessions != nil, "Sessions")
	need(cfg.Enforcer != nil, "Enforcer")
	need(cfg.Auditor != nil, "Auditor")
	need(cfg.Mailer != nil, "Mailer")
	need(cfg.BaseURL != nil && cfg.BaseURL.IsAbs(), "BaseURL (absolute)")
	if cfg.CodeDigits == 0 {
		cfg.CodeDigits = 6
	}
	if cfg.CodeDigits < 6 || cfg.CodeDigits > 8 {
		errs = append(errs, fmt.Errorf("%w: emailcode: CodeDigits must be 6..8", sso.ErrInvalidConfig))
	}
	if cfg.DefaultReturnTo == "" {
		cfg.DefaultReturnTo = "/"
	}
	need(returnto.IsSafe(cfg.DefaultReturnTo), "DefaultReturnTo as a relative path")
	if cfg.SSOLoginPath == "" {
		cfg.SSOLoginPath = "/sso/login/"
	}
	need(returnto.IsSafe(cfg.SSOLoginPath), "SSOLoginPath as a relative path")
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cfg.defaults()
	m := &Manager{cfg: cfg, log: cfg.Logger, limiter: clientlimit.New(cfg.RateLimit, cfg.Burst, 10000)}
	m.tel = telemetry.New("emailcode", telemetry.Config{TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
	if m.log == nil {
		m.log = slog.Default()
	}
	m.routes()
	return m, nil
}

func (c *Config) defaults() {
	if c.AppName == "" {
		c.AppName = "your account"
	}
	if c.TTL <= 0 {
		c.TTL = 10 * time.Minute
	}
	defN := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	defN(&c.MaxAttempts, 5)
	defN(&c.RequestsPerHour, 5)
	defN(&c.IPRequestsPerHour, 60)
	defN(&c.CodeAttemptsPerDay, 30)
	defN(&c.Burst, 20)
	if c.RateLimit == 0 {
		c.RateLimit = 1
	}
	if c.CookieName == "" {
		c.CookieName = "__Host-ssokit_email"
		if c.AllowInsecureCookie {
			c.CookieName = "ssokit_email"
		}
	}
	if c.ClientIP == nil {
		c.ClientIP = reqinfo.RemoteIP
	}
	if c.ErrorHandler == nil {
		c.ErrorHandler = WriteError
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	c.BaseURL = &url.URL{Scheme: c.BaseURL.Scheme, Host: c.BaseURL.Host, Path: strings.TrimSuffix(c.BaseURL.Path, "/")}
}

// Wait blocks until every email queued so far has been handed to the
// Mailer (or failed). Emails are sent off the request, so that the answer
// takes as long for an address that gets one as for one that does not;
// call Wait before shutting down, and in tests before reading a mailbox.
func (m *Manager) Wait() { m.mails.Wait() }

// now returns the current time in UTC.
func (m *Manager) now() time.Time { return m.cfg.Now().UTC() }

// audit records e, logging a failure instead of returning it.
func (m *Manager) audit(ctx context.Context, e *sso.Event) {
	record.Quietly(ctx, m.cfg.Auditor, e, m.log.ErrorContext)
}

// requestCtx adds the request's audit information to its context.
func (m *Manager) requestCtx(r *http.Request) context.Context {
	ctx := r.Context()
	ai := sso.AuditInfoFrom(ctx)
	if ai.IP == "" {
		def := reqinfo.Audit(r, sso.Actor{Type: sso.ActorUser}, m.cfg.ClientIP)
		if ai.Actor.Type == "" {
			ai.Actor = def.Actor
		}
		ai.IP, ai.UserAgent = def.IP, def.UserAgent
	}
	return sso.WithAuditInfo(ctx, ai)
}
