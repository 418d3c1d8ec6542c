package mfa_test

import (
	"testing"
)

// TestHasFactor: HasFactor reports an active TOTP factor, not a pending
// enrolment, and no longer once the factor is disabled.
func TestHasFactor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	has := func(what string, want bool) {
		t.Helper()
		if got, err := e.m.HasFactor(e.ctx(), e.user.ID); err != nil || got != want {
			t.Errorf("%s: HasFactor = %v, %v; want %v", what, got, err, want)
		}
	}
	has("no factor", false)
	if _, err := e.m.StartTOTPEnrollment(e.ctx(), e.p); err != nil {
		t.Fatal(err)
	}
	has("pending enrolment", false)
	e.enrol()
	has("active TOTP", true)
	e.p.MFA, e.p.MFAAt = true, e.clock.Now() // as the confirming code's elevation does
	if err := e.m.Disable(e.ctx(), e.p, "totp", ""); err != nil {
		t.Fatal(err)
	}
	has("after disabling", false)
}
