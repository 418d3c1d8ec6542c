package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/ssokit/ssokit/internal/httpjson"
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

// ReasonSignInMethodOff is the audit reason of a session ended because
// PATCH /org with end_sessions turned its sign-in method off.
const ReasonSignInMethodOff = "sign_in_method_turned_off"

// checkEndSessions validates end_sessions before anything is stored: it
// goes with sign_in_methods, and needs a Sessions that can end sessions
// in one organization.
func (h *Handler) checkEndSessions(req *OrgUpdateRequest) error {
	switch {
	case !req.EndSessions:
		return nil
	case req.SignInMethods == nil:
		return inputErr("end_sessions", "send it with sign_in_methods: it ends the sessions of the methods that list turns off")
	case h.revoker == nil:
		return fmt.Errorf("%w: admin: end_sessions needs Config.Sessions to implement sso.OrgSessionRevoker", sso.ErrInvalidConfig)
	}
	return nil
}

// writeOrgEnding ends, when end is set, the sessions of org's members
// signed in with a method org does not allow, and answers with org and
// how many ended.
func (h *Handler) writeOrgEnding(w http.ResponseWriter, r *http.Request, org *sso.Organization, end bool) error {
	v := orgView(org)
	if end {
		n, err := h.endTurnedOff(r.Context(), org)
		if err != nil {
			return fmt.Errorf("admin: the sign-in methods are saved but %d sessions ended before a failure; send the request again: %w", n, err)
		}
		v.EndedSessions = &n
	}
	httpjson.Write(w, http.StatusOK, v)
	return nil
}

// endTurnedOff ends the sessions in org of every member signed in with a
// local method org does not allow (sso.Organization.SignInVerdict), except
// the password sessions of active break-glass members, and returns how
// many it ended. The revoker audits each (ReasonSignInMethodOff and the
// method). Sessions in other organizations are not touched.
func (h *Handler) endTurnedOff(ctx context.Context, org *sso.Organization) (int, error) {
	var off []sso.AuthMethod
	for _, m := range sso.LocalSignInMethods() {
		if org.SignInVerdict(m) != sso.SignInAllowed {
			off = append(off, m)
		}
	}
	if len(off) == 0 {
		return 0, nil
	}
	n, after := 0, ""
	for {
		ms, err := h.cfg.Store.ListMembers(ctx, org.ID, after, 200)
		if err != nil {
			return n, err
		}
		for _, m := range ms {
			methods := off
			if m.BreakGlass && m.Active() {
				methods = slices.DeleteFunc(slices.Clone(off), func(x sso.AuthMethod) bool { return x == sso.AuthPassword })
			}
			if len(methods) == 0 {
				continue
			}
			k, err := h.revoker.RevokeOrgSessions(ctx, org.ID, m.UserID, ReasonSignInMethodOff, methods...)
			n += k
			if err != nil {
				return n, err
			}
		}
		if len(ms) < 200 {
			return n, nil
		}
		after = ms[len(ms)-1].UserID
	}
}
