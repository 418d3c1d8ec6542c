package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ssokit/ssokit/sso"
)

// planSignInMethods returns the local sign-in methods plan includes, in
// sso.LocalSignInMethods order.
func planSignInMethods(plan sso.Features) []sso.AuthMethod {
	out := []sso.AuthMethod{}
	for _, m := range sso.LocalSignInMethods() {
		if plan.IncludesSignIn(m) {
			out = append(out, m)
		}
	}
	return out
}

// parseSignInMethods reads the sign_in_methods field of PATCH /org: null
// (every method the plan includes) or a non-empty list of method names the
// plan includes, returned without duplicates in sso.LocalSignInMethods
// order. An administrator cannot allow what the plan lacks.
func parseSignInMethods(raw json.RawMessage, plan sso.Features) ([]sso.AuthMethod, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		return nil, inputErr("sign_in_methods", "give a list of method names, or null for every method your plan includes")
	}
	if len(names) == 0 {
		return nil, inputErr("sign_in_methods", "name at least one method, or send null for every method your plan includes")
	}
	all := sso.LocalSignInMethods()
	for _, n := range names {
		m := sso.AuthMethod(n)
		switch {
		case !slices.Contains(all, m):
			return nil, inputErr("sign_in_methods", fmt.Sprintf("%q is no sign-in method; use %s", truncate(n, 40), methodsString(all)))
		case !plan.IncludesSignIn(m):
			return nil, inputErr("sign_in_methods", fmt.Sprintf("your plan does not include %q; choose from %s", n, methodsString(planSignInMethods(plan))))
		}
	}
	out := []sso.AuthMethod{}
	for _, m := range all {
		if slices.Contains(names, string(m)) {
			out = append(out, m)
		}
	}
	return out, nil
}

// methodsString is a method list as audit details and messages show it;
// nil is "plan" (every method the plan includes).
func methodsString(ms []sso.AuthMethod) string {
	if ms == nil {
		return "plan"
	}
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return strings.Join(s, ",")
}

// truncate bounds an echoed input.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
