package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/keyring"
)

// mfaBase is a fixed, microsecond-precise instant every store round-trips.
var mfaBase = time.Date(2031, 5, 6, 7, 8, 9, 10000, time.UTC)

func runMFA(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	fresh := func(t *testing.T) mfa.Store { return newStores(t).MFA }

	t.Run("TOTPLifecycle", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)
		if _, err := s.GetTOTP(ctx, "u1"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("GetTOTP unknown: got %v, want ErrNotFound", err)
		}
		if err := s.PutPendingTOTP(ctx, &mfa.TOTPFactor{UserID: "u1", Secret: "sealed-1", CreatedAt: mfaBase}); err != nil {
			t.Fatalf("PutPendingTOTP: %v", err)
		}
		// A second pending enrolment replaces the first.
		if err := s.PutPendingTOTP(ctx, &mfa.TOTPFactor{UserID: "u1", Secret: "sealed-2", CreatedAt: mfaBase.Add(time.Second)}); err != nil {
			t.Fatalf("PutPendingTOTP again: %v", err)
		}
		f, err := s.GetTOTP(ctx, "u1")
		if err != nil || f.Secret != "sealed-2" || f.Active || !f.CreatedAt.Equal(mfaBase.Add(time.Second)) {
			t.Fatalf("GetTOTP pending: got %+v, %v", f, err)
		}
		if ok, err := s.AdvanceTOTPStep(ctx, "u1", 10, mfaBase); !errors.Is(err, sso.ErrNotFound) || ok {
			t.Fatalf("AdvanceTOTPStep on pending: got %v, %v; want false, ErrNotFound", ok, err)
		}
		if err := s.ActivateTOTP(ctx, "u1", "sealed-1", 100, mfaBase); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("ActivateTOTP of a replaced enrolment: got %v, want ErrNotFound", err)
		}
		if err := s.ActivateTOTP(ctx, "u1", "sealed-2", 100, mfaBase); err != nil {
			t.Fatalf("ActivateTOTP: %v", err)
		}
		if err := s.ActivateTOTP(ctx, "u1", "sealed-2", 101, mfaBase); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("ActivateTOTP twice: got %v, want ErrConflict", err)
		}
		if err := s.ActivateTOTP(ctx, "nobody", "x", 1, mfaBase); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("ActivateTOTP unknown: got %v, want ErrNotFound", err)
		}
		if err := s.PutPendingTOTP(ctx, &mfa.TOTPFactor{UserID: "u1", Secret: "sealed-3"}); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("PutPendingTOTP over active: got %v, want ErrConflict", err)
		}
		f, err = s.GetTOTP(ctx, "u1")
		if err != nil || !f.Active || f.LastStep != 100 || f.Secret != "sealed-2" || !f.ConfirmedAt.Equal(mfaBase) {
			t.Fatalf("GetTOTP active: got %+v, %v", f, err)
		}
		for _, tc := range []struct {
			step int64
			want bool
		}{{100, false}, {99, false}, {101, true}, {101, false}, {100, false}, {103, true}} {
			ok, err := s.AdvanceTOTPStep(ctx, "u1", tc.step, mfaBase.Add(time.Minute))
			if err != nil || ok != tc.want {
				t.Fatalf("AdvanceTOTPStep(%d): got %v, %v; want %v", tc.step, ok, err, tc.want)
			}
		}
		if f, _ := s.GetTOTP(ctx, "u1"); f.LastStep != 103 || !f.LastUsedAt.Equal(mfaBase.Add(time.Minute)) {
			t.Fatalf("after advance: got %+v", f)
		}
		if ok, err := s.AdvanceTOTPStep(ctx, "nobody", 1, mfaBase); !errors.Is(err, sso.ErrNotFound) || ok {
			t.Fatalf("AdvanceTOTPStep unknown: got %v, %v", ok, err)
		}
		if err := s.DeleteTOTP(ctx, "u1"); err != nil {
			t.Fatalf("DeleteTOTP: %v", err)
		}
		if err := s.DeleteTOTP(ctx, "u1"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("DeleteTOTP twice: got %v, want ErrNotFound", err)
		}
		if err := s.PutPendingTOTP(ctx, &mfa.TOTPFactor{UserID: "u1", Secret: "sealed-4"}); err != nil {
			t.Fatalf("PutPendingTOTP after delete: %v", err)
		}
	})

	t.Run("RecoveryCodes", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)
		if n, err := s.CountRecoveryCodes(ctx, "u1"); err != nil || n != 0 {
			t.Fatalf("CountRecoveryCodes empty: got %d, %v", n, err)
		}
		if err := s.ReplaceRecoveryCodes(ctx, "u1", []string{"h1", "h2", "h3"}, mfaBase); err != nil {
			t.Fatalf("ReplaceRecoveryCodes: %v", err)
		}
		if err := s.ReplaceRecoveryCodes(ctx, "u2", []string{"h1"}, mfaBase); err != nil {
			t.Fatalf("ReplaceRecoveryCodes other user: %v", err)
		}
		if err := s.UseRecoveryCode(ctx, "u1", "h2", mfaBase); err != nil {
			t.Fatalf("UseRecoveryCode: %v", err)
		}
		if err := s.UseRecoveryCode(ctx, "u1", "h2", mfaBase); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("UseRecoveryCode twice: got %v, want ErrNotFound", err)
		}
		if err := s.UseRecoveryCode(ctx, "u2", "h3", mfaBase); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("UseRecoveryCode of another user's code: got %v, want ErrNotFound", err)
		}
		if n, _ := s.CountRecoveryCodes(ctx, "u1"); n != 2 {
			t.Fatalf("CountRecoveryCodes: got %d, want 2", n)
		}
		if err := s.ReplaceRecoveryCodes(ctx, "u1", []string{"h4", "h5"}, mfaBase); err != nil {
			t.Fatalf("ReplaceRecoveryCodes again: %v", err)
		}
		if err := s.UseRecoveryCode(ctx, "u1", "h1", mfaBase); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("old code after replace: got %v, want ErrNotFound", err)
		}
		if err := s.UseRecoveryCode(ctx, "u1", "h4", mfaBase); err != nil {
			t.Fatalf("new code: %v", err)
		}
		if n, _ := s.CountRecoveryCodes(ctx, "u2"); n != 1 {
			t.Fatalf("other user's codes touched: got %d, want 1", n)
		}
		if err := s.DeleteRecoveryCodes(ctx, "u1"); err != nil {
			t.Fatalf("DeleteRecoveryCodes: %v", err)
		}
		if n, _ := s.CountRecoveryCodes(ctx, "u1"); n != 0 {
			t.Fatalf("after delete: got %d codes", n)
		}
	})

	t.Run("Attempts", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)
		if _, err := s.GetAttempts(ctx, "u1"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("GetAttempts unknown: got %v, want ErrNotFound", err)
		}
		window := mfaBase.Add(-time.Hour)
		for i := 1; i <= 3; i++ {
			n, err := s.AddFailure(ctx, "u1", mfaBase.Add(time.Duration(i)*time.Second), window)
			if err != nil || n != i {
				t.Fatalf("AddFailure #%d: got %d, %v", i, n, err)
			}
		}
		a, err := s.GetAttempts(ctx, "u1")
		if err != nil || a.Failures != 3 || !a.LastFailureAt.Equal(mfaBase.Add(3*time.Second)) || !a.LockedUntil.IsZero() {
			t.Fatalf("GetAttempts: got %+v, %v", a, err)
		}
		until := mfaBase.Add(time.Hour)
		if err := s.LockUntil(ctx, "u1", until); err != nil {
			t.Fatalf("LockUntil: %v", err)
		}
		if err := s.LockUntil(ctx, "u1", mfaBase.Add(time.Minute)); err != nil {
			t.Fatalf("LockUntil earlier: %v", err)
		}
		if a, _ := s.GetAttempts(ctx, "u1"); !a.LockedUntil.Equal(until) || a.Failures != 3 {
			t.Fatalf("an earlier lock must not shorten a later one: got %+v", a)
		}
		// A failure after the window restarts the count.
		later := mfaBase.Add(48 * time.Hour)
		if n, err := s.AddFailure(ctx, "u1", later, later.Add(-24*time.Hour)); err != nil || n != 1 {
			t.Fatalf("AddFailure after window: got %d, %v; want 1", n, err)
		}
		if err := s.LockUntil(ctx, "u2", until); err != nil {
			t.Fatalf("LockUntil new user: %v", err)
		}
		if a, err := s.GetAttempts(ctx, "u2"); err != nil || a.Failures != 0 || !a.LockedUntil.Equal(until) {
			t.Fatalf("lock without failures: got %+v, %v", a, err)
		}
		if err := s.ResetAttempts(ctx, "u1"); err != nil {
			t.Fatalf("ResetAttempts: %v", err)
		}
		if _, err := s.GetAttempts(ctx, "u1"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("after reset: got %v, want ErrNotFound", err)
		}
		if _, err := s.GetAttempts(ctx, "u2"); err != nil {
			t.Fatalf("reset touched another user: %v", err)
		}
	})

	t.Run("WebAuthnCredentials", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)
		if cs, err := s.ListWebAuthnCredentials(ctx, "u1"); err != nil || len(cs) != 0 {
			t.Fatalf("List empty: got %v, %v", cs, err)
		}
		ids := [][]byte{{0xff, 0x00, 0x01}, {0x01}, {0x80, 0x7f, 0x00, 0x00}}
		for i, id := range ids {
			c := &mfa.WebAuthnCredential{ID: id, UserID: "u1", Name: fmt.Sprintf("key %d", i), Data: []byte(`{"k":` + fmt.Sprint(i) + `}`),
				SignCount: uint32(i), CreatedAt: mfaBase.Add(time.Duration(i) * time.Second)}
			if err := s.CreateWebAuthnCredential(ctx, c); err != nil {
				t.Fatalf("Create %d: %v", i, err)
			}
		}
		if err := s.CreateWebAuthnCredential(ctx, &mfa.WebAuthnCredential{ID: ids[1], UserID: "u2", Data: []byte("{}")}); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("duplicate credential ID for another user: got %v, want ErrConflict", err)
		}
		cs, err := s.ListWebAuthnCredentials(ctx, "u1")
		if err != nil || len(cs) != 3 {
			t.Fatalf("List: got %d, %v", len(cs), err)
		}
		for i, c := range cs {
			if !bytes.Equal(c.ID, ids[i]) || c.Name != fmt.Sprintf("key %d", i) || c.SignCount != uint32(i) ||
				!c.CreatedAt.Equal(mfaBase.Add(time.Duration(i)*time.Second)) || string(c.Data) != `{"k":`+fmt.Sprint(i)+`}` {
				t.Fatalf("List[%d]: got %+v", i, c)
			}
		}
		if cs, _ := s.ListWebAuthnCredentials(ctx, "u2"); len(cs) != 0 {
			t.Fatalf("List other user: got %d credentials", len(cs))
		}
		// Compare-and-set on the signature counter.
		if err := s.UpdateWebAuthnUse(ctx, "u1", ids[2], 2, 7, []byte(`{"k":"new"}`), mfaBase.Add(time.Hour)); err != nil {
			t.Fatalf("UpdateWebAuthnUse: %v", err)
		}
		if err := s.UpdateWebAuthnUse(ctx, "u1", ids[2], 2, 8, []byte(`{}`), mfaBase); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("UpdateWebAuthnUse stale counter: got %v, want ErrConflict", err)
		}
		if err := s.UpdateWebAuthnUse(ctx, "u2", ids[2], 7, 8, []byte(`{}`), mfaBase); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("UpdateWebAuthnUse by another user: got %v, want ErrNotFound", err)
		}
		cs, _ = s.ListWebAuthnCredentials(ctx, "u1")
		if c := cs[2]; c.SignCount != 7 || string(c.Data) != `{"k":"new"}` || !c.LastUsedAt.Equal(mfaBase.Add(time.Hour)) {
			t.Fatalf("after update: got %+v", c)
		}
		if err := s.DeleteWebAuthnCredential(ctx, "u2", ids[0]); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("Delete by another user: got %v, want ErrNotFound", err)
		}
		if err := s.DeleteWebAuthnCredential(ctx, "u1", ids[0]); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		cs, _ = s.ListWebAuthnCredentials(ctx, "u1")
		if len(cs) != 2 || !bytes.Equal(cs[0].ID, ids[1]) {
			t.Fatalf("after delete: got %d credentials", len(cs))
		}
	})

	t.Run("Ceremonies", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)
		// Stores read their own clock for expiry: use far-future and
		// far-past expiries so any clock works.
		live := &mfa.Ceremony{ID: "c1", UserID: "u1", SessionID: "s1", Kind: "login", Data: []byte(`{"challenge":"x"}`), ExpiresAt: time.Now().Add(time.Hour).Truncate(time.Microsecond)}
		if err := s.SaveCeremony(ctx, live); err != nil {
			t.Fatalf("SaveCeremony: %v", err)
		}
		if err := s.SaveCeremony(ctx, live); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("SaveCeremony duplicate: got %v, want ErrConflict", err)
		}
		dead := &mfa.Ceremony{ID: "c2", UserID: "u1", Kind: "login", Data: []byte(`{}`), ExpiresAt: time.Now().Add(-time.Hour)}
		if err := s.SaveCeremony(ctx, dead); err != nil {
			t.Fatalf("SaveCeremony expired: %v", err)
		}
		got, err := s.TakeCeremony(ctx, "c1")
		if err != nil || got.UserID != "u1" || got.SessionID != "s1" || got.Kind != "login" || string(got.Data) != `{"challenge":"x"}` || !got.ExpiresAt.Equal(live.ExpiresAt) {
			t.Fatalf("TakeCeremony: got %+v, %v", got, err)
		}
		if _, err := s.TakeCeremony(ctx, "c1"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("TakeCeremony twice: got %v, want ErrNotFound", err)
		}
		if _, err := s.TakeCeremony(ctx, "c2"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("TakeCeremony expired: got %v, want ErrNotFound", err)
		}
	})
}

func runMFARace(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()

	t.Run("TOTPStepCompareAndSet", func(t *testing.T) {
		s := newStores(t).MFA
		if err := s.PutPendingTOTP(ctx, &mfa.TOTPFactor{UserID: "u1", Secret: "x"}); err != nil {
			t.Fatal(err)
		}
		if err := s.ActivateTOTP(ctx, "u1", "x", 10, mfaBase); err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		errs := race(func(int) error {
			ok, err := s.AdvanceTOTPStep(ctx, "u1", 11, mfaBase)
			if ok {
				wins.Add(1)
			}
			return err
		})
		for _, err := range errs {
			if err != nil {
				t.Fatalf("AdvanceTOTPStep: %v", err)
			}
		}
		if n := wins.Load(); n != 1 {
			t.Fatalf("T-T.3: %d of %d concurrent advances to one step won, want exactly 1", n, racers)
		}
	})

	t.Run("RecoveryCodeSingleUse", func(t *testing.T) {
		s := newStores(t).MFA
		if err := s.ReplaceRecoveryCodes(ctx, "u1", []string{"h1", "h2"}, mfaBase); err != nil {
			t.Fatal(err)
		}
		errs := race(func(int) error { return s.UseRecoveryCode(ctx, "u1", "h1", mfaBase) })
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, sso.ErrNotFound):
				t.Fatalf("UseRecoveryCode: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d concurrent uses of one recovery code succeeded, want 1", wins)
		}
	})

	t.Run("CeremonySingleUse", func(t *testing.T) {
		s := newStores(t).MFA
		if err := s.SaveCeremony(ctx, &mfa.Ceremony{ID: "c1", UserID: "u1", Kind: "login", Data: []byte("{}"), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		errs := race(func(int) error { _, err := s.TakeCeremony(ctx, "c1"); return err })
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, sso.ErrNotFound):
				t.Fatalf("TakeCeremony: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d concurrent takes of one ceremony succeeded, want 1", wins)
		}
	})

	t.Run("FailureCounter", func(t *testing.T) {
		s := newStores(t).MFA
		counts := make([]int, racers)
		errs := race(func(i int) error {
			n, err := s.AddFailure(ctx, "u1", mfaBase, mfaBase.Add(-time.Hour))
			counts[i] = n
			return err
		})
		for _, err := range errs {
			if err != nil {
				t.Fatalf("AddFailure: %v", err)
			}
		}
		slices.Sort(counts)
		for i, n := range counts {
			if n != i+1 {
				t.Fatalf("concurrent AddFailure counts: got %v, want 1..%d each once", counts, racers)
			}
		}
	})

	t.Run("VerifyTOTPReplay", func(t *testing.T) {
		st := newStores(t)
		if st.Core == nil {
			t.Skip("Stores.Core not provided; the mfa.Manager needs the core records")
		}
		var now atomic.Pointer[time.Time]
		t0 := time.Unix(1_900_000_000, 0).UTC()
		now.Store(&t0)
		keys, err := keyring.New("k1", map[string][]byte{"k1": bytes.Repeat([]byte{7}, 32)})
		if err != nil {
			t.Fatal(err)
		}
		m, err := mfa.New(mfa.Config{Store: st.MFA, Sealer: keys, Users: st.Core, Orgs: st.Core, Members: st.Core, Events: st.Core,
			Issuer: "storetest", MaxFailures: 1000, Now: func() time.Time { return *now.Load() }})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Core.CreateUser(ctx, &sso.User{ID: "usr_race", Email: "race@example.com"}); err != nil {
			t.Fatal(err)
		}
		p := &sso.Principal{Kind: sso.PrincipalSession, UserID: "usr_race", Method: sso.AuthLocal, AuthAt: t0}
		e, err := m.StartTOTPEnrollment(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := totp.GenerateCode(e.Secret, t0)
		if _, err := m.ConfirmTOTPEnrollment(ctx, p, code); err != nil {
			t.Fatal(err)
		}
		t1 := t0.Add(30 * time.Second)
		now.Store(&t1)
		code, _ = totp.GenerateCode(e.Secret, t1)
		errs := race(func(int) error { return m.VerifyTOTP(ctx, p, code) })
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case sso.ReasonOf(err) != mfa.ReasonCodeReplayed:
				t.Fatalf("VerifyTOTP: got %v (reason %q), want success or %q", err, sso.ReasonOf(err), mfa.ReasonCodeReplayed)
			}
		}
		if wins != 1 {
			t.Fatalf("T-T.3: %d of %d concurrent submissions of one valid code succeeded, want exactly 1", wins, racers)
		}
	})
}
