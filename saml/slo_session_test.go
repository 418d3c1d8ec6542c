package saml_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// TestTS26_IdPLogoutEndsRealSession drives an IdP-initiated logout through
// the real session manager on the harness's memstore: the session the
// connection opened for the NameID and SessionIndex ends (its cookie stops
// working) and the LogoutResponse says Success; the same user's session of
// another SessionIndex, and a session of another connection, survive.
func TestTS26_IdPLogoutEndsRealSession(t *testing.T) {
	// The manager needs the harness's store, which exists only after the SP.
	late := &lateEnder{}
	h := newHarness(t, withSessions(late))
	mgr, err := session.New(session.Config{Store: h.store, Events: h.store, Now: h.clock})
	if err != nil {
		t.Fatal(err)
	}
	late.IdPSessionEnder = mgr
	issue := func(conn, idx string) *http.Cookie {
		rec := httptest.NewRecorder()
		if _, err := mgr.Issue(rec, httptest.NewRequest("POST", "/", nil), &sso.SessionGrant{UserID: "usr_alice", OrgID: "org_a",
			ConnectionID: conn, Method: sso.AuthMethod("saml"), IdPSubject: "alice@example.com", IdPSessionIndex: idx}); err != nil {
			t.Fatal(err)
		}
		return rec.Result().Cookies()[0]
	}
	live := func(c *http.Cookie) bool {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(c)
		_, err := mgr.Current(r)
		return err == nil
	}
	named, other, foreign := issue(h.conn.ID, "_sess1"), issue(h.conn.ID, "_sess2"), issue("conn_other", "_sess1")

	top, sub := logoutStatusOf(t, h.sloRedirect(t, h.logoutDoc(t, nil)))
	if top != "urn:oasis:names:tc:SAML:2.0:status:Success" || sub != "" {
		t.Fatalf("status %s / %s, want Success", top, sub)
	}
	if live(named) || !live(other) || !live(foreign) {
		t.Fatalf("after logout: named %v, other index %v, other connection %v; want only the named one ended",
			live(named), live(other), live(foreign))
	}
	// Nothing left to end for that index: PartialLogout, not a false Success.
	top, sub = logoutStatusOf(t, h.sloRedirect(t, h.logoutDoc(t, nil)))
	if top != "urn:oasis:names:tc:SAML:2.0:status:Success" || sub != "urn:oasis:names:tc:SAML:2.0:status:PartialLogout" {
		t.Fatalf("second logout: %s / %s, want Success + PartialLogout", top, sub)
	}
}

// lateEnder forwards to an IdPSessionEnder set after the SP was built.
type lateEnder struct{ sso.IdPSessionEnder }
