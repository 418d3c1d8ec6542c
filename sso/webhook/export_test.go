package webhook

import "time"

// SetJitter replaces the Dispatcher's jitter, so tests see the backoff
// ceilings themselves.
func SetJitter(d *Dispatcher, f func(time.Duration) time.Duration) { d.jitter = f }

// Backoff exposes the Dispatcher's retry delay after n failed attempts.
func Backoff(d *Dispatcher, n int) time.Duration { return d.backoff(n) }

// SecretsOf exposes the secrets that sign for e now.
func SecretsOf(d *Dispatcher, e *Endpoint) ([]string, error) { return d.secrets(e) }
