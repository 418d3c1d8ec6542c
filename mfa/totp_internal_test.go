package mfa

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"

	"github.com/ssokit/ssokit/sso"
)

// RFC 6238 Appendix B. The seed differs per hash (see SECURITY.md §4.3).
var (
	seedSHA1   = []byte("12345678901234567890")
	seedSHA256 = []byte("12345678901234567890123456789012")
	seedSHA512 = []byte("1234567890123456789012345678901234567890123456789012345678901234")
)

var rfc6238Vectors = []struct {
	unix                 int64
	sha1, sha256, sha512 string
}{
	{59, "94287082", "46119246", "90693936"},
	{1111111109, "07081804", "68084774", "25091201"},
	{1111111111, "14050471", "67062674", "99943326"},
	{1234567890, "89005924", "91819424", "93441116"},
	{2000000000, "69279037", "90698825", "38618901"},
	{20000000000, "65353130", "77737706", "47863826"},
}

type hashCase struct {
	name string
	alg  otp.Algorithm
	seed []byte
	code func(i int) string
}

var hashCases = []hashCase{
	{"SHA1", otp.AlgorithmSHA1, seedSHA1, func(i int) string { return rfc6238Vectors[i].sha1 }},
	{"SHA256", otp.AlgorithmSHA256, seedSHA256, func(i int) string { return rfc6238Vectors[i].sha256 }},
	{"SHA512", otp.AlgorithmSHA512, seedSHA512, func(i int) string { return rfc6238Vectors[i].sha512 }},
}

// TestT_T1_RFC6238Vectors generates and validates every Appendix B vector
// through the code path verification uses, in 8 digits and truncated to 6,
// with leading zeros preserved.
func TestT_T1_RFC6238Vectors(t *testing.T) {
	t.Parallel()
	if len(seedSHA1) != 20 || len(seedSHA256) != 32 || len(seedSHA512) != 64 {
		t.Fatal("seed lengths differ from RFC 6238 Appendix B")
	}
	for _, hc := range hashCases {
		for i, v := range rfc6238Vectors {
			at := time.Unix(v.unix, 0).UTC()
			want8 := hc.code(i)
			for _, digits := range []otp.Digits{otp.DigitsEight, otp.DigitsSix} {
				tp := totpParams{digits: digits, algorithm: hc.alg, period: 30}
				want := want8[len(want8)-digits.Length():]
				got, err := tp.codeAt(hc.seed, at)
				if err != nil || got != want {
					t.Errorf("%s %d digits at %d: generated %q, %v; want %q", hc.name, digits.Length(), v.unix, got, err, want)
				}
				step, ok, err := tp.matchStep(hc.seed, want, at)
				if err != nil || !ok || step != v.unix/30 {
					t.Errorf("%s %d digits at %d: validate %q: step %d ok %v err %v; want step %d", hc.name, digits.Length(), v.unix, want, step, ok, err, v.unix/30)
				}
				// One digit off is rejected.
				wrong := []byte(want)
				wrong[0] = '0' + (wrong[0]-'0'+1)%10
				if _, ok, _ := tp.matchStep(hc.seed, string(wrong), at); ok {
					t.Errorf("%s at %d: altered code %q accepted", hc.name, v.unix, wrong)
				}
			}
		}
	}
	// Leading zeros: 07081804 keeps its zero in 8 digits and 081804 in 6.
	for _, tc := range []struct {
		digits otp.Digits
		want   string
	}{{otp.DigitsEight, "07081804"}, {otp.DigitsSix, "081804"}} {
		tp := totpParams{digits: tc.digits, algorithm: otp.AlgorithmSHA1, period: 30}
		got, _ := tp.codeAt(seedSHA1, time.Unix(1111111109, 0))
		if got != tc.want || len(got) != tc.digits.Length() {
			t.Errorf("leading zero: got %q, want %q", got, tc.want)
		}
		if _, ok, _ := tp.matchStep(seedSHA1, strings.TrimLeft(tc.want, "0"), time.Unix(1111111109, 0)); ok {
			t.Errorf("code %q without its leading zero accepted", tc.want)
		}
	}
}

// TestT_T5_SkewWindow checks the window is exactly ±1 step around the
// server's clock.
func TestT_T5_SkewWindow(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_015, 0)
	step := now.Unix() / 30
	for _, tc := range []struct {
		offset int64
		accept bool
	}{{-3, false}, {-2, false}, {-1, true}, {0, true}, {1, true}, {2, false}, {3, false}} {
		code, err := defaultTOTP.codeAt(seedSHA1, time.Unix((step+tc.offset)*30, 0))
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := defaultTOTP.matchStep(seedSHA1, code, now)
		if err != nil {
			t.Fatal(err)
		}
		if ok != tc.accept || (ok && got != step+tc.offset) {
			t.Errorf("T-T.5: code of step offset %+d: accepted=%v (step %d), want accepted=%v", tc.offset, ok, got, tc.accept)
		}
	}
}

func TestParseCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"123456", "123456", true},
		{" 123 456 ", "123456", true},
		{"012345", "012345", true},
		{"12345", "", false},
		{"1234567", "", false},
		{"", "", false},
		{"12345a", "", false},
		{"１２３４５６", "", false}, // full-width digits
		{"123-456", "", false},
		{"٣٣٣٣٣٣", "", false}, // Arabic-Indic digits
		{strings.Repeat("1", 100), "", false},
	} {
		got, err := ParseCode(tc.in)
		if tc.ok {
			if err != nil || got != tc.want {
				t.Errorf("ParseCode(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			continue
		}
		var ve *sso.ValidationError
		if !errors.As(err, &ve) || ve.Reason != ReasonCodeMalformed {
			t.Errorf("ParseCode(%q): got %v, want reason %q", tc.in, err, ReasonCodeMalformed)
		}
	}
}

func TestParseRecoveryCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"abcd-efgh-ijkl-mnop", "abcdefghijklmnop", true},
		{"ABCD EFGH IJKL MNOP", "abcdefghijklmnop", true},
		{"abcdefghijklmnop", "abcdefghijklmnop", true},
		{"abcd-efgh-ijkl-mno", "", false},
		{"abcd-efgh-ijkl-mnop-q", "", false},
		{"abcd-efgh-ijkl-mn0p", "", false}, // 0 is not base32
		{"abcd-efgh-ijkl-mn\x00p", "", false},
		{"", "", false},
	} {
		got, err := ParseRecoveryCode(tc.in)
		if tc.ok {
			if err != nil || got != tc.want {
				t.Errorf("ParseRecoveryCode(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			continue
		}
		if sso.ReasonOf(err) != ReasonRecoveryMalformed {
			t.Errorf("ParseRecoveryCode(%q): got %v, want reason %q", tc.in, err, ReasonRecoveryMalformed)
		}
	}
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"123456", " 123 456", "12345", "abcdef", "", "07081804", "\xff\xfe", "１２３４５６"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseCode(s)
		if err != nil {
			if sso.ReasonOf(err) != ReasonCodeMalformed {
				t.Fatalf("ParseCode(%q): unexpected error %v", s, err)
			}
			return
		}
		if len(got) != 6 || strings.Trim(got, "0123456789") != "" {
			t.Fatalf("ParseCode(%q) = %q: not 6 digits", s, got)
		}
		// A parsed code validates without error against any secret.
		if _, _, err := defaultTOTP.matchStep(seedSHA1, got, time.Unix(1_700_000_000, 0)); err != nil {
			t.Fatalf("matchStep(%q): %v", got, err)
		}
	})
}

func FuzzParseRecoveryCode(f *testing.F) {
	for _, s := range []string{"abcd-efgh-ijkl-mnop", "ABCD EFGH IJKL MNOP", "short", "", "abcd-efgh-ijkl-mn0p", "\x00\x01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseRecoveryCode(s)
		if err != nil {
			if sso.ReasonOf(err) != ReasonRecoveryMalformed {
				t.Fatalf("ParseRecoveryCode(%q): unexpected error %v", s, err)
			}
			return
		}
		if len(got) != recoveryChars || strings.Trim(got, "abcdefghijklmnopqrstuvwxyz234567") != "" {
			t.Fatalf("ParseRecoveryCode(%q) = %q", s, got)
		}
		if again, err := ParseRecoveryCode(formatRecoveryCode(got)); err != nil || again != got {
			t.Fatalf("round trip of %q: %q, %v", got, again, err)
		}
	})
}
