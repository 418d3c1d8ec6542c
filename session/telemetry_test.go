package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/telemetry/telemetrytest"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
)

func telemetryManager(t testing.TB, rec *telemetrytest.Recorder) *session.Manager {
	t.Helper()
	ms := memstore.New()
	key, err := session.GenerateSigningKey("k1", session.ES256)
	if err != nil {
		t.Fatal(err)
	}
	cfg := session.Config{Store: ms, Events: ms, Tokens: ms, Revocations: ms, Memberships: ms,
		SigningKeys: []session.SigningKey{key}, Issuer: "https://app.test"}
	if rec != nil {
		cfg.TracerProvider, cfg.MeterProvider = rec.TP, rec.MP
	}
	m, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ms.CreateMembership(context.Background(), &sso.Membership{OrgID: "org_t", UserID: "usr_1",
		Status: sso.MembershipActive}); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTelemetryRefreshReuse asserts the spans and metrics of a session
// check, a token refresh and a refresh-token reuse, and the active-session
// count, with the SDK's in-memory exporters.
func TestTelemetryRefreshReuse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rec := telemetrytest.New(t)
	m := telemetryManager(t, rec)

	w := httptest.NewRecorder()
	s, err := m.Issue(w, httptest.NewRequest("POST", "/", nil), &sso.SessionGrant{UserID: "usr_1", OrgID: "org_t", Method: sso.AuthMethod("saml")})
	if err != nil {
		t.Fatal(err)
	}
	cookie := w.Result().Cookies()[0]
	if n := rec.Sum(t, "ssokit.sessions.active"); n != 1 {
		t.Fatalf("active sessions after issue: %v", n)
	}
	// A session check.
	h := m.Load(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(cookie)
	h.ServeHTTP(httptest.NewRecorder(), r)
	r = httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: cookie.Name, Value: opaque.NewToken(32)})
	h.ServeHTTP(httptest.NewRecorder(), r)
	checks := rec.Named("session.check")
	if len(checks) != 2 || checks[0].Attrs["ssokit.outcome"] != "valid" || checks[0].Attrs["ssokit.org"] != "org_t" ||
		checks[0].Attrs["ssokit.session.method"] != "saml" || checks[1].Attrs["ssokit.outcome"] != "none" {
		t.Fatalf("session check spans: %+v", checks)
	}

	pair, err := m.IssueTokens(ctx, s, session.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Refresh(ctx, pair.RefreshToken, session.RefreshOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = m.Refresh(ctx, pair.RefreshToken, session.RefreshOptions{})
	var ve *sso.ValidationError
	if !errors.As(err, &ve) || ve.Reason != session.ReasonRefreshReused {
		t.Fatalf("reuse: got %v, want %s", err, session.ReasonRefreshReused)
	}
	refreshes := rec.Named("session.refresh")
	if len(refreshes) != 2 || refreshes[0].Attrs["ssokit.outcome"] != "success" ||
		refreshes[1].Attrs["ssokit.outcome"] != "failure" || refreshes[1].Attrs["ssokit.reason"] != "refresh_reused" || refreshes[1].Status != "Error" {
		t.Fatalf("refresh spans: %+v", refreshes)
	}
	if n := rec.Sum(t, "ssokit.token.refresh_reuse"); n != 1 {
		t.Fatalf("refresh reuse detections: %v, want 1", n)
	}
	if _, err := m.VerifyAccessToken(ctx, pair.AccessToken+"x"); err == nil {
		t.Fatal("tampered access token accepted")
	}
	if n := rec.Sum(t, "ssokit.validation.failures", "ssokit.protocol=session", "ssokit.reason=signature_invalid"); n != 1 {
		t.Fatalf("access-token validation failures: %v; points %+v", n, rec.Metric(t, "ssokit.validation.failures"))
	}
	if err := m.RevokeUser(ctx, "usr_1"); err != nil {
		t.Fatal(err)
	}
	if n := rec.Sum(t, "ssokit.sessions.active"); n != 0 {
		t.Fatalf("active sessions after revoking the user: %v", n)
	}
	for _, v := range rec.AllAttrs(t) {
		for _, secret := range []string{cookie.Value, pair.RefreshToken, pair.AccessToken, "usr_1"} {
			if strings.Contains(v, secret) {
				t.Fatalf("telemetry carries a token or user ID: %q", v)
			}
		}
	}
}

// BenchmarkTelemetrySessionCheck is an authenticated request through Load
// with the global no-op providers and with an SDK provider recording.
func BenchmarkTelemetrySessionCheck(b *testing.B) {
	for _, mode := range []string{"noop", "sdk"} {
		b.Run(mode, func(b *testing.B) {
			var rec *telemetrytest.Recorder
			if mode == "sdk" {
				rec = telemetrytest.New(b)
			}
			m := telemetryManager(b, rec)
			w := httptest.NewRecorder()
			if _, err := m.Issue(w, httptest.NewRequest("POST", "/", nil), &sso.SessionGrant{UserID: "alice", OrgID: "org_b"}); err != nil {
				b.Fatal(err)
			}
			cookie := w.Result().Cookies()[0]
			h := m.Load(m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p, _ := sso.PrincipalFrom(r.Context())
				_, _ = w.Write([]byte(p.UserID))
			})))
			b.ReportAllocs()
			threadCPU(b, func() {
				for b.Loop() {
					r := httptest.NewRequest("GET", "/", nil)
					r.AddCookie(cookie)
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Fatal(w.Code)
					}
				}
			})
		})
	}
}
