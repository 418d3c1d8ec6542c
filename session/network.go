package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// ReasonNetwork is the reason of a refusal by an organization's IP
// allowlist (sso.NetworkPolicy).
const ReasonNetwork = "ip_not_allowed"

// EventNetworkRefused is recorded in the organization when its IP
// allowlist refuses a login, a session or an access token; Details name
// the address and what was refused. A refused client is recorded at most
// once a minute per use.
const EventNetworkRefused = "network.refused"

// networkTTL is how long a replica keeps an organization's network
// policy: a changed allowlist reaches live sessions within it.
const networkTTL = 5 * time.Second

// networkPolicies caches organizations' network policies for the
// per-request checks, and remembers which refusals were audited lately.
type networkPolicies struct {
	mu      sync.Mutex
	orgs    map[string]cachedNetwork
	audited map[string]time.Time
}

type cachedNetwork struct {
	p  sso.NetworkPolicy
	at time.Time
}

// networkOf returns orgID's network policy: org's when it is that
// organization (as read for a login), else the cached or stored one. It
// also returns the organization when it had or read one (nil from the
// cache), so that a caller does not read it again.
func (m *Manager) networkOf(ctx context.Context, orgID string, org *sso.Organization) (sso.NetworkPolicy, *sso.Organization, error) {
	now := m.now()
	c := &m.network
	c.mu.Lock()
	e, ok := c.orgs[orgID]
	c.mu.Unlock()
	if org == nil || org.ID != orgID {
		if ok && now.Sub(e.at) < networkTTL {
			return e.p, nil, nil
		}
		if m.cfg.Orgs == nil {
			return sso.NetworkPolicy{}, nil, nil
		}
		var err error
		switch org, err = m.cfg.Orgs.GetOrg(ctx, orgID); {
		case errors.Is(err, sso.ErrNotFound):
			// No organization, no allowlist: what else a session of a
			// deleted organization may do is decided elsewhere.
			return sso.NetworkPolicy{}, nil, nil
		case err != nil:
			return sso.NetworkPolicy{}, nil, fmt.Errorf("session: read organization: %w", err)
		}
	}
	c.mu.Lock()
	if c.orgs == nil || len(c.orgs) > 100_000 {
		c.orgs = map[string]cachedNetwork{}
	}
	c.orgs[orgID] = cachedNetwork{p: org.Settings.Network, at: now}
	c.mu.Unlock()
	return org.Settings.Network, org, nil
}

// admitNetwork checks r's client address against orgID's IP allowlist for
// userID. what names the use in the audit event ("login", "session",
// "access_token", "org_switch"). A refusal is a *sso.ValidationError
// wrapping sso.ErrAccessDenied. It returns the organization when it had or
// read one.
func (m *Manager) admitNetwork(ctx context.Context, r *http.Request, orgID, userID string, org *sso.Organization, what string) (*sso.Organization, error) {
	p, org, err := m.networkOf(ctx, orgID, org)
	if err != nil || !p.Restricted() {
		return org, err
	}
	ip := m.clientIP(r)
	if p.Allows(ip) {
		return org, nil
	}
	if p.BreakGlassExempt && m.cfg.Memberships != nil {
		mem, err := m.cfg.Memberships.GetMembership(ctx, orgID, userID)
		switch {
		case err == nil && mem.BreakGlass && mem.Active():
			return org, nil
		case err != nil && !errors.Is(err, sso.ErrNotFound):
			return nil, fmt.Errorf("session: read membership: %w", err)
		}
	}
	m.auditNetwork(ctx, r, orgID, userID, ip, what)
	return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonNetwork, Want: "an address on the organization's allowlist",
		Got: ip, Err: sso.ErrAccessDenied}
}

// auditNetwork records a refusal, at most once a minute per organization,
// user, address and use.
func (m *Manager) auditNetwork(ctx context.Context, r *http.Request, orgID, userID, ip, what string) {
	now := m.now()
	key := orgID + "\x00" + userID + "\x00" + ip + "\x00" + what
	c := &m.network
	c.mu.Lock()
	last, seen := c.audited[key]
	if c.audited == nil || len(c.audited) > 10_000 {
		c.audited = map[string]time.Time{}
	}
	if seen && now.Sub(last) < time.Minute {
		c.mu.Unlock()
		return
	}
	c.audited[key] = now
	c.mu.Unlock()
	m.audit(ctx, &sso.Event{OrgID: orgID, Type: EventNetworkRefused, Outcome: sso.OutcomeFailure, Reason: ReasonNetwork,
		Actor: sso.Actor{Type: sso.ActorUser, ID: userID}, IP: ip, UserAgent: truncate(r.UserAgent(), 512),
		Details: map[string]string{"ip": ip, "refused": what}})
}
