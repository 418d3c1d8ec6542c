package sso

import (
	"context"
	"fmt"
)

// RoutingDomain returns the organization routing logins for a normalized
// email domain: the verified holder of the domain itself. Subdomains are
// not covered by their parent's verification, nor parents by theirs.
func RoutingDomain(ctx context.Context, st DomainStore, domain string) (*Domain, error) {
	dom, err := st.FindVerifiedDomain(ctx, domain)
	if err != nil {
		return nil, err
	}
	if !dom.Routable() {
		return nil, fmt.Errorf("sso: domain not routable: %w", ErrNotFound)
	}
	return dom, nil
}
