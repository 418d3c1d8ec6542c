package passkey

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
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

// Method is the sso.AuthMethod of sessions a passkey login issues.
const Method = sso.AuthPasskey

// Protocol is the sso.Protocol of this package's *sso.ValidationError values.
const Protocol sso.Protocol = "passkey"

// Feature is the plan feature (sso.Features) an organization needs for its
// members to sign in with a passkey.
const Feature = "passkey"

// Stable reasons of the refusals this package returns.
const (
	ReasonCeremonyInvalid = "ceremony_invalid"  // unknown, used, expired or foreign ceremony
	ReasonMalformed       = "malformed_request" // not a WebAuthn response
	ReasonInvalid         = "passkey_invalid"   // the assertion or attestation failed verification
	ReasonUnknown         = "passkey_unknown"   // no such passkey (deleted, or of another site)
	ReasonCloned          = "passkey_cloned"    // the signature counter went backwards
	ReasonSSORequired     = "sso_required"      // the organization enforces SSO
	ReasonNoOrganization  = "no_organization"   // no active membership
	ReasonOrgRequired     = "org_required"      // several organizations: name one
	ReasonAccessDenied    = "access_denied"     // not an active member of the organization named
	ReasonFeature         = "feature_disabled"  // the plan does not include passkeys
	ReasonMethodDisabled  = "method_disabled"   // the organization turned passkey sign-in off
	ReasonLastCredential  = "last_credential"   // deleting the only way to sign in
	ReasonUnauthenticated = "unauthenticated"   // registration and management need a session
	ReasonRateLimited     = "rate_limited"      // too many requests from one client address
)

// ReasonReauthenticationRequired refuses a registration by a principal
// without a recent local login of its own (see Config.RecentLogin): an
// access token, a session an IdP made, one that entered its organization
// by a switch, or an older one. Signing in again here lifts it.
const ReasonReauthenticationRequired = "reauthentication_required"

// ReasonReverificationRequired refuses to add or delete a passkey of a
// user who has a second factor (a passkey, or one Config.SecondFactor
// reports) until the session verified one of them here within
// Config.RecentLogin.
const ReasonReverificationRequired = "mfa_reverification_required"

// LocalLoginPolicy decides whether a user may sign in to an organization
// without its IdP (sso.LocalLoginPolicy); sso/policy's Enforcer implements
// it.
type LocalLoginPolicy = sso.LocalLoginPolicy

// OtherMethods reports whether a user can sign in some other way than with
// a passkey, so that deleting their last passkey does not lock them out.
// The host implements it. The store already counts the ways its database
// holds (passkeys, linked social accounts, a password) in the delete
// itself, under the per-user lock every keep-last removal takes;
// OtherMethods is asked only when the store refuses, and outside that
// lock, so it is for ways the store does not hold and that a concurrent
// removal cannot take away.
type OtherMethods func(ctx context.Context, userID string) (bool, error)

// Config configures a Manager.
type Config struct {
	// RPID is the WebAuthn relying party ID (the site's domain) and Origins
	// the page origins allowed to use it. Required.
	RPID          string
	Origins       []string
	RPDisplayName string
	// Store keeps passkeys and ceremonies. Required.
	Store Store
	// Users, Orgs and Members are the core stores. Required.
	Users   sso.UserStore
	Orgs    sso.OrgStore
	Members sso.MembershipStore
	// Sessions issues the session (session.Manager). Required.
	Sessions sso.SessionIssuer
	// Enforcer applies SSO enforcement and break-glass. Required.
	Enforcer LocalLoginPolicy
	// Auditor records logins and changes. Required.
	Auditor sso.EventRecorder
	// OtherMethods guards the deletion of a passkey that is the user's
	// last way to sign in the store holds. Nil means such a passkey can
	// never be deleted.
	OtherMethods OtherMethods
	// Timeout bounds a ceremony. Zero means 5 minutes.
	Timeout time.Duration
	// RecentLogin is how recent the session's own login, by a local
	// method (a password, an emailed code or link, a social account or a
	// passkey), must be to register a passkey, and how recent its
	// verification of a second factor must be to add or delete one while
	// the user has a second factor. Zero means 10 minutes.
	RecentLogin time.Duration
	// SecondFactor reports whether the user has a second factor this
	// package does not hold (mfa.Manager.HasFactor: a TOTP or WebAuthn
	// factor). A passkey counts as a second factor itself, so while the
	// user has one (of either kind), adding or deleting a passkey needs a
	// session that verified one here within RecentLogin: a password alone
	// must not buy a passkey that passes the organization's MFA. Nil means
	// only the user's passkeys count.
	SecondFactor func(ctx context.Context, userID string) (bool, error)
	// SSOLoginPath is the path that starts an organization's SSO, to which
	// its slug is appended (sso/discovery mounted at /sso/ serves
	// "/sso/login/"). A login refused because the organization enforces
	// SSO names it (sso_login_url). Empty means "/sso/login/".
	SSOLoginPath string
	// RateLimit and Burst bound requests per client address to the
	// handler's routes, per replica (every begin stores a ceremony). Zero
	// mean 1 per second and 20.
	RateLimit rate.Limit
	Burst     int
	// ClientIP extracts the client address (through the host's trusted
	// proxies). Nil means reqinfo.RemoteIP.
	ClientIP func(*http.Request) string
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger logs audit failures. Nil means slog.Default().
	Logger *slog.Logger
	// TracerProvider and MeterProvider receive an "sso.signin" span per
	// sign-in and the ssokit.login.attempts and ssokit.login.duration
	// metrics, whose protocol attribute is the sign-in method. Nil means
	// the global providers (no-ops until the host installs an SDK).
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Manager runs passkey registration, passwordless login and management.
// It is safe for concurrent use.
type Manager struct {
	cfg     Config
	wa      *webauthn.WebAuthn
	log     *slog.Logger
	tel     *telemetry.T
	mux     *http.ServeMux
	limiter *clientlimit.Buckets
}

// New returns a Manager, reporting every missing field at once.
func New(cfg Config) (*Manager, error) {
	var errs []error
	need := func(ok bool, name string) {
		if !ok {
			errs = append(errs, fmt.Errorf("%w: passkey: %s is required", sso.ErrInvalidConfig, name))
		}
	}
	need(cfg.RPID != "" && len(cfg.Origins) > 0, "RPID and Origins")
	need(cfg.Store != nil, "Store")
	need(cfg.Users != nil && cfg.Orgs != nil && cfg.Members != nil, "Users, Orgs and Members")
	need(cfg.Sessions != nil, "Sessions")
	need(cfg.Enforcer != nil, "Enforcer")
	need(cfg.Auditor != nil, "Auditor")
	need(cfg.SSOLoginPath == "" || returnto.IsSafe(cfg.SSOLoginPath), "SSOLoginPath as a relative path")
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.RecentLogin <= 0 {
		cfg.RecentLogin = 10 * time.Minute
	}
	if cfg.SSOLoginPath == "" {
		cfg.SSOLoginPath = "/sso/login/"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
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
	if cfg.RPDisplayName == "" {
		cfg.RPDisplayName = cfg.RPID
	}
	to := webauthn.TimeoutConfig{Enforce: true, Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout}
	wa, err := webauthn.New(&webauthn.Config{RPID: cfg.RPID, RPDisplayName: cfg.RPDisplayName, RPOrigins: slices.Clone(cfg.Origins),
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(), UserVerification: protocol.VerificationRequired},
		Timeouts: webauthn.TimeoutsConfig{Login: to, Registration: to}})
	if err != nil {
		return nil, fmt.Errorf("%w: passkey: %v", sso.ErrInvalidConfig, err)
	}
	m := &Manager{cfg: cfg, wa: wa, log: cfg.Logger, limiter: clientlimit.New(cfg.RateLimit, cfg.Burst, 10000)}
	m.tel = telemetry.New("passkey", telemetry.Config{TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
	if m.log == nil {
		m.log = slog.Default()
	}
	m.routes()
	return m, nil
}

func (m *Manager) now() time.Time { return m.cfg.Now().UTC() }

func (m *Manager) audit(ctx context.Context, e *sso.Event) {
	record.Quietly(ctx, m.cfg.Auditor, e, m.log.ErrorContext)
}

func deny(reason string, sentinel, cause error) error {
	err := sentinel
	if cause != nil {
		err = fmt.Errorf("%w: %v", sentinel, cause) // the cause is detail, not a sentinel to match
	}
	return &sso.ValidationError{Protocol: Protocol, Reason: reason, Err: err}
}

// UserHandle is the WebAuthn user handle of a user: a hash of the user ID
// (fixed length, nothing personal), which the authenticator returns at a
// discoverable login.
func UserHandle(userID string) []byte {
	h := sha256.Sum256([]byte("ssokit-passkey-user\x00" + userID))
	return h[:]
}

// waUser adapts a user and their passkeys to webauthn.User.
type waUser struct {
	u     *sso.User
	creds []webauthn.Credential
}

func (w *waUser) WebAuthnID() []byte                         { return UserHandle(w.u.ID) }
func (w *waUser) WebAuthnName() string                       { return w.u.Email }
func (w *waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }
func (w *waUser) WebAuthnDisplayName() string {
	if w.u.DisplayName != "" {
		return w.u.DisplayName
	}
	return w.u.Email
}

func (m *Manager) loadUser(ctx context.Context, userID string) (*waUser, []*Credential, error) {
	u, err := m.cfg.Users.GetUser(ctx, userID)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: load user: %w", err)
	}
	stored, err := m.cfg.Store.ListCredentials(ctx, userID)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: list credentials: %w", err)
	}
	wu := &waUser{u: u}
	for _, s := range stored {
		var c webauthn.Credential
		if err := json.Unmarshal(s.Data, &c); err != nil {
			return nil, nil, fmt.Errorf("passkey: decode credential: %w", err)
		}
		c.Authenticator.SignCount = s.SignCount
		wu.creds = append(wu.creds, c)
	}
	return wu, stored, nil
}

func (m *Manager) saveCeremony(ctx context.Context, userID, sessionID, kind string, sd *webauthn.SessionData) (string, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return "", fmt.Errorf("passkey: encode ceremony: %w", err)
	}
	c := &Ceremony{ID: opaque.NewToken(32), UserID: userID, SessionID: sessionID, Kind: kind, Data: data, ExpiresAt: m.now().Add(m.cfg.Timeout)}
	if err := m.cfg.Store.SaveCeremony(ctx, c); err != nil {
		return "", fmt.Errorf("passkey: store ceremony: %w", err)
	}
	return c.ID, nil
}

func (m *Manager) takeCeremony(ctx context.Context, id, kind, userID, sessionID string) (*webauthn.SessionData, error) {
	if id == "" || len(id) > 128 {
		return nil, deny(ReasonCeremonyInvalid, sso.ErrInvalidInput, nil)
	}
	c, err := m.cfg.Store.TakeCeremony(ctx, id)
	if errors.Is(err, sso.ErrNotFound) {
		return nil, deny(ReasonCeremonyInvalid, sso.ErrInvalidInput, err)
	} else if err != nil {
		return nil, fmt.Errorf("passkey: take ceremony: %w", err)
	}
	if c.Kind != kind || c.UserID != userID || c.SessionID != sessionID {
		return nil, deny(ReasonCeremonyInvalid, sso.ErrInvalidInput, errors.New("passkey: ceremony of another kind, user or session"))
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(c.Data, &sd); err != nil {
		return nil, fmt.Errorf("passkey: decode ceremony: %w", err)
	}
	return &sd, nil
}

// Info describes a passkey for management UIs.
type Info struct {
	// ID is the base64url credential ID.
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

func info(c *Credential) Info {
	return Info{ID: base64.RawURLEncoding.EncodeToString(c.ID), Name: c.Name, CreatedAt: c.CreatedAt, LastUsedAt: c.LastUsedAt}
}
