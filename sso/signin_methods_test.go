package sso_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/ssokit/ssokit/sso"
)

func TestSignInVerdict(t *testing.T) {
	t.Parallel()
	plan := sso.Features{"passkey", "email_code", "saml"}
	tests := []struct {
		name    string
		methods []sso.AuthMethod
		m       sso.AuthMethod
		want    sso.SignInVerdict
	}{
		{"password is in every plan", nil, sso.AuthPassword, sso.SignInAllowed},
		{"nil list allows what the plan includes", nil, sso.AuthPasskey, sso.SignInAllowed},
		{"the plan lacks social", nil, sso.AuthSocial, sso.SignInNotInPlan},
		{"listed but outside the plan stays refused", []sso.AuthMethod{sso.AuthSocial, sso.AuthMagicLink}, sso.AuthSocial, sso.SignInNotInPlan},
		{"listed but outside the plan (magic link)", []sso.AuthMethod{sso.AuthMagicLink}, sso.AuthMagicLink, sso.SignInNotInPlan},
		{"turned off by the organization", []sso.AuthMethod{sso.AuthPasskey}, sso.AuthPassword, sso.SignInTurnedOff},
		{"listed and in the plan", []sso.AuthMethod{sso.AuthPasskey}, sso.AuthPasskey, sso.SignInAllowed},
		{"an IdP protocol is no local method", nil, "saml", sso.SignInNotInPlan},
		{"empty list allows nothing", []sso.AuthMethod{}, sso.AuthPassword, sso.SignInTurnedOff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &sso.Organization{Settings: sso.OrgSettings{Features: plan, SignInMethods: tt.methods}}
			if got := o.SignInVerdict(tt.m); got != tt.want {
				t.Fatalf("SignInVerdict(%s) = %v, want %v", tt.m, got, tt.want)
			}
		})
	}
}

func TestAllowedSignInMethods(t *testing.T) {
	t.Parallel()
	o := &sso.Organization{Settings: sso.OrgSettings{Features: sso.Features{"social", "magic_link", "passkey"}}}
	if got, want := o.AllowedSignInMethods(), []sso.AuthMethod{sso.AuthPassword, sso.AuthPasskey, sso.AuthMagicLink, sso.AuthSocial}; !slices.Equal(got, want) {
		t.Fatalf("AllowedSignInMethods() = %v, want %v", got, want)
	}
	o.Settings.SignInMethods = []sso.AuthMethod{sso.AuthSocial, sso.AuthEmailCode}
	if got, want := o.AllowedSignInMethods(), []sso.AuthMethod{sso.AuthSocial}; !slices.Equal(got, want) {
		t.Fatalf("narrowed AllowedSignInMethods() = %v, want %v", got, want)
	}
	// The stored form keeps nil (everything the plan includes) apart from a list.
	b, err := json.Marshal(sso.OrgSettings{})
	if err != nil {
		t.Fatal(err)
	}
	var back sso.OrgSettings
	if err := json.Unmarshal(b, &back); err != nil || back.SignInMethods != nil {
		t.Fatalf("round trip of nil SignInMethods = %v, %v; want nil", back.SignInMethods, err)
	}
	ls := sso.LocalSignInMethods()
	ls[0] = "x"
	if sso.LocalSignInMethods()[0] != sso.AuthPassword {
		t.Fatal("LocalSignInMethods returned its own slice; callers could change it")
	}
}
