package login

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ssokit/ssokit/internal/loaded"
	"github.com/ssokit/ssokit/internal/mfactx"
	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/internal/reqinfo"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// Store is what the LoginCompleter needs from storage.
type Store interface {
	sso.OrgStore
	sso.DomainStore
	sso.ConnectionStore
	sso.UserStore
	sso.MembershipStore
	sso.IdentityStore
	sso.Provisioner
}

// Config configures a LoginCompleter.
type Config struct {
	// Store holds organizations, users and identities. Required.
	Store Store
	// Sessions issues the browser session after a login. Required.
	Sessions sso.SessionIssuer
	// Auditor records login events. Required.
	Auditor sso.EventRecorder
	// WriteWithSession hands a returning login's identity update and its
	// login.succeeded event to Sessions (sso.SessionGrant.Writes), whose
	// store may write them in the session's transaction: one commit per
	// login. Set it only when Sessions' store also holds Store's
	// identities and the events Auditor records, and Auditor does nothing
	// else with an event but store it (sso/stack sets it when one
	// store/sqlstore holds all three). Records Sessions did not write are
	// written after the session as usual.
	WriteWithSession bool
	// Sync brings the member's live sessions and API tokens in line when a
	// login's group mapping changed their roles. Nil means Sessions, when
	// it implements MembershipSyncer (session.Manager does).
	Sync sso.MembershipSyncer
	// DefaultReturnTo is where users go when the login carried no safe
	// return path. Empty means "/".
	DefaultReturnTo string
	// StepUpRefusedURL is where a step-up at the IdP (sso.StepUp) that
	// completion refuses sends the browser (303), with "reason" and
	// "return_to" query parameters, so the host can say why and offer the
	// local factor when the organization allows it
	// (sso.MFAPolicy.StepUpLocalFallback). It must be a relative path.
	// Empty means the refusal is returned to the protocol package, whose
	// ErrorHandler renders it.
	StepUpRefusedURL string
	// TestReturnTo is where an admin goes after a test login (the admin
	// console page showing the result). Empty means DefaultReturnTo.
	TestReturnTo string
	// ClientIP extracts the client address for audit events. Nil means
	// RemoteIP.
	ClientIP func(*http.Request) string
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Logger logs audit write failures. Nil means slog.Default().
	Logger *slog.Logger
	// TracerProvider and MeterProvider receive a span per completed login
	// (with how the user was found: matched, linked or JIT-provisioned, and
	// whether the group mapping changed the roles). Nil means the global
	// providers. Login counts and latency are recorded by the saml and oidc
	// packages, which see the whole login.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Completer finishes SSO logins: it implements Completer.
//
// For a verified Profile it (1) matches the Identity by (organization,
// issuer, subject); else (2) links an existing member with the same email,
// but only when the email is verified by the IdP, its domain is verified
// for this organization, AND the stored account's email was verified too:
// an account whose email was never verified is never a link target; else
// (3) provisions the user just in time when the organization allows it
// (never creating organizations, and never when a directory sync owns
// membership).
//
// Unverified emails (an IdP that sends no email_verified, or self-service
// registration at the IdP): JIT still provisions such a login, as its own
// account with EmailVerified false, flagged in its audit event. It never
// links to anyone, and a later login with a verified email for the same
// address gets a separate account (audited with the unverified duplicate's
// ID), so an attacker who claims a future member's address first gains
// nothing from the real owner's later sign-in.
//
// Roles have one source of truth. While the organization's directory sync
// is on, SCIM owns them: logins never change a member's roles, whatever the
// assertion's groups say. Otherwise the connection's group->role mapping,
// when configured, is applied on every login (a login without the groups
// claim means no mapped group, so the default role). A change reaches the
// member's other sessions and API tokens through Sync.
//
// User fields are global (Email, EmailVerified, names) or per membership
// (roles, status, source, external ID, break-glass). A login changes the
// global fields only for a user the organization owns: the user's current
// email is in one of its verified domains, or the user belongs to no other
// organization. The email changes only to a verified address in one of the
// organization's verified domains. So one organization's IdP cannot rename
// or re-address a user that other organizations rely on. It refuses emails outside the
// organization's verified domains unless AllowUnverifiedEmailDomains,
// suspended and deactivated members, disabled connections and protocols
// the plan does not include. It applies the connection's group->role
// mapping on every login, issues the session and redirects (303) to the
// login's return path. Every outcome is audited with a stable reason.
//
// A user whose membership was removed while their identity remains is not
// provisioned again by JIT: the login fails with ErrNotProvisioned until an
// admin or the directory adds them back.
//
// It never trusts the Login's Connection as given: it reads the stored
// connection by ID, unless the protocol package recorded that very object
// as read from the completer's own Store in this request
// (internal/loaded). A matched login reads the organization, the
// email's domain, the identity, the user and the membership in one round
// trip when the Store is a Loader (record by record otherwise), then costs
// one identity update and one audit event; the session issuer receives the
// organization it read (SessionGrant.Org).
type Completer struct {
	cfg Config
	log *slog.Logger
	tel *telemetry.T
}

var _ sso.Completer = (*Completer)(nil)

// New returns a LoginCompleter.
func New(cfg Config) (*Completer, error) {
	switch {
	case cfg.Store == nil:
		return nil, fmt.Errorf("%w: completer: nil store", sso.ErrInvalidConfig)
	case cfg.Sessions == nil:
		return nil, fmt.Errorf("%w: completer: nil session issuer", sso.ErrInvalidConfig)
	case cfg.Auditor == nil:
		return nil, fmt.Errorf("%w: completer: nil auditor", sso.ErrInvalidConfig)
	}
	if cfg.DefaultReturnTo == "" {
		cfg.DefaultReturnTo = "/"
	}
	if cfg.TestReturnTo == "" {
		cfg.TestReturnTo = cfg.DefaultReturnTo
	}
	if !returnto.IsSafe(cfg.DefaultReturnTo) || !returnto.IsSafe(cfg.TestReturnTo) ||
		(cfg.StepUpRefusedURL != "" && !returnto.IsSafe(cfg.StepUpRefusedURL)) {
		return nil, fmt.Errorf("%w: completer: return paths must be relative", sso.ErrInvalidConfig)
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = reqinfo.RemoteIP
	}
	if cfg.Sync == nil {
		cfg.Sync, _ = cfg.Sessions.(sso.MembershipSyncer)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Completer{cfg: cfg, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.tel = telemetry.New("sso", telemetry.Config{TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
	return c, nil
}

// Outcome says how a login found its user.
type Outcome string

// Login outcomes.
const (
	OutcomeMatched     Outcome = "matched"
	OutcomeLinked      Outcome = "linked"
	OutcomeProvisioned Outcome = "provisioned"
)

// Resolution is the result of resolving a login to a user.
type Resolution struct {
	Org        *sso.Organization
	Connection *sso.Connection
	User       *sso.User
	Membership *sso.Membership
	Outcome    Outcome
	// RolesChanged is true when the group mapping changed the member's
	// roles.
	RolesChanged bool
	// MFA is true when the IdP asserted MFA and the organization trusts it.
	MFA bool
	// touched is the matched identity with its last login set, when the
	// write was left to Complete (Config.WriteWithSession).
	touched *sso.Identity
}

// EventIdentityRemapped is recorded for each identity RemapIdentities
// copies to a new connection.
const EventIdentityRemapped = "identity.remapped"

// deny returns a policy refusal with a stable reason, wrapping
// ErrAccessDenied.
func deny(reason string) error {
	return &sso.ValidationError{Reason: reason, Err: sso.ErrAccessDenied}
}

// Resolve finds, links or provisions the user for login without issuing a
// session. For a test login it changes nothing and reports what a real
// login would do (Outcome, or the refusal).
func (c *Completer) Resolve(ctx context.Context, login *sso.Login) (*Resolution, error) {
	return c.resolve(ctx, login, false)
}

// resolve is Resolve; with deferTouch it leaves the matched identity's
// last-login write to the caller (Resolution.touched).
func (c *Completer) resolve(ctx context.Context, login *sso.Login, deferTouch bool) (*Resolution, error) {
	if login == nil || login.Connection == nil || login.Profile == nil {
		return nil, fmt.Errorf("%w: incomplete login", sso.ErrInvalidInput)
	}
	p := login.Profile
	conn, err := loaded.Connection(ctx, c.cfg.Store, login.Connection)
	if err != nil {
		return nil, err
	}
	switch {
	case p.OrgID != "" && p.OrgID != conn.OrgID,
		p.ConnectionID != "" && p.ConnectionID != conn.ID,
		login.Connection.OrgID != conn.OrgID:
		return nil, deny("connection_mismatch")
	case p.Issuer == "" || p.Subject == "":
		return nil, deny("subject_missing")
	case hasNUL(p):
		// An IdP's claims are JSON strings that may carry NUL, which
		// PostgreSQL refuses: a refusal, not an internal error.
		return nil, deny("profile_invalid")
	case conn.Status == sso.ConnectionDisabled:
		return nil, deny("connection_disabled")
	case conn.Status != sso.ConnectionActive && !login.Test:
		return nil, deny("connection_not_active")
	}
	// The email's domain is looked up with everything else in one read.
	var email, emailDomain string
	var emailErr error
	if p.Email != "" {
		email, emailDomain, emailErr = normalize.Email(p.Email)
	}
	recs, err := c.load(ctx, conn.OrgID, p.Issuer, p.Subject, emailDomain)
	if err != nil {
		return nil, err
	}
	org := recs.Org
	if !org.Settings.Features.Allows(conn.Protocol) {
		return nil, deny("feature_disabled")
	}
	idpMFA := p.MFA || mfactx.IsContext(p.AuthnContext) || mfactx.HasMethod(p.AMR)
	res := &Resolution{Org: org, Connection: conn, MFA: idpMFA && org.Settings.MFA.TrustIdPMFA}

	// Whether the email's domain is verified for this organization.
	domainOK := false
	if p.Email != "" {
		if emailErr != nil {
			return nil, deny("email_invalid")
		}
		switch dom := recs.Domain; {
		case dom != nil && dom.Routable() && dom.OrgID == org.ID:
			domainOK = true
		case dom != nil && dom.Routable():
			// Another organization proved it owns this domain: its
			// addresses are never provisioned or linked here, even when
			// this organization accepts unverified domains. The reason is
			// the unverified one, so it does not tell who owns the domain.
			return nil, deny("email_domain_not_verified")
		}
	}
	if !domainOK && !org.Settings.AllowUnverifiedEmailDomains {
		if email == "" {
			return nil, deny("email_missing")
		}
		return nil, deny("email_domain_not_verified")
	}
	linkable := domainOK && p.EmailVerified

	// 1. A known identity.
	if ident := recs.Identity; ident != nil {
		res.Outcome = OutcomeMatched
		switch {
		case recs.User == nil:
			return nil, fmt.Errorf("login: user %s of identity %s: %w", ident.UserID, ident.ID, sso.ErrNotFound)
		case recs.Membership == nil:
			return nil, sso.ErrNotProvisioned
		}
		res.User, res.Membership = recs.User, recs.Membership
		if err := checkMember(res.Membership); err != nil {
			return nil, err
		}
		if !login.Test {
			ident.LastLoginAt = c.cfg.Now().UTC()
			ident.ConnectionID = conn.ID
			if deferTouch {
				res.touched = ident
			} else if err := c.cfg.Store.UpdateIdentity(ctx, ident); err != nil {
				return nil, err
			}
		}
	} else if err := c.linkOrProvision(ctx, login, res, email, linkable); err != nil {
		return nil, err
	}
	if login.Test {
		return res, nil
	}
	if err := c.applyProfile(ctx, res, p, email, linkable); err != nil {
		return nil, err
	}
	return res, nil
}

// hasNUL reports whether a profile field stored or looked up carries NUL.
func hasNUL(p *sso.Profile) bool {
	for _, v := range []string{p.Issuer, p.Subject, p.Email, p.GivenName, p.FamilyName, p.DisplayName, p.SessionIndex} {
		if strings.IndexByte(v, 0) >= 0 {
			return true
		}
	}
	for _, g := range p.Groups {
		if strings.IndexByte(g, 0) >= 0 {
			return true
		}
	}
	return false
}

func checkMember(m *sso.Membership) error {
	switch m.Status {
	case sso.MembershipActive:
		return nil
	case sso.MembershipSuspended:
		return deny("membership_suspended")
	case sso.MembershipDeactivated:
		return deny("membership_deactivated")
	}
	return deny("membership_inactive")
}
