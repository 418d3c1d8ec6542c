package stack

import (
	"context"
	"net/http"
	"strings"

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
	"github.com/ssokit/ssokit/sso/password"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/sso/portal"
	"github.com/ssokit/ssokit/sso/webhook"
)

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
