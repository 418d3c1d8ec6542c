// Package netguard decides which addresses outbound fetches of
// tenant-configured URLs (SAML metadata, OIDC discovery, JWKS, token and
// userinfo endpoints) may reach. saml and oidc share it so both enforce the
// same egress policy against server-side request forgery.
package netguard

import "net/netip"

// blockedPrefixes are special-purpose ranges that Go's netip predicates do
// not cover: "this network", carrier-grade NAT, IETF protocol assignments,
// benchmarking, reserved, NAT64 and documentation.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// Blocked reports whether ip is internal or otherwise not a public unicast
// address: invalid, loopback, private, link-local, multicast, unspecified,
// or in one of the special-purpose ranges above. IPv4-mapped IPv6 addresses
// are judged as IPv4.
func Blocked(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() ||
		ip.IsUnspecified() || !ip.IsGlobalUnicast() {
		return true
	}
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
