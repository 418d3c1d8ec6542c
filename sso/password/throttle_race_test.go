package password_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/password"
)

// countFinds is a store that counts FindCredential calls: a login looks
// up the credential only when the throttle let it through, right before
// the password (or, for an unknown email, the dummy hash) is checked, so
// the count is the number of passwords verified.
type countFinds struct {
	password.Store
	n *atomic.Int64
}

func (c countFinds) FindCredential(ctx context.Context, email string) (*password.Credential, error) {
	c.n.Add(1)
	return c.Store.FindCredential(ctx, email)
}

// raceEnv is an env whose store counts verified passwords.
func raceEnv(t *testing.T, newEnv envFunc, th password.Throttle) (*env, *atomic.Int64) {
	var n atomic.Int64
	e := newEnv(t, func(c *password.Config) {
		c.Throttle = th
		c.Store = countFinds{c.Store, &n}
	})
	return e, &n
}

// burst sends n logins at once through Authenticate, email and ip of the
// i-th chosen by login, and returns how many were refused as throttled.
// Every other outcome must be invalid credentials.
func burst(t *testing.T, e *env, n int, login func(i int) (email, pw, ip string)) int {
	t.Helper()
	var wg sync.WaitGroup
	var throttled atomic.Int64
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email, pw, ip := login(i)
			<-start
			_, err := e.m.Authenticate(context.Background(), email, pw, ip)
			var te *password.ThrottleError
			switch {
			case errors.As(err, &te):
				throttled.Add(1)
			case sso.ReasonOf(err) != password.ReasonInvalidCredentials:
				t.Errorf("login %d: got %v, want invalid_credentials or rate_limited", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return int(throttled.Load())
}

// TestThrottleHoldsUnderConcurrentGuesses: wrong guesses sent at once
// cannot all pass the throttle's check before any of them is counted.
// Fifty concurrent guesses at one account, from fifty addresses, get the
// passwords checked at most AccountFree times; after the delay, another
// burst gets exactly one more. The same holds for one address spraying
// fifty accounts (its address key), known or not.
func TestThrottleHoldsUnderConcurrentGuesses(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		t.Run("account", func(t *testing.T) {
			e, verified := raceEnv(t, newEnv, password.Throttle{AccountFree: 3, BaseDelay: 10 * time.Second})
			u := e.user("target@acme.example", goodPassword)
			guess := func(i int) (string, string, string) {
				return u.Email, fmt.Sprintf("leaked-%d-password", i), fmt.Sprintf("203.0.113.%d", i+1)
			}
			refused := burst(t, e, 50, guess)
			if got := verified.Load(); got > 3 || refused != 50-int(got) {
				t.Errorf("first burst: %d passwords checked, %d refused; want at most AccountFree (3) checked, the rest refused", got, refused)
			}
			e.clock.Advance(10 * time.Second)
			before := verified.Load()
			burst(t, e, 50, guess)
			if got := verified.Load() - before; got > 1 {
				t.Errorf("burst after the delay: %d passwords checked, want at most 1", got)
			}
		})
		t.Run("address", func(t *testing.T) {
			e, verified := raceEnv(t, newEnv, password.Throttle{IPFree: 4, BaseDelay: 10 * time.Second})
			for i := range 25 {
				e.user(fmt.Sprintf("user%d@acme.example", i), goodPassword)
			}
			spray := func(i int) (string, string, string) {
				return fmt.Sprintf("user%d@acme.example", i), "Summer2024!", "203.0.113.66" // i >= 25: unknown accounts
			}
			burst(t, e, 50, spray)
			if got := verified.Load(); got > 4 {
				t.Errorf("spray burst: %d passwords checked, want at most IPFree (4)", got)
			}
		})
	})
}

// TestRefusedAttemptsDoNotExtendDelay: an attacker who keeps retrying,
// also concurrently, while an account's delay runs is refused without
// counting, so the owner signs in as soon as the delay ends.
func TestRefusedAttemptsDoNotExtendDelay(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e, verified := raceEnv(t, newEnv, password.Throttle{AccountFree: 2, BaseDelay: 10 * time.Second, AccountMaxDelay: time.Minute})
		u := e.user("owner@acme.example", goodPassword)
		guess := func(i int) (string, string, string) {
			return u.Email, "a wrong guess", fmt.Sprintf("203.0.113.%d", i+1)
		}
		for i := range 2 {
			email, pw, ip := guess(i)
			if _, err := e.m.Authenticate(context.Background(), email, pw, ip); sso.ReasonOf(err) != password.ReasonInvalidCredentials {
				t.Fatalf("wrong guess %d: %v", i, err)
			}
		}
		before := verified.Load()
		// The delay runs for 10s from now: the attacker retries all along.
		for range 4 {
			if refused := burst(t, e, 20, guess); refused != 20 {
				t.Errorf("retries inside the delay: %d of 20 refused, want all", refused)
			}
			e.clock.Advance(2500*time.Millisecond - time.Microsecond)
		}
		if got := verified.Load() - before; got != 0 {
			t.Errorf("%d passwords checked inside the delay, want none", got)
		}
		e.clock.Advance(4 * time.Microsecond) // the delay has just ended
		if _, err := e.m.Authenticate(context.Background(), u.Email, goodPassword, "198.51.100.8"); err != nil {
			t.Errorf("owner right after the delay: %v (refused attempts extended it)", err)
		}
	})
}

// TestSuccessfulLoginsDoNotCountOnAddress: logins that succeed cost an
// address none of its free failures, also when they run concurrently.
func TestSuccessfulLoginsDoNotCountOnAddress(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, func(c *password.Config) { c.Throttle = password.Throttle{IPFree: 2, BaseDelay: time.Minute} })
		const office = "198.51.100.20"
		for i := range 6 {
			e.user(fmt.Sprintf("staff%d@acme.example", i), goodPassword)
		}
		for i := range 6 {
			if _, err := e.m.Authenticate(context.Background(), fmt.Sprintf("staff%d@acme.example", i), goodPassword, office); err != nil {
				t.Fatalf("login %d from the office: %v", i, err)
			}
		}
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.m.Authenticate(context.Background(), fmt.Sprintf("staff%d@acme.example", i), goodPassword, office); err != nil {
					t.Errorf("concurrent login %d from the office: %v", i, err)
				}
			}()
		}
		wg.Wait()
		var reasons []string
		for range 3 {
			_, err := e.m.Authenticate(context.Background(), "staff0@acme.example", "a typo", office)
			reasons = append(reasons, sso.ReasonOf(err))
		}
		if want := "[invalid_credentials invalid_credentials rate_limited]"; fmt.Sprint(reasons) != want {
			t.Errorf("wrong passwords after the successes: %v, want %s (the office keeps its IPFree)", reasons, want)
		}
		// Once the delay ends, logins that succeed do not start it again.
		e.clock.Advance(time.Minute)
		for i := range 3 {
			if _, err := e.m.Authenticate(context.Background(), fmt.Sprintf("staff%d@acme.example", i), goodPassword, office); err != nil {
				t.Errorf("login %d from the office after its delay: %v", i, err)
			}
		}
	})
}
