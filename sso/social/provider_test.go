package social_test

import (
	"testing"

	"github.com/ssokit/ssokit/sso/social"
)

// TestGoogleEmailVerified: Google's email counts as verified only when
// email_verified is true and Google hosts the address, a Gmail address or
// one of a Workspace account (hd). A personal account made with another
// address was checked once, when it was made, and proves nothing about
// who owns the mailbox now.
func TestGoogleEmailVerified(t *testing.T) {
	t.Parallel()
	verified := social.Google("id", "secret").EmailVerified
	cases := []struct {
		name   string
		claims map[string]any
		want   bool
	}{
		{"gmail", map[string]any{"email": "gina@gmail.com", "email_verified": true}, true},
		{"gmail-upper-case", map[string]any{"email": "Gina@GMail.com", "email_verified": true}, true},
		{"googlemail", map[string]any{"email": "gina@googlemail.com", "email_verified": true}, true},
		{"workspace-hd", map[string]any{"email": "ann@acme.example", "email_verified": true, "hd": "acme.example"}, true},
		{"workspace-string-true", map[string]any{"email": "ann@acme.example", "email_verified": "true", "hd": "acme.example"}, true},
		{"personal-account-company-address", map[string]any{"email": "ann@acme.example", "email_verified": true}, false},
		{"empty-hd", map[string]any{"email": "ann@acme.example", "email_verified": true, "hd": ""}, false},
		{"hd-not-a-string", map[string]any{"email": "ann@acme.example", "email_verified": true, "hd": true}, false},
		{"gmail-lookalike-domain", map[string]any{"email": "gina@gmail.com.evil.example", "email_verified": true}, false},
		{"gmail-subdomain", map[string]any{"email": "gina@mail.gmail.com", "email_verified": true}, false},
		{"gmail-unverified", map[string]any{"email": "gina@gmail.com", "email_verified": false}, false},
		{"workspace-verified-absent", map[string]any{"email": "ann@acme.example", "hd": "acme.example"}, false},
	}
	for _, tc := range cases {
		if got := verified(tc.claims); got != tc.want {
			t.Errorf("%s: verified = %v, want %v", tc.name, got, tc.want)
		}
	}
}
