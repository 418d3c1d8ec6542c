package mfa_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
)

// toArabicIndic spells an ASCII digit string with U+0660..U+0669.
func toArabicIndic(s string) string {
	var b strings.Builder
	for _, c := range s {
		b.WriteRune('٠' + (c - '0'))
	}
	return b.String()
}

// toFullwidth spells an ASCII digit string with U+FF10..U+FF19.
func toFullwidth(s string) string {
	var b strings.Builder
	for _, c := range s {
		b.WriteRune('０' + (c - '0'))
	}
	return b.String()
}

// TestCodeSpellings: spaces around and inside a code are ignored;
// dashes, other scripts' digits (which strconv and unicode.IsDigit would
// accept), 5/7/8 digits, signs and NUL are malformed and count as
// failures — even when they spell the right code.
func TestCodeSpellings(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"123456", true}, {" 123 456 ", true}, {"\t123456", true}, {"12 34 56", true},
		{"123-456", false}, {toArabicIndic("123456"), false}, {toFullwidth("123456"), false},
		{"12345", false}, {"1234567", false}, {"12345678", false}, {"+123456", false}, {"-123456", false},
		{"123456\x00", false}, {"１23456", false}, {"0x1234", false}, {"", false}, {strings.Repeat("1", 65), false},
	} {
		got, err := mfa.ParseCode(c.in)
		if c.ok != (err == nil) {
			t.Errorf("ParseCode(%q) = %q, %v", c.in, got, err)
		}
		if err != nil && sso.ReasonOf(err) != mfa.ReasonCodeMalformed {
			t.Errorf("ParseCode(%q): reason %q", c.in, sso.ReasonOf(err))
		}
	}

	e := newEnv(t)
	secret, _ := e.enrol()
	good := e.code(secret)
	for _, spelled := range []string{toArabicIndic(good), toFullwidth(good), good[:3] + "-" + good[3:], good + "0"} {
		wantReason(t, e.m.VerifyTOTP(e.ctx(), e.p, spelled), mfa.ReasonCodeMalformed)
	}
	a, err := e.st.GetAttempts(e.ctx(), e.user.ID)
	if err != nil || a.Failures != 4 {
		t.Fatalf("malformed codes counted %v (%v), want 4 failures", a, err)
	}
	// The ASCII spelling with spaces is the code and works once.
	if err := e.m.VerifyTOTP(e.ctx(), e.p, " "+good[:3]+" "+good[3:]+" "); err != nil {
		t.Fatalf("spaced code: %v", err)
	}
	wantReason(t, e.m.VerifyTOTP(e.ctx(), e.p, good), mfa.ReasonCodeReplayed)
}

// TestRecoveryCodeSpellings: one code accepted in any case, with or
// without dashes and spaces — once; look-alike characters outside the
// alphabet are malformed.
func TestRecoveryCodeSpellings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, codes := e.enrol()
	c := codes[0]
	bare := strings.ReplaceAll(c, "-", "")
	for _, in := range []string{strings.ToUpper(c), " " + bare + " ", strings.Join(strings.Split(bare, ""), " "), "-" + c + "-"} {
		n, err := mfa.ParseRecoveryCode(in)
		if err != nil || n != bare {
			t.Fatalf("ParseRecoveryCode(%q) = %q, %v", in, n, err)
		}
	}
	for _, in := range []string{strings.Replace(bare, bare[:1], "0", 1), strings.Replace(bare, bare[:1], "1", 1),
		strings.Replace(bare, bare[:1], "8", 1), bare[:15], bare + "a", bare[:15] + "\u00e9", bare[:15] + "\x00"} {
		if _, err := mfa.ParseRecoveryCode(in); sso.ReasonOf(err) != mfa.ReasonRecoveryMalformed {
			t.Errorf("ParseRecoveryCode(%q): %v", in, err)
		}
	}
	if _, err := e.m.UseRecoveryCode(e.ctx(), e.p, strings.ToUpper(bare)); err != nil {
		t.Fatalf("first use: %v", err)
	}
	_, err := e.m.UseRecoveryCode(e.ctx(), e.p, c)
	wantReason(t, err, mfa.ReasonRecoveryInvalid)
}

// secondManager is another replica: a Manager on the same store.
func secondManager(t *testing.T, e *env) *mfa.Manager {
	t.Helper()
	m, err := mfa.New(mfa.Config{
		Store: e.st, Sealer: e.keys, Users: e.st, Orgs: e.st, Members: e.st, Events: e.st, Elevator: e.elev,
		Issuer: "Acme Cloud", Now: e.clock.Now, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestConcurrentGuessesAcrossReplicas: before, every guess that
// passed the lock check before the fifth failure was recorded got checked,
// so a burst of parallel guesses (on one replica or several) had far more
// than MaxFailures tries per lockout. Now at most MaxFailures guesses are
// checked, whatever the concurrency; the rest are refused as locked out.
func TestConcurrentGuessesAcrossReplicas(t *testing.T) {
	t.Parallel()
	for _, b := range backends()[1:] {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, b.open)
			secret, codes := e.enrol()
			replicas := []*mfa.Manager{e.m, secondManager(t, e)}
			wrong := wrongCode(e.code(secret))
			const n = 40
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				checked int
				locked  int
			)
			start := make(chan struct{})
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					<-start
					var err error
					if i%4 == 3 {
						_, err = replicas[i%2].UseRecoveryCode(e.ctx(), e.p, "aaaa-aaaa-aaaa-aaaa")
					} else {
						err = replicas[i%2].VerifyTOTP(e.ctx(), e.p, wrong)
					}
					mu.Lock()
					defer mu.Unlock()
					var le *mfa.LockoutError
					switch r := sso.ReasonOf(err); {
					case errors.As(err, &le):
						locked++
					case r == mfa.ReasonCodeInvalid || r == mfa.ReasonRecoveryInvalid:
						checked++
					default:
						t.Errorf("guess %d: %v", i, err)
					}
				}(i)
			}
			close(start)
			wg.Wait()
			// The fifth failure reports the lock it set, so at most
			// MaxFailures-1 plain "invalid" answers.
			if checked > mfa.DefaultMaxFailures-1 || checked+locked != n {
				t.Fatalf("%d guesses answered invalid, %d locked out, want <= %d invalid", checked, locked, mfa.DefaultMaxFailures-1)
			}
			// What counts is how many guesses were compared with the
			// secret: each one leaves a failure event with the wrong-code
			// reason; refused ones leave locked_out.
			compared := 0
			for _, ev := range e.events(mfa.EventFailed) {
				if ev.Reason == mfa.ReasonCodeInvalid || ev.Reason == mfa.ReasonRecoveryInvalid {
					compared++
				}
			}
			if compared > mfa.DefaultMaxFailures {
				t.Fatalf("%d of %d concurrent guesses were compared with the secret, want <= %d", compared, n, mfa.DefaultMaxFailures)
			}
			// Locked: neither the right code nor a recovery code gets in.
			var le *mfa.LockoutError
			if err := e.m.VerifyTOTP(e.ctx(), e.p, e.code(secret)); !errors.As(err, &le) {
				t.Fatalf("right code while locked: %v", err)
			}
			if _, err := replicas[1].UseRecoveryCode(e.ctx(), e.p, codes[0]); !errors.As(err, &le) {
				t.Fatalf("recovery code while locked: %v", err)
			}
			// When the lock ends, a second burst gets exactly one guess.
			e.clock.Advance(le.Until.Sub(e.clock.Now()) + time.Second)
			var wg2 sync.WaitGroup
			for i := 0; i < 20; i++ {
				wg2.Add(1)
				go func(i int) {
					defer wg2.Done()
					_ = replicas[i%2].VerifyTOTP(e.ctx(), e.p, wrong)
				}(i)
			}
			wg2.Wait()
			again := 0
			for _, ev := range e.events(mfa.EventFailed) {
				if ev.Reason == mfa.ReasonCodeInvalid || ev.Reason == mfa.ReasonRecoveryInvalid {
					again++
				}
			}
			if again-compared > 1 {
				t.Fatalf("%d guesses of a burst after the lock were compared, want <= 1", again-compared)
			}
			a, err := e.st.GetAttempts(e.ctx(), e.user.ID)
			if err != nil || !e.clock.Now().Before(a.LockedUntil) {
				t.Fatalf("not locked again after the burst: %+v %v", a, err)
			}
			// After that lock, the right code works and clears.
			e.clock.Advance(a.LockedUntil.Sub(e.clock.Now()) + time.Second)
			if err := replicas[1].VerifyTOTP(e.ctx(), e.p, e.code(secret)); err != nil {
				t.Fatalf("right code after the lock: %v", err)
			}
			if _, err := e.st.GetAttempts(e.ctx(), e.user.ID); !errors.Is(err, sso.ErrNotFound) {
				if a, _ := e.st.GetAttempts(e.ctx(), e.user.ID); a.Failures != 0 || e.clock.Now().Before(a.LockedUntil) {
					t.Fatalf("attempts after success: %+v", a)
				}
			}
		})
	}
}

// TestSequentialLockoutStillRecovers: the reservation keeps the
// documented behaviour for one user typing: 4 wrong codes, the right one
// works; 5 wrong lock; after the lock one more wrong code locks longer,
// then after that lock the right code works.
func TestSequentialLockoutStillRecovers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secret, _ := e.enrol()
	for i := 0; i < 4; i++ {
		wantReason(t, e.m.VerifyTOTP(e.ctx(), e.p, wrongCode(e.code(secret))), mfa.ReasonCodeInvalid)
	}
	if err := e.m.VerifyTOTP(e.ctx(), e.p, e.code(secret)); err != nil {
		t.Fatalf("right code after 4 failures: %v", err)
	}
	e.clock.Advance(30 * time.Second)
	var le *mfa.LockoutError
	for i := 0; i < 5; i++ {
		err := e.m.VerifyTOTP(e.ctx(), e.p, wrongCode(e.code(secret)))
		if i == 4 && !errors.As(err, &le) {
			t.Fatalf("fifth failure: %v", err)
		}
	}
	first := le.Until.Sub(e.clock.Now())
	e.clock.Advance(first + time.Second)
	err := e.m.VerifyTOTP(e.ctx(), e.p, wrongCode(e.code(secret)))
	if !errors.As(err, &le) || le.Until.Sub(e.clock.Now()) <= first {
		t.Fatalf("failure after the lock: %v (want a longer lock than %v)", err, first)
	}
	e.clock.Advance(le.Until.Sub(e.clock.Now()) + time.Second)
	if err := e.m.VerifyTOTP(e.ctx(), e.p, e.code(secret)); err != nil {
		t.Fatalf("right code after the second lock: %v", err)
	}
}

// TestDisableWhileLockedOut: a locked-out session without a recent
// second factor can neither disable MFA nor step up with a recovery code.
func TestDisableWhileLockedOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secret, codes := e.enrol()
	for i := 0; i < mfa.DefaultMaxFailures; i++ {
		_ = e.m.VerifyTOTP(e.ctx(), e.p, wrongCode(e.code(secret)))
	}
	if err := e.m.Disable(e.ctx(), e.p, mfa.FactorAll, ""); !errors.Is(err, mfa.ErrStepUpRequired) {
		t.Fatalf("Disable while locked out: %v", err)
	}
	var le *mfa.LockoutError
	if _, err := e.m.UseRecoveryCode(e.ctx(), e.p, codes[1]); !errors.As(err, &le) {
		t.Fatalf("recovery code while locked out: %v", err)
	}
	st, err := e.m.Status(e.ctx(), e.p)
	if err != nil || !st.TOTP {
		t.Fatalf("status after refused disable: %+v %v", st, err)
	}
}

// TestStepUpBoundaries: a second factor exactly maxAge old passes,
// one second older does not; MFA without a time, or a time without MFA,
// never passes.
func TestStepUpBoundaries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const maxAge = 5 * time.Minute
	h := e.m.StepUp(maxAge)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	now := e.clock.Now()
	for _, c := range []struct {
		name  string
		mfa   bool
		at    time.Time
		allow bool
	}{
		{"exactly maxAge", true, now.Add(-maxAge), true},
		{"just inside", true, now.Add(-maxAge + time.Second), true},
		{"one second over", true, now.Add(-maxAge - time.Second), false},
		{"one nanosecond over", true, now.Add(-maxAge - time.Nanosecond), false},
		{"no time", true, time.Time{}, false},
		{"time without MFA", false, now, false},
	} {
		p := *e.p
		p.MFA, p.MFAAt = c.mfa, c.at
		r := httptest.NewRequest("POST", "/settings/delete", nil).WithContext(sso.WithPrincipal(context.Background(), &p))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Code == http.StatusNoContent; got != c.allow {
			t.Errorf("%s: status %d, allow %v", c.name, w.Code, c.allow)
		}
	}
}

// TestReplayAcrossReplicas: a code accepted by one replica is a
// replay on the other (the step is stored, not remembered in memory).
func TestReplayAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := newEnvOn(t, backends()[1].open)
	secret, _ := e.enrol()
	other := secondManager(t, e)
	code := e.code(secret)
	if err := e.m.VerifyTOTP(e.ctx(), e.p, code); err != nil {
		t.Fatal(err)
	}
	wantReason(t, other.VerifyTOTP(e.ctx(), e.p, code), mfa.ReasonCodeReplayed)
	// The previous step's code, still inside the skew window, too.
	e.clock.Advance(30 * time.Second)
	wantReason(t, other.VerifyTOTP(e.ctx(), e.p, code), mfa.ReasonCodeReplayed)
}
