package mfa_test

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
)

// TestT_T2_Replay: a code is accepted once; with ±1 skew the previous
// step's code is accepted once, and never after a later step was accepted.
func TestT_T2_Replay(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, b.open)
			secret, _ := e.enrol()

			// Accept C at step T, resubmit C -> rejected as a replay.
			c := e.code(secret)
			if err := e.m.VerifyTOTP(e.ctx(), e.p, c); err != nil {
				t.Fatalf("first use: %v", err)
			}
			wantReason(t, e.m.VerifyTOTP(e.ctx(), e.p, c), mfa.ReasonCodeReplayed)

			// Accept the T-1 code, then the same T-1 code again -> rejected.
			e.clock.Advance(60 * time.Second)
			prev, _ := totp.GenerateCode(secret, e.clock.Now().Add(-30*time.Second))
			if err := e.m.VerifyTOTP(e.ctx(), e.p, prev); err != nil {
				t.Fatalf("T-1 code: %v", err)
			}
			wantReason(t, e.m.VerifyTOTP(e.ctx(), e.p, prev), mfa.ReasonCodeReplayed)

			// After accepting T, a T-1 code is rejected.
			e.clock.Advance(60 * time.Second)
			if err := e.m.VerifyTOTP(e.ctx(), e.p, e.code(secret)); err != nil {
				t.Fatalf("code at T: %v", err)
			}
			prev, _ = totp.GenerateCode(secret, e.clock.Now().Add(-30*time.Second))
			wantReason(t, e.m.VerifyTOTP(e.ctx(), e.p, prev), mfa.ReasonCodeReplayed)

			// The confirming code of the enrolment cannot be replayed either.
			if n := len(e.events(mfa.EventReplayed)); n != 3 {
				t.Fatalf("replay audit events: got %d, want 3", n)
			}
		})
	}
}

// TestT_T2_EnrolmentCodeNotReusable: the code that confirmed enrolment is
// spent.
func TestT_T2_EnrolmentCodeNotReusable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	en, err := e.m.StartTOTPEnrollment(e.ctx(), e.p)
	if err != nil {
		t.Fatal(err)
	}
	c := e.code(en.Secret)
	if _, err := e.m.ConfirmTOTPEnrollment(e.ctx(), e.p, c); err != nil {
		t.Fatal(err)
	}
	wantReason(t, e.m.VerifyTOTP(e.ctx(), e.p, c), mfa.ReasonCodeReplayed)
}

// TestT_T3_ConcurrentSubmissions: 50 concurrent submissions of one valid
// code -> exactly one success, on every backend.
func TestT_T3_ConcurrentSubmissions(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, b.open, func(c *mfa.Config) { c.MaxFailures = 1000 })
			secret, _ := e.enrol()
			c := e.code(secret)
			const n = 50
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[i] = e.m.VerifyTOTP(e.ctx(), e.p, c)
				}()
			}
			close(start)
			wg.Wait()
			wins := 0
			for _, err := range errs {
				if err == nil {
					wins++
				} else if r := sso.ReasonOf(err); r != mfa.ReasonCodeReplayed {
					t.Fatalf("loser failed with %v (reason %q), want %q", err, r, mfa.ReasonCodeReplayed)
				}
			}
			if wins != 1 {
				t.Fatalf("T-T.3: %d of %d concurrent submissions succeeded, want exactly 1", wins, n)
			}
		})
	}
}

// TestT_T4_LockoutAcrossEntryPoints: failures of TOTP, recovery codes and
// WebAuthn share one counter; 5 failures lock every entry point, even for a
// valid code; the lock is in the store, so a second Manager (replica) on
// the same store sees it.
func TestT_T4_LockoutAcrossEntryPoints(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, b.open)
			secret, codes := e.enrol()
			wantReason(t, e.m.VerifyTOTP(e.ctx(), e.p, wrongCode(e.code(secret))), mfa.ReasonCodeInvalid)
			wantReason(t, e.m.VerifyTOTP(e.ctx(), e.p, "12345"), mfa.ReasonCodeMalformed)
			_, err := e.m.UseRecoveryCode(e.ctx(), e.p, "aaaa-bbbb-cccc-dddd")
			wantReason(t, err, mfa.ReasonRecoveryInvalid)
			_, err = e.m.UseRecoveryCode(e.ctx(), e.p, "not a code")
			wantReason(t, err, mfa.ReasonRecoveryMalformed)
			// The fifth failure, through WebAuthn (an unknown ceremony), locks.
			err = e.m.FinishWebAuthnLogin(e.ctx(), e.p, "no-such-ceremony", []byte(`{}`))
			wantReason(t, err, mfa.ReasonLockedOut)
			var le *mfa.LockoutError
			if !errors.As(err, &le) || !le.Until.Equal(e.clock.Now().Add(mfa.DefaultLockout)) || !errors.Is(err, sso.ErrRateLimited) {
				t.Fatalf("lockout error: got %v", err)
			}

			// Every entry point now refuses, even valid input.
			wantReason(t, e.m.VerifyTOTP(e.ctx(), e.p, e.code(secret)), mfa.ReasonLockedOut)
			_, err = e.m.UseRecoveryCode(e.ctx(), e.p, codes[0])
			wantReason(t, err, mfa.ReasonLockedOut)
			_, _, err = e.m.BeginWebAuthnLogin(e.ctx(), e.p)
			wantReason(t, err, mfa.ReasonLockedOut)

			// A replica sharing the store sees the lock.
			replica, err := mfa.New(mfa.Config{Store: e.st, Sealer: e.keys, Users: e.st, Orgs: e.st, Members: e.st, Events: e.st,
				Issuer: "Acme Cloud", Now: e.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			wantReason(t, replica.VerifyTOTP(e.ctx(), e.p, e.code(secret)), mfa.ReasonLockedOut)
			if n := len(e.events(mfa.EventLockedOut)); n != 1 {
				t.Fatalf("lockout audit events: got %d, want 1", n)
			}
			if n := len(e.events(mfa.EventFailed)); n < 4 {
				t.Fatalf("failure audit events: got %d, want >= 4", n)
			}

			// After the lock, a valid code works and resets the counter.
			e.clock.Advance(mfa.DefaultLockout + time.Second)
			if err := e.m.VerifyTOTP(e.ctx(), e.p, e.code(secret)); err != nil {
				t.Fatalf("after lockout: %v", err)
			}
			if a, err := e.st.GetAttempts(e.ctx(), e.p.UserID); !errors.Is(err, sso.ErrNotFound) {
				t.Fatalf("success must reset attempts: got %+v, %v", a, err)
			}
		})
	}
}

// TestT_T4_ExponentialBackoff: each failure past the limit doubles the
// lock, up to MaxLockout.
func TestT_T4_ExponentialBackoff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *mfa.Config) { c.MaxFailures = 3; c.Lockout = time.Minute; c.MaxLockout = 5 * time.Minute })
	secret, _ := e.enrol()
	bad := func() error { return e.m.VerifyTOTP(e.ctx(), e.p, wrongCode(e.code(secret))) }
	for range 2 {
		wantReason(t, bad(), mfa.ReasonCodeInvalid)
	}
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute} {
		err := bad()
		var le *mfa.LockoutError
		if !errors.As(err, &le) {
			t.Fatalf("failure %d past the limit: got %v, want a lockout", i+1, err)
		}
		if got := le.Until.Sub(e.clock.Now()); got != want {
			t.Fatalf("lock %d: got %v, want %v", i+1, got, want)
		}
		// While locked, attempts are refused without counting.
		wantReason(t, bad(), mfa.ReasonLockedOut)
		e.clock.Advance(want)
	}
}

// TestT_T6_SecretAndEnrolment: a 160-bit seed from the random source,
// sealed at rest bound to the user, never logged; the factor is active only
// after a valid confirming code.
func TestT_T6_SecretAndEnrolment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	en, err := e.m.StartTOTPEnrollment(e.ctx(), e.p)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(en.Secret)
	if err != nil || len(raw)*8 != 160 {
		t.Fatalf("secret %d bits (%v), want 160", len(raw)*8, err)
	}
	// Two enrolments never share a seed.
	en2, err := e.m.StartTOTPEnrollment(e.ctx(), e.p)
	if err != nil || en2.Secret == en.Secret {
		t.Fatalf("second enrolment: same seed or %v", err)
	}
	en = en2
	raw, _ = base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(en.Secret)

	f, err := e.st.GetTOTP(e.ctx(), e.p.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(f.Secret, en.Secret) || strings.Contains(f.Secret, string(raw)) || f.Active {
		t.Fatalf("stored factor holds the plaintext seed or is active: %+v", f)
	}
	if got, err := e.keys.Open(f.Secret, []byte(e.p.UserID)); err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("sealed seed does not open for its user: %v", err)
	}
	if _, err := e.keys.Open(f.Secret, []byte("usr_other")); !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("sealed seed opens for another user: %v", err)
	}

	// Not active before confirmation.
	wantReason(t, e.m.VerifyTOTP(e.ctx(), e.p, e.code(en.Secret)), mfa.ReasonNotEnrolled)
	st, _ := e.m.Status(e.ctx(), e.p)
	if st.Enrolled || !st.TOTPPending {
		t.Fatalf("status before confirm: %+v", st)
	}
	_, err = e.m.ConfirmTOTPEnrollment(e.ctx(), e.p, wrongCode(e.code(en.Secret)))
	wantReason(t, err, mfa.ReasonCodeInvalid)
	codes, err := e.m.ConfirmTOTPEnrollment(e.ctx(), e.p, e.code(en.Secret))
	if err != nil || len(codes) != mfa.RecoveryCodeCount {
		t.Fatalf("confirm: %d codes, %v", len(codes), err)
	}
	_, err = e.m.StartTOTPEnrollment(e.ctx(), e.p)
	if !errors.Is(err, mfa.ErrReverificationRequired) {
		t.Fatalf("enrolling again without recent MFA: got %v, want ErrReverificationRequired", err)
	}
	if n := len(e.orgEvents(t, e.org.ID, mfa.EventEnrolled, sso.OutcomeSuccess)); n != 1 {
		t.Fatalf("enrolled events: got %d, want 1", n)
	}

	// Never logged: redacting types, and nothing the manager logged holds it.
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("enrolment", "enrollment", en, "value", *en, "factor", f)
	text := buf.String() + fmt.Sprintf("%v %+v %#v %v", en, *en, *en, f) + e.logs.String()
	if strings.Contains(text, en.Secret) || strings.Contains(text, f.Secret) || strings.Contains(text, "otpauth://") {
		t.Fatalf("secret material reached a log or %%v: %s", text)
	}
}

// TestT_T6_ReauthForDisableAndReenrol: disabling a factor, regenerating
// recovery codes and adding a factor need a local verification within
// RecentMFA.
func TestT_T6_ReauthForDisableAndReenrol(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secret, _ := e.enrol()
	if err := e.m.Disable(e.ctx(), e.p, mfa.FactorTOTP, ""); !errors.Is(err, mfa.ErrReverificationRequired) {
		t.Fatalf("disable without MFA: got %v", err)
	}
	if _, err := e.m.RegenerateRecoveryCodes(e.ctx(), e.p); !errors.Is(err, mfa.ErrReverificationRequired) {
		t.Fatalf("regenerate without MFA: got %v", err)
	}
	if _, _, err := e.m.BeginWebAuthnRegistration(e.ctx(), e.p); !errors.Is(err, mfa.ErrReverificationRequired) {
		t.Fatalf("add WebAuthn without MFA: got %v", err)
	}
	// An old MFA is not recent.
	e.p.MFA, e.p.MFAAt = true, e.clock.Now().Add(-mfa.DefaultRecentMFA-time.Second)
	if err := e.m.Disable(e.ctx(), e.p, mfa.FactorTOTP, ""); !errors.Is(err, mfa.ErrReverificationRequired) {
		t.Fatalf("disable with stale MFA: got %v", err)
	}
	if err := e.m.VerifyTOTP(e.ctx(), e.p, e.code(secret)); err != nil {
		t.Fatal(err)
	}
	e.p.MFA, e.p.MFAAt = true, e.clock.Now()
	if err := e.m.Disable(e.ctx(), e.p, mfa.FactorTOTP, ""); err != nil {
		t.Fatalf("disable with recent MFA: %v", err)
	}
	st, _ := e.m.Status(e.ctx(), e.p)
	if st.Enrolled || st.RecoveryCodes != 0 {
		t.Fatalf("after disabling the last factor: %+v", st)
	}
	if n := len(e.orgEvents(t, e.org.ID, mfa.EventDisabled, sso.OutcomeSuccess)); n != 1 {
		t.Fatalf("disabled events: got %d, want 1", n)
	}
	if n := len(e.orgEvents(t, e.org.ID, mfa.EventDisabled, sso.OutcomeFailure)); n != 2 {
		t.Fatalf("refused disable events: got %d, want 2", n)
	}
}

// TestT_T6_RecoveryCodes: 10 codes of >= 50 bits, stored only as hashes,
// single use, regenerate invalidates the old set, use is audited.
func TestT_T6_RecoveryCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secret, codes := e.enrol()
	seen := map[string]bool{}
	for _, c := range codes {
		norm, err := mfa.ParseRecoveryCode(c)
		if err != nil {
			t.Fatalf("issued code %q does not parse: %v", c, err)
		}
		// 16 base32 characters = 80 bits >= 50.
		if bits := len(norm) * 5; bits < 50 {
			t.Fatalf("code %q has %d bits", c, bits)
		}
		if seen[norm] {
			t.Fatalf("duplicate code %q", c)
		}
		seen[norm] = true
		// The store holds no plaintext: using the raw value as a hash fails.
		if err := e.st.UseRecoveryCode(e.ctx(), e.p.UserID, norm, t0); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("store accepted the plaintext code as its key: %v", err)
		}
	}
	if len(codes) != 10 {
		t.Fatalf("got %d codes, want 10", len(codes))
	}
	res, err := e.m.UseRecoveryCode(e.ctx(), e.p, strings.ToUpper(codes[0]))
	if err != nil || res.Remaining != 9 || res.ReenrollmentRequired {
		t.Fatalf("use: %+v, %v", res, err)
	}
	_, err = e.m.UseRecoveryCode(e.ctx(), e.p, codes[0])
	wantReason(t, err, mfa.ReasonRecoveryInvalid)
	if evs := e.events(mfa.EventRecoveryCodeUsed); len(evs) != 1 || evs[0].Details["remaining"] != "9" {
		t.Fatalf("recovery audit events: %+v", evs)
	}

	// Another user cannot use these codes.
	other := &sso.Principal{UserID: "usr_other", OrgID: e.org.ID}
	_, err = e.m.UseRecoveryCode(e.ctx(), other, codes[1])
	wantReason(t, err, mfa.ReasonRecoveryInvalid)

	// Regenerate (with recent MFA) invalidates the old set.
	if err := e.m.VerifyTOTP(e.ctx(), e.p, e.code(secret)); err != nil {
		t.Fatal(err)
	}
	e.p.MFA, e.p.MFAAt = true, e.clock.Now()
	fresh, err := e.m.RegenerateRecoveryCodes(e.ctx(), e.p)
	if err != nil || len(fresh) != 10 {
		t.Fatalf("regenerate: %d, %v", len(fresh), err)
	}
	_, err = e.m.UseRecoveryCode(e.ctx(), e.p, codes[1])
	wantReason(t, err, mfa.ReasonRecoveryInvalid)
	if _, err := e.m.UseRecoveryCode(e.ctx(), e.p, fresh[3]); err != nil {
		t.Fatalf("new code: %v", err)
	}
}

// TestRecoveryRequiresReenrolment: with RequireReenrollmentAfterRecovery a
// used recovery code removes the TOTP factor.
func TestRecoveryRequiresReenrolment(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *mfa.Config) { c.RequireReenrollmentAfterRecovery = true })
	secret, codes := e.enrol()
	res, err := e.m.UseRecoveryCode(e.ctx(), e.p, codes[0])
	if err != nil || !res.ReenrollmentRequired {
		t.Fatalf("use: %+v, %v", res, err)
	}
	wantReason(t, e.m.VerifyTOTP(e.ctx(), e.p, e.code(secret)), mfa.ReasonNotEnrolled)
	if _, err := e.m.StartTOTPEnrollment(e.ctx(), e.p); err != nil {
		t.Fatalf("re-enrolment: %v", err)
	}
}

// TestEnrollmentQR checks the otpauth URI, the QR PNG and its data URL.
func TestEnrollmentQR(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	en, err := e.m.StartTOTPEnrollment(e.ctx(), e.p)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(en.URI)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("URI %q: %v", en.URI, err)
	}
	q := u.Query()
	if q.Get("secret") != en.Secret || q.Get("issuer") != "Acme Cloud" || q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Fatalf("URI query: %v", q)
	}
	if label, _ := url.PathUnescape(strings.TrimPrefix(u.EscapedPath(), "/")); label != "Acme Cloud:ada@acme.example" {
		t.Fatalf("URI label %q", label)
	}
	img, err := png.Decode(bytes.NewReader(en.QRPNG))
	if err != nil || img.Bounds().Dx() != mfa.DefaultQRSize || img.Bounds().Dy() != mfa.DefaultQRSize {
		t.Fatalf("QR PNG: %v", err)
	}
	b64, ok := strings.CutPrefix(en.QRDataURL, "data:image/png;base64,")
	if !ok {
		t.Fatalf("data URL prefix: %.40q", en.QRDataURL)
	}
	if raw, err := base64.StdEncoding.DecodeString(b64); err != nil || !bytes.Equal(raw, en.QRPNG) {
		t.Fatalf("data URL does not hold the PNG: %v", err)
	}
	if en.Account != "ada@acme.example" || en.Issuer != "Acme Cloud" {
		t.Fatalf("labels: %q %q", en.Issuer, en.Account)
	}
}

// TestBadInput: malformed codes and unknown users get clear errors, never
// a panic; malformed codes count as failures.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *mfa.Config) { c.MaxFailures = 100 })
	e.enrol()
	for _, c := range []string{"", "1", "12345", "1234567", "abcdef", "12 34 5x", "١٢٣٤٥٦", strings.Repeat("9", 10000), "\x00\x00\x00\x00\x00\x00"} {
		wantReason(t, e.m.VerifyTOTP(e.ctx(), e.p, c), mfa.ReasonCodeMalformed)
	}
	if a, err := e.st.GetAttempts(e.ctx(), e.p.UserID); err != nil || a.Failures != 9 {
		t.Fatalf("malformed codes must count as failures: %+v, %v", a, err)
	}
	unknown := &sso.Principal{Kind: sso.PrincipalSession, UserID: "usr_unknown", OrgID: e.org.ID, Method: sso.AuthLocal, AuthAt: e.clock.Now()}
	wantReason(t, e.m.VerifyTOTP(e.ctx(), unknown, "123456"), mfa.ReasonNotEnrolled)
	if _, err := e.m.StartTOTPEnrollment(e.ctx(), unknown); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("enrol unknown user: got %v, want ErrNotFound", err)
	}
	_, err := e.m.ConfirmTOTPEnrollment(e.ctx(), unknown, "123456")
	wantReason(t, err, mfa.ReasonNoPendingEnrolment)
	if err := e.m.Disable(e.ctx(), &sso.Principal{Kind: sso.PrincipalSession, UserID: e.p.UserID, MFA: true, MFAAt: e.clock.Now()}, "bogus", ""); !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("unknown factor: got %v", err)
	}
}

func TestNewValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	good := mfa.Config{Store: e.st, Sealer: e.keys, Users: e.st, Orgs: e.st, Members: e.st, Events: e.st, Issuer: "X"}
	for name, mut := range map[string]func(*mfa.Config){
		"no store":    func(c *mfa.Config) { c.Store = nil },
		"no sealer":   func(c *mfa.Config) { c.Sealer = nil },
		"no users":    func(c *mfa.Config) { c.Users = nil },
		"no orgs":     func(c *mfa.Config) { c.Orgs = nil },
		"no events":   func(c *mfa.Config) { c.Events = nil },
		"no issuer":   func(c *mfa.Config) { c.Issuer = "" },
		"negative":    func(c *mfa.Config) { c.MaxFailures = -1 },
		"lock order":  func(c *mfa.Config) { c.Lockout = time.Hour; c.MaxLockout = time.Minute },
		"tiny QR":     func(c *mfa.Config) { c.QRSize = 10 },
		"webauthn id": func(c *mfa.Config) { c.WebAuthn = &mfa.WebAuthnConfig{Origins: []string{"https://a.example"}} },
		"webauthn uv": func(c *mfa.Config) {
			c.WebAuthn = &mfa.WebAuthnConfig{RPID: "a.example", Origins: []string{"https://a.example"}, UserVerification: "always"}
		},
		"webauthn org": func(c *mfa.Config) { c.WebAuthn = &mfa.WebAuthnConfig{RPID: "a.example"} },
	} {
		c := good
		mut(&c)
		if _, err := mfa.New(c); !errors.Is(err, sso.ErrInvalidConfig) {
			t.Errorf("%s: got %v, want ErrInvalidConfig", name, err)
		}
	}
	if _, err := mfa.New(good); err != nil {
		t.Fatalf("valid config: %v", err)
	}
}

// TestT_T6_RecoveryCodeConcurrentUse: one recovery code submitted by many
// requests at once works exactly once.
func TestT_T6_RecoveryCodeConcurrentUse(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, b.open, func(c *mfa.Config) { c.MaxFailures = 1000 })
			_, codes := e.enrol()
			const n = 30
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, errs[i] = e.m.UseRecoveryCode(e.ctx(), e.p, codes[0])
				}()
			}
			close(start)
			wg.Wait()
			wins := 0
			for _, err := range errs {
				if err == nil {
					wins++
				} else if r := sso.ReasonOf(err); r != mfa.ReasonRecoveryInvalid {
					t.Fatalf("loser: %v (reason %q)", err, r)
				}
			}
			if wins != 1 {
				t.Fatalf("%d of %d concurrent uses of one recovery code succeeded, want 1", wins, n)
			}
		})
	}
}
