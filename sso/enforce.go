package sso

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// EnforcementStore is what the Enforcer needs from storage.
type EnforcementStore interface {
	OrgStore
	ConnectionStore
	MembershipStore
}

// EnforcerConfig configures an Enforcer.
type EnforcerConfig struct {
	// Store holds organizations, connections and memberships. Required.
	Store EnforcementStore
	// Auditor records enforcement changes. Required.
	Auditor *Auditor
	// Revoker ends sessions and API tokens when enforcement is switched on
	// with revocation. Nil makes such requests fail with ErrInvalidConfig.
	Revoker SessionRevoker
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Logger logs audit write failures. Nil means slog.Default().
	Logger *slog.Logger
}

// Enforcer applies per-organization SSO enforcement and plan features.
type Enforcer struct {
	cfg EnforcerConfig
	log *slog.Logger
}

// NewEnforcer returns an Enforcer.
func NewEnforcer(cfg EnforcerConfig) (*Enforcer, error) {
	if cfg.Store == nil || cfg.Auditor == nil {
		return nil, fmt.Errorf("%w: enforcer: nil store or auditor", ErrInvalidConfig)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Enforcer{cfg: cfg, log: cfg.Logger}
	if e.log == nil {
		e.log = slog.Default()
	}
	return e, nil
}

// Enforced reports whether org enforces SSO: the setting is on and the plan
// includes enforcement.
func Enforced(org *Organization) bool {
	return org.Settings.SSOEnforced && org.Settings.Features.EnforceSSO
}

// LocalLoginAllowed reports whether userID may sign in to orgID with a
// local credential (password, passkey). It returns nil when allowed, and an
// error wrapping ErrSSORequired when the organization enforces SSO and the
// user is not an active break-glass member (non-members included, so the
// answer reveals nothing about membership).
func (e *Enforcer) LocalLoginAllowed(ctx context.Context, orgID, userID string) error {
	org, err := e.cfg.Store.GetOrg(ctx, orgID)
	if err != nil {
		return err
	}
	if !Enforced(org) {
		return nil
	}
	m, err := e.cfg.Store.GetMembership(ctx, orgID, userID)
	switch {
	case err == nil && m.BreakGlass && m.Active():
		return nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return err
	}
	return fmt.Errorf("sso: local login for organization: %w", ErrSSORequired)
}

// EnforceOptions are the options of SetEnforcement.
type EnforceOptions struct {
	// RevokeSessions ends the sessions and API tokens of every member who
	// is not a break-glass admin when enforcement is switched on.
	RevokeSessions bool
}

// EnforcementResult reports what SetEnforcement did.
type EnforcementResult struct {
	Enforced bool `json:"enforced"`
	// Revoked is how many members' sessions were revoked.
	Revoked int `json:"revoked"`
}

// ReadyConnection returns an active connection of org whose last test login
// succeeded and whose protocol the plan includes, or ErrNotFound.
func (e *Enforcer) ReadyConnection(ctx context.Context, org *Organization) (*Connection, error) {
	conns, err := e.cfg.Store.ListConnections(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range conns {
		if c.OrgID == org.ID && c.Status == ConnectionActive && !c.LastTestOK.IsZero() && org.Settings.Features.Allows(c.Protocol) {
			return c, nil
		}
	}
	return nil, fmt.Errorf("sso: no tested active connection: %w", ErrNotFound)
}

// SetEnforcement switches SSO enforcement for orgID on or off. Switching on
// requires the EnforceSSO feature and an active, successfully tested
// connection (refusals are *ValidationError with reason "feature_disabled"
// or "no_tested_connection"); with opts.RevokeSessions the sessions and API
// tokens of every non-break-glass member are revoked.
func (e *Enforcer) SetEnforcement(ctx context.Context, orgID string, on bool, opts EnforceOptions) (*EnforcementResult, error) {
	org, err := e.cfg.Store.GetOrg(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if on {
		if !org.Settings.Features.EnforceSSO {
			return nil, deny("feature_disabled")
		}
		if _, err := e.ReadyConnection(ctx, org); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, &ValidationError{Reason: "no_tested_connection", Err: ErrInvalidInput}
			}
			return nil, err
		}
		if opts.RevokeSessions && e.cfg.Revoker == nil {
			return nil, fmt.Errorf("%w: enforcer: no session revoker", ErrInvalidConfig)
		}
	}
	now := e.cfg.Now().UTC()
	changed := org.Settings.SSOEnforced != on
	org.Settings.SSOEnforced = on
	if on && changed {
		org.Settings.SSOEnforcedAt = now
	}
	org.UpdatedAt = now
	if err := e.cfg.Store.UpdateOrg(ctx, org); err != nil {
		return nil, err
	}
	res := &EnforcementResult{Enforced: on}
	if on && opts.RevokeSessions {
		n, err := e.revokeMembers(ctx, orgID, func(m *Membership) bool { return !m.BreakGlass })
		res.Revoked = n
		if err != nil {
			return res, err
		}
	}
	recordQuietly(ctx, e.cfg.Auditor, &Event{OrgID: orgID, Type: EventEnforcementChanged,
		Target:  Target{Type: "organization", ID: orgID},
		Details: map[string]string{"enforced": fmt.Sprint(on), "revoked": fmt.Sprint(res.Revoked)}}, e.log.ErrorContext)
	return res, nil
}

// revokeMembers revokes the sessions of every member of orgID selected by
// pick and returns how many it revoked.
func (e *Enforcer) revokeMembers(ctx context.Context, orgID string, pick func(*Membership) bool) (int, error) {
	n := 0
	after := ""
	for {
		ms, err := e.cfg.Store.ListMembers(ctx, orgID, after, 200)
		if err != nil {
			return n, err
		}
		for _, m := range ms {
			if !pick(m) {
				continue
			}
			if err := e.cfg.Revoker.RevokeUser(ctx, m.UserID); err != nil {
				return n, fmt.Errorf("sso: revoke sessions: %w", err)
			}
			n++
			recordQuietly(ctx, e.cfg.Auditor, &Event{OrgID: orgID, Type: EventSessionRevoked,
				Target: Target{Type: "user", ID: m.UserID}, Reason: "sso_enforced"}, e.log.ErrorContext)
		}
		if len(ms) < 200 {
			return n, nil
		}
		after = ms[len(ms)-1].UserID
	}
}

// FeatureAllowed reports whether org's plan includes SCIM (p == "scim"),
// MFA enforcement (p == "mfa"), SSO enforcement (p == "enforce_sso") or
// SSO over protocol p ("saml", "oidc").
func FeatureAllowed(org *Organization, feature string) bool {
	f := org.Settings.Features
	switch feature {
	case "scim":
		return f.SCIM
	case "mfa":
		return f.EnforceMFA
	case "enforce_sso":
		return f.EnforceSSO
	}
	return f.Allows(Protocol(feature))
}

// MergeStore is what MergeOrganizations needs from storage.
type MergeStore interface {
	OrgStore
	DomainStore
	ConnectionStore
	MembershipStore
	IdentityStore
}

// MergeResult reports what MergeOrganizations moved.
type MergeResult struct {
	Domains     int `json:"domains"`
	Connections int `json:"connections"`
	Members     int `json:"members"`
	Identities  int `json:"identities"`
	Revoked     int `json:"revoked"`
}

// MergeOrganizations moves everything of organization fromID into toID
// after an acquisition: its domains (verified ones stay verified), its
// connections (so the IdPs keep working) with their identities, and its
// members (a user who is already a member of toID keeps that membership;
// break-glass status is not carried over). Every moved member's sessions
// are revoked so they re-authenticate into the merged organization. The
// steps are idempotent: after a partial failure, calling it again finishes
// the move. The emptied organization itself is left for the caller to
// delete. revoker may be nil only when the host revokes sessions itself.
func MergeOrganizations(ctx context.Context, st MergeStore, a *Auditor, revoker SessionRevoker, fromID, toID string) (*MergeResult, error) {
	if fromID == toID {
		return nil, fmt.Errorf("%w: merge an organization into itself", ErrInvalidInput)
	}
	if _, err := st.GetOrg(ctx, fromID); err != nil {
		return nil, err
	}
	if _, err := st.GetOrg(ctx, toID); err != nil {
		return nil, err
	}
	res := &MergeResult{}
	logf := slog.Default().ErrorContext
	// Domains.
	doms, err := st.ListDomains(ctx, fromID)
	if err != nil {
		return nil, err
	}
	for _, d := range doms {
		if err := st.DeleteDomain(ctx, fromID, d.Name); err != nil && !errors.Is(err, ErrNotFound) {
			return res, err
		}
		moved := *d
		moved.OrgID = toID
		if cur, err := st.GetDomain(ctx, toID, d.Name); err == nil {
			if d.State == DomainVerified && cur.State != DomainVerified {
				if err := st.UpdateDomain(ctx, &moved); err != nil {
					return res, err
				}
			}
		} else if errors.Is(err, ErrNotFound) {
			if err := st.CreateDomain(ctx, &moved); err != nil {
				return res, err
			}
		} else {
			return res, err
		}
		res.Domains++
		recordQuietly(ctx, a, &Event{OrgID: toID, Type: EventDomainTransferred, Target: Target{Type: "domain", ID: d.Name},
			Details: map[string]string{"from_org": fromID}}, logf)
		recordQuietly(ctx, a, &Event{OrgID: fromID, Type: EventDomainTransferred, Target: Target{Type: "domain", ID: d.Name},
			Details: map[string]string{"to_org": toID}}, logf)
	}
	// Connections.
	conns, err := st.ListConnections(ctx, fromID)
	if err != nil {
		return res, err
	}
	for _, c := range conns {
		c.OrgID = toID
		if err := st.UpdateConnection(ctx, c); err != nil {
			return res, err
		}
		res.Connections++
	}
	// Members and their identities.
	for {
		ms, err := st.ListMembers(ctx, fromID, "", 200)
		if err != nil {
			return res, err
		}
		if len(ms) == 0 {
			break
		}
		for _, m := range ms {
			ids, err := st.ListUserIdentities(ctx, m.UserID)
			if err != nil {
				return res, err
			}
			for _, id := range ids {
				if id.OrgID != fromID {
					continue
				}
				moved := *id
				moved.ID, moved.OrgID = NewID("idn_"), toID
				if err := st.CreateIdentity(ctx, &moved); err != nil && !errors.Is(err, ErrConflict) {
					return res, err
				}
				if err := st.DeleteIdentity(ctx, id.ID); err != nil && !errors.Is(err, ErrNotFound) {
					return res, err
				}
				res.Identities++
			}
			if _, err := st.GetMembership(ctx, toID, m.UserID); errors.Is(err, ErrNotFound) {
				nm := *m
				nm.OrgID, nm.BreakGlass = toID, false
				if err := st.CreateMembership(ctx, &nm); err != nil && !errors.Is(err, ErrConflict) {
					return res, err
				}
			} else if err != nil {
				return res, err
			}
			if revoker != nil {
				if err := revoker.RevokeUser(ctx, m.UserID); err != nil {
					return res, fmt.Errorf("sso: merge: revoke sessions: %w", err)
				}
				res.Revoked++
			}
			if err := st.DeleteMembership(ctx, fromID, m.UserID); err != nil && !errors.Is(err, ErrNotFound) {
				return res, err
			}
			res.Members++
			recordQuietly(ctx, a, &Event{OrgID: toID, Type: EventMemberMoved, Target: Target{Type: "user", ID: m.UserID},
				Details: map[string]string{"from_org": fromID}}, logf)
		}
	}
	recordQuietly(ctx, a, &Event{OrgID: toID, Type: EventOrgMerged, Target: Target{Type: "organization", ID: fromID},
		Details: map[string]string{"domains": fmt.Sprint(res.Domains), "members": fmt.Sprint(res.Members)}}, logf)
	return res, nil
}
