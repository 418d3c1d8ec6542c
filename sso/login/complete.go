package login

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ssokit/ssokit/internal/loaded"
	"github.com/ssokit/ssokit/internal/mfactx"
	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/record"
	"github.com/ssokit/ssokit/internal/reqinfo"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/internal/routing"
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

// linkOrProvision handles a login whose identity is new: steps 2 and 3.
func (c *Completer) linkOrProvision(ctx context.Context, login *sso.Login, res *Resolution, email string, linkable bool) error {
	p, org, conn := login.Profile, res.Org, res.Connection
	now := c.cfg.Now().UTC()
	newIdentity := func(userID string) *sso.Identity {
		return &sso.Identity{ID: opaque.NewID("idn_"), OrgID: org.ID, ConnectionID: conn.ID, Issuer: p.Issuer,
			Subject: p.Subject, UserID: userID, CreatedAt: now, LastLoginAt: now}
	}
	// 2. Link an existing member by email.
	unverifiedDup := ""
	if email != "" {
		m, err := c.cfg.Store.FindMemberByEmail(ctx, org.ID, email)
		switch {
		case err == nil:
			if !linkable {
				// An existing account with this email may only be reached
				// through a verified email in a verified domain; creating a
				// second account with the same email would be worse.
				return deny("link_not_allowed")
			}
			u, err := c.cfg.Store.GetUser(ctx, m.UserID)
			if err != nil {
				return err
			}
			if !u.EmailVerified {
				// Whoever created this account never proved the address:
				// it is not the person now signing in with a verified one.
				unverifiedDup = u.ID
				break
			}
			if err := checkMember(m); err != nil {
				return err
			}
			res.Outcome, res.Membership, res.User = OutcomeLinked, m, u
			if login.Test {
				return nil
			}
			id := newIdentity(m.UserID)
			if err := c.cfg.Store.CreateIdentity(ctx, id); err != nil {
				if errors.Is(err, sso.ErrConflict) {
					// A concurrent login of the same identity provisioned
					// or linked it first; use its result.
					return c.matchAfterRace(ctx, res, p)
				}
				return err
			}
			c.record(ctx, &sso.Event{OrgID: org.ID, Type: EventIdentityLinked, Target: sso.Target{Type: "user", ID: m.UserID},
				Details: map[string]string{"connection_id": conn.ID, "issuer": p.Issuer, "identity_id": id.ID}})
			return nil
		case !errors.Is(err, sso.ErrNotFound):
			return err
		}
	}
	// 3. Just-in-time provisioning.
	switch {
	case org.Settings.DirectorySync:
		return sso.ErrNotProvisioned
	case !org.Settings.AllowJIT:
		return sso.ErrNotProvisioned
	case email == "":
		return deny("email_missing")
	}
	roles := conn.RolesFor(p.Groups)
	if len(roles) == 0 {
		roles = []string{org.Settings.MemberRole()}
	}
	u := &sso.User{ID: opaque.NewID("usr_"), Email: email, EmailVerified: linkable, GivenName: clip(p.GivenName),
		FamilyName: clip(p.FamilyName), DisplayName: clip(p.DisplayName), CreatedAt: now, UpdatedAt: now}
	m := &sso.Membership{OrgID: org.ID, UserID: u.ID, Roles: roles, Status: sso.MembershipActive, Source: sso.SourceJIT,
		JoinedAt: now, UpdatedAt: now}
	res.Outcome, res.User, res.Membership = OutcomeProvisioned, u, m
	if login.Test {
		return nil
	}
	details := map[string]string{"connection_id": conn.ID, "roles": strings.Join(roles, ","),
		"email_verified": fmt.Sprint(linkable)}
	if unverifiedDup != "" {
		details["unverified_duplicate"] = unverifiedDup
	}
	ev := &sso.Event{OrgID: org.ID, Type: EventJITProvisioned, Target: sso.Target{Type: "user", ID: u.ID}, Details: details}
	if err := c.provision(ctx, u, m, newIdentity(u.ID), ev); err != nil {
		if errors.Is(err, sso.ErrConflict) {
			// A concurrent login of the same identity won; use its result.
			return c.matchAfterRace(ctx, res, p)
		}
		return err
	}
	return nil
}

// EventProvisioner is an optional Store capability: Provision that also
// appends the audit event e in the same atomic step, so a user created
// just in time always has its user.jit_provisioned event (the outbox row
// webhooks and subscribers read) and a failed one has none. store/sqlstore
// and store/memstore implement it.
type EventProvisioner interface {
	ProvisionEvent(ctx context.Context, u *sso.User, m *sso.Membership, id *sso.Identity, e *sso.Event) error
}

// provision stores a JIT user with its event: together when the store is
// an EventProvisioner, else the event after the records.
func (c *Completer) provision(ctx context.Context, u *sso.User, m *sso.Membership, id *sso.Identity, e *sso.Event) error {
	ep, ok := c.cfg.Store.(EventProvisioner)
	if !ok {
		if err := c.cfg.Store.Provision(ctx, u, m, id); err != nil {
			return err
		}
		c.record(ctx, e)
		return nil
	}
	e.FillDefaults(ctx, c.cfg.Now())
	if err := e.Validate(); err != nil {
		return err
	}
	return ep.ProvisionEvent(ctx, u, m, id, e)
}

func (c *Completer) matchAfterRace(ctx context.Context, res *Resolution, p *sso.Profile) error {
	ident, err := c.cfg.Store.GetIdentity(ctx, res.Org.ID, p.Issuer, p.Subject)
	if err != nil {
		return err
	}
	if res.User, err = c.cfg.Store.GetUser(ctx, ident.UserID); err != nil {
		return err
	}
	if res.Membership, err = c.cfg.Store.GetMembership(ctx, res.Org.ID, ident.UserID); err != nil {
		return err
	}
	res.Outcome = OutcomeMatched
	return checkMember(res.Membership)
}

func clip(s string) string { return clipN(s, 256) }

func clipN(s string, n int) string {
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "")
	}
	return s
}

// applyProfile applies the group->role mapping (unless a directory sync
// owns roles) and refreshes the global user fields the organization owns.
func (c *Completer) applyProfile(ctx context.Context, res *Resolution, p *sso.Profile, email string, linkable bool) error {
	if err := c.applyRoles(ctx, res, p); err != nil {
		return err
	}
	u := res.User
	for range userAttempts {
		next, changed := refreshedUser(u, p, email, linkable)
		if !changed {
			// The usual returning login: nothing to write, nothing to look up.
			return nil
		}
		owns, err := routing.OwnsUser(ctx, c.cfg.Store, res.Org.ID, u)
		if err != nil || !owns {
			return err
		}
		next.UpdatedAt = sso.NextUpdatedAt(u.UpdatedAt, c.cfg.Now())
		// Written only over the account as read: a change made since (a
		// directory's new name or address) is kept, and the refresh lands on
		// it.
		err = sso.UpdateUserIf(ctx, c.cfg.Store, next, u.UpdatedAt)
		if err == nil {
			*res.User = *next
			return nil
		}
		if !errors.Is(err, sso.ErrUserChanged) {
			return err
		}
		if u, err = c.cfg.Store.GetUser(ctx, u.ID); err != nil {
			return err
		}
	}
	return sso.UserChanged(u.ID)
}

// userAttempts bounds how often applyProfile refreshes an account that
// keeps changing under it.
const userAttempts = 4

// refreshedUser returns u with the names p carries, and the verified
// email when the login may link it, and whether that changes u.
func refreshedUser(u *sso.User, p *sso.Profile, email string, linkable bool) (*sso.User, bool) {
	next := *u
	set := func(dst *string, v string) {
		if v = clip(v); v != "" {
			*dst = v
		}
	}
	set(&next.GivenName, p.GivenName)
	set(&next.FamilyName, p.FamilyName)
	set(&next.DisplayName, p.DisplayName)
	if linkable && email != "" {
		next.Email, next.EmailVerified = email, true
	}
	changed := next.GivenName != u.GivenName || next.FamilyName != u.FamilyName || next.DisplayName != u.DisplayName ||
		next.Email != u.Email || next.EmailVerified != u.EmailVerified
	return &next, changed
}

// applyRoles maps the assertion's groups to roles when the connection has
// a mapping and no directory sync owns the organization's roles, and
// brings the member's live sessions and tokens in line with a change.
func (c *Completer) applyRoles(ctx context.Context, res *Resolution, p *sso.Profile) error {
	if len(res.Connection.GroupRoles) == 0 || res.Org.Settings.DirectorySync {
		return nil
	}
	m := res.Membership
	mapped := res.Connection.RolesFor(p.Groups)
	if len(mapped) == 0 {
		mapped = []string{res.Org.Settings.MemberRole()}
	}
	mapsOwner := res.Connection.MapsOwner()
	if sso.SameRoles(m.Roles, sso.MappedRoles(mapped, m.Roles, mapsOwner)) {
		return nil
	}
	// Only the roles are written, on the membership as stored now: a
	// suspension committed since this login read it stays, and refuses
	// the login.
	var old, stored, roles []string
	at := c.cfg.Now().UTC()
	m, err := sso.EditMembership(ctx, c.cfg.Store, &sso.MembershipEdit{OrgID: m.OrgID, UserID: m.UserID,
		Edit: func(m *sso.Membership) error {
			if err := checkMember(m); err != nil {
				return err
			}
			roles = sso.MappedRoles(mapped, m.Roles, mapsOwner)
			if sso.SameRoles(m.Roles, roles) {
				stored = slices.Clone(m.Roles)
				return errRolesUnchanged
			}
			old = slices.Clone(m.Roles)
			m.Roles, m.UpdatedAt = roles, at
			return nil
		}})
	if errors.Is(err, errRolesUnchanged) {
		// As stored, in its order: the session is written only while the
		// member's roles are these (sso.LoginWrites.Member).
		res.Membership.Roles = stored
		return nil
	} else if err != nil {
		return err
	}
	res.Membership, res.RolesChanged = m, true
	c.record(ctx, &sso.Event{OrgID: res.Org.ID, Type: sso.EventRolesChanged, Target: sso.Target{Type: "user", ID: m.UserID},
		Actor:   sso.Actor{Type: sso.ActorIdP, ID: res.Connection.ID},
		Details: map[string]string{"from": strings.Join(old, ","), "to": strings.Join(roles, ",")}})
	if c.cfg.Sync != nil {
		if err := c.cfg.Sync.SyncMembership(ctx, m); err != nil {
			return fmt.Errorf("sso: sync sessions after a role change: %w", err)
		}
	}
	return nil
}

// errRolesUnchanged ends a role edit that finds the roles already
// written.
var errRolesUnchanged = errors.New("login: roles unchanged")

func (c *Completer) requestCtx(r *http.Request, actor sso.Actor) context.Context {
	ctx := r.Context()
	ai := sso.AuditInfoFrom(ctx)
	if ai.Actor.Type == "" {
		ai.Actor = actor
	}
	if ai.IP == "" {
		ai.IP = c.cfg.ClientIP(r)
	}
	if ai.UserAgent == "" {
		ai.UserAgent = clip(r.UserAgent())
	}
	return sso.WithAuditInfo(ctx, ai)
}

// Complete implements Completer.
func (c *Completer) Complete(w http.ResponseWriter, r *http.Request, login *sso.Login) (err error) {
	ctx := c.requestCtx(r, sso.Actor{Type: sso.ActorIdP})
	ctx, span := c.tel.Start(ctx, "sso.login.complete", loginAttrs(login)...)
	defer func() { telemetry.End(span, sso.ReasonOf(err), err) }()
	res, err := c.resolve(ctx, login, c.cfg.WriteWithSession)
	if res != nil && span.IsRecording() {
		span.SetAttributes(attribute.String("ssokit.login.outcome", string(res.Outcome)), attribute.Bool("ssokit.login.roles_changed", res.RolesChanged),
			attribute.Bool("ssokit.login.mfa", res.MFA))
	}
	if login != nil && login.Test && login.Connection != nil && login.Profile != nil {
		return c.finishTest(ctx, w, r, login, res, err)
	}
	if err == nil && login.StepUp != nil {
		err = c.checkStepUp(login, res)
	}
	if err != nil {
		c.failed(ctx, login, err)
		if login != nil && login.StepUp != nil {
			return c.stepUpRefused(w, r, login, err)
		}
		return err
	}
	// An SSO login's method is its protocol's name.
	method := sso.AuthMethod(res.Connection.Protocol)
	g := &sso.SessionGrant{UserID: res.User.ID, OrgID: res.Org.ID, ConnectionID: res.Connection.ID, Method: method,
		Roles: slices.Clone(res.Membership.Roles), MFA: res.MFA, IdPSessionIndex: login.Profile.SessionIndex,
		IdPSubject: login.Profile.Subject, NotAfter: login.Profile.SessionNotOnOrAfter, IdPLogoutHint: login.LogoutHint,
		// The organization read for this login, so the session manager does
		// not read it again for its session policy; the membership the
		// roles come from, so a suspension or role change meanwhile is seen.
		Org: res.Org, Member: res.Membership}
	if login.StepUp != nil {
		// checkStepUp proved a fresh multi-factor authentication the
		// organization trusts; the session stepping up is replaced.
		g.MFA, g.ReplacesSession = true, login.StepUp.SessionID
	}
	if g.MFA {
		g.MFAAt = login.Profile.AuthTime
		if g.MFAAt.IsZero() {
			g.MFAAt = c.cfg.Now().UTC()
		}
	}
	ev := &sso.Event{OrgID: res.Org.ID, Type: sso.EventLoginSucceeded,
		Actor:  sso.Actor{Type: sso.ActorUser, ID: res.User.ID},
		Target: sso.Target{Type: "connection", ID: res.Connection.ID},
		Details: map[string]string{"outcome": string(res.Outcome), "protocol": string(res.Connection.Protocol),
			"mfa": fmt.Sprint(res.MFA)}}
	if c.cfg.WriteWithSession {
		ev.FillDefaults(ctx, c.cfg.Now())
		g.Writes = &sso.LoginWrites{Identity: res.touched, Event: ev}
	}
	if err := c.cfg.Sessions.IssueSession(w, r, g); err != nil {
		err = fmt.Errorf("sso: issue session: %w", err)
		c.failed(ctx, login, err)
		if login.StepUp != nil {
			return c.stepUpRefused(w, r, login, err)
		}
		return err
	}
	c.writeAfter(ctx, g.Writes, res.touched, ev)
	http.Redirect(w, r, returnto.Safe(login.ReturnTo, c.cfg.DefaultReturnTo), http.StatusSeeOther)
	return nil
}

// writeAfter stores what the session issuer did not write with the
// session: the identity's last login and the login's event. The session
// stands either way, so a failure is logged, not returned.
func (c *Completer) writeAfter(ctx context.Context, w *sso.LoginWrites, touched *sso.Identity, ev *sso.Event) {
	if w != nil && w.Written {
		return
	}
	if touched != nil {
		if err := c.cfg.Store.UpdateIdentity(ctx, touched); err != nil {
			c.log.ErrorContext(ctx, "sso: record last login", "identity_id", touched.ID, "error", err)
		}
	}
	c.record(ctx, ev)
}

// loginAttrs are the span attributes of a login: IDs and the protocol only.
func loginAttrs(login *sso.Login) []attribute.KeyValue {
	if login == nil || login.Connection == nil {
		return nil
	}
	c := login.Connection
	return append(telemetry.Tenant(c.OrgID, c.ID), telemetry.KeyProtocol.String(string(c.Protocol)), attribute.Bool("ssokit.login.test", login.Test))
}

// finishTest records a test login's result on the connection and sends the
// admin back; it never issues a session. The test succeeds when the IdP's
// response was valid, the profile carries what a login needs and the
// policy would admit the tester; a refusal by policy (an unverified email
// domain, a user who may not be provisioned, ...) fails the test with its
// reason, so the connection cannot be activated on false confidence.
func (c *Completer) finishTest(ctx context.Context, w http.ResponseWriter, r *http.Request, login *sso.Login, res *Resolution, rerr error) error {
	p := login.Profile
	tr := &sso.TestResult{At: c.cfg.Now().UTC(), Profile: p}
	var problems []string
	if p.Issuer == "" || p.Subject == "" {
		problems = append(problems, "subject: want a NameID/sub, got none")
	}
	if p.Email == "" {
		problems = append(problems, "email: want an email attribute (check the attribute mapping), got none")
	} else if _, _, err := normalize.Email(p.Email); err != nil {
		problems = append(problems, fmt.Sprintf("email: want an address, got %q", clip(p.Email)))
	}
	var detail string
	switch reason := sso.ReasonOf(rerr); {
	case reason == "connection_mismatch" || reason == "connection_disabled" || reason == "feature_disabled":
		tr.Reason = reason
		detail = "connection: " + reason
	case len(problems) > 0:
		tr.Reason = "profile_incomplete"
		detail = strings.Join(problems, "; ")
	case rerr != nil:
		// The IdP side works, but the policy would refuse this user: a
		// failure, so that activation and enforcement wait for the fix.
		tr.Reason = reason
		if tr.Reason == "" {
			if !errors.Is(rerr, sso.ErrAccessDenied) {
				// Not a refusal (the store failed, say): no result to record.
				return rerr
			}
			tr.Reason = "access_denied"
		}
		detail = fmt.Sprintf("IdP response valid for %s, but a real login would be refused: %s", p.Email, tr.Reason)
		var ve *sso.ValidationError
		if errors.As(rerr, &ve) && (ve.Want != "" || ve.Got != "") {
			detail += fmt.Sprintf(" (want %q, got %q)", ve.Want, ve.Got)
		}
	default:
		tr.OK = true
		detail = fmt.Sprintf("IdP response valid for %s; a real login would be %s", p.Email, res.Outcome)
		if res.MFA {
			detail += " (MFA asserted)"
		}
	}
	tr.Detail = detail
	if err := c.saveTest(ctx, login.Connection.ID, login.Connection.OrgID, tr); err != nil {
		return err
	}
	http.Redirect(w, r, returnto.Safe(login.ReturnTo, c.cfg.TestReturnTo), http.StatusSeeOther)
	return nil
}

// testAttempts bounds how many times saveTest re-applies a test result to
// a connection that keeps changing under it.
const testAttempts = 3

// saveTest records tr on the connection and audits it. The connection is
// written only while it is the one just read (sso.UpdateConnectionIf), so
// an administrator's concurrent edit is kept: the result is applied again
// to the edited connection, unless the edit changed the configuration the
// test ran against, which must be tested again (ErrConflict).
func (c *Completer) saveTest(ctx context.Context, connID, orgID string, tr *sso.TestResult) error {
	var tested []byte
	for range testAttempts {
		conn, err := c.cfg.Store.GetConnection(ctx, connID)
		if err != nil {
			return err
		}
		if conn.OrgID != orgID {
			return fmt.Errorf("sso: test result: %w", sso.ErrNotFound)
		}
		cfg, _, err := sso.EncodeConfig(conn.Config)
		if err != nil {
			return err
		}
		if tested == nil {
			tested = cfg
		} else if !bytes.Equal(tested, cfg) {
			return fmt.Errorf("sso: test result not recorded: the connection's configuration changed during the test: %w", sso.ErrConflict)
		}
		prev := conn.UpdatedAt
		conn.LastTest = tr
		if tr.OK {
			conn.LastTestOK = tr.At
		}
		conn.UpdatedAt = sso.NextUpdatedAt(prev, tr.At)
		err = sso.UpdateConnectionIf(ctx, c.cfg.Store, conn, prev)
		if errors.Is(err, sso.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		c.recordTest(ctx, conn, tr)
		return nil
	}
	return fmt.Errorf("sso: test result not recorded: the connection kept changing: %w", sso.ErrConflict)
}

// recordTest audits the test result tr recorded on conn.
func (c *Completer) recordTest(ctx context.Context, conn *sso.Connection, tr *sso.TestResult) {
	outcome := sso.OutcomeSuccess
	if !tr.OK {
		outcome = sso.OutcomeFailure
	}
	c.record(ctx, &sso.Event{OrgID: conn.OrgID, Type: EventConnectionTested, Target: sso.Target{Type: "connection", ID: conn.ID},
		Outcome: outcome, Reason: tr.Reason, Details: map[string]string{"detail": clipN(tr.Detail, 1024)}})
}

func (c *Completer) failed(ctx context.Context, login *sso.Login, err error) {
	e := &sso.Event{Type: sso.EventLoginFailed, Outcome: sso.OutcomeFailure, Reason: sso.ReasonOf(err)}
	if login != nil && login.Connection != nil {
		e.OrgID = login.Connection.OrgID
		e.Target = sso.Target{Type: "connection", ID: login.Connection.ID}
		e.Details = map[string]string{"protocol": string(login.Connection.Protocol)}
	}
	c.record(ctx, e)
}

// Fail implements Completer: it records the rejected login and, for a test
// login, the diagnostic on the connection.
func (c *Completer) Fail(r *http.Request, f *sso.LoginFailure) {
	if f == nil {
		return
	}
	ctx := c.requestCtx(r, sso.Actor{Type: sso.ActorIdP})
	e := &sso.Event{Type: sso.EventLoginFailed, Outcome: sso.OutcomeFailure, Reason: sso.ReasonOf(f.Err),
		Details: map[string]string{"protocol": string(f.Protocol)}}
	if e.Reason == "" {
		e.Reason = "unknown"
	}
	var conn *sso.Connection
	if f.Connection != nil {
		// Trust only the stored connection's organization.
		if sc, err := loaded.Connection(ctx, c.cfg.Store, f.Connection); err == nil && sc.OrgID == f.Connection.OrgID {
			conn = sc
		}
	}
	if conn != nil {
		e.OrgID = conn.OrgID
		e.Target = sso.Target{Type: "connection", ID: conn.ID}
		if f.Test {
			// The test's result is its own event (connection.tested):
			// this one is marked so a list of attempts shows it once.
			e.Details["test"] = "true"
		}
	}
	c.record(ctx, e)
	if f.Test && conn != nil {
		detail := e.Reason
		var ve *sso.ValidationError
		if errors.As(f.Err, &ve) {
			detail = ve.Detail()
		}
		tr := &sso.TestResult{At: c.cfg.Now().UTC(), Reason: e.Reason, Detail: clipN(detail, 1024)}
		if err := c.saveTest(ctx, conn.ID, conn.OrgID, tr); err != nil {
			c.log.ErrorContext(ctx, "sso: record test result", "connection", conn.ID, "err", err)
		}
	}
}

func (c *Completer) record(ctx context.Context, e *sso.Event) {
	record.Quietly(ctx, c.cfg.Auditor, e, c.log.ErrorContext)
}

// RemapStore is what RemapIdentities needs from storage.
type RemapStore interface {
	sso.ConnectionStore
	sso.UserStore
	sso.MembershipStore
	sso.IdentityStore
}

// RemapIdentities prepares a move from one IdP to another (e.g. Okta to
// Entra) within orgID: for every identity of the connection fromID it
// creates an identity at connection to with the subject subject returns
// (ok false skips the user), so the first login through the new IdP finds
// the existing user instead of provisioning a duplicate. The old
// identities are kept until the old connection is deleted. It returns how
// many identities it created; existing ones are left alone.
func RemapIdentities(ctx context.Context, st RemapStore, a sso.EventRecorder, orgID, fromID, toID string, subject func(old *sso.Identity, u *sso.User) (string, bool)) (int, error) {
	from, err := st.GetConnection(ctx, fromID)
	if err != nil {
		return 0, err
	}
	to, err := st.GetConnection(ctx, toID)
	if err != nil {
		return 0, err
	}
	if from.OrgID != orgID || to.OrgID != orgID {
		return 0, fmt.Errorf("sso: remap identities: %w", sso.ErrNotFound)
	}
	issuer := to.Issuer()
	if issuer == "" {
		return 0, fmt.Errorf("%w: connection %s has no issuer yet", sso.ErrInvalidInput, toID)
	}
	n, after := 0, ""
	for {
		ms, err := st.ListMembers(ctx, orgID, after, 200)
		if err != nil {
			return n, err
		}
		for _, m := range ms {
			ids, err := st.ListUserIdentities(ctx, m.UserID)
			if err != nil {
				return n, err
			}
			u, err := st.GetUser(ctx, m.UserID)
			if err != nil {
				return n, err
			}
			for _, old := range ids {
				if old.OrgID != orgID || old.ConnectionID != fromID {
					continue
				}
				sub, ok := subject(old, u)
				if !ok || sub == "" {
					continue
				}
				id := &sso.Identity{ID: opaque.NewID("idn_"), OrgID: orgID, ConnectionID: toID, Issuer: issuer, Subject: sub,
					UserID: u.ID, CreatedAt: time.Now().UTC()}
				if err := st.CreateIdentity(ctx, id); err != nil {
					if errors.Is(err, sso.ErrConflict) {
						continue
					}
					return n, err
				}
				n++
				record.Quietly(ctx, a, &sso.Event{OrgID: orgID, Type: EventIdentityRemapped, Target: sso.Target{Type: "user", ID: u.ID},
					Details: map[string]string{"from_connection": fromID, "to_connection": toID}}, slog.Default().ErrorContext)
			}
		}
		if len(ms) < 200 {
			return n, nil
		}
		after = ms[len(ms)-1].UserID
	}
}
