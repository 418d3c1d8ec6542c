package stack_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/ssotest"
	"github.com/ssokit/ssokit/sso/stack"
)

// TestExplainTakesEachPartsWords checks that Explain gives each failure the
// words of the part that refused it: SAML's and OIDC's reasons, an error
// the IdP sent, login completion's refusals, and the shared ones.
func TestExplainTakesEachPartsWords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err    error
		status int
		title  string
	}{
		{&sso.ValidationError{Protocol: saml.Protocol, Reason: saml.ReasonReplayed}, http.StatusBadRequest, "This sign-in expired"},
		{&sso.ValidationError{Protocol: oidc.Protocol, Reason: oidc.ReasonIdPError, Err: &oidc.IdPError{Code: "access_denied"}},
			http.StatusBadRequest, "Sign-in was cancelled"},
		{&sso.ValidationError{Reason: "membership_suspended", Err: sso.ErrAccessDenied}, http.StatusForbidden, "Your access is suspended"},
		{&sso.ValidationError{Reason: "email_domain_not_verified", Err: sso.ErrAccessDenied}, http.StatusForbidden, "Your email domain is not set up"},
		{fmt.Errorf("sso: acs: %w", sso.ErrRateLimited), http.StatusTooManyRequests, "Too many attempts"},
	} {
		if e := stack.Explain(tc.err); e.Status != tc.status || e.Title != tc.title || e.What == "" || e.Next == "" {
			t.Errorf("Explain(%v) = %+v; want %d %q with what happened and what to do", tc.err, e, tc.status, tc.title)
		}
	}
}

// TestDefaultErrorPageExplainsRefusal signs alice in, suspends her
// membership, and signs her in again through the IdP: with no
// ErrorHandler, the Stack's page says her access is suspended and whom to
// ask, with a 403 and the reference.
func TestDefaultErrorPageExplainsRefusal(t *testing.T) {
	t.Parallel()
	cfg := memStores()
	_, base := start(t, cfg)
	login(t, base, "alice@acme.test")
	ctx := context.Background()
	m, err := cfg.Store.GetMembership(ctx, "org_acme", findUser(t, cfg.Store, "org_acme"))
	if err != nil {
		t.Fatal(err)
	}
	m.Status, m.UpdatedAt = sso.MembershipSuspended, time.Now()
	if err := cfg.Store.UpdateMembership(ctx, m); err != nil {
		t.Fatal(err)
	}
	res, err := ssotest.NewBrowser().LoginByEmail(ctx, base+"/sso/login", "alice@acme.test", "/app/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	page := string(body)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "Your account in this organization is suspended.") ||
		!strings.Contains(page, "Ask your administrator to restore your access.") || !strings.Contains(page, "membership_suspended") {
		t.Fatalf("status %d, page:\n%s\nwant 403 saying the access is suspended and whom to ask", res.StatusCode, page)
	}
}

// findUser returns the ID of the one member of org.
func findUser(t *testing.T, st stack.Store, org string) string {
	t.Helper()
	ms, err := st.ListMembers(context.Background(), org, "", 2)
	if err != nil || len(ms) != 1 {
		t.Fatalf("members of %s: %d, %v; want one", org, len(ms), err)
	}
	return ms[0].UserID
}
