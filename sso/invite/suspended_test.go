package invite_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/invite"
)

// TestAcceptBySuspendedMember: an invitation cannot restore a suspended
// membership, so accepting one into an organization that suspended the
// invited user is refused on a page saying so and what to do (not "You
// joined", after which signing in fails), the membership is left as it
// was (no invited role added to it), and the invitation stays usable:
// once an admin reactivates the member, accepting it adds its roles.
// This holds for a signed-in user, for one without a session whose only
// membership is the suspended one, and for WayIn and Enter.
func TestAcceptBySuspendedMember(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv func(t *testing.T) *env) {
		e := newEnv(t)
		e.user("usr_sus", "sus@acme.example", true)
		if err := e.ms.CreateMembership(ctx, &sso.Membership{OrgID: "org_acme", UserID: "usr_sus", Roles: []string{"member"},
			Status: sso.MembershipSuspended, Source: sso.SourceAdmin}); err != nil {
			t.Fatal(err)
		}
		inv, err := e.m.Invite(ctx, "org_acme", "sus@acme.example", []string{"admin"})
		if err != nil {
			t.Fatal(err)
		}
		tok := e.token("sus@acme.example")
		unchanged := func(what string) {
			t.Helper()
			mem, err := e.ms.GetMembership(ctx, "org_acme", "usr_sus")
			if err != nil || mem.Active() || mem.HasRole("admin") {
				t.Errorf("%s: membership %+v, %v; want it suspended without the invited role", what, mem, err)
			}
			if got, err := e.m.Pending(ctx, "org_acme", inv.ID); err != nil || got.Status != invite.StatusPending {
				t.Errorf("%s: invitation %+v, %v; want it pending", what, got, err)
			}
		}
		for _, userID := range []string{"usr_sus", ""} {
			_, _, err := e.m.Accept(ctx, tok, userID)
			wantReason(t, "accept by a suspended member (session "+userID+")", err, invite.ReasonMembershipInactive)
			unchanged("after accept (session " + userID + ")")
		}
		way, err := e.m.WayIn(ctx, "sus@acme.example")
		if err != nil || way.Invitation == nil {
			t.Fatalf("way in: %+v, %v", way, err)
		}
		_, err = e.m.Enter(ctx, way, &sso.User{ID: "usr_sus", Email: "sus@acme.example", EmailVerified: true})
		wantReason(t, "enter by a suspended member", err, invite.ReasonMembershipInactive)
		unchanged("after enter")

		r := httptest.NewRequest("POST", "https://app.acme.example/accept", strings.NewReader(url.Values{"token": {tok}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		w := httptest.NewRecorder()
		e.m.ServeHTTP(w, r)
		if body := w.Body.String(); w.Code != http.StatusForbidden || !strings.Contains(body, "suspended") || strings.Contains(body, "You joined") {
			t.Errorf("accept page: %d %s; want 403 saying the membership is suspended", w.Code, body)
		}
		if evs := e.events("org_acme", invite.EventAcceptRefused); !slices.ContainsFunc(evs, func(ev *sso.Event) bool {
			return ev.Reason == invite.ReasonMembershipInactive
		}) {
			t.Errorf("no refused-accept event with reason %s: %+v", invite.ReasonMembershipInactive, evs)
		}

		if _, err := sso.EditMembership(ctx, e.ms, &sso.MembershipEdit{OrgID: "org_acme", UserID: "usr_sus", Edit: func(m *sso.Membership) error {
			m.Status = sso.MembershipActive
			return nil
		}}); err != nil {
			t.Fatal(err)
		}
		_, mem, err := e.m.Accept(ctx, tok, "usr_sus")
		if err != nil || !mem.Active() || !mem.HasRole("admin") || !mem.HasRole("member") {
			t.Errorf("accept after reactivation: %+v, %v; want an active member and admin", mem, err)
		}
	})
}
