package login

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/routing"
	"github.com/ssokit/ssokit/sso"
)

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
