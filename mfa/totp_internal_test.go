package mfa

import (
	"crypto/hmac"
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

// TestMatchStepSelection checks the branch-free selection of the matched
// step against a plain search: with one-digit codes neighbouring steps
// often share a code, and the exact step must win, then the previous one.
func TestMatchStepSelection(t *testing.T) {
	t.Parallel()
	tp := totpParams{digits: otp.Digits(1), algorithm: otp.AlgorithmSHA1, period: 30}
	collisions := 0
	for i := range 200 {
		now := time.Unix(1_700_000_000+int64(i)*30+7, 0)
		step := now.Unix() / 30
		var codes [3]string
		for j, s := range [3]int64{step, step - 1, step + 1} {
			c, err := tp.codeAt(seedSHA1, time.Unix(s*30, 0))
			if err != nil {
				t.Fatal(err)
			}
			codes[j] = c
		}
		if codes[0] == codes[1] || codes[0] == codes[2] || codes[1] == codes[2] {
			collisions++
		}
		for d := range 10 {
			code := string(rune('0' + d))
			want, wantOK := int64(0), false
			for j, s := range [3]int64{step, step - 1, step + 1} {
				if codes[j] == code {
					want, wantOK = s, true
					break
				}
			}
			got, ok, err := tp.matchStep(seedSHA1, code, now)
			if err != nil || ok != wantOK || got != want {
				t.Fatalf("at %d code %q: got step %d ok %v err %v, want step %d ok %v (window codes %q)", now.Unix(), code, got, ok, err, want, wantOK, codes)
			}
		}
	}
	if collisions == 0 {
		t.Fatal("no window with a repeated code: the test checks nothing")
	}
}

// TestKeyedHMAC checks keyedHMAC against crypto/hmac for every TOTP hash,
// keys shorter than, equal to and longer than the block size, and several
// messages per key.
func TestKeyedHMAC(t *testing.T) {
	t.Parallel()
	for _, alg := range []otp.Algorithm{otp.AlgorithmSHA1, otp.AlgorithmSHA256, otp.AlgorithmSHA512} {
		newHash, err := totpParams{algorithm: alg}.newHash()
		if err != nil {
			t.Fatal(err)
		}
		for _, keyLen := range []int{0, 1, 20, 32, 63, 64, 65, 128, 129, 300} {
			key := make([]byte, keyLen)
			for i := range key {
				key[i] = byte(i*7 + keyLen)
			}
			mac, err := newKeyedHMAC(newHash, key)
			if err != nil {
				t.Fatal(err)
			}
			for _, msg := range []string{"", "\x00\x00\x00\x00\x03\x4f\xb5\xe3", "a longer message spanning more than one block of the hash function at hand, twice over......................................"} {
				ref := hmac.New(newHash, key)
				ref.Write([]byte(msg))
				want := ref.Sum(nil)
				got := mac.sum([]byte("prefix"), []byte(msg))
				if string(got[:6]) != "prefix" || !hmac.Equal(got[6:], want) {
					t.Errorf("%v key %d bytes msg %d bytes: got %x, want %x", alg, keyLen, len(msg), got[6:], want)
				}
			}
		}
	}
}

// BenchmarkMatchStep measures the constant-time ±1-step window alone: one
// key schedule and three codes, against BenchmarkTOTPValidateBare's single
// code (pquerna/otp stops at the first match).
func BenchmarkMatchStep(b *testing.B) {
	now := time.Unix(1_800_000_015, 0)
	code, err := defaultTOTP.codeAt(seedSHA1, now)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for range b.N {
		if _, ok, _ := defaultTOTP.matchStep(seedSHA1, code, now); !ok {
			b.Fatal("rejected")
		}
	}
}

// TestKeyedHMACScratch checks that the scratch room survives the saved
// states of every TOTP hash.
func TestKeyedHMACScratch(t *testing.T) {
	t.Parallel()
	for _, alg := range []otp.Algorithm{otp.AlgorithmSHA1, otp.AlgorithmSHA256, otp.AlgorithmSHA512} {
		newHash, _ := totpParams{algorithm: alg}.newHash()
		mac, err := newKeyedHMAC(newHash, []byte("key"))
		if err != nil {
			t.Fatal(err)
		}
		if room := cap(mac.outerState) - len(mac.outerState); room < scratchSize {
			t.Errorf("%v: %d bytes left after the saved states, want %d: the buffer is sized wrong", alg, room, scratchSize)
		}
		before := string(mac.outerState)
		s := mac.scratch()
		if len(s) != 0 || cap(s) < scratchSize {
			t.Fatalf("%v: scratch len %d cap %d", alg, len(s), cap(s))
		}
		for i := range 3 {
			_ = mac.sum(append(s[:0], 1, 2, 3, 4, 5, 6, 7, byte(i)), s[:8])
		}
		if string(mac.outerState) != before {
			t.Fatalf("%v: a sum into scratch overwrote the saved state", alg)
		}
	}
}

// TestMatchStepAllocations checks that the window allocates per key, not
// per step: the same count for one code as for the whole window.
func TestMatchStepAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("-race changes allocation counts")
	}
	now := time.Unix(1_800_000_015, 0)
	code, _ := defaultTOTP.codeAt(seedSHA1, now)
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok, _ := defaultTOTP.matchStep(seedSHA1, code, now); !ok {
			t.Fatal("rejected")
		}
	})
	if allocs > 3 {
		t.Errorf("matchStep: %v allocations, want at most 3 (two hash states and one buffer)", allocs)
	}
}
