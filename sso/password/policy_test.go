package password_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/password"
)

func TestPolicyCheck(t *testing.T) {
	t.Parallel()
	p := password.Policy{MinLength: 8, MaxLength: 128, ContextWords: []string{"Acme"}}
	for _, tc := range []struct {
		name, pw, email, reason string
	}{
		{"long passphrase", "correct horse battery staple", "jane@x.example", ""},
		{"unicode and spaces", "Grüße aus Köln 2026 ☕", "jane@x.example", ""},
		{"no composition rules", "plainlowercaseletters", "", ""},
		{"seven characters", "k7#pQ2z", "", password.ReasonPasswordTooShort},
		// Eight code points of two bytes each are eight characters.
		{"eight multi-byte characters", "éàüöçñßø", "", ""},
		// NFKC folds the ligature "ﬁ" into "fi": 7 characters become 8.
		{"length after NFKC", "ﬁrewall!", "", ""},
		{"129 characters", strings.Repeat("ab cd ", 21) + "xyz", "", password.ReasonPasswordTooLong},
		{"128 characters", strings.Repeat("ab cd ", 21) + "xy", "", ""},
		{"breached", "sunshine", "", password.ReasonPasswordBreached},
		{"breached in capitals", "SUNSHINE", "", password.ReasonPasswordBreached},
		{"breached after NFKC (full-width)", "ｓｕｎｓｈｉｎｅ", "", password.ReasonPasswordBreached},
		{"repeated character", "zzzzzzzzzzzz", "", password.ReasonPasswordWeak},
		{"repeated unit", "xyzwxyzwxyzw", "", password.ReasonPasswordWeak},
		{"ascending sequence", "3456789:", "", password.ReasonPasswordWeak},
		{"descending letters", "zyxwvutsrq", "", password.ReasonPasswordWeak},
		{"email local part", "jonathan.smith-rocks", "jonathan.smith@x.example", password.ReasonPasswordContext},
		{"service name", "my acme password!", "", password.ReasonPasswordContext},
		{"control character", "good password\x00x", "", password.ReasonPasswordInvalid},
		{"invalid UTF-8", "good password \xff\xfe", "", password.ReasonPasswordInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := p.Check(tc.pw, tc.email)
			if got := sso.ReasonOf(err); got != tc.reason {
				t.Fatalf("Check(%q) reason %q, want %q (%v)", tc.pw, got, tc.reason, err)
			}
			if err == nil {
				return
			}
			var fe *password.FieldError
			if !errors.As(err, &fe) || fe.Field != "password" || fe.Fix == "" || !errors.Is(err, sso.ErrInvalidInput) {
				t.Errorf("refusal %v lacks field, fix or ErrInvalidInput", err)
			}
		})
	}
}

// TestPolicyConfig refuses policies below SP 800-63B.
func TestPolicyConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, p := range []password.Policy{{MinLength: 6}, {MaxLength: 64}, {MinLength: 200, MaxLength: 150}} {
		if _, err := password.New(configOf(e, func(c *password.Config) { c.Policy = p })); !errors.Is(err, sso.ErrInvalidConfig) {
			t.Errorf("policy %+v: got %v, want ErrInvalidConfig", p, err)
		}
	}
	if _, err := password.New(password.Config{}); err == nil || strings.Count(err.Error(), "is required") < 9 {
		t.Errorf("empty config: want every missing field reported at once, got %v", err)
	}
}

// TestCommonList checks that the bundled list is a real one.
func TestCommonList(t *testing.T) {
	t.Parallel()
	if n := password.CommonCount(); n < 2500 {
		t.Errorf("common list holds %d passwords, want thousands", n)
	}
	for _, pw := range []string{"password", "12345678", "iloveyou", "football", "Qwerty123", "letmein1"} {
		if !password.IsCommon(pw) {
			t.Errorf("IsCommon(%q) = false", pw)
		}
	}
	if password.IsCommon("correct horse battery staple") {
		t.Error("a passphrase is on the common list")
	}
}
