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
//
// A login is counted as a failure before its password is checked, in one
// atomic step with the check that no delay runs, and taken back from the
// address key when it succeeds. So logins sent at once get no more
// passwords checked than the same logins sent one after the other, and a
// login in flight counts against the free failures until it ends.
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

// maxRaces bounds how often a login reads the throttle again after other
// logins changed its keys between its read and its count; a login that
// keeps losing is refused as throttled.
const maxRaces = 8

// attempt is a login counted as a failure on the throttle before its
// password is checked.
type attempt struct {
	keys   []throttleKey
	at     time.Time
	slots  []ThrottleSlot // the keys as read before counting
	counts []int          // the keys' counts after counting
}

// begin counts a login as a failure on every key, at now, if no delay of
// keys runs. The check and the count are atomic (ThrottleStore's
// CountAttempt), so concurrent logins get no more passwords checked than
// the same logins one after the other. It returns a nil attempt and the
// end of the longest running delay when the login is throttled; a
// refused login writes nothing, so retries never extend a delay.
func (m *Manager) begin(ctx context.Context, keys []throttleKey, now time.Time) (*attempt, time.Time, error) {
	for range maxRaces {
		slots, until, err := m.throttled(ctx, keys, now)
		if err != nil || !until.IsZero() {
			return nil, until, err
		}
		counts, err := m.cfg.Store.CountAttempt(ctx, slots, now, now.Add(-m.cfg.Throttle.Forget))
		if err != nil {
			return nil, time.Time{}, err
		}
		if counts != nil {
			return &attempt{keys: keys, at: now, slots: slots, counts: counts}, time.Time{}, nil
		}
	}
	return nil, now.Add(m.cfg.Throttle.BaseDelay), nil
}

// throttled reads keys and returns them as slots, and the end of the
// longest running delay of keys, or the zero time when none runs.
func (m *Manager) throttled(ctx context.Context, keys []throttleKey, now time.Time) ([]ThrottleSlot, time.Time, error) {
	var until time.Time
	slots := make([]ThrottleSlot, len(keys))
	for i, k := range keys {
		n, last, err := m.cfg.Store.Failures(ctx, k.key)
		if err != nil {
			return nil, time.Time{}, err
		}
		slots[i] = ThrottleSlot{Key: k.key, N: n, Last: last, Free: k.free}
		if last.Before(now.Add(-m.cfg.Throttle.Forget)) {
			continue
		}
		if u := last.Add(m.delay(n, k)); u.After(now) && u.After(until) {
			until = u
		}
	}
	return slots, until, nil
}

// succeeded ends an attempt whose password was right: it clears the
// account and pair keys, and takes the failure back from the address key,
// where a login that succeeds does not count.
func (m *Manager) succeeded(ctx context.Context, a *attempt) error {
	for _, k := range a.keys[:2] {
		if err := m.cfg.Store.ResetFailures(ctx, k.key); err != nil {
			return err
		}
	}
	const ip = 2
	return m.cfg.Store.UncountAttempt(ctx, a.keys[ip].key, a.counts[ip], a.at, a.slots[ip].Last)
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
