package passkey_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/passkey"
)

// TestCheck runs on every backend: a passkey confirms its own user as a
// second factor (BeginCheck lists only that user's passkeys and requires
// user verification); another user's passkey, an assertion without user
// verification, a replayed ceremony, one of another user or session and a
// user without passkeys are refused.
func TestCheck(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, b)
			jane := e.member("jane", "acme", false, false)
			joe := e.member("joe", "globex", false, false)
			janes := e.register(e.signIn(jane, "org_acme"), "Laptop")
			joes := e.register(e.signIn(joe, "org_globex"), "Phone")

			begin := func(userID string) (string, json.RawMessage) {
				t.Helper()
				id, opts, err := e.m.BeginCheck(ctx, userID, "ses_"+userID)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := json.Marshal(opts.Response)
				var wrapped = json.RawMessage(`{"publicKey":` + string(raw) + `}`)
				return id, wrapped
			}
			if has, err := e.m.HasPasskey(ctx, jane.ID); err != nil || !has {
				t.Fatalf("HasPasskey(jane): %v, %v", has, err)
			}
			cer, opts := begin(jane.ID)
			if o := parseOptions(t, opts); len(o.AllowCredentials) != 1 {
				t.Fatalf("allowCredentials %v; want jane's one passkey", o.AllowCredentials)
			}
			if err := e.m.FinishCheck(ctx, jane.ID, "ses_jane", cer, e.auth.get(opts, janes, nil, -1)); err != nil {
				t.Fatalf("jane's own passkey: %v", err)
			}
			// The same ceremony again.
			if err := e.m.FinishCheck(ctx, jane.ID, "ses_jane", cer, e.auth.get(opts, janes, nil, -1)); sso.ReasonOf(err) != passkey.ReasonCeremonyInvalid {
				t.Errorf("replayed ceremony: %v", err)
			}
			// Joe's passkey answering jane's check, with joe's or jane's handle.
			for _, handle := range [][]byte{nil, passkey.UserHandle(jane.ID)} {
				cer, opts = begin(jane.ID)
				if err := e.m.FinishCheck(ctx, jane.ID, "ses_jane", cer, e.auth.get(opts, joes, handle, -1)); sso.ReasonOf(err) != passkey.ReasonInvalid ||
					!errors.Is(err, sso.ErrAccessDenied) {
					t.Errorf("joe's passkey for jane (handle %q): %v; want passkey_invalid", handle, err)
				}
			}
			// Jane's ceremony finished for joe.
			cer, opts = begin(jane.ID)
			if err := e.m.FinishCheck(ctx, joe.ID, "ses_joe", cer, e.auth.get(opts, joes, nil, -1)); sso.ReasonOf(err) != passkey.ReasonCeremonyInvalid {
				t.Errorf("jane's ceremony finished by joe: %v", err)
			}
			// Jane's ceremony finished in another of her sessions.
			cer, opts = begin(jane.ID)
			if err := e.m.FinishCheck(ctx, jane.ID, "ses_other", cer, e.auth.get(opts, janes, nil, -1)); sso.ReasonOf(err) != passkey.ReasonCeremonyInvalid {
				t.Errorf("jane's ceremony finished in another session: %v", err)
			}
			// No user verification.
			e.auth.noUV = true
			cer, opts = begin(jane.ID)
			err := e.m.FinishCheck(ctx, jane.ID, "ses_jane", cer, e.auth.get(opts, janes, nil, -1))
			e.auth.noUV = false
			if sso.ReasonOf(err) != passkey.ReasonInvalid {
				t.Errorf("without user verification: %v; want passkey_invalid", err)
			}
			// A counter gone backwards.
			cer, opts = begin(jane.ID)
			if err := e.m.FinishCheck(ctx, jane.ID, "ses_jane", cer, e.auth.get(opts, janes, nil, 0)); sso.ReasonOf(err) != passkey.ReasonCloned {
				t.Errorf("counter regression: %v; want passkey_cloned", err)
			}
			// Without passkeys.
			bob := e.member("bob", "initech", false, false)
			if has, err := e.m.HasPasskey(ctx, bob.ID); err != nil || has {
				t.Errorf("HasPasskey(bob): %v, %v", has, err)
			}
			if _, _, err := e.m.BeginCheck(ctx, bob.ID, "ses_bob"); sso.ReasonOf(err) != passkey.ReasonNoPasskey {
				t.Errorf("BeginCheck without passkeys: %v", err)
			}
		})
	}
}
