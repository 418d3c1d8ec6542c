package mfa_test

import (
	"strings"
	"testing"

	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
)

// TestConfirmOfAReplacedEnrolment: a code of an enrolment that a newer one
// replaced (another tab) is refused as enrolment_replaced, with a message
// that says to scan the newest QR code, and counts as no failure; the
// newest enrolment confirms. Without the enrolment's name the code is
// checked against the pending enrolment, as before.
func TestConfirmOfAReplacedEnrolment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first, err := e.m.StartTOTPEnrollment(e.ctx(), e.p)
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.m.StartTOTPEnrollment(e.ctx(), e.p)
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == "" || first.ID == second.ID {
		t.Fatalf("enrolment IDs %q and %q", first.ID, second.ID)
	}
	srv := e.server(t, nil)
	for range 6 { // more than MaxFailures: none of them counts
		r := call(t, srv, "POST", "/mfa/totp/confirm", map[string]string{"code": e.code(first.Secret), "enrollment": first.ID}).
			want(t, 409, mfa.ReasonEnrolmentReplaced)
		if msg, _ := r.body["message"].(string); !strings.Contains(msg, "newest QR code") {
			t.Fatalf("message %q", msg)
		}
	}
	if _, err := e.m.ConfirmTOTPEnrollment(e.ctx(), e.p, e.code(first.Secret)); sso.ReasonOf(err) != mfa.ReasonCodeInvalid {
		t.Fatalf("the replaced code without the enrolment's name: %v, want code_invalid", err)
	}
	call(t, srv, "POST", "/mfa/totp/confirm", map[string]string{"code": e.code(second.Secret), "enrollment": second.ID}).want(t, 200, "")
	if st, err := e.m.Status(e.ctx(), e.p); err != nil || !st.TOTP {
		t.Fatalf("status after confirming the newest enrolment: %+v, %v", st, err)
	}
}
