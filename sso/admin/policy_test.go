package admin_test

import (
	"net/http"
	"testing"

	"github.com/ssokit/ssokit/sso/admin"
)

// TestTX11_RequireAdminGuardsEveryRoute: the RequireAdmin middleware (the
// host's MFA and recent-auth policy) runs, in order, before every route a
// tenant admin calls, including unknown ones, and a refusal stops the
// route; the operator credential is not a member session and skips it.
func TestTX11_RequireAdminGuardsEveryRoute(t *testing.T) {
	var order []string
	refuse := true
	step := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				order = append(order, name)
				if name == "mfa" && refuse {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusForbidden)
					_, _ = w.Write([]byte(`{"error":"mfa_verification_required"}`))
					return
				}
				next.ServeHTTP(w, r)
			})
		}
	}
	f := newFixture(t, func(c *admin.Config) { c.RequireAdmin = []func(http.Handler) http.Handler{step("recent"), step("mfa")} })
	for _, rt := range []struct{ method, path, body string }{
		{"GET", "/connections", ""},
		{"POST", "/scim-tokens", `{"description":"x"}`},
		{"PUT", "/enforcement", `{"enforced":false}`},
		{"GET", "/audit/export", ""},
		{"GET", "/no-such-route", ""},
	} {
		order = nil
		code, body := f.json(f.orgA, rt.method, rt.path, rt.body)
		if code != http.StatusForbidden || body["error"] != "mfa_verification_required" {
			t.Fatalf("%s %s: %d %v, want the policy's 403", rt.method, rt.path, code, body)
		}
		if len(order) != 2 || order[0] != "recent" || order[1] != "mfa" {
			t.Fatalf("%s %s: middleware ran %v, want [recent mfa]", rt.method, rt.path, order)
		}
	}
	if toks, _ := f.st.ListSCIMTokens(ctx, f.orgA.ID); len(toks) != 0 {
		t.Fatal("a refused request minted a SCIM token")
	}
	refuse = false
	if code, _ := f.json(f.orgA, "GET", "/connections", ""); code != http.StatusOK {
		t.Fatalf("policy satisfied: %d, want 200", code)
	}
	refuse, order = true, nil
	req, _ := http.NewRequest("GET", f.srv.URL+"/admin/sso/connections", nil)
	req.Header.Set("X-Test-Auth", "operator")
	req.Header.Set("X-Test-Org", f.orgA.ID)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || len(order) != 0 {
		t.Fatalf("operator: %d, middleware %v; want 200 without member policy", res.StatusCode, order)
	}
}
