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
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/ssokit/ssokit/internal/clientlimit"
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
	"github.com/ssokit/ssokit/sso/keyring"
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

// wire builds the components in dependency order: the sessions and login
// completion, the protocols and the front door, the organization's tools,
// the local sign-in tiers, then the admin surfaces.
func (s *Stack) wire(cfg Config) error {
	for _, step := range []func(Config) error{
		s.wireSessions, s.wireProtocols, s.wireOrgTools, s.wireLocal, s.wireSignIn, s.wireAccount, s.wireAdmin,
	} {
		if err := step(cfg); err != nil {
			return err
		}
	}
	return nil
}

// wireSessions builds the sealer (unless given), the audit trail, the
// session manager and login completion.
func (s *Stack) wireSessions(cfg Config) error {
	var err error
	st, tp, mp, lg, now, ip := cfg.Store, cfg.TracerProvider, cfg.MeterProvider, cfg.Logger, cfg.Now, cfg.ClientIP
	if s.Sealer == nil {
		if s.Sealer, err = keyring.New(cfg.SealKeyID, cfg.SealKeys); err != nil {
			return err
		}
	}
	if s.Auditor, err = audit.New(audit.Config{Store: st, Now: now, ClientIP: ip}); err != nil {
		return err
	}
	var sessions session.Store = st
	if cfg.SessionStore != nil {
		sessions = cfg.SessionStore
	}
	scfg := session.Config{
		// Through the trail, so a refused organization switch (a failed
		// login of the organization it tried to enter) counts toward its
		// login.failure_burst.
		Store: sessions, Events: s.Auditor.EventStore(), Orgs: st, Memberships: st,
		// Sessions keep their login's OIDC ID token sealed, for the
		// id_token_hint of an RP-initiated logout.
		Sealer:              s.Sealer,
		AllowInsecureCookie: cfg.Dev.AllowInsecureCookie,
		ClientIP:            ip, Logger: lg, Now: now, TracerProvider: tp, MeterProvider: mp,
		ErrorHandler: cfg.SessionErrorHandler,
	}
	if s.tokens {
		scfg.Tokens, scfg.Revocations, scfg.RevocationBus = st, st, cfg.RevocationBus
		if ts, ok := sessions.(session.TokenStore); ok {
			scfg.Tokens = ts
		}
		if rs, ok := sessions.(session.RevocationStore); ok {
			scfg.Revocations = rs
		}
		// API clients (client credentials, token exchange) when the store
		// keeps them; store/sqlstore and store/memstore do.
		if cs, ok := st.(session.ClientStore); ok {
			scfg.Clients, s.clients = cs, true
		}
		scfg.SigningKeys = cfg.SigningKeys
		scfg.Issuer = strings.TrimSuffix(cfg.BaseURL.String(), "/")
	}
	if s.Sessions, err = session.New(scfg); err != nil {
		return err
	}
	s.Completer, err = login.New(login.Config{
		Store: st, Sessions: s.Sessions, Auditor: s.Auditor, DefaultReturnTo: cfg.DefaultReturnTo,
		// Sessions, identities and events share st, and the trail only
		// stores events: a returning login commits once.
		WriteWithSession: true,
		TestReturnTo:     cfg.TestReturnTo, ClientIP: ip, Now: now, Logger: lg, TracerProvider: tp, MeterProvider: mp,
		StepUpRefusedURL: stepUpRefusedURL(cfg.MFA),
	})
	return err
}

// wireProtocols builds SAML and OIDC, the per-client limit on their
// endpoints, and discovery, which starts their logins.
func (s *Stack) wireProtocols(cfg Config) error {
	var err error
	st, base := cfg.Store, cfg.BaseURL
	tp, mp, lg, now, ip := cfg.TracerProvider, cfg.MeterProvider, cfg.Logger, cfg.Now, cfg.ClientIP
	// Without a host's page, SAML and OIDC failures (and refusals of
	// login completion) render one page that explains them.
	errPage := cfg.ErrorHandler
	if errPage == nil {
		errPage = renderExplained
	}
	if s.SAML, err = saml.New(saml.Config{
		BaseURL: under(base, "/sso/saml"), Key: cfg.SPKey, Rollover: cfg.SPKeyRollover, ExtraACSURLs: extraACSURLs(base, cfg.SAMLExtraACSPaths),
		Connections: st, Store: cfg.SAMLStore, Events: st, Completer: s.Completer, Sessions: s.Sessions,
		DefaultReturnTo:   cfg.DefaultReturnTo,
		AllowInsecureURLs: cfg.Dev.AllowInsecureURLs, AllowPrivateAddresses: cfg.Dev.AllowPrivateAddresses,
		ErrorHandler: errPage, Now: now, Logger: lg, TracerProvider: tp, MeterProvider: mp,
	}); err != nil {
		return err
	}
	if s.OIDC, err = oidc.New(oidc.Config{
		BaseURL:     under(base, "/sso/oidc/"),
		Connections: st, Store: cfg.OIDCStore, Completer: s.Completer, Sessions: s.Sessions, Sealer: s.Sealer,
		AllowInsecureURLs: cfg.Dev.AllowInsecureURLs, AllowPrivateAddresses: cfg.Dev.AllowPrivateAddresses,
		ErrorHandler: errPage, Now: now, Logger: lg, TracerProvider: tp, MeterProvider: mp,
	}); err != nil {
		return err
	}
	cbRate, cbBurst := cfg.CallbackRateLimit, cfg.CallbackBurst
	if cbRate <= 0 {
		cbRate = defaultCallbackRate
	}
	if cbBurst <= 0 {
		cbBurst = defaultCallbackBurst
	}
	callbacks := clientlimit.New(cbRate, cbBurst, maxLimitedClients)
	s.protocols = func(name string, h http.Handler) http.Handler {
		return limitClients(callbacks, ip, name, errPage, h)
	}
	s.Discovery, err = discovery.New(discovery.Config{
		Store: st, Starters: s.starters(), BaseURL: under(base, "/sso"),
		LocalLoginURL: cfg.LocalLoginURL, DefaultReturnTo: cfg.DefaultReturnTo, LocalMethods: cfg.localMethods(),
		Chooser: cfg.Chooser, RateLimit: cfg.LoginRateLimit, Burst: cfg.LoginBurst,
		ClientIP: ip, ErrorHandler: cfg.ErrorHandler, Logger: lg, TracerProvider: tp, MeterProvider: mp,
	})
	return err
}

// starters are the protocols that start a login at an IdP.
func (s *Stack) starters() map[sso.Protocol]sso.Starter {
	return map[sso.Protocol]sso.Starter{saml.Protocol: s.SAML, oidc.Protocol: s.OIDC}
}

// wireOrgTools builds what an organization's SSO set-up runs on: domain
// verification, enforcement, connection health and SCIM.
func (s *Stack) wireOrgTools(cfg Config) error {
	var err error
	st, tp, mp, lg, now := cfg.Store, cfg.TracerProvider, cfg.MeterProvider, cfg.Logger, cfg.Now
	if s.Domains, err = domains.New(domains.Config{
		Store: st, Auditor: s.Auditor, Resolver: cfg.DNS, Now: now, Logger: lg, TracerProvider: tp,
	}); err != nil {
		return err
	}
	if s.Enforcer, err = policy.New(policy.Config{
		Store: st, Auditor: s.Auditor, Revoker: s.Sessions, Now: now, Logger: lg,
	}); err != nil {
		return err
	}
	if s.Health, err = health.New(health.Config{
		Connections: st, Store: st, Auditor: s.Auditor,
		Probers: map[sso.Protocol]sso.HealthProber{saml.Protocol: s.SAML, oidc.Protocol: s.OIDC},
		Now:     now, Logger: lg, TracerProvider: tp, MeterProvider: mp,
	}); err != nil {
		return err
	}
	// A SCIM store that counts requests gives every replica one budget per
	// organization, instead of one per process.
	var scimLimit scim.Limiter
	if rs, ok := cfg.SCIMStore.(scim.RateStore); ok {
		if scimLimit, err = scim.NewStoreLimiter(rs, scim.DefaultRateLimit, now); err != nil {
			return err
		}
	}
	s.SCIM, err = scim.New(scim.Config{
		Store: cfg.SCIMStore, Core: st, Revoker: s.Sessions, BaseURL: under(cfg.BaseURL, "/scim/v2"), Limiter: scimLimit,
		ClientIP: cfg.ClientIP, Now: now, Logger: lg, TracerProvider: tp, MeterProvider: mp,
	})
	return err
}

// wireLocal builds, when configured, MFA, webhooks, invitations, passwords
// and email codes.
func (s *Stack) wireLocal(cfg Config) error {
	var err error
	st, base := cfg.Store, cfg.BaseURL
	tp, mp, lg, now, ip := cfg.TracerProvider, cfg.MeterProvider, cfg.Logger, cfg.Now, cfg.ClientIP
	if m := cfg.MFA; m != nil {
		if s.MFA, err = mfa.New(mfa.Config{
			Store: cfg.MFAStore, Sealer: s.Sealer, Users: st, Orgs: st, Members: st, Events: st, Elevator: s.Sessions,
			Issuer: m.Issuer, EnrollmentURL: m.EnrollmentURL, VerifyURL: m.VerifyURL, WebAuthn: m.WebAuthn,
			// Step-ups at the IdP (sso.MFAPolicy.StepUpAtIdP) start at the
			// connection that made the session, through GET
			// <prefix>/mfa/step-up/idp.
			Starters: s.starters(), Connections: st, IdPStepUpURL: under(base, PrefixMFA+"step-up/idp").Path,
			// A user's passkeys verify as their second factor.
			Passkeys: s.passkeyFactor(&cfg), Now: now, Logger: lg, TracerProvider: tp, MeterProvider: mp,
		}); err != nil {
			return err
		}
	}
	if cfg.Webhooks != nil {
		if s.Webhooks, err = webhook.New(webhook.Config{Store: cfg.Webhooks, Events: st, Sealer: s.Sealer,
			Auditor: s.Auditor, AllowPrivateAddresses: cfg.Dev.AllowPrivateAddresses,
			AllowInsecureURLs: cfg.Dev.AllowInsecureURLs, Now: now, Logger: lg}); err != nil {
			return err
		}
	}
	if ic := cfg.Invites; ic != nil {
		if s.Invites, err = invite.New(invite.Config{
			Store: ic.Store, Users: st, Orgs: st, Members: st, Domains: st, Auditor: s.Auditor, Mailer: ic.Mailer,
			AcceptURL: under(base, PrefixInvite+"accept"), LoginURL: ic.LoginURL, AppName: ic.AppName, TTL: ic.TTL,
			Now: now, Logger: lg,
		}); err != nil {
			return err
		}
	}
	if pc := cfg.Password; pc != nil {
		if s.Password, err = password.New(password.Config{
			Joiner: s.joiner(),
			Store:  pc.Store, Users: st, Orgs: st, Members: st, Sessions: s.Sessions, Revoker: s.Sessions,
			Enforcer: s.Enforcer, Auditor: s.Auditor, Mailer: pc.Mailer, VerifyURL: pc.VerifyURL, ResetURL: pc.ResetURL,
			AppName: pc.AppName, Policy: pc.Policy, Params: pc.Params, Throttle: pc.Throttle,
			SSOLoginPath:    under(base, PrefixDiscovery+"login/").Path,
			DefaultReturnTo: cfg.DefaultReturnTo, ClientIP: ip, Now: now, Logger: lg, TracerProvider: tp, MeterProvider: mp,
		}); err != nil {
			return err
		}
	}
	if ec := cfg.EmailCode; ec != nil {
		if s.EmailCode, err = emailcode.New(emailcode.Config{
			Joiner: s.joiner(),
			Store:  ec.Store, Users: st, Orgs: st, Members: st, Sessions: s.Sessions,
			Enforcer: s.Enforcer, Auditor: s.Auditor, Mailer: ec.Mailer,
			BaseURL: under(base, strings.TrimSuffix(PrefixEmailCode, "/")), AllowSignUp: ec.AllowSignUp,
			SSOLoginPath: under(base, PrefixDiscovery+"login/").Path,
			AppName:      ec.AppName, CodeDigits: ec.CodeDigits, TTL: ec.TTL,
			AllowInsecureCookie: cfg.Dev.AllowInsecureCookie,
			DefaultReturnTo:     cfg.DefaultReturnTo, ClientIP: ip, Now: now, Logger: lg, TracerProvider: tp, MeterProvider: mp,
		}); err != nil {
			return err
		}
	}
	return nil
}

// joiner is what joins a user who signs up with a password or an email
// code to the organizations inviting them (invite.Manager.AutoJoin), nil
// without invitations.
func (s *Stack) joiner() func(ctx context.Context, u *sso.User) error {
	if s.Invites == nil {
		return nil
	}
	return func(ctx context.Context, u *sso.User) error { _, err := s.Invites.AutoJoin(ctx, u); return err }
}

// wireAdmin builds the admin API (with Config.Authorize) and the self-serve
// portal (with Config.Portal) on one admin configuration.
func (s *Stack) wireAdmin(cfg Config) error {
	var err error
	st, base, now, lg := cfg.Store, cfg.BaseURL, cfg.Now, cfg.Logger
	requireAdmin := cfg.RequireAdmin
	if requireAdmin == nil && s.MFA != nil {
		requireAdmin = []func(http.Handler) http.Handler{s.MFA.Require}
	}
	adminCfg := admin.Config{
		Store: st, Authorize: cfg.Authorize, RequireAdmin: requireAdmin,
		Configurers: map[sso.Protocol]sso.ConnectionConfigurer{saml.Protocol: s.SAML, oidc.Protocol: s.OIDC},
		Starters:    s.starters(), Domains: s.Domains, Enforcer: s.Enforcer, Auditor: s.Auditor,
		Sessions: s.Sessions, Health: s.Health, TestReturnTo: cfg.TestReturnTo, Now: now, Logger: lg, Invites: s.Invites,
		SCIMStatus: func(ctx context.Context, orgID string) (any, error) { return s.SCIM.SyncStatus(ctx, orgID) },
		Webhooks:   s.Webhooks,
	}
	if s.clients {
		adminCfg.Clients = adminClients{s.Sessions}
	}
	if cfg.Authorize != nil {
		if s.Admin, err = admin.New(adminCfg); err != nil {
			return err
		}
	}
	if cfg.Portal != nil {
		if s.Portal, err = portal.New(portal.Config{Admin: adminCfg, Store: cfg.Portal.Store,
			BaseURL: under(base, strings.TrimSuffix(PrefixPortal, "/")).String(), Authorize: cfg.Authorize,
			SCIMBaseURL: func(string) string { return under(base, "/scim/v2").String() },
			Brand:       cfg.Portal.Brand, Now: now, Logger: lg}); err != nil {
			return err
		}
	}
	return nil
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

// Run does all background work until ctx ends, then returns ctx's error:
// SAML metadata refresh and certificate warnings, domain re-verification,
// federation health checks, sealing audit events into their chains (for a
// store that appends them unsealed, such as sqlstore; see
// audit.Trail.Run), and every SweepInterval the sweep of expired sessions,
// token families and OIDC flows and the end of sessions their membership no
// longer admits (session.Manager.Reconcile). A failing loop is logged,
// never fatal to the others. Run it on every replica.
func (s *Stack) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	loop := func(name string, run func(context.Context) error) {
		wg.Go(func() {
			if err := run(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "stack: background work stopped", "loop", name, "err", err)
			}
		})
	}
	loop("saml metadata refresh", s.SAML.Run)
	loop("domain re-verification", s.Domains.Run)
	loop("federation health", s.Health.Run)
	loop("audit sealer", s.Auditor.Run)
	if s.Webhooks != nil {
		loop("webhooks", s.Webhooks.Run)
	}
	loop("session revocations", s.Sessions.Run)
	loop("sweep", s.runSweeps)
	wg.Wait()
	return ctx.Err()
}

func (s *Stack) runSweeps(ctx context.Context) error {
	t := time.NewTicker(s.sweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if _, err := s.Sessions.Sweep(ctx); err != nil {
				s.log.WarnContext(ctx, "stack: session sweep", "err", err)
			}
			if _, err := s.Sessions.Reconcile(ctx); err != nil {
				s.log.WarnContext(ctx, "stack: session reconcile", "err", err)
			}
			if _, err := s.OIDC.DeleteExpired(ctx); err != nil {
				s.log.WarnContext(ctx, "stack: oidc flow sweep", "err", err)
			}
		}
	}
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
