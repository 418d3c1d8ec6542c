package password

import (
	"context"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
)

// Throttle limits failed logins with exponential back-off on three keys:
// the account (its normalized email, whether or not it exists), the
// account and client address together, and the client address alone.
// After a key's free failures each further failure doubles its delay,
// starting at BaseDelay, up to the key's cap; while a delay runs, logins
// that match the key are refused without checking the password.
//
// The caps are what keeps the throttle from becoming a lockout: the
// account's own cap is short (AccountMaxDelay), so failures an attacker
// causes from elsewhere delay the owner at most that long, while the
// attacker's own address is held back by the long caps of the pair and
// address keys. Spraying one password over many accounts from one address
// meets the address key; stuffing one account from many addresses meets
// the account key. Failures older than Forget are forgotten, and a
// successful login clears the account and pair keys.
type Throttle struct {
	// BaseDelay is the first delay. Zero means 1 second.
	BaseDelay time.Duration
	// AccountFree, PairFree and IPFree are the failures allowed before a
	// delay. Zero means 10, 5 and 50.
	AccountFree, PairFree, IPFree int
	// AccountMaxDelay, PairMaxDelay and IPMaxDelay cap the delays. Zero
	// means 1 minute, 1 hour and 1 hour.
	AccountMaxDelay, PairMaxDelay, IPMaxDelay time.Duration
	// Forget is how long a failure counts. Zero means 24 hours, which is
	// also how long store/sqlstore/sqlpassword keeps an idle counter, so
	// longer values act as 24 hours there.
	Forget time.Duration
}

func (t *Throttle) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defN := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&t.BaseDelay, time.Second)
	def(&t.AccountMaxDelay, time.Minute)
	def(&t.PairMaxDelay, time.Hour)
	def(&t.IPMaxDelay, time.Hour)
	def(&t.Forget, 24*time.Hour)
	defN(&t.AccountFree, 10)
	defN(&t.PairFree, 5)
	defN(&t.IPFree, 50)
}

// throttleKey is one counter with its limits.
type throttleKey struct {
	key  string
	free int
	max  time.Duration
}

// keys returns the account, pair and address keys of a login, hashed so
// the store keeps no addresses.
func (m *Manager) keys(email, ip string) []throttleKey {
	t := m.cfg.Throttle
	return []throttleKey{
		{opaque.Hash("pw-account\x00" + email), t.AccountFree, t.AccountMaxDelay},
		{opaque.Hash("pw-pair\x00" + email + "\x00" + ip), t.PairFree, t.PairMaxDelay},
		{opaque.Hash("pw-ip\x00" + ip), t.IPFree, t.IPMaxDelay},
	}
}

// delay is the wait after n failures of a key.
func (m *Manager) delay(n int, k throttleKey) time.Duration {
	if n < k.free {
		return 0
	}
	d := m.cfg.Throttle.BaseDelay
	for i := k.free; i < n && d < k.max; i++ {
		d *= 2
	}
	return min(d, k.max)
}

// throttled returns the end of the longest running delay of keys, or the
// zero time when none runs.
func (m *Manager) throttled(ctx context.Context, keys []throttleKey, now time.Time) (time.Time, error) {
	var until time.Time
	for _, k := range keys {
		n, last, err := m.cfg.Store.Failures(ctx, k.key)
		if err != nil {
			return time.Time{}, err
		}
		if last.Before(now.Add(-m.cfg.Throttle.Forget)) {
			continue
		}
		if u := last.Add(m.delay(n, k)); u.After(now) && u.After(until) {
			until = u
		}
	}
	return until, nil
}

// failed counts a failure on every key.
func (m *Manager) failed(ctx context.Context, keys []throttleKey, now time.Time) error {
	for _, k := range keys {
		if _, err := m.cfg.Store.RecordFailure(ctx, k.key, now, now.Add(-m.cfg.Throttle.Forget)); err != nil {
			return err
		}
	}
	return nil
}

// mailAllowed counts one email to addr and reports whether it stays within
// MailsPerHour.
func (m *Manager) mailAllowed(ctx context.Context, addr string) (bool, error) {
	now := m.now()
	n, err := m.cfg.Store.RecordFailure(ctx, opaque.Hash("pw-mail\x00"+addr), now, now.Add(-time.Hour))
	if err != nil {
		return false, err
	}
	return n <= m.cfg.MailsPerHour, nil
}
