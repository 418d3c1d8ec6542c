package sso_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
)

func TestStepUpEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	su := sso.StepUp{SessionID: "ses_1", UserID: "usr_1", OrgID: "org_1", ConnectionID: "conn_1", MaxAge: time.Minute,
		At: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	got, err := sso.DecodeStepUp(sso.EncodeStepUp(su))
	if err != nil || got != su {
		t.Fatalf("round trip = %+v, %v; want %+v", got, err, su)
	}
	if sso.EncodeStepUp(sso.StepUp{}) != "" || sso.StepUpOf(sso.StepUp{}) != nil {
		t.Fatal("the zero step-up must encode to \"\" and be no Login.StepUp")
	}
	if _, err := sso.DecodeStepUp("{"); err == nil {
		t.Fatal("a corrupt stored step-up decoded")
	}
}

// A starter refuses a step-up that names another connection or
// organization, or rides on a test login.
func TestCheckStepUpStart(t *testing.T) {
	t.Parallel()
	conn := &sso.Connection{ID: "conn_1", OrgID: "org_1"}
	ok := &sso.StepUp{SessionID: "ses_1", UserID: "usr_1", OrgID: "org_1", ConnectionID: "conn_1"}
	if err := sso.CheckStepUpStart(conn, sso.StartOptions{StepUp: ok}); err != nil {
		t.Fatal(err)
	}
	if err := sso.CheckStepUpStart(conn, sso.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]sso.StartOptions{
		"other connection":   {StepUp: &sso.StepUp{SessionID: "ses_1", UserID: "usr_1", OrgID: "org_1", ConnectionID: "conn_2"}},
		"other organization": {StepUp: &sso.StepUp{SessionID: "ses_1", UserID: "usr_1", OrgID: "org_2", ConnectionID: "conn_1"}},
		"no session":         {StepUp: &sso.StepUp{UserID: "usr_1", OrgID: "org_1", ConnectionID: "conn_1"}},
		"test login":         {StepUp: ok, Test: true},
	} {
		if err := sso.CheckStepUpStart(conn, opts); !errors.Is(err, sso.ErrStepUpMismatch) || !errors.Is(err, sso.ErrInvalidInput) {
			t.Errorf("%s: err %v, want ErrStepUpMismatch", name, err)
		}
	}
}
