package social_test

import (
	"testing"

	"github.com/ssokit/ssokit/internal/telemetry/telemetrytest"
	"github.com/ssokit/ssokit/sso/social"
)

// TestSignInTelemetryNamesMethod: a social sign-in through the GitHub
// stand-in (fakeGitHub) records an "sso.signin" span naming the method,
// the provider and the organization, and counts the attempt in
// ssokit.login.attempts with protocol "social"; a callback refused before
// the sign-in (a forged state) is counted as a failure with its reason.
func TestSignInTelemetryNamesMethod(t *testing.T) {
	r := newRP(t)
	rec := telemetrytest.New(t)
	gh := newFakeGitHub(t, r.redirectURI("github"))
	e := newEnv(t, r, backends(t)[0], []social.Provider{gh.trusting()}, func(c *social.Config) {
		c.TracerProvider, c.MeterProvider = rec.TP, rec.MP
	})
	acme := e.org("acme", false, true)
	e.member("usr_tim", "tim@acme.example", acme, false)
	gh.signIn(5005, "tim", email("tim@acme.example", true, true))
	bw := newBrowser(t)
	bw.get(r.srv.URL + "/auth/social/github/start")
	if s := bw.signedIn(r); s == nil || s["method"] != "social" {
		t.Fatalf("sign-in failed: session %v", s)
	}
	bw.get(r.srv.URL + "/auth/social/github/callback?state=forged&code=x")
	spans := rec.Named("sso.signin")
	if len(spans) != 2 {
		t.Fatalf("sso.signin spans: %+v, want 2", spans)
	}
	if !telemetrytest.Matches(spans[0].Attrs, "ssokit.method=social", "ssokit.provider=github", "ssokit.outcome=success", "ssokit.org="+acme.ID) {
		t.Errorf("success span attributes %v", spans[0].Attrs)
	}
	if !telemetrytest.Matches(spans[1].Attrs, "ssokit.method=social", "ssokit.outcome=failure", "ssokit.reason="+social.ReasonStateInvalid) {
		t.Errorf("failure span attributes %v", spans[1].Attrs)
	}
	if n := rec.Sum(t, "ssokit.login.attempts", "ssokit.protocol=social", "ssokit.outcome=success"); n != 1 {
		t.Errorf("successful social attempts counted: %v, want 1", n)
	}
	if n := rec.Sum(t, "ssokit.login.attempts", "ssokit.protocol=social", "ssokit.outcome=failure", "ssokit.reason="+social.ReasonStateInvalid); n != 1 {
		t.Errorf("refused social attempts counted: %v, want 1", n)
	}
}
