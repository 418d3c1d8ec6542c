package saml_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/saml"
)

// TestACSNotPosted opens the ACS with GET, as a reload, a bookmark or an
// IdP that sends its response with the HTTP-Redirect binding would: a 405
// with Allow: POST and a page that says where to start, never a bare 404,
// and no login is attempted.
func TestACSNotPosted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	own := h.addConn(t, "conn_own", "org_a", func(c *saml.ConnectionConfig) {})
	h.ownEndpoints(t, own, "urn:legacy:own", h.srv.URL+"/sso/saml/legacy/own/consume")
	for _, path := range []string{"/sso/saml/acs/" + h.conn.ID, "/sso/saml/acs", "/sso/saml/acs/" + h.conn.ID + "?SAMLResponse=abc",
		"/sso/saml/legacy/own/consume"} {
		res, err := h.srv.Client().Get(h.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != http.MethodPost ||
			!strings.Contains(string(body), "cannot be opened directly") || !strings.Contains(string(body), saml.ReasonNotPosted) {
			t.Errorf("GET %s: status %d, Allow %q, body %s; want 405, POST and the explanation", path, res.StatusCode, res.Header.Get("Allow"), body)
		}
	}
	if n := len(h.errs); n != 4 {
		t.Errorf("%d errors reached the error handler; want 4", n)
	}
	// A path that is no ACS stays a plain 404.
	res, err := h.srv.Client().Get(h.srv.URL + "/sso/saml/nothing-here")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET of an unknown path: status %d; want 404", res.StatusCode)
	}
}
