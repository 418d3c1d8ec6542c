package sso_test

import (
	"errors"
	"fmt"
	"net/http"
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
