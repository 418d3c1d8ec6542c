package mfa

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxFailures   = 5
	DefaultLockout       = time.Minute
	DefaultMaxLockout    = time.Hour
	DefaultFailureWindow = 24 * time.Hour
	DefaultRecentMFA     = 10 * time.Minute
	DefaultRecentLogin   = 10 * time.Minute
	DefaultGracePeriod   = 7 * 24 * time.Hour
	DefaultQRSize        = 256
	// RecoveryCodeCount is how many recovery codes a set holds.
	RecoveryCodeCount = 10
)

// Config configures a Manager. Zero values are secure defaults.
type Config struct {
	// Store holds factors, recovery codes, failure counters and WebAuthn
	// state. Required.
	Store Store
	// Sealer encrypts TOTP seeds at rest (associated data: the user ID).
	// Required.
	Sealer sso.Sealer
	// Users supplies the email shown as the account name in authenticator
	// apps. Required.
	Users sso.UserStore
	// Orgs and Members supply the organization's MFA policy and the member's
	// join time for Require's grace period. Required.
	Orgs    sso.OrgStore
	Members sso.MembershipStore
	// Events receives the audit trail (sso.EventMFA*). Required.
	Events sso.EventStore
	// Elevator marks the session as having completed a second factor and
	// rotates it; session.Manager implements it. Required for the HTTP
	// handlers.
	Elevator sso.MFAElevator

	// Issuer is the product name shown in authenticator apps (the otpauth
	// issuer). Required.
	Issuer string

	// MaxFailures is how many consecutive failures, across TOTP, recovery
	// codes and WebAuthn, lock a user's second factor. Zero means 5.
	MaxFailures int
	// Lockout is the first lock's length; each further failure doubles it,
	// up to MaxLockout. Zero means one minute; MaxLockout zero means an hour.
	Lockout    time.Duration
	MaxLockout time.Duration
	// FailureWindow restarts the failure count when the previous failure is
	// older. Zero means 24 hours.
	FailureWindow time.Duration
	// RecentMFA is how recent the session's local verification of an
	// existing factor (TOTP, WebAuthn or a recovery code, recorded by the
	// Elevator) must be to disable a factor, regenerate recovery codes or
	// enrol another factor once one is active. An MFA asserted by the IdP
	// never counts, whatever the organization's TrustIdPMFA says. Zero means
	// 10 minutes.
	RecentMFA time.Duration
	// RecentLogin is how recent the session's own login must be to enrol a
	// user's first factor (when none is active). A session that entered its
	// organization by a switch (sso.AuthSwitch) has no login there and never
	// qualifies. Zero means 10 minutes.
	RecentLogin time.Duration

	// RequireReenrollmentAfterRecovery removes the TOTP factor when a
	// recovery code is used (the device is presumed lost), so the user must
	// enrol again.
	RequireReenrollmentAfterRecovery bool

	// EnrollmentURL and VerifyURL are where Require and StepUp redirect
	// browsers (GET requests accepting text/html); a "return_to" query
	// parameter carries the original path. Empty means always answer with
	// JSON 403.
	EnrollmentURL string
	VerifyURL     string
	// Starters and Connections enable step-ups at the IdP
	// (sso.MFAPolicy.StepUpAtIdP): a session an SSO connection made goes
	// back to that connection's IdP, one starter per protocol (the saml
	// and oidc packages). Nil disables it: the local factor is asked.
	Starters    map[sso.Protocol]sso.Starter
	Connections sso.ConnectionStore
	// IdPStepUpURL is where the package's GET /step-up/idp is mounted
	// (e.g. "/mfa/step-up/idp"): Require and StepUp redirect browsers there
	// instead of to VerifyURL when the organization asks for step-ups at
	// the IdP. Empty means they do not.
	IdPStepUpURL string
	// IsPlatformAdmin reports whether the principal is one of the host's
	// own administrators, who always need a second factor, with no grace
	// period, whatever their organization's policy. Nil means nobody is.
	IsPlatformAdmin func(p *sso.Principal) bool

	// WebAuthn enables security keys and passkeys; nil disables them.
	WebAuthn *WebAuthnConfig
	// Passkeys, when set, lets the user's passkeys (sso/passkey) verify
	// as a second factor (POST /passkey/begin and /passkey/finish): a user
	// with a passkey and no factor of this package is asked to verify with
	// it, not to enrol, and enrolling another factor then needs that
	// verification first. sso/stack wires it when passkeys are on.
	Passkeys PasskeyChecker

	// QRSize is the QR code's width and height in pixels. Zero means 256.
	QRSize int

	// ErrorHandler renders errors of the HTTP handlers. Nil renders JSON
	// {"error": reason} with a fitting status and logs internal causes.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Logger receives handler-level logs. Nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock (the server's clock is the TOTP time source). Nil
	// means time.Now.
	Now func() time.Time
	// Rand supplies randomness for seeds and recovery codes. Nil means
	// crypto/rand.
	Rand io.Reader
	// TracerProvider and MeterProvider receive a span per verification and
	// the MFA outcome counter (success, failure, replay, lockout by factor).
	// Nil means the global providers, which cost next to nothing until the
	// host installs an SDK.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// TenantMetrics adds organization IDs to metric attributes. Off by
	// default to keep metric cardinality bounded.
	TenantMetrics bool
}

// WebAuthnConfig configures the WebAuthn relying party.
type WebAuthnConfig struct {
	// RPID is the relying party ID, the registrable domain or host of the
	// application ("example.com"). Required.
	RPID string
	// RPDisplayName is shown by authenticators. Zero means Config.Issuer.
	RPDisplayName string
	// Origins are the exact origins ("https://app.example.com") the browser
	// may report. Required.
	Origins []string
	// Timeout bounds a ceremony. Zero means 5 minutes.
	Timeout time.Duration
	// UserVerification is "required", "preferred" or "discouraged". Zero
	// means "preferred".
	UserVerification string
}

// Manager implements TOTP and WebAuthn second factors, recovery codes,
// organization MFA policy and step-up. It is safe for concurrent use.
type Manager struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	rand     io.Reader
	wa       *webauthn.WebAuthn
	waTTL    time.Duration
	mux      *http.ServeMux
	errorFn  func(w http.ResponseWriter, r *http.Request, err error)
	totpOpts totpParams
	tel      *telemetry.T
}

// New validates cfg and returns a Manager.
func New(cfg Config) (*Manager, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: mfa: "+format, append([]any{sso.ErrInvalidConfig}, a...)...)
	}
	switch {
	case cfg.Store == nil:
		return nil, bad("Store is required")
	case cfg.Sealer == nil:
		return nil, bad("Sealer is required")
	case cfg.Users == nil:
		return nil, bad("Users is required")
	case cfg.Orgs == nil || cfg.Members == nil:
		return nil, bad("Orgs and Members are required")
	case cfg.Events == nil:
		return nil, bad("Events is required")
	case cfg.Issuer == "":
		return nil, bad("Issuer (the product name) is required")
	case cfg.MaxFailures < 0 || cfg.Lockout < 0 || cfg.MaxLockout < 0 || cfg.FailureWindow < 0 || cfg.RecentMFA < 0 || cfg.RecentLogin < 0 || cfg.QRSize < 0:
		return nil, bad("negative limits")
	}
	cfg.MaxFailures = cmp.Or(cfg.MaxFailures, DefaultMaxFailures)
	cfg.Lockout = cmp.Or(cfg.Lockout, DefaultLockout)
	cfg.MaxLockout = cmp.Or(cfg.MaxLockout, DefaultMaxLockout)
	if cfg.MaxLockout < cfg.Lockout {
		return nil, bad("MaxLockout below Lockout")
	}
	cfg.FailureWindow = cmp.Or(cfg.FailureWindow, DefaultFailureWindow)
	cfg.RecentMFA = cmp.Or(cfg.RecentMFA, DefaultRecentMFA)
	cfg.RecentLogin = cmp.Or(cfg.RecentLogin, DefaultRecentLogin)
	cfg.QRSize = cmp.Or(cfg.QRSize, DefaultQRSize)
	if cfg.QRSize < 64 || cfg.QRSize > 2048 {
		return nil, bad("QRSize must be within 64..2048")
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, now: cfg.Now, rand: cfg.Rand, errorFn: cfg.ErrorHandler, totpOpts: defaultTOTP,
		tel: telemetry.New("mfa", telemetry.Config{TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider, TenantMetrics: cfg.TenantMetrics})}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	if m.errorFn == nil {
		m.errorFn = m.defaultError
	}
	if cfg.WebAuthn != nil {
		if err := m.initWebAuthn(cfg.WebAuthn); err != nil {
			return nil, err
		}
	}
	m.routes()
	return m, nil
}

// requestInfo is request metadata for audit events.
type requestInfo struct{ ip, userAgent string }

type requestInfoKey struct{}

func withRequestInfo(r *http.Request) context.Context {
	return context.WithValue(r.Context(), requestInfoKey{}, requestInfo{ip: clientIP(r), userAgent: r.UserAgent()})
}

func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	for i := len(host) - 1; i >= 0; i-- {
		if host[i] == ':' {
			return host[:i]
		}
	}
	return host
}

// audit appends an mfa event about p's user to p's organization's chain.
// A failed write is logged: audit trouble must not turn a rejection into an
// acceptance or the other way round.
func (m *Manager) audit(ctx context.Context, p *sso.Principal, typ, outcome, reason string, details map[string]string) {
	m.countEvent(ctx, p, typ, details)
	ri, _ := ctx.Value(requestInfoKey{}).(requestInfo)
	e := &sso.Event{
		ID:        opaque.NewID("evt_"),
		OrgID:     p.OrgID,
		Time:      m.now(),
		Type:      typ,
		Actor:     sso.Actor{Type: sso.ActorUser, ID: p.UserID},
		Target:    sso.Target{Type: "user", ID: p.UserID},
		Outcome:   outcome,
		Reason:    reason,
		IP:        ri.ip,
		UserAgent: ri.userAgent,
		Details:   details,
	}
	if err := m.cfg.Events.AppendEvent(context.WithoutCancel(ctx), e); err != nil {
		m.log.ErrorContext(ctx, "mfa: audit event not stored", slog.String("type", typ), slog.String("user_id", p.UserID), slog.Any("error", err))
	}
}

// checkLock refuses attempts while the user is locked out. It reports
// whether the user has a failure record, which a success must clear.
func (m *Manager) checkLock(ctx context.Context, p *sso.Principal) (bool, error) {
	a, err := m.readAttempts(ctx, p)
	return a != nil, err
}

// fail records a failed attempt of factor for the user, locks the user
// after MaxFailures with exponential back-off, audits it and returns cause
// (or the lockout error when this failure triggered one).
func (m *Manager) fail(ctx context.Context, p *sso.Principal, factor string, cause error) error {
	now := m.now()
	reason := reasonOf(cause)
	typ := EventFailed
	if reason == ReasonCodeReplayed {
		typ = EventReplayed
	}
	m.audit(ctx, p, typ, sso.OutcomeFailure, reason, map[string]string{"factor": factor})
	n, err := m.cfg.Store.AddFailure(ctx, p.UserID, now, now.Add(-m.cfg.FailureWindow))
	if err != nil {
		// Fail closed: without a recorded failure the attempt is refused as
		// an internal error, never as a plain wrong code to retry.
		return fmt.Errorf("mfa: record failure (%s): %w", reason, err)
	}
	if n < m.cfg.MaxFailures {
		return cause
	}
	d := m.cfg.Lockout
	for i := m.cfg.MaxFailures; i < n && d < m.cfg.MaxLockout; i++ {
		d *= 2
	}
	d = min(d, m.cfg.MaxLockout)
	until := now.Add(d)
	if err := m.cfg.Store.LockUntil(ctx, p.UserID, until); err != nil {
		return fmt.Errorf("mfa: lock (%s): %w", reason, err)
	}
	m.audit(ctx, p, EventLockedOut, sso.OutcomeFailure, ReasonLockedOut,
		map[string]string{"factor": factor, "failures": fmt.Sprint(n), "until": until.UTC().Format(time.RFC3339)})
	return lockout(until)
}

// reserve counts an attempt at a guessable secret (a TOTP or recovery
// code) before the secret is checked, so that concurrent guesses — on one
// replica or several sharing the store — cannot all pass the lock check
// before the first failure is recorded. Attempts numbered up to
// MaxFailures run; the one reaching MaxFailures locks the user before it is
// checked (a success lifts the lock). Beyond that, only the first attempt
// after a lock has expired runs (no attempt recorded since the lock's end,
// and no other attempt counted between our read and our increment), and it
// re-locks first; any attempt that raced past the lock check is refused. It returns the attempt's number,
// which fail and succeed take.
func (m *Manager) reserve(ctx context.Context, p *sso.Principal) (int, error) {
	a, err := m.readAttempts(ctx, p)
	if err != nil {
		return 0, err
	}
	return m.reserveAfter(ctx, p, a)
}

// readAttempts reads the user's failure record (nil when there is none)
// and refuses while the user is locked out.
func (m *Manager) readAttempts(ctx context.Context, p *sso.Principal) (*Attempts, error) {
	a, err := m.cfg.Store.GetAttempts(ctx, p.UserID)
	switch {
	case errors.Is(err, sso.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("mfa: read attempts: %w", err)
	case m.now().Before(a.LockedUntil):
		m.audit(ctx, p, EventFailed, sso.OutcomeFailure, ReasonLockedOut, nil)
		return nil, lockout(a.LockedUntil)
	}
	return a, nil
}

// reserveAfter is reserve with the record readAttempts returned (nil: no
// record). The read may be older than the increment by other store calls:
// reserve's checks hold for any delay between the two, since they compare
// the increment's result with the read and refuse on a difference.
func (m *Manager) reserveAfter(ctx context.Context, p *sso.Principal, a *Attempts) (int, error) {
	now := m.now()
	before, afterLock := 0, false
	if a != nil {
		before = a.Failures
		if !a.LastFailureAt.After(now.Add(-m.cfg.FailureWindow)) {
			before = 0 // AddFailure restarts the count
		}
		// A lock has expired and nothing was attempted since: this may be
		// the one attempt it lets through.
		afterLock = !a.LockedUntil.IsZero() && a.LastFailureAt.Before(a.LockedUntil)
	}
	n, err := m.cfg.Store.AddFailure(ctx, p.UserID, now, now.Add(-m.cfg.FailureWindow))
	if err != nil {
		return 0, fmt.Errorf("mfa: record attempt: %w", err)
	}
	if n < m.cfg.MaxFailures {
		return n, nil
	}
	until := now.Add(m.backoff(n))
	if err := m.cfg.Store.LockUntil(ctx, p.UserID, until); err != nil {
		return 0, fmt.Errorf("mfa: lock: %w", err)
	}
	if n > m.cfg.MaxFailures && (!afterLock || n != before+1) {
		m.audit(ctx, p, EventFailed, sso.OutcomeFailure, ReasonLockedOut, nil)
		return 0, lockout(until)
	}
	return n, nil
}

// backoff is the lock length after the n-th consecutive failure.
func (m *Manager) backoff(n int) time.Duration {
	d := m.cfg.Lockout
	for i := m.cfg.MaxFailures; i < n && d < m.cfg.MaxLockout; i++ {
		d *= 2
	}
	return min(d, m.cfg.MaxLockout)
}

// failReserved is fail for an attempt counted by reserve: it audits the
// failure and reports the lock that attempt number n set, if any.
func (m *Manager) failReserved(ctx context.Context, p *sso.Principal, n int, factor string, cause error) error {
	reason := reasonOf(cause)
	typ := EventFailed
	if reason == ReasonCodeReplayed {
		typ = EventReplayed
	}
	m.audit(ctx, p, typ, sso.OutcomeFailure, reason, map[string]string{"factor": factor})
	if n < m.cfg.MaxFailures {
		return cause
	}
	a, err := m.cfg.Store.GetAttempts(ctx, p.UserID)
	if err != nil {
		return fmt.Errorf("mfa: read attempts (%s): %w", reason, err)
	}
	m.audit(ctx, p, EventLockedOut, sso.OutcomeFailure, ReasonLockedOut,
		map[string]string{"factor": factor, "failures": fmt.Sprint(n), "until": a.LockedUntil.UTC().Format(time.RFC3339)})
	return lockout(a.LockedUntil)
}

// succeed resets the failure counters (when dirty: checkLock saw a
// record) and audits a successful check.
func (m *Manager) succeed(ctx context.Context, p *sso.Principal, factor string, dirty bool) error {
	if dirty {
		if err := m.cfg.Store.ResetAttempts(ctx, p.UserID); err != nil {
			return fmt.Errorf("mfa: reset attempts: %w", err)
		}
	}
	m.audit(ctx, p, EventSucceeded, sso.OutcomeSuccess, "", map[string]string{"factor": factor})
	return nil
}
