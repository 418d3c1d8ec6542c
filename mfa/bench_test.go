package mfa_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
)

// BenchmarkTOTPValidateBare is the baseline: pquerna/otp's totp.Validate
// (±1 step, SHA-1, 6 digits) with no replay guard, lockout or audit.
func BenchmarkTOTPValidateBare(b *testing.B) {
	secret := "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	code, _ := totp.GenerateCode(secret, time.Now())
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, cpuTime())
	for range b.N {
		if !totp.Validate(code, secret) {
			b.Fatal("rejected")
		}
	}
}

// discardEvents is an audit sink that keeps nothing, so the verification
// benchmarks measure mfa and the replay guard rather than the audit chain.
type discardEvents struct{}

func (discardEvents) AppendEvent(context.Context, *sso.Event) error { return nil }
func (discardEvents) ListEvents(context.Context, sso.EventQuery) ([]*sso.Event, error) {
	return nil, nil
}

// BenchmarkVerifyTOTP measures a full successful verification: lockout
// check, factor load, unsealing, ±1-step match and the store's
// compare-and-set on the last step ("+audit" also appends the audit event
// to the store's hash chain).
func BenchmarkVerifyTOTP(b *testing.B) {
	for _, be := range backends() {
		if be.name == "postgres" {
			continue
		}
		for _, audit := range []bool{false, true} {
			name := be.name
			if audit {
				name += "+audit"
			}
			b.Run(name, func(b *testing.B) {
				e := newEnvOn(b, be.open, func(c *mfa.Config) {
					if !audit {
						c.Events = discardEvents{}
					}
				})
				secret, _ := e.enrol()
				start := e.clock.Now()
				// The codes live in one pointer-free string: b.N separate
				// strings would make every garbage collection cycle mark
				// them, a cost of the benchmark billed to VerifyTOTP.
				var all strings.Builder
				all.Grow(6 * b.N)
				for i := range b.N {
					code, _ := totp.GenerateCode(secret, start.Add(time.Duration(i)*30*time.Second))
					all.WriteString(code)
				}
				codes := all.String()
				b.ReportAllocs()
				b.ResetTimer()
				defer reportCPU(b, cpuTime())
				for i := range b.N {
					if err := e.m.VerifyTOTP(e.ctx(), e.p, codes[6*i:6*i+6]); err != nil {
						b.Fatal(err)
					}
					e.clock.Advance(30 * time.Second)
				}
			})
		}
	}
}

// BenchmarkAdvanceTOTPStep measures the store's compare-and-set alone.
func BenchmarkAdvanceTOTPStep(b *testing.B) {
	for _, be := range backends() {
		if be.name == "postgres" {
			continue
		}
		b.Run(be.name, func(b *testing.B) {
			c := testkit.NewClock(t0)
			st := be.open(b, c)
			ctx := b.Context()
			if err := st.PutPendingTOTP(ctx, &mfa.TOTPFactor{UserID: "u", Secret: "x"}); err != nil {
				b.Fatal(err)
			}
			if err := st.ActivateTOTP(ctx, "u", "x", 0, t0); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if ok, err := st.AdvanceTOTPStep(ctx, "u", int64(i+1), t0); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

// cpuTime returns the process's user+system CPU time. The benchmarks
// report it per operation as cpu-ns/op (garbage collection included),
// which stays meaningful on a machine shared with other work where wall
// time does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
