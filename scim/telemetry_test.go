package scim_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/scimtoken"
	"github.com/ssokit/ssokit/internal/telemetry/telemetrytest"
	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/ssotest"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memscim"
)

type countingRevoker struct {
	mu    sync.Mutex
	users []string
}

func (r *countingRevoker) RevokeUser(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.users = append(r.users, id)
	return nil
}

func (r *countingRevoker) RevokeOrgSessions(ctx context.Context, _, id, _ string, _ ...sso.AuthMethod) (int, error) {
	return 0, r.RevokeUser(ctx, id)
}

// TestTelemetrySCIMDeactivation asserts the spans and metrics of a SCIM
// sync that creates and deactivates a user, of a forged token and of a
// rate-limited request, with the SDK's in-memory exporters.
func TestTelemetrySCIMDeactivation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rec := telemetrytest.New(t)
	st := memstore.New()
	org := &sso.Organization{ID: "org_scim", Slug: "scimtel", Name: "SCIM"}
	org.Settings.Features = org.Settings.Features.With("scim")
	if err := st.CreateOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	token, _, err := scimtoken.Issue(ctx, st, org.ID, "telemetry", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rev := &countingRevoker{}
	mux := httptest.NewServer(nil)
	defer mux.Close()
	base, _ := url.Parse(mux.URL + "/scim/v2")
	h, err := scim.New(scim.Config{Store: memscim.New(st), Core: st, Revoker: rev, BaseURL: base, RateLimit: 4,
		TracerProvider: rec.TP, MeterProvider: rec.MP})
	if err != nil {
		t.Fatal(err)
	}
	mux.Config.Handler = http.StripPrefix("/scim/v2", h)

	c := ssotest.NewSCIMClient(mux.URL+"/scim/v2", token, ssotest.Okta)
	created, err := c.CreateUser(ctx, ssotest.SCIMUser{UserName: "dana@scim.example", GivenName: "Dana", FamilyName: "Sync"})
	if err != nil || created.StatusCode != 201 {
		t.Fatalf("create: %v %+v", err, created)
	}
	if res, err := c.DeactivateUser(ctx, created.ID()); err != nil || res.StatusCode != 200 {
		t.Fatalf("deactivate: %v %+v", err, res)
	}
	if len(rev.users) != 1 {
		t.Fatalf("sessions of the deactivated user not revoked: %v", rev.users)
	}
	forged := ssotest.NewSCIMClient(mux.URL+"/scim/v2", "forged-"+token[len(token)/2:], ssotest.Okta)
	if res, _ := forged.FindUser(ctx, "dana@scim.example"); res == nil || res.StatusCode != 401 {
		t.Fatalf("forged token: %+v", res)
	}
	limited := 0
	for i := 0; i < 6; i++ {
		if res, _ := c.FindUser(ctx, "dana@scim.example"); res != nil && res.StatusCode == 429 {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("rate limit never applied")
	}

	spans := rec.Named("scim.request")
	find := func(match ...string) telemetrytest.Span {
		t.Helper()
		for _, s := range spans {
			if telemetrytest.Matches(s.Attrs, match...) {
				return s
			}
		}
		t.Fatalf("no SCIM span with %v in %+v", match, spans)
		return telemetrytest.Span{}
	}
	if s := find("ssokit.operation=POST /Users").Attrs; s["ssokit.status"] != "201" || s["ssokit.org"] != org.ID || s["ssokit.outcome"] != "success" {
		t.Fatalf("create span: %v", s)
	}
	if s := find("ssokit.operation=PATCH /Users/{id}").Attrs; s["ssokit.status"] != "200" || s["ssokit.org"] != org.ID {
		t.Fatalf("deactivation span: %v", s)
	}
	if s := find("ssokit.status=401"); s.Attrs["ssokit.org"] != "" || s.Status != "Error" || s.Attrs["ssokit.outcome"] != "failure" {
		t.Fatalf("forged-token span: %+v", s)
	}
	if s := find("ssokit.status=429"); s.Attrs["ssokit.org"] != org.ID {
		t.Fatalf("rate-limited span: %+v", s)
	}
	if n := rec.Sum(t, "ssokit.scim.requests", "ssokit.operation=PATCH /Users/{id}", "ssokit.status=200"); n != 1 {
		t.Fatalf("deactivation requests: %v", n)
	}
	if n := rec.Sum(t, "ssokit.scim.requests", "ssokit.status=401"); n != 1 {
		t.Fatalf("unauthorized requests: %v", n)
	}
	if n := rec.Sum(t, "ssokit.ratelimit.rejections", "ssokit.component=scim"); n != float64(limited) {
		t.Fatalf("rate-limit rejections: %v, want %d", n, limited)
	}
	for _, v := range rec.AllAttrs(t) {
		if strings.Contains(v, "@") || strings.Contains(v, token[:12]) || strings.Contains(v, created.ID()) {
			t.Fatalf("telemetry carries personal data, a token or a user ID: %q", v)
		}
	}
}
