package sso_test

import (
	"errors"
	"testing"

	"github.com/ssokit/ssokit/sso"
)

func TestNetworkPolicyAllows(t *testing.T) {
	p := sso.NetworkPolicy{AllowedCIDRs: []string{"203.0.113.0/24", "2001:db8:aa::/48", "198.51.100.7", "10.9.8.7/8"}}
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"203.0.113.9", true},
		{"203.0.113.9:443", true},
		{"::ffff:203.0.113.9", true}, // IPv4-mapped IPv6 is the IPv4 address
		{"203.0.114.1", false},
		{"2001:db8:aa:1::5", true},
		{"[2001:db8:aa:1::5]:8443", true},
		{"2001:db8:ab::1", false},
		{"198.51.100.7", true},
		{"198.51.100.8", false},
		{"10.200.0.1", true}, // host bits of 10.9.8.7/8 are masked
		{"", false},
		{"not-an-ip", false},
		{"fe80::1%eth0", false},
	} {
		if got := p.Allows(tc.addr); got != tc.want {
			t.Errorf("Allows(%q) = %v, want %v", tc.addr, got, tc.want)
		}
	}
	if !(sso.NetworkPolicy{}).Allows("") {
		t.Error("an unrestricted policy refused an address")
	}
}

func TestNetworkPolicyValidateNamesTheEntry(t *testing.T) {
	err := sso.NetworkPolicy{AllowedCIDRs: []string{"203.0.113.0/24", "203.0.113.0/33"}}.Validate()
	var fe *sso.FieldError
	if !errors.As(err, &fe) || fe.Field != "network.allowed_cidrs[1]" || fe.Reason != "invalid_cidr" || !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("Validate = %v, want a FieldError on network.allowed_cidrs[1] wrapping ErrInvalidInput", err)
	}
	if err := (sso.NetworkPolicy{AllowedCIDRs: []string{"2001:db8::/32", "192.0.2.1"}}).Validate(); err != nil {
		t.Fatalf("Validate of good entries = %v", err)
	}
	many := sso.NetworkPolicy{AllowedCIDRs: make([]string, 201)}
	for i := range many.AllowedCIDRs {
		many.AllowedCIDRs[i] = "192.0.2.1"
	}
	if err := many.Validate(); !errors.As(err, &fe) || fe.Reason != "too_many" {
		t.Fatalf("Validate of 201 entries = %v, want too_many", err)
	}
}
