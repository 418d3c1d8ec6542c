package oidc

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// refusingCompleter is a recCompleter that also answers refused step-ups
// (sso.StepUpRefuser), as sso/login does with a refusal page.
type refusingCompleter struct {
	*recCompleter
	mu      sync.Mutex
	refused []*sso.StepUp
}

func (c *refusingCompleter) RefuseStepUp(w http.ResponseWriter, r *http.Request, su *sso.StepUp, returnTo string, err error) bool {
	c.mu.Lock()
	c.refused = append(c.refused, su)
	c.mu.Unlock()
	http.Redirect(w, r, "/refused?reason="+url.QueryEscape(sso.ReasonOf(err))+"&return_to="+url.QueryEscape(returnTo), http.StatusSeeOther)
	return true
}

func (c *refusingCompleter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.refused)
}

// TestStepUpRefusalPage: the answer to a step-up at the OP without MFA,
// or with a stale auth_time, is refused, audited, and sent to the
// completer's refusal page; a plain MFA login and other failures keep the
// error page.
func TestStepUpRefusalPage(t *testing.T) {
	t.Parallel()
	clk := newClock()
	op := newMockOP(t, clk)
	var ref *refusingCompleter
	h := newHarness(t, clk, func(c *Config) {
		ref = &refusingCompleter{recCompleter: c.Completer.(*recCompleter)}
		c.Completer = ref
	})
	h.addConn(op, "conn_a", "org_a", nil)
	su := &sso.StepUp{SessionID: "sess-1", UserID: "u1", OrgID: "org_a", ConnectionID: "conn_a", MaxAge: 5 * time.Minute, At: clk.Now()}
	stepUp := sso.StartOptions{RequireMFA: true, MaxAge: 5 * time.Minute, ForceAuthn: true, ReturnTo: "/billing", StepUp: su}
	for _, tc := range []struct {
		name   string
		opts   sso.StartOptions
		claims func(c map[string]any)
		reason string
		page   bool
	}{
		{"no-mfa", stepUp, func(c map[string]any) { c["amr"] = []string{"pwd"}; c["auth_time"] = clk.Now().Unix() }, ReasonMFANotPerformed, true},
		{"stale", stepUp, func(c map[string]any) { c["auth_time"] = clk.Now().Add(-time.Hour).Unix() }, ReasonAuthnTooOld, true},
		{"plain-login-no-mfa", sso.StartOptions{RequireMFA: true}, func(c map[string]any) { c["amr"] = []string{"pwd"} }, ReasonMFANotPerformed, false},
		{"step-up-wrong-audience", stepUp, func(c map[string]any) { c["aud"] = "someone-else" }, ReasonAudienceMismatch, false},
	} {
		before := ref.count()
		op.set(func(op *mockOP) { op.claims = tc.claims })
		b := newBrowser(t)
		resp := h.loginOpts(b, "conn_a", tc.opts)
		_, fails := h.comp.counts()
		if fails == 0 || sso.ReasonOf(h.comp.fails[fails-1].Err) != tc.reason {
			t.Fatalf("%s: failure not audited with %s", tc.name, tc.reason)
		}
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if !tc.page {
			if ref.count() != before || loc.Path == "/refused" {
				t.Fatalf("%s: sent to the refusal page", tc.name)
			}
			h.wantReject(resp, tc.reason)
			continue
		}
		if resp.StatusCode != http.StatusSeeOther || loc.Path != "/refused" || loc.Query().Get("reason") != tc.reason ||
			loc.Query().Get("return_to") != "/billing" || ref.count() != before+1 {
			t.Fatalf("%s: answered %d %s", tc.name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if n, _ := h.comp.counts(); n != 0 {
		t.Fatalf("%d logins completed", n)
	}
}
