package sso_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/ssokit/ssokit/sso"
)

type testConfig struct {
	Entity string
	Extra  int
}

func (c *testConfig) IdPIssuer() string { return c.Entity }
func (c *testConfig) Version() int      { return 2 }

func init() {
	sso.RegisterProtocol("registry-test", func(version int, doc []byte) (sso.ProtocolConfig, error) {
		if version > 2 {
			return nil, errors.New("too new")
		}
		var c testConfig
		if err := json.Unmarshal(doc, &c); err != nil {
			return nil, err
		}
		if version < 2 {
			c.Extra = -1 // upgraded from version 1
		}
		return &c, nil
	})
}

// TestProtocolRegistry: a registered protocol's document round-trips and
// is upgraded from older versions; one no package registered is kept byte
// for byte; a document too new or broken is an error, never a silent nil.
func TestProtocolRegistry(t *testing.T) {
	doc, v, err := sso.EncodeConfig(&testConfig{Entity: "https://idp.example", Extra: 7})
	if err != nil || v != 2 {
		t.Fatalf("EncodeConfig = %s, %d, %v", doc, v, err)
	}
	got, err := sso.DecodeConfig("registry-test", v, doc)
	if err != nil || got.(*testConfig).Extra != 7 || got.IdPIssuer() != "https://idp.example" {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	if old, err := sso.DecodeConfig("registry-test", 1, []byte(`{"Entity":"e"}`)); err != nil || old.(*testConfig).Extra != -1 {
		t.Fatalf("version 1 = %+v, %v; want the decoder's upgrade", old, err)
	}
	if _, err := sso.DecodeConfig("registry-test", 3, doc); err == nil {
		t.Fatal("a document newer than the decoder decoded")
	}
	if _, err := sso.DecodeConfig("registry-test", 2, []byte(`{"Entity":`)); err == nil {
		t.Fatal("a broken document decoded")
	}

	raw := []byte(`{"Anything":["kept",1]}`)
	unknown, err := sso.DecodeConfig("not-linked-here", 5, raw)
	if err != nil || unknown.Version() != 5 || unknown.IdPIssuer() != "" {
		t.Fatalf("unregistered protocol = %+v, %v", unknown, err)
	}
	again, v2, err := sso.EncodeConfig(unknown)
	if err != nil || string(again) != string(raw) || v2 != 5 {
		t.Fatalf("unregistered document re-encoded as %s v%d (%v), want %s v5", again, v2, err, raw)
	}
	if c, err := sso.DecodeConfig("registry-test", 2, []byte(" null ")); c != nil || err != nil {
		t.Fatalf("null document = %v, %v; want nil, nil", c, err)
	}
}

// TestRegisterProtocolTwicePanics: a second registration of a name is a
// programming error found at start-up.
func TestRegisterProtocolTwicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("second registration did not panic")
		}
	}()
	sso.RegisterProtocol("registry-test", func(int, []byte) (sso.ProtocolConfig, error) { return nil, nil })
}

// TestFeaturesLegacyJSON: organizations stored when features were a struct
// of booleans read as the same set of names.
func TestFeaturesLegacyJSON(t *testing.T) {
	var s sso.OrgSettings
	if err := json.Unmarshal([]byte(`{"Features":{"SAML":true,"OIDC":false,"SCIM":true,"EnforceSSO":true,"EnforceMFA":false}}`), &s); err != nil {
		t.Fatal(err)
	}
	if !s.Features.Has("saml") || s.Features.Has("oidc") || !s.Features.Has("scim") || !s.Features.Has("enforce_sso") ||
		s.Features.Has("enforce_mfa") || len(s.Features) != 3 {
		t.Fatalf("legacy features = %v", s.Features)
	}
	b, _ := json.Marshal(s.Features)
	var back sso.Features
	if err := json.Unmarshal(b, &back); err != nil || len(back) != 3 || !back.Allows("saml") {
		t.Fatalf("new form %s = %v, %v", b, back, err)
	}
	if f := back.Without("saml"); f.Has("saml") || !back.Has("saml") {
		t.Fatal("Without changed its receiver or kept the name")
	}
}
