package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/discovery"
	"github.com/ssokit/ssokit/sso/domains"
	"github.com/ssokit/ssokit/sso/emailcode"
	"github.com/ssokit/ssokit/sso/health"
	"github.com/ssokit/ssokit/sso/invite"
	"github.com/ssokit/ssokit/sso/login"
	"github.com/ssokit/ssokit/sso/passkey"
	"github.com/ssokit/ssokit/sso/password"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/sso/portal"
	"github.com/ssokit/ssokit/sso/social"
	"github.com/ssokit/ssokit/sso/webhook"
)

// Store is the core and session storage the stack's components use,
// composed from the interfaces each component declares. *sqlstore.Store
// (SQLite, PostgreSQL) and *memstore.Store implement it; a host's own store
// proves itself with store/storetest. The protocols keep their state in
// their own stores: see Config.SAMLStore, OIDCStore, SCIMStore and MFAStore.
type Store interface {
	login.Store
	sso.ConnectionStore
	discovery.Store
	domains.Store
	policy.Store
	health.Store
	sso.EventStore
	sso.OrgStore
	sso.UserStore
	sso.MembershipStore
	session.Store
	session.TokenStore
	session.RevocationStore
	scim.CoreStore
	admin.Store
}

// Config configures a Stack. Store, the protocol stores, BaseURL,
// LocalLoginURL and the sealing keys (SealKeys with SealKeyID, or Sealer)
// are required; every other zero value is a secure default.
type Config struct {
	// Store holds the core records and the sessions of every component.
	// Required.
	Store Store
	// SAMLStore holds the SAML login state: sqlsaml.New(st) or
	// memsaml.New(st) on the Store st. Nil means Store, when it implements
	// saml.Store too; otherwise it is required.
	SAMLStore saml.Store
	// OIDCStore holds the OIDC login state: sqloidc.New(st) or
	// memoidc.New(st). Nil means Store, when it implements oidc.Store too;
	// otherwise it is required.
	OIDCStore oidc.Store
	// SCIMStore holds the directory-synced users and groups: sqlscim.New(st)
	// or memscim.New(st), on the same database as Store, since a SCIM write
	// changes core users and memberships too. Nil means Store, when it
	// implements scim.Store too; otherwise it is required.
	SCIMStore scim.Store
	// MFAStore holds the MFA factors: sqlmfa.New(st) or memmfa.New(st). Nil
	// means Store, when it implements mfa.Store too; otherwise it is
	// required when MFA is set, and unused when it is not.
	MFAStore mfa.Store
	// BaseURL is the application's external URL (e.g.
	// "https://app.example.com"); every absolute URL sent to an IdP derives
	// from it, and the routes of Handler live under its path. Required.
	BaseURL *url.URL

	// SealKeys are the 32-byte keys that seal secrets read back later (OIDC
	// client secrets, TOTP seeds), by key ID; SealKeyID names the one that
	// seals, the others only open (rotation). Required unless Sealer is set.
	SealKeys  map[string][]byte
	SealKeyID string
	// Sealer replaces SealKeys with the host's own sealing (e.g. a KMS).
	Sealer sso.Sealer
	// SigningKeys sign access tokens. Empty (the default) turns API tokens
	// off: no token endpoint, no JWKS. See session.SigningKey for rotation.
	SigningKeys []session.SigningKey
	// RevocationBus carries revocations of access tokens (logout,
	// deactivation, demotion) between the replicas sharing Store, so that
	// every replica refuses a revoked token as soon as the message arrives:
	// sqlnotify.New on PostgreSQL, redisstore.NewBus on Redis (see
	// session.Config.RevocationBus). A replica hears the others while
	// Sessions.Run runs. Nil means a revocation reaches the other replicas
	// within session.DefaultRevocationCacheTTL.
	RevocationBus session.RevocationBus
	// Webhooks, when set, keeps webhook endpoints and deliveries
	// (sqlwebhook.New or memwebhook.New of Store): Stack.Webhooks then
	// delivers audit events to organizations' signed webhooks and SIEM
	// collectors, the work shared by every replica that runs Run.
	Webhooks webhook.Store
	// Password, when set, turns on the password tier (sign-up, email
	// verification, login, reset, change) at PrefixPassword, under the
	// same SSO enforcement, sessions and audit trail as SSO logins.
	Password *PasswordConfig
	// EmailCode, when set, turns on sign-in by emailed one-time code and
	// magic link at PrefixEmailCode, under the same SSO enforcement,
	// sessions and audit trail as SSO logins.
	EmailCode *EmailCodeConfig
	// Invites, when set, turns on invitations and domain auto-join: the
	// admin API's invitation, auto-join and join-request routes and the
	// accept page at PrefixInvite. With EmailCode or Password, a sign-in
	// by email or password (once the address is verified) applies the
	// auto-join policy of the user's verified domain; with Social, a
	// provider-verified address joins by invitation or auto-join.
	Invites *InviteConfig
	// Social, when set, turns on sign-in with Google, Microsoft and
	// GitHub at PrefixSocial, under the same SSO enforcement, sessions and
	// audit trail as SSO logins.
	Social *SocialConfig
	// Passkeys, when set, turns on passwordless sign-in with passkeys
	// (and their management by the signed-in user) at PrefixPasskey.
	Passkeys *PasskeyConfig
	// Account, when set, mounts the signed-in user's own API at
	// PrefixAccount (admin.NewAccount): their organizations, and new ones.
	Account *AccountConfig
	// Portal, when set, mounts the admin portal at PrefixPortal: the
	// pages a customer's IT admin sets SSO, domains and directory sync up
	// with, entered through Authorize or a setup link.
	Portal *PortalConfig
	// SessionStore holds browser sessions instead of Store, e.g. a
	// redisstore.Store; with SigningKeys it also holds refresh tokens and
	// access-token revocations when it implements session.TokenStore and
	// session.RevocationStore. Nil means Store. A returning login then
	// writes its identity and audit event separately from the session.
	SessionStore session.Store
	// SPKey signs SAML requests and decrypts encrypted assertions. Nil
	// means unsigned AuthnRequests and no encrypted assertions.
	SPKey *saml.KeyPair
	// SPKeyRollover schedules SPKey's replacement (saml.KeyRollover):
	// the next certificate is published ahead, both keys decrypt during
	// the overlap, the next one signs from its date, and Run audits each
	// step once.
	SPKeyRollover *saml.KeyRollover
	// SAMLExtraACSPaths are paths on BaseURL's host, each ending with "/"
	// (for example "/auth/saml2/"), where connections keep ACS, SLO and
	// metadata URLs an IdP already has (saml.Config.ExtraACSURLs). The
	// stack mounts the SAML handler on each.
	SAMLExtraACSPaths []string

	// LocalLoginURL is the host's own (password) login page, where discovery
	// sends every email that does not route to SSO, naming in its "methods"
	// parameter the sign-in methods turned on here (Password, Passkeys,
	// EmailCode, Social) that the email's organization allows
	// (discovery.Config.LocalMethods). Required.
	LocalLoginURL string
	// DefaultReturnTo is where users land after a login without a safe
	// return path. Zero means "/".
	DefaultReturnTo string

	// Authorize is the admin API's authorization hook (see
	// admin.Config.Authorize). Nil leaves the admin API unmounted and
	// Stack.Admin nil.
	Authorize func(r *http.Request) (orgID string, actor sso.Actor, err error)
	// RequireAdmin is the middleware every tenant admin's request passes
	// before an admin route (see admin.Config.RequireAdmin). Nil means the
	// organization's MFA policy (mfa.Manager.Require) when MFA is on, and
	// nothing otherwise; a non-nil empty slice means nothing.
	RequireAdmin []func(http.Handler) http.Handler
	// MFA turns on TOTP, recovery codes and (optionally) WebAuthn. Nil means
	// no MFA and Stack.MFA nil.
	MFA *MFAConfig

	// Logger logs at the HTTP edges and for background work. Nil means
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock of every component. Nil means time.Now.
	Now func() time.Time
	// TracerProvider and MeterProvider receive every component's spans and
	// metrics. Nil means the global providers.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// ClientIP is the trusted-proxy rule: it returns the client address
	// recorded on sessions and audit events and used by rate limits, in
	// every component. Nil means the host part of r.RemoteAddr, which is
	// right unless a proxy you control sets a header.
	ClientIP func(r *http.Request) string
	// ErrorHandler renders the browser-facing errors of SAML, OIDC and
	// discovery; Explain says what to tell the person. Nil means a page
	// with Explain's words for SAML and OIDC (login completion's refusals
	// included) and discovery's own. Errors of the JSON APIs (SCIM, MFA,
	// admin, sessions) keep their standard shapes.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// SessionErrorHandler renders what the session middleware refuses (no
	// session, an expired one, a re-authentication demand), for example as
	// a redirect to the host's login page. Nil means a JSON 401.
	SessionErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Chooser renders the choice when an organization has several active
	// connections. Nil means discovery's own minimal page.
	Chooser func(w http.ResponseWriter, r *http.Request, org *sso.Organization, choices []discovery.ConnectionChoice)
	// LoginRateLimit and LoginBurst bound discovery requests per client IP
	// (sustained per second, and burst). Zero means 1 and 10.
	LoginRateLimit rate.Limit
	LoginBurst     int
	// CallbackRateLimit and CallbackBurst bound the requests per client IP
	// (sustained per second, and burst) to the SAML and OIDC endpoints:
	// the ACS, the OIDC callback, logout and metadata. Each replica counts
	// its own. Zero means 10 and 50.
	CallbackRateLimit rate.Limit
	CallbackBurst     int
	// TestReturnTo is where an admin lands after a test login of a
	// connection (typically the host's SSO settings page). Zero means
	// DefaultReturnTo.
	TestReturnTo string
	// DNS resolves TXT records for domain verification. Nil means
	// net.DefaultResolver.
	DNS domains.TXTResolver
	// SweepInterval is how often Run deletes expired sessions, token
	// families and OIDC flows, and ends sessions their membership no longer
	// admits (session.Manager.Reconcile). Zero means 5 minutes.
	SweepInterval time.Duration

	// Dev holds switches for local development only.
	Dev Dev
}

// MFAConfig turns on multi-factor authentication. See mfa.Config.
type MFAConfig struct {
	// Issuer names the application in authenticator apps. Required.
	Issuer string
	// EnrollmentURL and VerifyURL are the host's pages where a user enrols a
	// factor and verifies one; mfa.Manager.Require redirects browsers there.
	// Zero means a JSON 403 instead of a redirect.
	EnrollmentURL string
	VerifyURL     string
	// WebAuthn turns on security keys and passkeys as second factors. Nil
	// means TOTP and recovery codes only.
	WebAuthn *mfa.WebAuthnConfig
	// StepUpRefusedURL is the host's page for a refused step-up at the IdP
	// (sso.MFAPolicy.StepUpAtIdP): login completion redirects there with
	// "reason" and "return_to", so the page says why and offers the local
	// factor when the organization allows it (StepUpLocalFallback). Zero
	// means the protocol's error page shows the refusal.
	StepUpRefusedURL string
}

// Dev holds switches that MUST only be set for local development: each
// weakens a protection that production relies on.
type Dev struct {
	// AllowInsecureCookie sends the session cookie without Secure and the
	// __Host- prefix, for a BaseURL on plain HTTP.
	AllowInsecureCookie bool
	// AllowInsecureURLs lets IdP metadata, issuers and endpoints use plain
	// HTTP.
	AllowInsecureURLs bool
	// AllowPrivateAddresses lets the SP and RP fetch IdP documents from
	// loopback and private addresses (an IdP on the developer's machine).
	AllowPrivateAddresses bool
}

// Stack is every ssokit component wired together. Each field is the
// component itself, usable alone; fields of components that the Config
// turned off are nil.
type Stack struct {
	SAML      *saml.SP
	OIDC      *oidc.RP
	Discovery *discovery.Handler
	SCIM      *scim.Handler
	Sessions  *session.Manager
	// MFA is nil unless Config.MFA is set.
	MFA *mfa.Manager
	// Admin is nil unless Config.Authorize is set.
	Admin *admin.Handler
	// Portal is nil unless Config.Portal is set.
	Portal *portal.Portal
	// Password is nil unless Config.Password is set.
	Password *password.Manager
	// EmailCode is nil unless Config.EmailCode is set.
	EmailCode *emailcode.Manager
	// Invites is nil unless Config.Invites is set.
	Invites *invite.Manager
	// Social is nil unless Config.Social is set.
	Social *social.Manager
	// Passkeys is nil unless Config.Passkeys is set.
	Passkeys *passkey.Manager
	// Account is nil unless Config.Account is set.
	Account *admin.Account
	// Webhooks is nil unless Config.Webhooks is set.
	Webhooks  *webhook.Dispatcher
	Auditor   *audit.Trail
	Domains   *domains.Manager
	Enforcer  *policy.Enforcer
	Health    *health.Checker
	Completer *login.Completer
	// Sealer seals the secrets of every component.
	Sealer sso.Sealer

	log    *slog.Logger
	sweep  time.Duration
	prefix string
	tokens bool
	// clients is set when the session manager keeps API clients.
	clients bool
	handler http.Handler
	// protocols wraps the SAML or OIDC handler in the per-client limit.
	protocols func(name string, h http.Handler) http.Handler
	// samlExtra are Config.SAMLExtraACSPaths.
	samlExtra []string
	// passkeys lets MFA verify with passkeys (see passkeyFactor).
	passkeys *latePasskeys
}

// Route prefixes of Handler, relative to the path of Config.BaseURL.
const (
	PrefixSAML      = "/sso/saml/"
	PrefixOIDC      = "/sso/oidc/"
	PrefixDiscovery = "/sso/"
	PrefixSCIM      = "/scim/v2/"
	PrefixMFA       = "/mfa/"
	PrefixAdmin     = "/admin/sso/"
	PrefixPortal    = "/admin/portal/"
	PrefixPassword  = "/auth/password/"
	PrefixEmailCode = "/auth/email/"
	PrefixInvite    = "/invite/"
	PrefixSocial    = "/auth/social/"
	PrefixPasskey   = "/auth/passkey/"
	PrefixAccount   = "/api/account/"
	PathToken       = "/oauth/token"
	PathJWKS        = "/.well-known/jwks.json"
)

// New validates cfg, reporting every missing field at once in an error
// wrapping sso.ErrInvalidConfig, and wires every component. It starts no
// goroutine: call Run for background work. ctx bounds nothing today and is
// reserved for setup that must reach the store.
func New(ctx context.Context, cfg Config) (*Stack, error) {
	_ = ctx
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("Store is required"))
	}
	if cfg.BaseURL == nil || cfg.BaseURL.Scheme == "" || cfg.BaseURL.Host == "" {
		errs = append(errs, errors.New("BaseURL must be an absolute URL"))
	}
	if cfg.LocalLoginURL == "" {
		errs = append(errs, errors.New("LocalLoginURL is required"))
	}
	switch {
	case cfg.Sealer != nil && len(cfg.SealKeys) > 0:
		errs = append(errs, errors.New("set SealKeys or Sealer, not both"))
	case cfg.Sealer == nil && len(cfg.SealKeys) == 0:
		errs = append(errs, errors.New("SealKeys (with SealKeyID) or Sealer is required"))
	}
	if cfg.MFA != nil && cfg.MFA.Issuer == "" {
		errs = append(errs, errors.New("MFA.Issuer is required"))
	}
	for _, p := range cfg.SAMLExtraACSPaths {
		if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") || len(p) < 3 || strings.ContainsAny(p, "?#{} ") {
			errs = append(errs, fmt.Errorf("SAMLExtraACSPaths entry %q must be a path starting and ending with /", p))
		}
	}
	errs = append(errs, protocolStores(&cfg)...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: stack: %w", sso.ErrInvalidConfig, errors.Join(errs...))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = 5 * time.Minute
	}
	s := &Stack{
		log:       cfg.Logger,
		sweep:     cfg.SweepInterval,
		prefix:    strings.TrimSuffix(cfg.BaseURL.Path, "/"),
		samlExtra: slices.Clone(cfg.SAMLExtraACSPaths),
		tokens:    len(cfg.SigningKeys) > 0,
		Sealer:    cfg.Sealer,
	}
	if err := s.wire(cfg); err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	s.handler = s.routes()
	return s, nil
}

// protocolStores fills the protocol stores left nil with Store when it
// implements them too, and reports those still missing by field name.
func protocolStores(cfg *Config) []error {
	errs := []error{
		defaultStore(&cfg.SAMLStore, cfg.Store, "SAMLStore", "saml.Store", "sqlsaml.New(st) or memsaml.New(st)"),
		defaultStore(&cfg.OIDCStore, cfg.Store, "OIDCStore", "oidc.Store", "sqloidc.New(st) or memoidc.New(st)"),
		defaultStore(&cfg.SCIMStore, cfg.Store, "SCIMStore", "scim.Store", "sqlscim.New(st) or memscim.New(st)"),
	}
	if cfg.MFA != nil {
		errs = append(errs, defaultStore(&cfg.MFAStore, cfg.Store, "MFAStore", "mfa.Store", "sqlmfa.New(st) or memmfa.New(st)"))
	}
	return slices.DeleteFunc(errs, func(err error) bool { return err == nil })
}

// defaultStore sets *field to st when it is nil and st implements T. It
// returns an error naming the field when *field stays nil.
func defaultStore[T any](field *T, st Store, name, iface, hint string) error {
	if any(*field) != nil {
		return nil
	}
	if s, ok := st.(T); ok {
		*field = s
		return nil
	}
	return fmt.Errorf("%s is required: Store does not implement %s (use %s)", name, iface, hint)
}

// PasswordConfig configures the password tier (package sso/password);
// the fields mean what they mean in password.Config.
type PasswordConfig struct {
	// Store keeps password hashes, tokens and throttling: sqlpassword.New
	// or mempassword.New of the stack's Store. Required.
	Store password.Store
	// Mailer sends verification and reset emails (mail.SMTP, or
	// mail.DevMailer in development). Required.
	Mailer password.Mailer
	// VerifyURL and ResetURL are the host's pages that post the emailed
	// tokens back. Required.
	VerifyURL *url.URL
	ResetURL  *url.URL
	AppName   string
	Policy    password.Policy
	Params    password.Params
	Throttle  password.Throttle
}

// EmailCodeConfig configures sign-in by emailed code and magic link
// (package sso/emailcode); the fields mean what they mean in
// emailcode.Config.
type EmailCodeConfig struct {
	// Store keeps challenges and counters: sqlemailcode.New or
	// mememailcode.New of the stack's Store. Required.
	Store emailcode.Store
	// Mailer sends the emails (mail.SMTP, or mail.DevMailer in
	// development). Required.
	Mailer      emailcode.Mailer
	AllowSignUp func(ctx context.Context, email string) bool
	AppName     string
	CodeDigits  int
	TTL         time.Duration
}

// InviteConfig configures invitations and auto-join (package
// sso/invite); the fields mean what they mean in invite.Config.
type InviteConfig struct {
	// Store keeps invitations, policies and join requests: sqlinvite.New
	// or meminvite.New of the stack's Store. Required.
	Store invite.Store
	// Mailer sends invitations. Required.
	Mailer   invite.Mailer
	LoginURL string
	AppName  string
	TTL      time.Duration
}

// PortalConfig configures the admin portal (package sso/portal).
type PortalConfig struct {
	// Store keeps setup links and portal sessions. Required; a store
	// shared by the replicas, such as sqlportal.New(st) on the sqlstore
	// st (portal.NewMemoryStore serves one process only).
	Store portal.Store
	// Brand sets the portal's name, logo and accent colour.
	Brand portal.Brand
}

// AuthorizeRole returns an admin Authorize hook (Config.Authorize) that
// admits a session whose member holds role in the session's own
// organization, acting as that organization's admin, and refuses everything
// else with sso.ErrForbidden. Hosts with operator credentials (API keys for
// their staff) write their own hook.
func AuthorizeRole(role string) func(r *http.Request) (orgID string, actor sso.Actor, err error) {
	return func(r *http.Request) (string, sso.Actor, error) {
		p, ok := sso.PrincipalFrom(r.Context())
		if !ok || p.Kind != sso.PrincipalSession || !p.HasRole(role) {
			return "", sso.Actor{}, sso.ErrForbidden
		}
		return p.OrgID, sso.Actor{Type: sso.ActorAdmin, ID: p.UserID}, nil
	}
}

// stepUpRefusedURL is MFAConfig.StepUpRefusedURL, "" without MFA.
func stepUpRefusedURL(m *MFAConfig) string {
	if m == nil {
		return ""
	}
	return m.StepUpRefusedURL
}
