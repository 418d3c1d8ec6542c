// Package routing finds the organization a login's email domain routes to.
package routing

import (
	"context"
	"fmt"

	"github.com/ssokit/ssokit/sso"
)

// DomainFinder finds the verified holder of a domain (sso.DomainStore
// has it).
type DomainFinder interface {
	FindVerifiedDomain(ctx context.Context, name string) (*sso.Domain, error)
}

// Domain returns the organization routing logins for a normalized
// email domain: the verified holder of the domain itself. Subdomains are
// not covered by their parent's verification, nor parents by theirs.
func Domain(ctx context.Context, st DomainFinder, domain string) (*sso.Domain, error) {
	dom, err := st.FindVerifiedDomain(ctx, domain)
	if err != nil {
		return nil, err
	}
	if !dom.Routable() {
		return nil, fmt.Errorf("sso: domain not routable: %w", sso.ErrNotFound)
	}
	return dom, nil
}
