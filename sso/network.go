package sso

import (
	"fmt"
	"net/netip"
	"strings"
)

// FeatureIPAllowlist is the plan feature that lets an organization set a
// NetworkPolicy.
const FeatureIPAllowlist = "ip_allowlist"

// maxAllowedCIDRs bounds a NetworkPolicy, so that the per-request check
// stays a handful of comparisons.
const maxAllowedCIDRs = 200

// NetworkPolicy is an organization's IP allowlist: where its members may
// sign in from, and use their sessions and access tokens from. The client
// address is the one the host's trusted-proxy rule yields (never a
// forwarding header it does not trust).
type NetworkPolicy struct {
	// AllowedCIDRs are IPv4 and IPv6 networks in CIDR notation
	// ("203.0.113.0/24", "2001:db8::/48"); a bare address is one host.
	// Empty means any address.
	AllowedCIDRs []string
	// BreakGlassExempt lets the organization's active break-glass members
	// in from any address, so that a wrong list cannot lock every
	// administrator out.
	BreakGlassExempt bool
}

// Restricted reports whether the policy limits addresses at all.
func (p NetworkPolicy) Restricted() bool { return len(p.AllowedCIDRs) > 0 }

// Validate checks every entry, naming the first bad one.
func (p NetworkPolicy) Validate() error {
	if len(p.AllowedCIDRs) > maxAllowedCIDRs {
		return &FieldError{Field: "network.allowed_cidrs", Reason: "too_many",
			Message: fmt.Sprintf("at most %d networks; merge neighbouring ranges into larger ones", maxAllowedCIDRs)}
	}
	for i, c := range p.AllowedCIDRs {
		if _, err := parseNetwork(c); err != nil {
			return &FieldError{Field: fmt.Sprintf("network.allowed_cidrs[%d]", i), Reason: "invalid_cidr",
				Message: fmt.Sprintf("%q is not an IPv4 or IPv6 network: write it like 203.0.113.0/24 or 2001:db8::/48", c)}
		}
	}
	return nil
}

// Allows reports whether addr (an IP address, with or without a port) is
// inside one of the networks. An unrestricted policy allows every address;
// a restricted one refuses an address that does not parse.
func (p NetworkPolicy) Allows(addr string) bool {
	if !p.Restricted() {
		return true
	}
	ip, err := parseAddr(addr)
	if err != nil {
		return false
	}
	for _, c := range p.AllowedCIDRs {
		if n, err := parseNetwork(c); err == nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// parseNetwork parses a CIDR or a bare address (one host), masking the
// host bits so that "10.1.2.3/8" means 10.0.0.0/8.
func parseNetwork(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		ip = ip.Unmap()
		return netip.PrefixFrom(ip, ip.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// parseAddr parses an address as a client-IP rule yields it: bare, with a
// port, or bracketed IPv6; an IPv4-mapped IPv6 address is its IPv4 form.
func parseAddr(s string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), nil
	}
	ip, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.Addr{}, err
	}
	return ip.Unmap().WithZone(""), nil
}
