package login_test

import (
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/internal/telemetry/telemetrytest"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/login"
)

func TestCompletionSpans(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", func(s *sso.OrgSettings) { s.DefaultRole = "viewer" })
	e.Verified(a.ID, "acme.com")
	c := e.Conn(a.ID, oidc.Protocol, sso.ConnectionActive, "https://idp.example")
	c.GroupRoles = []sso.GroupRole{{Group: "admins", Role: "admin"}}
	if err := e.St.UpdateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	rec := telemetrytest.New(t)
	comp, err := login.New(login.Config{Store: e.St, Sessions: &ssoenv.FakeIssuer{}, Auditor: e.Aud, Now: e.Clock, TracerProvider: rec.TP})
	if err != nil {
		t.Fatal(err)
	}
	p := ssoenv.Profile(c, "sub-1", "alice@acme.com", true)
	p.Groups = []string{"admins"}
	if _, err := e.Login(comp, &sso.Login{Connection: c, Profile: p}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Login(comp, &sso.Login{Connection: c, Profile: ssoenv.Profile(c, "sub-1", "alice@acme.com", true)}); err != nil {
		t.Fatal(err)
	}
	// An email outside the verified domains is refused.
	if _, err := e.Login(comp, &sso.Login{Connection: c, Profile: ssoenv.Profile(c, "sub-2", "eve@evil.example", true)}); err == nil {
		t.Fatal("login with a foreign email accepted")
	}
	spans := rec.Named("sso.login.complete")
	if len(spans) != 3 {
		t.Fatalf("spans: %d, want 3", len(spans))
	}
	first, second, third := spans[0].Attrs, spans[1].Attrs, spans[2].Attrs
	if first["ssokit.login.outcome"] != "provisioned" || first["ssokit.outcome"] != "success" || first["ssokit.org"] != a.ID ||
		first["ssokit.connection"] != c.ID || first["ssokit.protocol"] != "oidc" {
		t.Fatalf("JIT span: %v", first)
	}
	if second["ssokit.login.outcome"] != "matched" || second["ssokit.login.roles_changed"] != "true" {
		t.Fatalf("matched span (roles shrink to the default): %v", second)
	}
	if third["ssokit.outcome"] != "failure" || third["ssokit.reason"] == "" || spans[2].Status != "Error" {
		t.Fatalf("refused span: %v", third)
	}
	for _, v := range rec.AllAttrs(t) {
		if strings.Contains(v, "@") || strings.Contains(v, "sub-") {
			t.Fatalf("span carries personal data: %q", v)
		}
	}
}
