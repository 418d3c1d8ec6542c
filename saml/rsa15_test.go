package saml_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

// TestRSA15KeyTransport: RSA PKCS#1 v1.5 key transport is refused by
// default with a reason naming the algorithm and the opt-in, and accepted
// on a connection that opts in, which its view warns about.
func TestRSA15KeyTransport(t *testing.T) {
	t.Parallel()
	t.Run("RefusedByDefault", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.expectRejected(t, h.login(t, h.conn, func(f *fixture) { f.encrypt, f.rsa15 = "aes256-gcm", true }), saml.ReasonWeakAlgorithm)
		var ve *sso.ValidationError
		if !errorsAs(h.rec.lastFailure().Err, &ve) || !strings.Contains(ve.Detail(), algRSA15) || !strings.Contains(ve.Detail(), "AllowRSA15KeyTransport") {
			t.Fatalf("diagnosis %q does not name the algorithm and the opt-in", ve.Detail())
		}
		if w := h.sp.ConfigView(h.conn).(*saml.ConfigView).Warnings; len(w) != 0 {
			t.Fatalf("warnings %q without the opt-in", w)
		}
	})
	for _, alg := range []string{"aes256-gcm", "aes128-cbc"} {
		t.Run("OptIn/"+alg, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.AllowRSA15KeyTransport = true })
			l := h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) { f.encrypt, f.rsa15 = alg, true }))
			if l.Profile.Subject != "alice@example.com" {
				t.Fatalf("subject %q", l.Profile.Subject)
			}
			v := h.sp.ConfigView(h.conn).(*saml.ConfigView)
			if !v.AllowRSA15KeyTransport || len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "padding-oracle") {
				t.Fatalf("view %+v", v)
			}
		})
	}
	t.Run("OptInStillNeedsTheSPKey", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.AllowRSA15KeyTransport = true })
		h.expectRejected(t, h.login(t, h.conn, func(f *fixture) { f.encrypt, f.rsa15, f.encKey = "aes256-gcm", true, otherKey(t) }),
			saml.ReasonDecryptionFailed)
	})
	t.Run("ConfigureJSON", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		c := &sso.Connection{ID: "c_rsa15", OrgID: "org_a"}
		in, _ := json.Marshal(map[string]any{"idp_entity_id": testIdP, "sso_url": "https://idp.example.com/sso",
			"certificates": []string{certPEM(idpKey(t).cert)}, "allow_rsa15_key_transport": true})
		if _, err := h.sp.ConfigureConnection(context.Background(), c, in); err != nil {
			t.Fatal(err)
		}
		if !saml.ConfigOf(c).AllowRSA15KeyTransport {
			t.Fatal("allow_rsa15_key_transport not applied")
		}
	})
}
