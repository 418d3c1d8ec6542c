package password

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/ssokit/ssokit/sso"
)

// Policy is the password policy of NIST SP 800-63B §5.1.1.2: a minimum
// length, a generous maximum, any Unicode character (compared after NFKC
// normalisation), no composition rules and no periodic change, and a check
// against common, breached, repetitive, sequential and context-specific
// passwords.
type Policy struct {
	// MinLength is the minimum length in characters (Unicode code points
	// after NFKC). Zero means 8, the SP 800-63B minimum; smaller values are
	// refused. Use 15 when the password is the only factor.
	MinLength int
	// MaxLength is the maximum length in characters. Zero means 256;
	// values under 128 are refused.
	MaxLength int
	// ContextWords are words a password must not contain, such as the
	// service's name ("acme"). Words shorter than 4 characters are ignored.
	ContextWords []string
}

// maxPasswordBytes bounds the bytes read for a password, whatever
// MaxLength says, so an oversized input never reaches argon2.
const maxPasswordBytes = 4096

func (p *Policy) defaults() error {
	if p.MinLength == 0 {
		p.MinLength = 8
	}
	if p.MaxLength == 0 {
		p.MaxLength = 256
	}
	switch {
	case p.MinLength < 8:
		return fmt.Errorf("%w: password: Policy.MinLength must be at least 8", sso.ErrInvalidConfig)
	case p.MaxLength < 128 || p.MaxLength > maxPasswordBytes/4:
		return fmt.Errorf("%w: password: Policy.MaxLength must be 128..%d", sso.ErrInvalidConfig, maxPasswordBytes/4)
	case p.MinLength > p.MaxLength:
		return fmt.Errorf("%w: password: Policy.MinLength exceeds MaxLength", sso.ErrInvalidConfig)
	}
	return nil
}

// nfkc returns pw in NFKC form, the form that is hashed and checked,
// so that the same password typed on different keyboards matches.
func nfkc(pw string) string { return norm.NFKC.String(pw) }

// Check reports whether pw is acceptable for the account whose email is
// given (used for the context check; may be empty). Zero lengths mean the
// defaults. It returns nil or a
// *sso.ValidationError with one of the ReasonPassword* reasons, whose
// FieldError says how to fix it.
func (p *Policy) Check(pw, email string) error {
	minLen, maxLen := p.MinLength, p.MaxLength
	if minLen == 0 {
		minLen = 8
	}
	if maxLen == 0 {
		maxLen = 256
	}
	if len(pw) > maxPasswordBytes {
		return refuse(ReasonPasswordTooLong, "password", fmt.Sprintf("Use at most %d characters.", maxLen), sso.ErrInvalidInput)
	}
	if !utf8.ValidString(pw) || strings.IndexFunc(pw, unicode.IsControl) >= 0 {
		return refuse(ReasonPasswordInvalid, "password", "Use printable characters only.", sso.ErrInvalidInput)
	}
	n := nfkc(pw)
	switch c := utf8.RuneCountInString(n); {
	case c < minLen:
		return refuse(ReasonPasswordTooShort, "password", fmt.Sprintf("Use at least %d characters; a passphrase of several words is easiest.", minLen), sso.ErrInvalidInput)
	case c > maxLen:
		return refuse(ReasonPasswordTooLong, "password", fmt.Sprintf("Use at most %d characters.", maxLen), sso.ErrInvalidInput)
	}
	lower := strings.ToLower(n)
	if IsCommon(lower) {
		return refuse(ReasonPasswordBreached, "password", "This password is on lists of common or breached passwords; choose another.", sso.ErrInvalidInput)
	}
	if repetitive(lower) || sequential(lower) {
		return refuse(ReasonPasswordWeak, "password", "Avoid repeated characters and sequences such as 12345678 or abcdefgh.", sso.ErrInvalidInput)
	}
	for _, w := range contextWords(email, p.ContextWords) {
		if strings.Contains(lower, w) {
			return refuse(ReasonPasswordContext, "password", "Do not use your email address or the name of this service in your password.", sso.ErrInvalidInput)
		}
	}
	return nil
}

// contextWords are the lower-cased words a password must not contain: the
// email, its local part, and the configured words of 4+ characters.
func contextWords(email string, extra []string) []string {
	var out []string
	email = strings.ToLower(email)
	if local, _, ok := strings.Cut(email, "@"); ok {
		out = append(out, email)
		if utf8.RuneCountInString(local) >= 4 {
			out = append(out, local)
		}
	}
	for _, w := range extra {
		if w = strings.ToLower(nfkc(w)); utf8.RuneCountInString(w) >= 4 {
			out = append(out, w)
		}
	}
	return out
}

// repetitive reports whether s is one unit of up to 4 characters repeated
// ("aaaaaaaa", "abababab", "12341234").
func repetitive(s string) bool {
	r := []rune(s)
	for unit := 1; unit <= 4 && unit < len(r); unit++ {
		if len(r)%unit != 0 {
			continue
		}
		same := true
		for i := unit; i < len(r) && same; i++ {
			same = r[i] == r[i-unit]
		}
		if same {
			return true
		}
	}
	return false
}

// sequential reports whether s is one run of consecutive code points, up
// or down ("12345678", "abcdefgh", "87654321").
func sequential(s string) bool {
	r := []rune(s)
	if len(r) < 3 {
		return false
	}
	step := r[1] - r[0]
	if step != 1 && step != -1 {
		return false
	}
	for i := 2; i < len(r); i++ {
		if r[i]-r[i-1] != step {
			return false
		}
	}
	return true
}
