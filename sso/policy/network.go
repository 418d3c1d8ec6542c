package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ssokit/ssokit/sso"
)

// EventNetworkChanged is recorded when an organization's IP allowlist
// changed; Details hold the lists before and after and the exemption.
const EventNetworkChanged = "org.network_policy_changed"

// NetworkOptions are the options of SetNetworkPolicy.
type NetworkOptions struct {
	// CallerAddr is the address of the administrator making the change
	// (through the trusted-proxy rule). A list that would refuse it is
	// refused with reason "locks_out_caller", unless Confirm is set or the
	// caller is exempt as an active break-glass member.
	CallerAddr string
	// CallerID is the administrator's user ID, for the break-glass check.
	CallerID string
	// Confirm accepts a list that does not include CallerAddr.
	Confirm bool
}

// SetNetworkPolicy replaces orgID's IP allowlist (sso.NetworkPolicy) and
// records EventNetworkChanged. It needs the plan feature
// sso.FeatureIPAllowlist to restrict addresses (clearing the list is always
// allowed); a bad entry is an *sso.FieldError naming it. The change reaches
// every replica's live sessions within a few seconds.
func (e *Enforcer) SetNetworkPolicy(ctx context.Context, orgID string, p sso.NetworkPolicy, opts NetworkOptions) (*sso.NetworkPolicy, error) {
	org, err := e.cfg.Store.GetOrg(ctx, orgID)
	if err != nil {
		return nil, err
	}
	p.AllowedCIDRs = tidyCIDRs(p.AllowedCIDRs)
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.Restricted() && !p.Allows(opts.CallerAddr) && !opts.Confirm {
		exempt := false
		if p.BreakGlassExempt && opts.CallerID != "" {
			m, err := e.cfg.Store.GetMembership(ctx, orgID, opts.CallerID)
			exempt = err == nil && m.BreakGlass && m.Active()
		}
		if !exempt {
			return nil, &sso.FieldError{Field: "network.allowed_cidrs", Reason: "locks_out_caller",
				Message: fmt.Sprintf("your own address %s is not in the list, so saving it would sign you out: add it, or confirm that you mean it", opts.CallerAddr)}
		}
	}
	if _, err := e.saveOrg(ctx, org, func(org *sso.Organization) ([]*sso.Event, bool, error) {
		if p.Restricted() && !org.Settings.Features.Has(sso.FeatureIPAllowlist) {
			return nil, false, &sso.ValidationError{Reason: "feature_disabled", Err: sso.ErrAccessDenied}
		}
		before := org.Settings.Network
		org.Settings.Network = p
		return []*sso.Event{{OrgID: orgID, Type: EventNetworkChanged, Target: sso.Target{Type: "organization", ID: orgID},
			Details: map[string]string{"from": strings.Join(before.AllowedCIDRs, " "), "to": strings.Join(p.AllowedCIDRs, " "),
				"break_glass_exempt": fmt.Sprint(p.BreakGlassExempt)}}}, true, nil
	}); err != nil {
		return nil, err
	}
	return &p, nil
}

// tidyCIDRs trims the entries, drops empty ones and duplicates, and keeps
// the order the administrator chose.
func tidyCIDRs(in []string) []string {
	out := make([]string, 0, len(in))
	for _, c := range in {
		if c = strings.TrimSpace(c); c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}
