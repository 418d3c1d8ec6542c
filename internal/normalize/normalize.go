// Package normalize is the one place where domain names, email addresses
// and organization slugs are checked and put in canonical form.
package normalize

import (
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// ErrInvalidInput is the error every refusal here wraps. It is the very
// value of sso.ErrInvalidInput, which is declared as this variable so that
// errors.Is matches either name.
var ErrInvalidInput = errors.New("sso: invalid input")

// MaxDomainLength is the longest domain name accepted (RFC 1035).
const MaxDomainLength = 253

var domainProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.StrictDomainName(true),
	idna.VerifyDNSLength(true),
)

// Domain returns the canonical form of a domain name: IDNA to ASCII
// (punycode), lower case, trailing dot removed. It rejects IP addresses,
// single-label names, over-long names and names that are not valid DNS host
// names, with an error wrapping ErrInvalidInput. It is the only place where
// domain names are normalized.
func Domain(name string) (string, error) {
	s := strings.TrimSpace(name)
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", fmt.Errorf("%w: empty domain", ErrInvalidInput)
	}
	if len(s) > 4*MaxDomainLength {
		return "", fmt.Errorf("%w: domain too long", ErrInvalidInput)
	}
	if _, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return "", fmt.Errorf("%w: %q is an IP address, not a domain", ErrInvalidInput, name)
	}
	a, err := domainProfile.ToASCII(s)
	if err != nil {
		return "", fmt.Errorf("%w: invalid domain %q: %v", ErrInvalidInput, name, err)
	}
	a = strings.ToLower(a)
	if len(a) > MaxDomainLength {
		return "", fmt.Errorf("%w: domain too long", ErrInvalidInput)
	}
	if !strings.Contains(a, ".") {
		return "", fmt.Errorf("%w: %q is not a fully qualified domain", ErrInvalidInput, name)
	}
	for _, label := range strings.Split(a, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("%w: invalid domain %q", ErrInvalidInput, name)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", fmt.Errorf("%w: invalid domain %q", ErrInvalidInput, name)
			}
		}
	}
	// A numeric top-level label means an address-like name (e.g. 1.2.3.4 in
	// an odd spelling); real TLDs are never all digits.
	tld := a[strings.LastIndexByte(a, '.')+1:]
	if strings.Trim(tld, "0123456789") == "" {
		return "", fmt.Errorf("%w: %q is not a domain", ErrInvalidInput, name)
	}
	return a, nil
}

// RegistrableDomain returns the registrable domain (eTLD+1) of a normalized
// domain name per the Public Suffix List, e.g. "eng.acme.co.uk" ->
// "acme.co.uk". It returns an error wrapping ErrInvalidInput when the name is
// itself a public suffix.
func RegistrableDomain(domain string) (string, error) {
	r, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		return "", fmt.Errorf("%w: %q is a public suffix", ErrInvalidInput, domain)
	}
	return r, nil
}

// IsPublicSuffix reports whether a normalized domain is itself a public
// suffix such as "com", "co.uk" or "github.io" (ICANN or private section).
func IsPublicSuffix(domain string) bool {
	suffix, _ := publicsuffix.PublicSuffix(domain)
	return suffix == domain
}

// MaxEmailLength is the longest email address accepted (RFC 5321).
const MaxEmailLength = 254

// Email returns the email with its domain normalized by
// Domain and its local part lower-cased, and the domain alone. It
// rejects addresses without exactly one "@", with an empty local part, or
// with control characters or spaces.
func Email(email string) (addr, domain string, err error) {
	s := strings.TrimSpace(email)
	if len(s) > MaxEmailLength*4 {
		return "", "", fmt.Errorf("%w: email too long", ErrInvalidInput)
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.Count(s, "@") != 1 {
		return "", "", fmt.Errorf("%w: invalid email address", ErrInvalidInput)
	}
	local := s[:at]
	for _, r := range local {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' || r == '"' || r == '\\' {
			return "", "", fmt.Errorf("%w: invalid email address", ErrInvalidInput)
		}
	}
	domain, err = Domain(s[at+1:])
	if err != nil {
		return "", "", err
	}
	addr = strings.ToLower(local) + "@" + domain
	if len(addr) > MaxEmailLength {
		return "", "", fmt.Errorf("%w: email too long", ErrInvalidInput)
	}
	return addr, domain, nil
}

// MaxSlugLength is the longest organization slug accepted.
const MaxSlugLength = 63

// Slug checks an organization slug: 1-63 characters of a-z, 0-9 and
// '-', not starting or ending with '-'.
func Slug(slug string) error {
	if slug == "" || len(slug) > MaxSlugLength || slug[0] == '-' || slug[len(slug)-1] == '-' {
		return fmt.Errorf("%w: invalid slug %q", ErrInvalidInput, truncate(slug, 80))
	}
	for i := 0; i < len(slug); i++ {
		c := slug[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("%w: invalid slug %q", ErrInvalidInput, truncate(slug, 80))
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

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
