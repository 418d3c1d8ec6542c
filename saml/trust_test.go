package saml_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

// syncBuffer is a bytes.Buffer safe for a logger shared by goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func expiredIdPKey(t testing.TB) *testKey {
	return certFor(t, idpKey(t).key, "Expired IdP", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))
}

// TestExpiredPinnedCertificate: a pinned certificate past its NotAfter
// keeps verifying logins (a trust anchor), with a warning in the view, a
// log line and an audit event at most once a day; EnforceCertificateDates
// refuses it with a precise reason.
func TestExpiredPinnedCertificate(t *testing.T) {
	t.Parallel()
	expired := expiredIdPKey(t)
	fp := fingerprintOf(expired.cert)
	t.Run("AcceptedWithWarnings", func(t *testing.T) {
		t.Parallel()
		logs := &syncBuffer{}
		h := newHarness(t, func(c *saml.Config) { c.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
		h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.Certificates = []string{certPEM(expired.cert)} })
		h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) { f.key = expired }))
		h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) { f.key = expired }))
		if n := expiredEvents(t, h); n != 1 {
			t.Fatalf("%d expired-certificate events after two logins, want 1", n)
		}
		if n := strings.Count(logs.String(), "outside its validity period"); n != 1 {
			t.Fatalf("%d warnings logged, want 1:\n%s", n, logs.String())
		}
		if !strings.Contains(logs.String(), fp) {
			t.Fatalf("log does not name the fingerprint:\n%s", logs.String())
		}
		// A day later the warning is given again.
		h.setNow(baseTime.Add(25 * time.Hour))
		h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) { f.key = expired }))
		if n := expiredEvents(t, h); n != 2 {
			t.Fatalf("%d events a day later, want 2", n)
		}
		view := h.sp.ConfigView(h.conn).(*saml.ConfigView)
		if len(view.Warnings) != 1 {
			t.Fatalf("warnings %q, want one", view.Warnings)
		}
		w := view.Warnings[0]
		for _, want := range []string{"CN=Expired IdP", fp, "expired on 2021-01-01T00:00:00Z"} {
			if !strings.Contains(w, want) {
				t.Fatalf("warning %q does not name %q", w, want)
			}
		}
		// Configuring the connection says so too, where the admin sees it.
		details, err := h.sp.Configure(context.Background(), h.conn, &saml.ConnectionInput{IdPEntityID: testIdP,
			SSOURL: "https://idp.example.com/sso", Certificates: []string{certPEM(expired.cert)}})
		if err != nil {
			t.Fatalf("Configure: %v", err)
		}
		if len(details.Warnings) != 1 || !strings.Contains(details.Warnings[0], fp) {
			t.Fatalf("Configure warnings %q, want the expired certificate named", details.Warnings)
		}
	})
	t.Run("Enforced", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) {
			c.Certificates, c.EnforceCertificateDates = []string{certPEM(expired.cert)}, true
		})
		h.expectRejected(t, h.login(t, h.conn, func(f *fixture) { f.key = expired }), saml.ReasonCertificateExpired)
		var ve *sso.ValidationError
		if !errorsAs(h.rec.lastFailure().Err, &ve) || ve.Got != "expired 2021-01-01T00:00:00Z" || !strings.Contains(ve.Detail(), fp) {
			t.Fatalf("diagnosis %s", ve.Detail())
		}
		if n := expiredEvents(t, h); n != 0 {
			t.Fatalf("%d events for a refused login", n)
		}
		view := h.sp.ConfigView(h.conn).(*saml.ConfigView)
		if !view.EnforceCertificateDates || len(view.Warnings) != 1 || !strings.Contains(view.Warnings[0], "refused") {
			t.Fatalf("view %+v", view)
		}
	})
	t.Run("RolloverWithExpiredAndCurrent", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) {
			c.Certificates = []string{certPEM(expired.cert), certPEM(idpKey2(t).cert)}
		})
		h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) { f.key = idpKey2(t) }))
		h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) { f.key = expired }))
		if n := expiredEvents(t, h); n != 1 {
			t.Fatalf("%d events, want 1 (only the expired signer)", n)
		}
		// An attacker's certificate is still refused, naming both pins.
		h.expectRejectedAfter(t, h.login(t, h.conn, func(f *fixture) { f.key = otherKey(t) }), saml.ReasonCertificateUntrusted)
	})
	t.Run("ConfigureJSON", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		c := &sso.Connection{ID: "c_json", OrgID: "org_a"}
		in, _ := json.Marshal(map[string]any{"idp_entity_id": testIdP, "sso_url": "https://idp.example.com/sso",
			"certificates": []string{certPEM(expired.cert)}, "enforce_certificate_dates": true})
		if _, err := h.sp.ConfigureConnection(context.Background(), c, in); err != nil {
			t.Fatal(err)
		}
		if !saml.ConfigOf(c).EnforceCertificateDates {
			t.Fatal("enforce_certificate_dates not applied")
		}
		// Absent keeps the setting; the pinned expired certificate is
		// accepted at configuration time and warned about.
		in, _ = json.Marshal(map[string]any{"idp_entity_id": testIdP, "sso_url": "https://idp.example.com/sso",
			"certificates": []string{certPEM(expired.cert)}})
		if _, err := h.sp.ConfigureConnection(context.Background(), c, in); err != nil {
			t.Fatal(err)
		}
		if !saml.ConfigOf(c).EnforceCertificateDates {
			t.Fatal("absent enforce_certificate_dates changed the setting")
		}
		if _, err := h.sp.ConfigureConnection(context.Background(), c, json.RawMessage(`{"enforce_certificate_date": true}`)); err == nil {
			t.Fatal("a misspelt field was accepted")
		}
	})
}

// TestUntrustedSignerDiagnosis: a response signed by a certificate that is
// not pinned is reported as such, with the pinned fingerprints as want and
// the response's KeyInfo certificate as got.
func TestUntrustedSignerDiagnosis(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.expectRejected(t, h.login(t, h.conn, func(f *fixture) { f.key = idpKey2(t) }), saml.ReasonCertificateUntrusted)
	var ve *sso.ValidationError
	if !errorsAs(h.rec.lastFailure().Err, &ve) {
		t.Fatal("not a ValidationError")
	}
	if ve.Want != fingerprintOf(idpKey(t).cert) || ve.Got != fingerprintOf(idpKey2(t).cert) {
		t.Fatalf("want %q got %q", ve.Want, ve.Got)
	}
	if !strings.Contains(ve.Detail(), "not among the connection's certificates") {
		t.Fatalf("detail %s", ve.Detail())
	}
}

// TestOneLoginExpiredCertificateEnforced: gosaml2's captured OneLogin
// responses signed after their certificate expired are accepted by
// default (TestGosaml2ScenarioSuites) and refused as certificate_expired
// under EnforceCertificateDates.
func TestOneLoginExpiredCertificateEnforced(t *testing.T) {
	t.Parallel()
	s := gosaml2Suites["OneLogin"]
	dir := filepath.Join(moduleDir(t, "github.com/russellhaering/gosaml2"), "providertests", "testdata", s.dir)
	certPEMBytes, err := os.ReadFile(filepath.Join(dir, s.cert))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{22, 94} {
		b, err := os.ReadFile(filepath.Join(dir, "olgn09_response_"+pad2(i)+".b64"))
		if err != nil {
			t.Fatal(err)
		}
		enc := strings.TrimSpace(string(b))
		conn, sp := fixtureSP(t, s.issuer, []string{string(certPEMBytes)}, dir, s.spCert, s.spKey)
		saml.ConfigOf(conn).AllowResponseSignatureOnly = s.responseOnly[i]
		raw := mustB64(t, enc)
		at := responseTime(t, raw)
		if _, _, err := sp.ValidateForTest(conn, s.audience, s.acs, enc, at); err != nil {
			t.Fatalf("%d by default: %v (%s)", i, err, detail(err))
		}
		saml.ConfigOf(conn).EnforceCertificateDates = true
		if _, _, err := sp.ValidateForTest(conn, s.audience, s.acs, enc, at); sso.ReasonOf(err) != saml.ReasonCertificateExpired {
			t.Fatalf("%d enforced: %v (%s)", i, err, detail(err))
		}
	}
}

// expectRejectedAfter is expectRejected for a harness that already
// completed logins: it checks the latest failure only.
func (h *harness) expectRejectedAfter(t testing.TB, resp *http.Response, reason string) {
	t.Helper()
	if resp.StatusCode < 400 {
		t.Fatalf("status %d, want an error status", resp.StatusCode)
	}
	if got := sso.ReasonOf(h.rec.lastFailure().Err); got != reason {
		t.Fatalf("reason %q, want %q", got, reason)
	}
}

func fingerprintOf(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func expiredEvents(t testing.TB, h *harness) int {
	t.Helper()
	evs, err := h.store.ListEvents(context.Background(), sso.EventQuery{OrgID: h.conn.OrgID, Type: saml.EventExpiredCertificateUsed})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}
