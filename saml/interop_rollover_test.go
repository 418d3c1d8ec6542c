package saml_test

import (
	"encoding/base64"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/saml"
)

// TestInteropSimpleSAMLphpKeyRollover: SimpleSAMLphp encrypts assertions
// to whichever SP certificate its copy of the SP metadata names; during a
// key rollover both keys decrypt.
func TestInteropSimpleSAMLphpKeyRollover(t *testing.T) {
	ssp := startSimpleSAMLphp(t)
	cur, next := spKey(t), nextSPKey(t)
	rollover := func(switchAt time.Time) *harness {
		return newHarness(t, func(c *saml.Config) {
			c.AllowInsecureURLs, c.AllowPrivateAddresses, c.Now = true, true, nil
			c.Rollover = &saml.KeyRollover{Next: next.pair(), SwitchAt: switchAt, PublishFor: 2 * time.Hour, RetireAfter: 2 * time.Hour}
		})
	}
	// register gives the IdP the SP metadata as served now, keeping only
	// the KeyDescriptors of keep: the IdP's copy may be older or newer.
	register := func(h *harness, id string, keep *testKey) {
		md := getBody(t, h, "/sso/saml/metadata/"+id)
		for _, k := range []*testKey{cur, next} {
			if k == keep {
				continue
			}
			b64 := regexp.QuoteMeta(base64.StdEncoding.EncodeToString(k.cert.Raw))
			md = regexp.MustCompile(`(?s)<md:KeyDescriptor use="[a-z]+">\s*<ds:KeyInfo>\s*<ds:X509Data>\s*<ds:X509Certificate>`+b64+`</ds:X509Certificate>.*?</md:KeyDescriptor>\s*`).ReplaceAllString(md, "")
		}
		if !strings.Contains(md, base64.StdEncoding.EncodeToString(keep.cert.Raw)) || strings.Count(md, "<md:KeyDescriptor") != 2 {
			t.Fatalf("metadata should hold the kept key only:\n%s", md)
		}
		writeFile(t, filepath.Join(ssp.dir, "sp", id+".enc.xml"), md)
	}

	t.Run("PublishedIdPEncryptsToNext", func(t *testing.T) {
		h := rollover(time.Now().Add(time.Hour))
		c := ssp.configure(h, "ssp_roll_pub", func(s *saml.ConnectionConfig) { s.RequireEncryptedAssertions = true })
		full := getBody(t, h, "/sso/saml/metadata/"+c.ID)
		if strings.Count(full, "<md:KeyDescriptor") != 4 {
			t.Fatalf("published phase metadata should list both keys:\n%s", full)
		}
		register(h, c.ID, next)
		if l := h.expectAccepted(t, spLogin(t, h, h.browser(), c, "/next")); l.Profile.Subject != "alice@example.com" {
			t.Fatalf("profile %+v", l.Profile)
		}
	})
	t.Run("SwitchedIdPStillEncryptsToOld", func(t *testing.T) {
		h := rollover(time.Now().Add(-time.Hour))
		c := ssp.configure(h, "ssp_roll_old", func(s *saml.ConnectionConfig) { s.RequireEncryptedAssertions = true })
		// The IdP still holds the metadata from before the switch.
		md := getBody(t, h, "/sso/saml/metadata/"+c.ID)
		if strings.Contains(md, base64.StdEncoding.EncodeToString(cur.cert.Raw)) {
			t.Fatalf("switched phase metadata still lists the old key:\n%s", md)
		}
		old := strings.ReplaceAll(md, base64.StdEncoding.EncodeToString(next.cert.Raw), base64.StdEncoding.EncodeToString(cur.cert.Raw))
		writeFile(t, filepath.Join(ssp.dir, "sp", c.ID+".enc.xml"), old)
		h.expectAccepted(t, spLogin(t, h, h.browser(), c, "/old"))
	})
	t.Run("RetiredOldKeyRefused", func(t *testing.T) {
		h := rollover(time.Now().Add(-3 * time.Hour))
		c := ssp.configure(h, "ssp_roll_ret", func(s *saml.ConnectionConfig) { s.RequireEncryptedAssertions = true })
		md := getBody(t, h, "/sso/saml/metadata/"+c.ID)
		old := strings.ReplaceAll(md, base64.StdEncoding.EncodeToString(next.cert.Raw), base64.StdEncoding.EncodeToString(cur.cert.Raw))
		writeFile(t, filepath.Join(ssp.dir, "sp", c.ID+".enc.xml"), old)
		h.expectRejected(t, spLogin(t, h, h.browser(), c, "/old"), saml.ReasonDecryptionFailed)
	})
}
