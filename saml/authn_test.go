package saml_test

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

// startWith starts a login at c with opts, as a host would through
// sso.Starter, gives the harness browser the request cookie and returns the
// AuthnRequest sent to the IdP.
func startWith(t *testing.T, h *harness, c *sso.Connection, opts sso.StartOptions) *etree.Element {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := h.sp.StartLogin(rec, httptest.NewRequest("GET", h.srv.URL+"/sso/saml/login/"+c.ID, nil), c, opts); err != nil {
		t.Fatal(err)
	}
	acs, _ := url.Parse(h.sp.ACSURL(c.ID))
	h.client.Jar.SetCookies(acs, rec.Result().Cookies())
	loc := rec.Result().Header.Get("Location")
	id := authnRequestID(t, loc)
	u, _ := url.Parse(loc)
	req := decodeRedirect(t, u.Query().Get("SAMLRequest"))
	if req.SelectAttrValue("ID", "") != id {
		t.Fatal("request ID mismatch")
	}
	return req
}

// decodeRedirect inflates an HTTP-Redirect binding message.
func decodeRedirect(t *testing.T, v string) *etree.Element {
	t.Helper()
	raw, err := inflateB64(v)
	if err != nil {
		t.Fatal(err)
	}
	return parseDoc(t, raw).Root()
}

// setAuthn sets the assertion's AuthnContextClassRef and AuthnInstant.
func setAuthn(ref string, at time.Time) func(a *etree.Element) {
	return func(a *etree.Element) {
		st := a.SelectElement("AuthnStatement")
		st.SelectAttr("AuthnInstant").Value = ts3339(at)
		st.SelectElement("AuthnContext").SelectElement("AuthnContextClassRef").SetText(ref)
	}
}

const (
	acPassword  = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	acMultiAuth = "http://schemas.microsoft.com/claims/multipleauthn"
)

// TestRequireMFA: a login that requires MFA asks the IdP for it with a
// RequestedAuthnContext and is refused, naming what it wanted and got,
// when the assertion does not say MFA was performed.
func TestRequireMFA(t *testing.T) {
	t.Parallel()
	login := func(t *testing.T, h *harness, c *sso.Connection, ref string) *etree.Element {
		req := startWith(t, h, c, sso.StartOptions{RequireMFA: true})
		f := h.fixtureFor(c, req.SelectAttrValue("ID", ""))
		f.mutate = setAuthn(ref, h.clock())
		h.post(t, c.ID, f.encoded(t), "")
		return req
	}
	t.Run("RequestsDefaults", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		req := login(t, h, h.conn, acMultiAuth)
		rac := req.SelectElement("RequestedAuthnContext")
		if rac == nil || rac.Space != "samlp" || rac.SelectAttrValue("Comparison", "") != "exact" {
			t.Fatalf("RequestedAuthnContext %v", rac)
		}
		var refs []string
		for _, r := range rac.SelectElements("AuthnContextClassRef") {
			refs = append(refs, r.Text())
		}
		if strings.Join(refs, " ") != strings.Join(saml.DefaultMFAAuthnContexts, " ") {
			t.Fatalf("refs %q", refs)
		}
		if l := h.rec.lastLogin(); l == nil || !l.Profile.MFA {
			t.Fatalf("login %+v", l)
		}
	})
	t.Run("RefusedWithoutMFA", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		login(t, h, h.conn, acPassword)
		h.expectRejected(t, nil, saml.ReasonMFANotPerformed)
		var ve *sso.ValidationError
		if !errors.As(h.rec.lastFailure().Err, &ve) || ve.Got != acPassword || !strings.Contains(ve.Want, acMultiAuth) {
			t.Fatalf("diagnosis %s", ve.Detail())
		}
	})
	t.Run("NotRequiredNotRequested", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		req := startWith(t, h, h.conn, sso.StartOptions{})
		if req.SelectElement("RequestedAuthnContext") != nil || req.SelectAttr("ForceAuthn") != nil {
			t.Fatal("a plain login asked for MFA or ForceAuthn")
		}
		f := h.fixtureFor(h.conn, req.SelectAttrValue("ID", ""))
		l := h.expectAccepted(t, h.post(t, h.conn.ID, f.encoded(t), ""))
		if l.Profile.MFA {
			t.Fatal("password login reported as MFA")
		}
	})
	t.Run("ConnectionContexts", func(t *testing.T) {
		t.Parallel()
		const okta = "urn:okta:mfa"
		h := newHarness(t)
		h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) {
			c.MFAAuthnContexts, c.MFAComparison = []string{okta}, "minimum"
		})
		req := login(t, h, h.conn, okta)
		rac := req.SelectElement("RequestedAuthnContext")
		if rac.SelectAttrValue("Comparison", "") != "minimum" || len(rac.SelectElements("AuthnContextClassRef")) != 1 {
			t.Fatalf("RequestedAuthnContext %v", rac)
		}
		if l := h.rec.lastLogin(); l == nil || !l.Profile.MFA {
			t.Fatal("the connection's own MFA context was not accepted")
		}
		// A context the package would count is not one this connection
		// counts: refused.
		login(t, h, h.conn, acMultiAuth)
		if got := sso.ReasonOf(h.rec.lastFailure().Err); got != saml.ReasonMFANotPerformed {
			t.Fatalf("reason %q", got)
		}
	})
}

// TestForceAuthnAndMaxAge: ForceAuthn (and MaxAge, which implies it) is
// sent, and an AuthnInstant from before the request, or older than MaxAge,
// is refused as authn_too_old.
func TestForceAuthnAndMaxAge(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		opts   sso.StartOptions
		age    time.Duration // AuthnInstant before the request
		reason string
	}{
		{"ForceAuthnFresh", sso.StartOptions{ForceAuthn: true}, -10 * time.Second, ""},
		{"ForceAuthnWithinSkew", sso.StartOptions{ForceAuthn: true}, 60 * time.Second, ""},
		{"ForceAuthnReused", sso.StartOptions{ForceAuthn: true}, time.Hour, saml.ReasonAuthnTooOld},
		{"MaxAgeReused", sso.StartOptions{MaxAge: 30 * time.Minute}, time.Hour, saml.ReasonAuthnTooOld},
		{"NoFreshnessAsked", sso.StartOptions{}, 8 * time.Hour, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			req := startWith(t, h, h.conn, c.opts)
			wantForce := c.opts.ForceAuthn || c.opts.MaxAge > 0
			if (req.SelectAttrValue("ForceAuthn", "") == "true") != wantForce {
				t.Fatalf("ForceAuthn attribute %q, want %v", req.SelectAttrValue("ForceAuthn", ""), wantForce)
			}
			f := h.fixtureFor(h.conn, req.SelectAttrValue("ID", ""))
			f.mutate = setAuthn(acPassword, h.clock().Add(-c.age))
			resp := h.post(t, h.conn.ID, f.encoded(t), "")
			if c.reason == "" {
				h.expectAccepted(t, resp)
				return
			}
			h.expectRejected(t, resp, c.reason)
		})
	}
	t.Run("MaxAgeElapsedAtACS", func(t *testing.T) {
		t.Parallel()
		// Authenticated right after the request, but the response arrives
		// later than MaxAge allows.
		h := newHarness(t)
		req := startWith(t, h, h.conn, sso.StartOptions{MaxAge: 2 * time.Minute})
		h.setNow(baseTime.Add(5 * time.Minute))
		f := h.fixtureFor(h.conn, req.SelectAttrValue("ID", ""))
		f.mutate = setAuthn(acPassword, baseTime)
		h.expectRejected(t, h.post(t, h.conn.ID, f.encoded(t), ""), saml.ReasonAuthnTooOld)
	})
}

// TestMFASettingsValidation: the MFA settings are validated with errors
// naming the field, and shown in the view.
func TestMFASettingsValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	base := map[string]any{"idp_entity_id": testIdP, "sso_url": "https://idp.example.com/sso", "certificates": []string{certPEM(idpKey(t).cert)}}
	for field, bad := range map[string]any{
		"mfa_comparison":     "fuzzy",
		"mfa_authn_contexts": []string{"not a uri"},
	} {
		in := map[string]any{field: bad}
		for k, v := range base {
			in[k] = v
		}
		b, _ := json.Marshal(in)
		c := &sso.Connection{ID: "c_mfa", OrgID: "org_a"}
		_, err := h.sp.ConfigureConnection(context.Background(), c, b)
		if !errors.Is(err, sso.ErrInvalidInput) || !strings.Contains(err.Error(), field) {
			t.Fatalf("%s=%v: %v", field, bad, err)
		}
	}
	in := map[string]any{"mfa_authn_contexts": []string{"urn:okta:mfa"}, "mfa_comparison": "better"}
	for k, v := range base {
		in[k] = v
	}
	b, _ := json.Marshal(in)
	c := &sso.Connection{ID: "c_mfa", OrgID: "org_a"}
	if _, err := h.sp.ConfigureConnection(context.Background(), c, b); err != nil {
		t.Fatal(err)
	}
	v := h.sp.ConfigView(c).(*saml.ConfigView)
	if strings.Join(v.MFAAuthnContexts, " ") != "urn:okta:mfa" || v.MFAComparison != "better" || len(v.Warnings) != 1 {
		t.Fatalf("view %+v", v)
	}
	b, _ = json.Marshal(map[string]any{"mfa_authn_contexts": []string{}, "idp_entity_id": testIdP,
		"sso_url": "https://idp.example.com/sso", "certificates": []string{certPEM(idpKey(t).cert)}})
	if _, err := h.sp.ConfigureConnection(context.Background(), c, b); err != nil {
		t.Fatal(err)
	}
	if v := h.sp.ConfigView(c).(*saml.ConfigView); strings.Join(v.MFAAuthnContexts, " ") != strings.Join(saml.DefaultMFAAuthnContexts, " ") {
		t.Fatalf("an empty list did not restore the defaults: %q", v.MFAAuthnContexts)
	}
}

// inflateB64 decodes and inflates an HTTP-Redirect binding value.
func inflateB64(v string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
}
