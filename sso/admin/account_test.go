package admin_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/store/memstore"
)

// TestAccountOrgs: a user creates an organization and becomes its owner;
// the list shows only the caller's own organizations; a taken slug and a
// bad one are refused; no user, no answer.
func TestAccountOrgs(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	trail, _ := audit.New(audit.Config{Store: st})
	acct, err := admin.NewAccount(admin.AccountConfig{Store: st, Auditor: trail, User: func(r *http.Request) (string, error) {
		if u := r.Header.Get("X-Test-User"); u != "" {
			return u, nil
		}
		return "", errors.New("no session")
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"usr_ann", "usr_ben"} {
		if err := st.CreateUser(ctx, &sso.User{ID: id, Email: id + "@x.example", EmailVerified: true}); err != nil {
			t.Fatal(err)
		}
	}
	do := func(user, method, body string) (int, string) {
		r := httptest.NewRequest(method, "/orgs", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if user != "" {
			r.Header.Set("X-Test-User", user)
		}
		w := httptest.NewRecorder()
		acct.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	code, body := do("usr_ann", "POST", `{"slug":"anns-co","name":"Ann's Co"}`)
	if code != http.StatusCreated || !strings.Contains(body, `"slug":"anns-co"`) {
		t.Fatalf("create: %d %s", code, body)
	}
	o, err := st.GetOrgBySlug(ctx, "anns-co")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := st.GetMembership(ctx, o.ID, "usr_ann"); err != nil || !m.HasRole(admin.RoleOwner) || !m.HasRole("admin") || !m.Active() {
		t.Errorf("creator's membership: %+v, %v", m, err)
	}
	if evs, _ := st.ListEvents(ctx, sso.EventQuery{OrgID: o.ID, Type: admin.EventOrgCreated}); len(evs) != 1 || evs[0].Actor.ID != "usr_ann" {
		t.Errorf("org.created events: %+v", evs)
	}
	if code, body := do("usr_ben", "POST", `{"slug":"anns-co","name":"Copy"}`); code != http.StatusConflict || !strings.Contains(body, "slug_taken") {
		t.Errorf("taken slug: %d %s", code, body)
	}
	if code, body := do("usr_ben", "POST", `{"slug":"Bad Slug!","name":"x"}`); code != http.StatusBadRequest || !strings.Contains(body, `"field":"slug"`) {
		t.Errorf("bad slug: %d %s", code, body)
	}
	if code, body := do("usr_ann", "GET", ""); code != http.StatusOK || !strings.Contains(body, `"anns-co"`) || !strings.Contains(body, `"owner"`) {
		t.Errorf("ann's orgs: %d %s", code, body)
	}
	if code, body := do("usr_ben", "GET", ""); code != http.StatusOK || strings.Contains(body, "anns-co") {
		t.Errorf("ben's orgs show ann's: %d %s", code, body)
	}
	if code, _ := do("", "GET", ""); code != http.StatusUnauthorized {
		t.Errorf("no session: %d, want 401", code)
	}
}
