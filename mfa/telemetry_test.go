package mfa_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/ssokit/ssokit/internal/telemetry/telemetrytest"
	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/keyring"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memmfa"
)

// TestTelemetryTOTP asserts the spans and metrics of TOTP verification:
// success, wrong code, replay and lockout, and that no seed or code appears
// in them.
func TestTelemetryTOTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rec := telemetrytest.New(t)
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	st := memstore.New()
	keys, _ := keyring.New("k", map[string][]byte{"k": bytes.Repeat([]byte{1}, 32)})
	if err := st.CreateUser(ctx, &sso.User{ID: "usr_t", Email: "tel@example.com"}); err != nil {
		t.Fatal(err)
	}
	m, err := mfa.New(mfa.Config{Store: memmfa.New(st), Sealer: keys, Users: st, Orgs: st, Members: st, Events: st, Elevator: exampleElevator{},
		Issuer: "Telemetry", Now: func() time.Time { return now }, MaxFailures: 3, TracerProvider: rec.TP, MeterProvider: rec.MP})
	if err != nil {
		t.Fatal(err)
	}
	p := &sso.Principal{Kind: sso.PrincipalSession, UserID: "usr_t", OrgID: "org_t", Method: sso.AuthLocal, AuthAt: now}
	en, err := m.StartTOTPEnrollment(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(en.Secret, now)
	if _, err := m.ConfirmTOTPEnrollment(ctx, p, code); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	code, _ = totp.GenerateCode(en.Secret, now)
	if err := m.VerifyTOTP(ctx, p, code); err != nil {
		t.Fatal(err)
	}
	if err := m.VerifyTOTP(ctx, p, code); sso.ReasonOf(err) != mfa.ReasonCodeReplayed {
		t.Fatalf("replay: got %v", err)
	}
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	_ = m.VerifyTOTP(ctx, p, wrong)
	if err := m.VerifyTOTP(ctx, p, wrong); sso.ReasonOf(err) != mfa.ReasonLockedOut {
		t.Fatalf("third failure: got %v, want a lockout", err)
	}

	spans := rec.Named("mfa.verify")
	if len(spans) != 4 {
		t.Fatalf("verify spans: %d, want 4", len(spans))
	}
	if s := spans[0].Attrs; s["ssokit.outcome"] != "success" || s["ssokit.mfa.factor"] != "totp" || s["ssokit.org"] != "org_t" {
		t.Fatalf("success span: %v", s)
	}
	if s := spans[1].Attrs; s["ssokit.reason"] != mfa.ReasonCodeReplayed {
		t.Fatalf("replay span: %v", s)
	}
	if s := spans[3].Attrs; s["ssokit.reason"] != mfa.ReasonLockedOut {
		t.Fatalf("lockout span: %v", s)
	}
	for kind, want := range map[string]float64{"success": 1, "replay": 1, "failure": 1, "lockout": 1} {
		if n := rec.Sum(t, "ssokit.mfa.events", "ssokit.kind="+kind, "ssokit.mfa.factor=totp"); n < want {
			t.Errorf("mfa events %s: %v, want %v", kind, n, want)
		}
	}
	for _, v := range rec.AllAttrs(t) {
		if strings.Contains(v, en.Secret) || strings.Contains(v, code) || strings.Contains(v, "@") {
			t.Fatalf("telemetry carries the seed, a code or an email: %q", v)
		}
	}
}
