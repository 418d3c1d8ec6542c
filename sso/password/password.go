package password

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/ssokit/ssokit/internal/clientlimit"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/record"
	"github.com/ssokit/ssokit/internal/reqinfo"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// Message is one email (sso.MailMessage, the same type as sso/mail's Message).
type Message = sso.MailMessage

// Mailer sends the verification and reset emails (sso.Mailer); sso/mail's SMTP and
// DevMailer implement it.
type Mailer = sso.Mailer

// LocalLoginPolicy decides whether a user may sign in to an organization
// without its IdP (sso.LocalLoginPolicy); sso/policy's Enforcer implements
// it.
type LocalLoginPolicy = sso.LocalLoginPolicy

// Config configures a Manager.
type Config struct {
	// Store keeps credentials, tokens and throttle counters. Required.
	Store Store
	// Users, Orgs and Members are the core stores. Required.
	Users   sso.UserStore
	Orgs    sso.OrgStore
	Members sso.MembershipStore
	// Sessions issues the session after a login (session.Manager). Required.
	Sessions sso.SessionIssuer
	// Revoker ends a user's sessions and refresh families after a password
	// change or reset (session.Manager). Required.
	Revoker sso.SessionRevoker
	// Enforcer applies SSO enforcement and break-glass (policy.Enforcer).
	// Required.
	Enforcer LocalLoginPolicy
	// Auditor records sign-ups, logins, changes and resets. Required.
	Auditor sso.EventRecorder
	// Joiner, when set, runs when a user's email is verified (VerifyEmail)
	// and at each login before the organization is picked, so that a user
	// may join one on the way in (invite.Manager.AutoJoin's policy for
	// verified domains). Its error fails the login; at verification it is
	// logged, the login retrying the join.
	Joiner func(ctx context.Context, u *sso.User) error
	// Mailer sends the emails. Required.
	Mailer Mailer
	// VerifyURL and ResetURL are the absolute URLs of the host's pages that
	// post a token to the verify and reset routes; emails link to them with
	// "?token=...". Required.
	VerifyURL *url.URL
	ResetURL  *url.URL
	// AppName names the service in emails. Empty means "your account".
	AppName string
	// Policy is the password policy.
	Policy Policy
	// Params are the argon2id parameters of new hashes. Zero means
	// DefaultParams. Stored hashes made with weaker parameters are upgraded
	// at the next successful login.
	Params Params
	// Throttle limits failed logins.
	Throttle Throttle
	// VerifyTTL and ResetTTL are the lifetimes of emailed tokens. Zero
	// means 24 hours and 30 minutes.
	VerifyTTL time.Duration
	ResetTTL  time.Duration
	// MailsPerHour bounds the emails sent to one address per hour (sign-up
	// notices, verification and reset), so the routes cannot flood a
	// mailbox. Zero means 5. Requests beyond it get the usual answer.
	MailsPerHour int
	// RateLimit and Burst bound requests per client address to the
	// handler's routes, per replica. Zero mean 1 per second and 20.
	RateLimit rate.Limit
	Burst     int
	// SSOLoginPath is the path that starts an organization's SSO, to which
	// its slug is appended (sso/discovery mounted at /sso/ serves
	// "/sso/login/"). A login refused because the organization enforces
	// SSO names it (sso_login_url), so the person knows where to sign in.
	// Empty means "/sso/login/".
	SSOLoginPath string
	// DefaultReturnTo is where a form login goes when it carries no safe
	// return_to. Empty means "/".
	DefaultReturnTo string
	// ClientIP extracts the client address (through the host's trusted
	// proxies). Nil means reqinfo.RemoteIP, trusting no forwarding header.
	ClientIP func(*http.Request) string
	// ErrorHandler renders refusals. Nil means a JSON body {"error":
	// reason, "message", "field", "fix"} (WriteError).
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

// Manager runs the password tier: sign-up, email verification, login,
// password reset and change. It is safe for concurrent use.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	tel     *telemetry.T
	dummy   string // a hash of a random password, verified for unknown emails
	limiter *clientlimit.Buckets
	mux     *http.ServeMux
}

// New returns a Manager, reporting every missing or invalid field at once.
func New(cfg Config) (*Manager, error) {
	var errs []error
	need := func(ok bool, name string) {
		if !ok {
			errs = append(errs, fmt.Errorf("%w: password: %s is required", sso.ErrInvalidConfig, name))
		}
	}
	need(cfg.Store != nil, "Store")
	need(cfg.Users != nil, "Users")
	need(cfg.Orgs != nil, "Orgs")
	need(cfg.Members != nil, "Members")
	need(cfg.Sessions != nil, "Sessions")
	need(cfg.Revoker != nil, "Revoker")
	need(cfg.Enforcer != nil, "Enforcer")
	need(cfg.Auditor != nil, "Auditor")
	need(cfg.Mailer != nil, "Mailer")
	need(cfg.VerifyURL != nil && cfg.VerifyURL.IsAbs(), "VerifyURL (absolute)")
	need(cfg.ResetURL != nil && cfg.ResetURL.IsAbs(), "ResetURL (absolute)")
	if err := cfg.Policy.defaults(); err != nil {
		errs = append(errs, err)
	}
	if cfg.Params == (Params{}) {
		cfg.Params = DefaultParams
	}
	if err := cfg.Params.valid(); err != nil {
		errs = append(errs, fmt.Errorf("%w: password: Params: %v", sso.ErrInvalidConfig, err))
	}
	cfg.Throttle.defaults()
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
	if cfg.AppName == "" {
		cfg.AppName = "your account"
	}
	if cfg.VerifyTTL <= 0 {
		cfg.VerifyTTL = 24 * time.Hour
	}
	if cfg.ResetTTL <= 0 {
		cfg.ResetTTL = 30 * time.Minute
	}
	if cfg.MailsPerHour <= 0 {
		cfg.MailsPerHour = 5
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 1
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 20
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = reqinfo.RemoteIP
	}
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = WriteError
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, limiter: clientlimit.New(cfg.RateLimit, cfg.Burst, 10000)}
	m.tel = telemetry.New("password", telemetry.Config{TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
	if m.log == nil {
		m.log = slog.Default()
	}
	dummy, err := hashPassword(opaque.NewToken(24), cfg.Params, cfg.Rand)
	if err != nil {
		return nil, err
	}
	m.dummy = dummy
	m.routes()
	return m, nil
}

// now returns the current time in UTC.
func (m *Manager) now() time.Time { return m.cfg.Now().UTC() }

// audit records e, logging a failure instead of returning it.
func (m *Manager) audit(ctx context.Context, e *sso.Event) {
	record.Quietly(ctx, m.cfg.Auditor, e, m.log.ErrorContext)
}

// hash returns the PHC string of the normalized password.
func (m *Manager) hash(pw string) (string, error) {
	return hashPassword(nfkc(pw), m.cfg.Params, m.cfg.Rand)
}
