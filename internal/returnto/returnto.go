// Package returnto decides which post-login return paths are safe to
// redirect to.
package returnto

import (
	"net/url"
	"strings"
)

// MaxLength bounds a return_to or RelayState path. SAML Bindings
// limits RelayState to 80 bytes; paths with query strings may need more, so
// ssokit allows up to 512 bytes of path and query.
const MaxLength = 512

// Safe returns p when it is a same-origin relative path that is safe
// to redirect to after a login, and fallback otherwise. A safe path starts
// with a single "/", is not "//" or "/\" (protocol-relative), contains no
// backslash, control character, scheme or host, stays the same after
// percent-decoding those checks, and is at most MaxReturnToLength bytes.
func Safe(p, fallback string) string {
	if IsSafe(p) {
		return p
	}
	return fallback
}

// IsSafe reports whether p is a safe post-login redirect target; see
// SafeReturnTo.
func IsSafe(p string) bool {
	if p == "" || len(p) > MaxLength || p[0] != '/' {
		return false
	}
	// Check the raw string and its decodings: browsers and proxies decode
	// %2F, %5C and friends in different places.
	s := p
	for i := 0; i < 3; i++ {
		if !safePathChars(s) {
			return false
		}
		d, err := url.PathUnescape(s)
		if err != nil {
			return false
		}
		if d == s {
			break
		}
		s = d
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	return true
}

func safePathChars(s string) bool {
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	if strings.ContainsRune(s, '\\') {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	// A scheme-like prefix before the first slash cannot appear in a path
	// that starts with "/", but "/javascript:..." is harmless; what matters is
	// that the first character is "/" and the second is not a separator,
	// checked above.
	return s[0] == '/'
}
