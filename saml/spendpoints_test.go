package saml_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

// ownEndpoints configures c (already stored) with its own SP entity ID and
// ACS URL through Configure, as the admin API does, and stores it.
func (h *harness) ownEndpoints(t testing.TB, c *sso.Connection, entityID, acsURL string) {
	t.Helper()
	in := &saml.ConnectionInput{IdPEntityID: testIdP, SSOURL: "https://idp.example.com/sso",
		Certificates: []string{certPEM(idpKey(t).cert)}, SPEntityID: &entityID, ACSURL: &acsURL}
	if _, err := h.sp.Configure(context.Background(), c, in); err != nil {
		t.Fatalf("configure own endpoints: %v", err)
	}
	if err := h.store.UpdateConnection(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// legacyLogin starts a login for c and posts f (built for the request) to
// acs.
func (h *harness) legacyLogin(t testing.TB, c *sso.Connection, acs string, edit func(f *fixture)) *http.Response {
	id := h.startLogin(t, c.ID)
	f := h.fixtureFor(c, id)
	f.acs, f.audience = h.sp.ACSURLOf(c), h.sp.SPEntityIDOf(c)
	if edit != nil {
		edit(f)
	}
	return postWith(t, h.client, acs, f.encoded(t), "")
}

func TestOwnEndpointsLogin(t *testing.T) {
	h := newHarness(t)
	acs := h.srv.URL + "/sso/saml/legacy/acme/consume"
	h.ownEndpoints(t, h.conn, "urn:legacy:acme", acs)

	// The AuthnRequest carries both.
	resp, err := h.client.Get(h.srv.URL + "/sso/saml/login/" + h.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	req := decodeRedirect(t, loc.Query().Get("SAMLRequest"))
	if got := req.SelectAttrValue("AssertionConsumerServiceURL", ""); got != acs {
		t.Fatalf("AssertionConsumerServiceURL %q, want %q", got, acs)
	}
	if iss := findEl(req, "Issuer"); iss == nil || iss.Text() != "urn:legacy:acme" {
		t.Fatalf("Issuer %v, want urn:legacy:acme", iss)
	}
	// The request cookie is scoped to the connection's own ACS path.
	var cookiePath string
	for _, sc := range resp.Cookies() {
		if strings.HasPrefix(sc.Name, "ssokit_saml_") {
			cookiePath = sc.Path
		}
	}
	if cookiePath != "/sso/saml/legacy/acme/consume" {
		t.Fatalf("request cookie path %q, want the ACS path", cookiePath)
	}

	// The metadata publishes both.
	md := getBody(t, h, "/sso/saml/metadata/"+h.conn.ID)
	if !strings.Contains(md, `entityID="urn:legacy:acme"`) || !strings.Contains(md, `Location="`+acs+`"`) {
		t.Fatalf("metadata lacks the connection's own endpoints:\n%s", md)
	}
	if d := h.sp.SPDetails(h.conn); d.EntityID != "urn:legacy:acme" || d.ACSURL != acs {
		t.Fatalf("SPDetails %+v", d)
	}
	v := h.sp.ConfigView(h.conn).(*saml.ConfigView)
	if v.SPEntityID != "urn:legacy:acme" || v.ACSURL != acs {
		t.Fatalf("ConfigView sp_entity_id %q acs_url %q", v.SPEntityID, v.ACSURL)
	}

	// A full login posted to the legacy path is accepted.
	l := h.expectAccepted(t, h.legacyLogin(t, h.conn, acs, nil))
	if l.Connection.ID != h.conn.ID {
		t.Fatalf("login for %s, want %s", l.Connection.ID, h.conn.ID)
	}
}

func TestOwnEndpointsExtraMount(t *testing.T) {
	var extra string
	h := newHarness(t, func(c *saml.Config) {
		extra = "https://" + c.BaseURL.Host + "/auth/saml2/"
		c.ExtraACSURLs = []string{extra}
	})
	acs := extra + "acme/acs"
	h.ownEndpoints(t, h.conn, "https://legacy.example.com/sp/acme", acs)
	h.expectAccepted(t, h.legacyLogin(t, h.conn, acs, nil))

	// Outside BaseURL and ExtraACSURLs: refused, naming the field.
	c := h.addConn(t, "conn_x", "org_x", func(*saml.ConnectionConfig) {})
	bad := "https://" + h.srv.Listener.Addr().String() + "/elsewhere/acs"
	err := configureEndpoints(h, c, "", bad)
	expectFieldError(t, err, "acs_url", "acs_url_not_mounted")
}

func TestOwnEndpointsAttacks(t *testing.T) {
	h := newHarness(t)
	acsA := h.srv.URL + "/sso/saml/legacy/a/acs"
	acsB := h.srv.URL + "/sso/saml/legacy/b/acs"
	a := h.conn
	h.ownEndpoints(t, a, "urn:legacy:a", acsA)
	b := h.addConn(t, "conn_b", "org_b", func(*saml.ConnectionConfig) {})
	h.ownEndpoints(t, b, "urn:legacy:b", acsB)

	t.Run("ResponseForAPostedToB", func(t *testing.T) {
		// Started at B, but the IdP (trusted by both) answers for A.
		h.rec.reset()
		resp := h.legacyLogin(t, b, acsB, func(f *fixture) { f.acs, f.audience = acsA, "urn:legacy:a" })
		h.expectRejected(t, resp, saml.ReasonDestinationMismatch)
		if f := h.rec.lastFailure(); f.Connection == nil || f.Connection.ID != b.ID {
			t.Fatalf("failure reported for %v, want connection %s", f.Connection, b.ID)
		}
	})
	t.Run("AudienceOfAAtB", func(t *testing.T) {
		// Addressed to B's ACS, but the audience is A's entity ID.
		h.rec.reset()
		resp := h.legacyLogin(t, b, acsB, func(f *fixture) { f.audience = "urn:legacy:a" })
		h.expectRejected(t, resp, saml.ReasonAudienceMismatch)
	})
	t.Run("DefaultEntityIDAtB", func(t *testing.T) {
		// The audience B would have without its own entity ID.
		h.rec.reset()
		resp := h.legacyLogin(t, b, acsB, func(f *fixture) { f.audience = h.sp.EntityID(b.ID) })
		h.expectRejected(t, resp, saml.ReasonAudienceMismatch)
	})
	t.Run("DefaultRouteOfA", func(t *testing.T) {
		// A's default ACS no longer accepts A's responses.
		h.rec.reset()
		resp := h.legacyLogin(t, a, h.sp.ACSURL(a.ID), nil)
		h.expectRejected(t, resp, saml.ReasonDestinationMismatch)
	})
	t.Run("UnknownPath", func(t *testing.T) {
		h.rec.reset()
		resp := h.legacyLogin(t, a, h.srv.URL+"/sso/saml/legacy/c/acs", nil)
		h.expectRejected(t, resp, saml.ReasonUnknownConnection)
	})
	t.Run("Accepted", func(t *testing.T) {
		h.rec.reset()
		if l := h.expectAccepted(t, h.legacyLogin(t, b, acsB, nil)); l.Connection.ID != b.ID {
			t.Fatalf("login for %s, want %s", l.Connection.ID, b.ID)
		}
	})
}

func TestOwnEndpointsValidation(t *testing.T) {
	h := newHarness(t)
	host := h.srv.Listener.Addr().String()
	h.ownEndpoints(t, h.conn, "urn:legacy:a", h.srv.URL+"/sso/saml/legacy/a/acs")
	c := h.addConn(t, "conn_v", "org_v", func(*saml.ConnectionConfig) {})
	other := h.addConn(t, "conn_w", "org_a", func(*saml.ConnectionConfig) {})
	other.Status = sso.ConnectionDraft
	h.ownEndpoints(t, other, "urn:legacy:w", h.srv.URL+"/sso/saml/legacy/w/acs")
	for _, tc := range []struct {
		name, entityID, acs, field, reason string
	}{
		{"EntityIDSpaces", "urn:legacy: a", "", "sp_entity_id", "invalid_sp_entity_id"},
		{"EntityIDRelative", "/sp", "", "sp_entity_id", "invalid_sp_entity_id"},
		{"EntityIDUnderOwnRoutes", h.srv.URL + "/sso/saml/metadata/conn_a", "", "sp_entity_id", "invalid_sp_entity_id"},
		{"ACSPlainHTTP", "", "http://app.example.com/sso/saml/x", "acs_url", "invalid_acs_url"},
		{"ACSQuery", "", h.srv.URL + "/sso/saml/legacy/v?x=1", "acs_url", "invalid_acs_url"},
		{"ACSRelative", "", "/sso/saml/legacy/v", "acs_url", "invalid_acs_url"},
		{"ACSOtherHost", "", "https://other.example.com/sso/saml/legacy/v", "acs_url", "acs_url_not_mounted"},
		{"ACSOutsideMount", "", "https://" + host + "/legacy/v", "acs_url", "acs_url_not_mounted"},
		{"ACSUnderOwnRoutes", "", h.srv.URL + "/sso/saml/acs/conn_a", "acs_url", "invalid_acs_url"},
		{"ACSInUseOtherOrg", "", h.srv.URL + "/sso/saml/legacy/a/acs", "acs_url", "acs_url_in_use"},
		{"ACSInUseDraftSameOrg", "", h.srv.URL + "/sso/saml/legacy/w/acs", "acs_url", "acs_url_in_use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := c
			if tc.name == "ACSInUseDraftSameOrg" {
				target = h.addConn(t, "conn_"+strings.ToLower(tc.name), "org_a", func(*saml.ConnectionConfig) {})
			}
			err := configureEndpoints(h, target, tc.entityID, tc.acs)
			expectFieldError(t, err, tc.field, tc.reason)
			// A connection of the same organization is named; another
			// organization's connection IDs are not shown.
			switch {
			case tc.name == "ACSInUseDraftSameOrg" && !strings.Contains(err.Error(), "connection conn_w"):
				t.Fatalf("conflict %q does not name the connection", err)
			case tc.name == "ACSInUseOtherOrg" && (strings.Contains(err.Error(), "conn_a") || !strings.Contains(err.Error(), "another organization")):
				t.Fatalf("conflict %q names another organization's connection", err)
			}
		})
	}
	// The default values are accepted and stored as "no override".
	if err := configureEndpoints(h, c, h.sp.EntityID(c.ID), h.sp.ACSURL(c.ID)); err != nil {
		t.Fatal(err)
	}
	if cfg := saml.ConfigOf(c); cfg.SPEntityID != "" || cfg.ACSURL != "" {
		t.Fatalf("defaults stored as overrides: %q %q", cfg.SPEntityID, cfg.ACSURL)
	}
	// Re-saving a connection with its own ACS URL is no conflict with itself.
	if err := configureEndpoints(h, h.conn, "urn:legacy:a", h.srv.URL+"/sso/saml/legacy/a/acs"); err != nil {
		t.Fatalf("re-save: %v", err)
	}
}

// configureEndpoints runs Configure with manual IdP fields and the given
// endpoints, without storing.
func configureEndpoints(h *harness, c *sso.Connection, entityID, acs string) error {
	in := &saml.ConnectionInput{IdPEntityID: testIdP, SSOURL: "https://idp.example.com/sso",
		Certificates: []string{certPEM(idpKey(h.t).cert)}}
	if entityID != "" {
		in.SPEntityID = &entityID
	}
	if acs != "" {
		in.ACSURL = &acs
	}
	_, err := h.sp.Configure(context.Background(), c, in)
	return err
}

func expectFieldError(t *testing.T, err error, field, reason string) {
	t.Helper()
	var fe *sso.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v, want a *sso.FieldError for %s", err, field)
	}
	if fe.Field != field || fe.Reason != reason || !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("field %q reason %q (%s), want %q %q", fe.Field, fe.Reason, fe.Message, field, reason)
	}
}

func getBody(t *testing.T, h *harness, path string) string {
	t.Helper()
	resp, err := h.client.Get(h.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
