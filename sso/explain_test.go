package sso_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
)

// TestExplain checks that every shared failure tells the person what
// happened and what to do next, with its status and the stable reason,
// and never the internal cause.
func TestExplain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err    error
		status int
		next   string
	}{
		{fmt.Errorf("login: %w", sso.ErrNotProvisioned), http.StatusForbidden, "Ask your administrator"},
		{fmt.Errorf("login: %w", sso.ErrAccessDenied), http.StatusForbidden, "ask your administrator"},
		{sso.ErrSSORequired, http.StatusForbidden, "continue with single sign-on"},
		{sso.ErrRateLimited, http.StatusTooManyRequests, "Wait a minute"},
		{fmt.Errorf("%w: store down (password=hunter2)", sso.ErrUnavailable), http.StatusServiceUnavailable, "Try again in a few minutes"},
		{sso.ErrExpired, http.StatusBadRequest, "Start signing in again"},
		{&sso.ValidationError{Protocol: "saml", Reason: "audience_mismatch", Err: errors.New("private cause")}, http.StatusBadRequest, "quote the reference"},
		{sso.ErrNotFound, http.StatusNotFound, "Start again from the sign-in page"},
		{sso.ErrInvalidInput, http.StatusBadRequest, "Start again from the sign-in page"},
		{errors.New("nil pointer somewhere"), http.StatusInternalServerError, "mention the time"},
	} {
		e := sso.Explain(tc.err)
		if e.Status != tc.status || e.Title == "" || e.What == "" || !strings.Contains(e.Next, tc.next) || e.Reason != sso.ReasonOf(tc.err) {
			t.Errorf("Explain(%v) = %+v; want status %d, a title, what happened and a next step with %q", tc.err, e, tc.status, tc.next)
		}
		for _, leak := range []string{"hunter2", "private cause", "nil pointer"} {
			if strings.Contains(e.Title+e.What+e.Next+e.Reason, leak) {
				t.Errorf("Explain(%v) leaks %q", tc.err, leak)
			}
		}
	}
}

// TestExplanationPage checks the plain page an Explanation renders: its
// status, every part escaped, and headers that keep it out of caches and
// frames of script.
func TestExplanationPage(t *testing.T) {
	t.Parallel()
	e := sso.Explanation{Status: http.StatusForbidden, Title: "No <b>access</b>", What: "what <script>x</script>", Next: "next step", Reason: "r&d"}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusForbidden || !strings.Contains(body, "next step") || !strings.Contains(body, "r&amp;d") ||
		strings.Contains(body, "<script>") || strings.Contains(body, "<b>") {
		t.Fatalf("status %d, body %s", rec.Code, body)
	}
	for k, want := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
		"Content-Security-Policy": "default-src 'none'", "Content-Type": "text/html; charset=utf-8"} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q; want %q", k, got, want)
		}
	}
}
