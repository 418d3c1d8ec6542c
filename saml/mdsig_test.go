package saml_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

// signedMetadata is idpMetadata signed on its root by k.
func signedMetadata(t testing.TB, k *testKey, ssoLocation string, certs ...string) string {
	d := etree.NewDocument()
	if err := d.ReadFromString(idpMetadata(ssoLocation, certs...)); err != nil {
		t.Fatal(err)
	}
	root := d.Root()
	root.CreateAttr("ID", "_md1")
	signed := signWith(t, root, k, false, false)
	out := etree.NewDocument()
	out.SetRoot(signed)
	s, err := out.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMetadataSignature: signed metadata must verify with the pinned
// certificates; a bad signature is refused and leaves the connection as it
// was; unsigned metadata is accepted unless RequireSignedMetadata.
func TestMetadataSignature(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	configure := func(h *harness, md string) error {
		c, _ := h.store.GetConnection(ctx, h.conn.ID)
		_, err := h.sp.Configure(ctx, c, &saml.ConnectionInput{MetadataXML: md})
		if err == nil {
			saml.ConfigOf(h.conn).SSOURL = saml.ConfigOf(c).SSOURL
		}
		return err
	}
	t.Run("SignedByPinned", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		if err := configure(h, signedMetadata(t, idpKey(t), "https://idp.example.com/new", certB64(idpKey(t)))); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("SignedByExpiredPinned", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		expired := expiredIdPKey(t)
		h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.Certificates = []string{certPEM(expired.cert)} })
		if err := configure(h, signedMetadata(t, expired, "https://idp.example.com/new", certB64(expired))); err != nil {
			t.Fatal(err)
		}
	})
	for name, md := range map[string]func(t *testing.T) string{
		"SignedByOtherKey": func(t *testing.T) string {
			return signedMetadata(t, otherKey(t), "https://evil.example/sso", certB64(otherKey(t)))
		},
		"ChangedAfterSigning": func(t *testing.T) string {
			return strings.Replace(signedMetadata(t, idpKey(t), "https://idp.example.com/new", certB64(idpKey(t))),
				"https://idp.example.com/new", "https://evil.example/sso", 1)
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			err := configure(h, md(t))
			if !errors.Is(err, sso.ErrInvalidInput) || sso.ReasonOf(err) != saml.ReasonMetadataSignature {
				t.Fatalf("err %v (reason %q), want %s", err, sso.ReasonOf(err), saml.ReasonMetadataSignature)
			}
			var ve *sso.ValidationError
			if !errors.As(err, &ve) || !strings.Contains(ve.Detail(), fingerprintOf(idpKey(t).cert)) {
				t.Fatalf("diagnosis does not name the pinned fingerprint: %v", err)
			}
		})
	}
	t.Run("NewConnectionSigned", func(t *testing.T) {
		t.Parallel()
		// Nothing pinned yet: the certificates it publishes are pinned.
		h := newHarness(t)
		c := &sso.Connection{ID: "c_new", OrgID: "org_a"}
		if _, err := h.sp.Configure(ctx, c, &saml.ConnectionInput{MetadataXML: signedMetadata(t, idpKey2(t), "https://idp.example.com/sso", certB64(idpKey2(t)))}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("RepinWithCertificates", func(t *testing.T) {
		t.Parallel()
		// Replacing the IdP: its certificate given alongside its metadata.
		h := newHarness(t)
		c, _ := h.store.GetConnection(ctx, h.conn.ID)
		if _, err := h.sp.Configure(ctx, c, &saml.ConnectionInput{Certificates: []string{certPEM(idpKey2(t).cert)},
			MetadataXML: signedMetadata(t, idpKey2(t), "https://idp2.example.com/sso", certB64(idpKey2(t)))}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("RequireSignedMetadata", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		c, _ := h.store.GetConnection(ctx, h.conn.ID)
		yes := true
		_, err := h.sp.Configure(ctx, c, &saml.ConnectionInput{MetadataXML: idpMetadata("https://idp.example.com/sso", certB64(idpKey(t))), RequireSignedMetadata: &yes})
		var ve *sso.ValidationError
		if !errors.Is(err, sso.ErrInvalidInput) || !errors.As(err, &ve) || ve.Reason != saml.ReasonMetadataUnsigned || !strings.Contains(ve.Detail(), "require_signed_metadata") {
			t.Fatalf("unsigned with opt-in: %v", err)
		}
		if _, err := h.sp.Configure(ctx, c, &saml.ConnectionInput{MetadataXML: signedMetadata(t, idpKey(t), "https://idp.example.com/sso", certB64(idpKey(t))), RequireSignedMetadata: &yes}); err != nil {
			t.Fatal(err)
		}
		if !saml.ConfigOf(c).RequireSignedMetadata || !h.sp.ConfigView(c).(*saml.ConfigView).RequireSignedMetadata {
			t.Fatal("opt-in not stored or shown")
		}
		// Unsigned without the opt-in: accepted.
		h2 := newHarness(t)
		if err := configure(h2, idpMetadata("https://idp.example.com/sso", certB64(idpKey(t)))); err != nil {
			t.Fatal(err)
		}
	})
}

// TestMetadataSignatureRefresh: a refresh that fetches badly signed
// metadata keeps the last good copy and records the failure.
func TestMetadataSignatureRefresh(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	body := ""
	idp := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_, _ = w.Write([]byte(body))
	}))
	defer idp.Close()
	set := func(s string) { mu.Lock(); body = s; mu.Unlock() }
	h := newHarness(t, func(c *saml.Config) { c.AllowPrivateAddresses = true; c.HTTPClient = idp.Client() })
	ctx := context.Background()
	h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.MetadataURL = idp.URL })
	set(signedMetadata(t, idpKey(t), "https://idp.example.com/sso2", certB64(idpKey(t)), certB64(idpKey2(t))))
	if err := h.sp.RefreshConnection(ctx, h.conn); err != nil {
		t.Fatalf("signed refresh: %v", err)
	}
	if got := saml.ConfigOf(h.conn); got.SSOURL != "https://idp.example.com/sso2" || len(got.Certificates) != 2 {
		t.Fatalf("after refresh %+v", got)
	}
	// An attacker's metadata, signed with its own key, is refused.
	set(signedMetadata(t, otherKey(t), "https://evil.example/sso", certB64(otherKey(t))))
	h.setNow(baseTime.Add(2 * time.Hour))
	c, _ := h.store.GetConnection(ctx, h.conn.ID)
	if err := h.sp.RefreshConnection(ctx, c); sso.ReasonOf(err) != saml.ReasonMetadataSignature {
		t.Fatalf("bad signature refresh: %v", err)
	}
	got, _ := h.store.GetConnection(ctx, h.conn.ID)
	if saml.ConfigOf(got).SSOURL != "https://idp.example.com/sso2" || len(saml.ConfigOf(got).Certificates) != 2 {
		t.Fatalf("last good metadata lost: %+v", saml.ConfigOf(got))
	}
	if m, err := h.saml.GetMetadata(ctx, h.conn.ID); err != nil || m.LastError != saml.ReasonMetadataSignature {
		t.Fatalf("cache %+v %v", m, err)
	}
}
