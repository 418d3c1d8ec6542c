package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/ssotest"
)

// setMFAPolicy changes the MFA policy of the demo organization slug.
func setMFAPolicy(t *testing.T, app *App, slug string, edit func(*sso.MFAPolicy)) {
	t.Helper()
	ctx := context.Background()
	org, err := app.store.GetOrgBySlug(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	edit(&org.Settings.MFA)
	if err := app.store.UpdateOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
}

// browse GETs path as a browser page (Accept: text/html), following
// redirects and the development IdP's forms, and returns the final URL
// path and body.
func browse(t *testing.T, b *ssotest.Browser, base, path string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Accept", "text/html")
	res, err := b.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v (visited %v)", path, err, b.Visited)
	}
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Request.URL.RequestURI(), string(body)
}

// enrolTOTP enrols a TOTP factor on b's session and returns its secret and
// the time its confirming code was made for.
func enrolTOTP(t *testing.T, b *ssotest.Browser, base string) (string, time.Time) {
	t.Helper()
	code, enr := postJSON(t, b, base, "/mfa/totp/enroll", "{}")
	if code != http.StatusOK {
		t.Fatalf("enroll: %d %v", code, enr)
	}
	secret := enr["secret"].(string)
	at := time.Now()
	otp, _ := totp.GenerateCode(secret, at)
	if code, body := postJSON(t, b, base, "/mfa/totp/confirm", `{"code":"`+otp+`"}`); code != http.StatusOK {
		t.Fatalf("confirm: %d %v", code, body)
	}
	return secret, at
}

// TestStepUpRefusedLocalFallback: Acme asks for step-ups at its IdP and
// allows the local factor when the IdP refuses. Alice's IdP asserts no
// MFA, so the step-up of her new session is refused and lands on the
// demo's refusal page, which says why and offers her TOTP. The page itself
// grants nothing, an unsafe return path is dropped, a wrong code is
// refused, and a right one satisfies the policy and the return path.
func TestStepUpRefusedLocalFallback(t *testing.T) {
	app, base := startDemo(t, "")
	b, secret := refusedStepUp(t, app, base, true)
	status, where, page := browse(t, b, base, "/dashboard")
	if status != http.StatusOK || !strings.HasPrefix(where, stepUpRefusedPath+"?") {
		t.Fatalf("the step-up ended %d at %s, want the refusal page (visited %v)", status, where, b.Visited)
	}
	for _, want := range []string{`id="stepup-reason">mfa_not_performed`, "did not confirm a second factor", `id="stepup-totp"`,
		`data-return-to="/dashboard"`, `id="stepup-retry" href="/mfa/step-up/idp?return_to=%2Fdashboard"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("refusal page lacks %q:\n%s", want, page)
		}
	}
	if ev := lastEventOf(t, app, "org_acme", sso.EventLoginFailed); ev == nil || ev.Reason != "mfa_not_performed" {
		t.Fatalf("refused step-up audited as %+v", ev)
	}

	t.Run("page-grants-nothing", func(t *testing.T) {
		code, _ := sendJSONPage(t, b, base, "/dashboard")
		if code != http.StatusForbidden {
			t.Fatalf("/dashboard after the refusal page: %d, want 403 (step-up still due)", code)
		}
	})
	t.Run("unsafe-return-path-dropped", func(t *testing.T) {
		for _, rt := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"} {
			_, _, page := browse(t, b, base, stepUpRefusedPath+"?reason=mfa_not_performed&return_to="+urlQueryEscape(rt))
			if !strings.Contains(page, `data-return-to="/dashboard"`) || strings.Contains(page, "evil.example") {
				t.Fatalf("return_to %q kept", rt)
			}
		}
	})
	t.Run("unknown-reason-not-reflected", func(t *testing.T) {
		_, _, page := browse(t, b, base, stepUpRefusedPath+"?reason=%3Cscript%3Ealert(1)%3C/script%3E")
		if strings.Contains(page, "alert(1)") || strings.Contains(page, `id="stepup-reason"`) ||
			!strings.Contains(page, "did not confirm that it is you") {
			t.Fatal("an unknown reason was reflected")
		}
	})
	t.Run("no-session", func(t *testing.T) {
		anon := ssotest.NewBrowser()
		_, where, _ := browse(t, anon, base, stepUpRefusedPath+"?reason=mfa_not_performed")
		if !strings.HasPrefix(where, "/login") {
			t.Fatalf("without a session the page answered at %s", where)
		}
	})

	otp, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	wrong := "000000"
	if otp == wrong {
		wrong = "111111"
	}
	if code, _ := postJSON(t, b, base, "/mfa/verify", `{"code":"`+wrong+`"}`); code == http.StatusOK {
		t.Fatal("a wrong code was accepted")
	}
	if code, _ := sendJSONPage(t, b, base, "/dashboard"); code != http.StatusForbidden {
		t.Fatalf("/dashboard after a wrong code: %d, want 403", code)
	}
	if code, body := postJSON(t, b, base, "/mfa/verify", `{"code":"`+otp+`"}`); code != http.StatusOK {
		t.Fatalf("verify: %d %v", code, body)
	}
	if status, where, _ := browse(t, b, base, "/dashboard"); status != http.StatusOK || where != "/dashboard" {
		t.Fatalf("after the local factor /dashboard answered %d at %s", status, where)
	}
}

// TestStepUpRefusedWithoutFallback: with the local fallback off, the page
// offers only another try at the IdP; the page shows the session's own
// organization's policy (Globex's member sees Globex's, whatever Acme's
// is).
func TestStepUpRefusedWithoutFallback(t *testing.T) {
	app, base := startDemo(t, "")
	b, _ := refusedStepUp(t, app, base, false)
	_, where, page := browse(t, b, base, "/dashboard")
	if !strings.HasPrefix(where, stepUpRefusedPath+"?") || strings.Contains(page, `id="stepup-totp"`) ||
		!strings.Contains(page, `id="stepup-idp-only"`) || !strings.Contains(page, `id="stepup-retry"`) {
		t.Fatalf("without the fallback the page at %s offered:\n%s", where, page)
	}
	// Another organization's member: Acme's fallback does not reach Globex.
	setMFAPolicy(t, app, "acme", func(m *sso.MFAPolicy) { m.StepUpLocalFallback = true })
	bob, _ := loginAs(t, base, "bob@globex.test")
	enrolTOTP(t, bob, base)
	_, _, page = browse(t, bob, base, stepUpRefusedPath+"?reason=mfa_not_performed&org=org_acme")
	if strings.Contains(page, `id="stepup-totp"`) || strings.Contains(page, `id="stepup-retry"`) {
		t.Fatalf("Globex's member was offered Acme's options:\n%s", page)
	}
}

// refusedStepUp signs alice (whose IdP asserts no MFA) in twice, enrols
// TOTP on the first session, then has Acme require MFA with step-ups at
// its IdP (and the local fallback as given): the second session must step
// up, and its step-up at the IdP will be refused. It returns the second
// session's browser and the TOTP secret.
func refusedStepUp(t *testing.T, app *App, base string, fallback bool) (*ssotest.Browser, string) {
	t.Helper()
	first, _ := loginAs(t, base, "alice@acme.test")
	b, _ := loginAs(t, base, "alice@acme.test")
	secret, _ := enrolTOTP(t, first, base)
	setMFAPolicy(t, app, "acme", func(m *sso.MFAPolicy) {
		m.Required, m.ChangedAt, m.TrustIdPMFA, m.StepUpAtIdP, m.StepUpLocalFallback = true, time.Now(), true, true, fallback
	})
	return b, secret
}

// sendJSONPage GETs path as an API call and returns the status.
func sendJSONPage(t *testing.T, b *ssotest.Browser, base, path string) (int, map[string]any) {
	t.Helper()
	return sendJSON(t, b, http.MethodGet, base, path, "")
}

// lastEventOf returns the newest event of type typ of the organization.
func lastEventOf(t *testing.T, app *App, orgID string, typ string) *sso.Event {
	t.Helper()
	evs, err := app.store.ListEvents(context.Background(), sso.EventQuery{OrgID: orgID, Type: typ, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 {
		return nil
	}
	return evs[len(evs)-1]
}
