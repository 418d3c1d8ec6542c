package mfa_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
)

// standInPasskeys stands in for sso/passkey's Manager, which mfa must not
// import (its own TestCheck covers the real ceremony: the user's own
// passkeys only, user verification, counters). Here the user has a
// passkey when has is set, and only the ceremony "good" verifies, so that
// what is tested is mfa's part: policy, lockout, audit and elevation.
type standInPasskeys struct {
	mu  sync.Mutex
	has bool
}

func (s *standInPasskeys) HasPasskey(context.Context, string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.has, nil
}

func (s *standInPasskeys) BeginCheck(ctx context.Context, userID, _ string) (string, *protocol.CredentialAssertion, error) {
	if has, _ := s.HasPasskey(ctx, userID); !has {
		return "", nil, &sso.ValidationError{Protocol: "passkey", Reason: "no_passkey", Err: sso.ErrNotFound}
	}
	return "good", &protocol.CredentialAssertion{}, nil
}

func (s *standInPasskeys) FinishCheck(_ context.Context, _, _, ceremonyID string, _ []byte) error {
	if ceremonyID != "good" {
		return &sso.ValidationError{Protocol: "passkey", Reason: "passkey_invalid", Err: sso.ErrAccessDenied}
	}
	return nil
}

// TestPasskeyAsSecondFactor: in an organization that requires MFA, a user
// whose only factor is a passkey is asked to verify, not to enrol; the
// passkey check elevates the session; failed checks count towards the
// lockout; enrolling TOTP then needs the passkey verification first; and
// without Config.Passkeys the routes answer not_enrolled.
func TestPasskeyAsSecondFactor(t *testing.T) {
	t.Parallel()
	pk := &standInPasskeys{}
	e := newEnv(t, func(c *mfa.Config) { c.Passkeys = pk })
	e.org.Settings.MFA = sso.MFAPolicy{Required: true, ChangedAt: t0.Add(-30 * 24 * time.Hour)}
	if err := e.st.UpdateOrg(e.ctx(), e.org); err != nil {
		t.Fatal(err)
	}
	requirement := func() mfa.Requirement {
		t.Helper()
		d, err := e.m.Evaluate(e.ctx(), e.p)
		if err != nil {
			t.Fatal(err)
		}
		return d.Requirement
	}
	if got := requirement(); got != mfa.EnrollmentRequired {
		t.Fatalf("no factor: %v, want enrollment_required", got)
	}
	pk.mu.Lock()
	pk.has = true
	pk.mu.Unlock()
	if got := requirement(); got != mfa.VerificationRequired {
		t.Fatalf("a passkey: %v, want verification_required", got)
	}
	st, err := e.m.Status(e.ctx(), e.p)
	if err != nil || !st.Passkey || st.Enrolled {
		t.Fatalf("status %+v, %v; want passkey true, enrolled (own factors) false", st, err)
	}
	// A password session enrols no TOTP before it verified the passkey.
	if _, err := e.m.StartTOTPEnrollment(e.ctx(), e.p); err != mfa.ErrReverificationRequired {
		t.Fatalf("TOTP enrolment before the passkey check: %v, want ErrReverificationRequired", err)
	}

	srv := e.server(t, nil)
	call(t, srv, "POST", "/mfa/passkey/finish", map[string]any{"ceremony": "forged", "credential": map[string]any{}}).
		want(t, 401, mfa.ReasonPasskeyInvalid)
	if e.elev.Calls() != 0 {
		t.Fatal("a failed check elevated the session")
	}
	if evs := e.events(mfa.EventFailed); len(evs) != 1 || evs[0].Details["factor"] != "passkey" {
		t.Fatalf("failed check audited as %+v", evs)
	}
	begin := call(t, srv, "POST", "/mfa/passkey/begin", map[string]any{}).want(t, 200, "")
	call(t, srv, "POST", "/mfa/passkey/finish", map[string]any{"ceremony": begin.body["ceremony"], "credential": map[string]any{}}).
		want(t, 200, "")
	if e.elev.Calls() != 1 || requirement() != mfa.Satisfied {
		t.Fatalf("after the check: %d elevations, %v", e.elev.Calls(), requirement())
	}
	if _, err := e.m.StartTOTPEnrollment(e.ctx(), e.p); err != nil {
		t.Fatalf("TOTP enrolment after the passkey check: %v", err)
	}

	// Failed checks lock the user's second factor like wrong codes.
	for range 4 {
		call(t, srv, "POST", "/mfa/passkey/finish", map[string]any{"ceremony": "forged", "credential": map[string]any{}}).
			want(t, 401, mfa.ReasonPasskeyInvalid)
	}
	call(t, srv, "POST", "/mfa/passkey/finish", map[string]any{"ceremony": "forged", "credential": map[string]any{}}).
		want(t, 429, mfa.ReasonLockedOut)
	call(t, srv, "POST", "/mfa/passkey/finish", map[string]any{"ceremony": "good", "credential": map[string]any{}}).
		want(t, 429, mfa.ReasonLockedOut)
	if e.elev.Calls() != 1 {
		t.Fatal("a locked-out check elevated the session")
	}

	// Without Config.Passkeys nothing changes for passkey users.
	plain := newEnv(t)
	call(t, plain.server(t, nil), "POST", "/mfa/passkey/begin", map[string]any{}).want(t, 404, mfa.ReasonNotEnrolled)
}
