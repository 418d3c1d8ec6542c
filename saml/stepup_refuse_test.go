package saml_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// refuser is a recorder that also answers refused step-ups
// (sso.StepUpRefuser), as sso/login does with a refusal page.
type refuser struct {
	*recorder
	mu      sync.Mutex
	refused []*sso.StepUp
}

func (c *refuser) RefuseStepUp(w http.ResponseWriter, r *http.Request, su *sso.StepUp, returnTo string, err error) bool {
	c.mu.Lock()
	c.refused = append(c.refused, su)
	c.mu.Unlock()
	http.Redirect(w, r, "/refused?reason="+url.QueryEscape(sso.ReasonOf(err))+"&return_to="+url.QueryEscape(returnTo), http.StatusSeeOther)
	return true
}

// TestStepUpWithoutMFAGoesToRefusalPage: the answer to a step-up at the
// IdP without MFA is refused (and audited as a failure) and, when the
// completer has a refusal page, the browser goes there with the reason
// instead of the error page; a plain login requiring MFA keeps the error
// page, and an answer with MFA completes. The step-up survives each SAML
// store (on PostgreSQL the one-statement consumption once dropped it).
func TestStepUpWithoutMFAGoesToRefusalPage(t *testing.T) {
	t.Parallel()
	for name, store := range map[string]func(t *testing.T) harnessOpt{
		"memory":     func(*testing.T) harnessOpt { return func(*saml.Config) {} },
		"SQLite":     func(t *testing.T) harnessOpt { return withSQLSAML(t, sqlstore.SQLite) },
		"PostgreSQL": func(t *testing.T) harnessOpt { return withSQLSAML(t, sqlstore.Postgres) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testStepUpRefusal(t, store(t))
		})
	}
}

func testStepUpRefusal(t *testing.T, store harnessOpt) {
	var ref *refuser
	h := newHarness(t, store, func(c *saml.Config) {
		ref = &refuser{recorder: c.Completer.(*recorder)}
		c.Completer = ref
	})
	su := func() *sso.StepUp {
		return &sso.StepUp{SessionID: "sess-1", UserID: "u1", OrgID: h.conn.OrgID, ConnectionID: h.conn.ID, MaxAge: 5 * time.Minute, At: h.clock()}
	}
	run := func(opts sso.StartOptions, ref string) *http.Response {
		req := startWith(t, h, h.conn, opts)
		f := h.fixtureFor(h.conn, req.SelectAttrValue("ID", ""))
		f.mutate = setAuthn(ref, h.clock())
		return h.post(t, h.conn.ID, f.encoded(t), "")
	}
	resp := run(sso.StartOptions{RequireMFA: true, ForceAuthn: true, ReturnTo: "/billing", StepUp: su()}, acPassword)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Path != "/refused" || loc.Query().Get("reason") != saml.ReasonMFANotPerformed ||
		loc.Query().Get("return_to") != "/billing" {
		t.Fatalf("step-up without MFA answered %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if len(ref.refused) != 1 || ref.refused[0].SessionID != "sess-1" {
		t.Fatalf("refused step-ups %+v", ref.refused)
	}
	if f := h.rec.lastFailure(); f == nil || sso.ReasonOf(f.Err) != saml.ReasonMFANotPerformed {
		t.Fatalf("failure not audited: %+v", f)
	}
	if n, _ := h.rec.counts(); n != 0 {
		t.Fatal("a refused step-up completed a login")
	}
	// A login that is not a step-up keeps the protocol's error page.
	resp = run(sso.StartOptions{RequireMFA: true}, acPassword)
	if resp.StatusCode == http.StatusSeeOther || len(ref.refused) != 1 {
		t.Fatalf("plain MFA login refused with %d, %d refusals", resp.StatusCode, len(ref.refused))
	}
	// With MFA the step-up completes.
	run(sso.StartOptions{RequireMFA: true, ForceAuthn: true, StepUp: su()}, acMultiAuth)
	if l := h.rec.lastLogin(); l == nil || l.StepUp == nil || l.StepUp.SessionID != "sess-1" {
		t.Fatalf("step-up with MFA: %+v", l)
	}
}
