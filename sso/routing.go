package sso

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"sync"
)

// IsPublicMailDomain reports whether a normalized domain is on ssokit's
// embedded list of public, free and disposable mail providers (gmail.com,
// outlook.com, mailinator.com, ...), or is a subdomain of one.
func IsPublicMailDomain(domain string) bool {
	set := publicMail()
	for d := domain; d != ""; {
		if set[d] {
			return true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
	}
	return false
}

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

//go:embed publicmail.txt
var publicMailList string

var (
	publicMailOnce sync.Once
	publicMailSet  map[string]bool
)

func publicMail() map[string]bool {
	publicMailOnce.Do(func() {
		publicMailSet = map[string]bool{}
		for _, line := range strings.Split(publicMailList, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			publicMailSet[line] = true
		}
	})
	return publicMailSet
}
