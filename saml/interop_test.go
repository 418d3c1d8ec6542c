package saml_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

// The interop suite drives real logins against SimpleSAMLphp (installed by
// .ci/install-saml.sh) running under PHP's built-in server on 127.0.0.1.
// It runs only with SSOKIT_TEST_SIMPLESAMLPHP=1.

const sspWWW = "/usr/share/simplesamlphp/www"

type simpleSAMLphp struct {
	dir, base, entityID string
	t                   *testing.T
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, path, content string) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// setIdPKey makes the IdP sign with k (read on every request).
func (s *simpleSAMLphp) setIdPKey(k *testKey) {
	der, err := x509.MarshalPKCS8PrivateKey(k.key)
	if err != nil {
		s.t.Fatal(err)
	}
	writeFile(s.t, filepath.Join(s.dir, "cert", "idp.key"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	writeFile(s.t, filepath.Join(s.dir, "cert", "idp.crt"), certPEM(k.cert))
}

func startSimpleSAMLphp(t *testing.T) *simpleSAMLphp {
	if os.Getenv("SSOKIT_TEST_SIMPLESAMLPHP") != "1" {
		t.Skip("set SSOKIT_TEST_SIMPLESAMLPHP=1 (after .ci/install-saml.sh) to run the SimpleSAMLphp interop suite")
	}
	if _, err := os.Stat(sspWWW); err != nil {
		t.Fatalf("SimpleSAMLphp is not installed (run .ci/install-saml.sh): %v", err)
	}
	port := freePort(t)
	s := &simpleSAMLphp{dir: t.TempDir(), base: fmt.Sprintf("http://127.0.0.1:%d", port), t: t}
	s.entityID = s.base + "/saml2/idp/metadata.php"
	for _, d := range []string{"tmp", "log", "sessions", "sp", "metadata", "cert"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.setIdPKey(idpKey(t))
	writeFile(t, filepath.Join(s.dir, "config.php"), `<?php
require '/etc/simplesamlphp/config.php';
$d = '`+s.dir+`';
$config['baseurlpath'] = '`+s.base+`/';
$config['enable.saml20-idp'] = true;
$config['module.enable'] = ['exampleauth' => true, 'core' => true, 'saml' => true, 'admin' => true];
$config['session.cookie.secure'] = false;
$config['session.cookie.samesite'] = null;
$config['certdir'] = $d.'/cert/';
$config['tempdir'] = $d.'/tmp';
$config['loggingdir'] = $d.'/log';
$config['logging.handler'] = 'stderr';
$config['logging.level'] = SimpleSAML\Logger::WARNING;
$config['store.type'] = 'phpsession';
$config['session.phpsession.savepath'] = $d.'/sessions';
$config['secretsalt'] = 'ssokit-interop-salt-0123456789';
$config['auth.adminpassword'] = 'ssokit-admin';
$config['metadatadir'] = $d.'/metadata/';
$config['metadata.sources'] = [['type' => 'flatfile', 'directory' => $d.'/metadata']];
$config['metadata.sign.enable'] = true;
`)
	writeFile(t, filepath.Join(s.dir, "authsources.php"), `<?php
$config = [
  'admin' => ['core:AdminPassword'],
  'example-userpass' => ['exampleauth:UserPass',
    'alice:wonderland' => ['uid' => ['alice'], 'email' => ['alice@example.com'], 'givenName' => ['Alice'], 'sn' => ['Liddell'], 'groups' => ['eng', 'admins']],
  ],
];
`)
	writeFile(t, filepath.Join(s.dir, "metadata", "saml20-idp-hosted.php"), `<?php
$metadata['`+s.entityID+`'] = [
  'host' => '__DEFAULT__',
  'privatekey' => 'idp.key',
  'certificate' => 'idp.crt',
  'auth' => 'example-userpass',
  'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'saml20.sign.response' => true,
  'saml20.sign.assertion' => true,
  'NameIDFormat' => 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  'authproc' => [100 => ['class' => 'saml:AttributeNameID', 'attribute' => 'email', 'Format' => 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress']],
  'SingleSignOnServiceBinding' => ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST'],
];
`)
	// SPs are registered by dropping ssokit's own SP metadata into sp/;
	// a file named *.enc.xml also asks for encrypted assertions, *.mfa.xml
	// has the IdP assert a multi-factor AuthnContextClassRef.
	writeFile(t, filepath.Join(s.dir, "metadata", "saml20-sp-remote.php"), `<?php
foreach (glob('`+s.dir+`/sp/*.xml') as $f) {
  foreach (\SimpleSAML\Metadata\SAMLParser::parseDescriptorsFile($f) as $e) {
    $m = $e->getMetadata20SP();
    if (str_ends_with($f, '.enc.xml')) { $m['assertion.encryption'] = true; }
    if (str_ends_with($f, '.encid.xml')) { $m['nameid.encryption'] = true; }
    if (str_ends_with($f, '.mfa.xml')) {
      $m['authproc'] = [90 => ['class' => 'saml:AuthnContextClassRef', 'AuthnContextClassRef' => 'https://refeds.org/profile/mfa']];
    }
    $metadata[$m['entityid']] = $m;
  }
}
`)
	cmd := exec.Command("php", "-S", fmt.Sprintf("127.0.0.1:%d", port), "-t", sspWWW)
	cmd.Env = append(os.Environ(), "SIMPLESAMLPHP_CONFIG_DIR="+s.dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, _ := os.Create(filepath.Join(s.dir, "php.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start php: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(s.dir, "php.log"))
			t.Logf("php log (tail):\n%s", tail(string(b), 3000))
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(s.base + "/saml2/idp/metadata.php")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("SimpleSAMLphp did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// register writes the connection's SP metadata, as served by ssokit, into
// the IdP.
func (s *simpleSAMLphp) register(h *harness, c *sso.Connection, encrypted bool) {
	suffix := ".xml"
	if encrypted {
		suffix = ".enc.xml"
	}
	s.registerAs(h, c, suffix)
}

// registerAs registers the connection's SP metadata under a file name
// ending in suffix: ".enc.xml" asks for encrypted assertions, ".encid.xml"
// for encrypted NameIDs.
func (s *simpleSAMLphp) registerAs(h *harness, c *sso.Connection, suffix string) {
	resp, err := h.client.Get(h.srv.URL + "/sso/saml/metadata/" + c.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	writeFile(s.t, filepath.Join(s.dir, "sp", c.ID+suffix), string(b))
}

// configure creates a connection from the IdP's live metadata URL.
func (s *simpleSAMLphp) configure(h *harness, id string, edit func(*saml.ConnectionConfig)) *sso.Connection {
	c := &sso.Connection{ID: id, OrgID: "org_" + id, Protocol: saml.Protocol, Status: sso.ConnectionActive, DisplayName: "SimpleSAMLphp"}
	if _, err := h.sp.Configure(context.Background(), c, &saml.ConnectionInput{MetadataURL: s.base + "/saml2/idp/metadata.php"}); err != nil {
		s.t.Fatalf("configure from metadata URL: %v", err)
	}
	if edit != nil {
		edit(saml.ConfigOf(c))
	}
	if err := h.store.CreateConnection(context.Background(), c); err != nil {
		s.t.Fatal(err)
	}
	return c
}

var (
	reAuthState = regexp.MustCompile(`name="AuthState" value="([^"]+)"`)
	reAction    = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)
	reInput     = regexp.MustCompile(`<input[^>]*name="(SAMLResponse|RelayState)"[^>]*value="([^"]*)"`)
)

// browser follows redirects like a browser and shares the harness jar.
func (h *harness) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Transport: h.client.Transport, Jar: jar, Timeout: 30 * time.Second}
}

func readBody(t *testing.T, resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return string(b)
}

// idpLogin completes the IdP's login form from page and posts the
// resulting SAMLResponse to the SP. It returns the ACS response.
func idpLogin(t *testing.T, b *http.Client, page *http.Response) *http.Response {
	t.Helper()
	body := readBody(t, page)
	m := reAuthState.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no login form at %s: %s", page.Request.URL, tail(body, 500))
	}
	resp, err := b.PostForm(page.Request.URL.String(), url.Values{"username": {"alice"}, "password": {"wonderland"}, "AuthState": {html.UnescapeString(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	return postSAMLForm(t, b, readBody(t, resp))
}

func postSAMLForm(t *testing.T, b *http.Client, body string) *http.Response {
	t.Helper()
	a := reAction.FindStringSubmatch(body)
	if a == nil {
		t.Fatalf("no SAML form: %s", tail(body, 800))
	}
	form := url.Values{}
	for _, in := range reInput.FindAllStringSubmatch(body, -1) {
		form.Set(in[1], html.UnescapeString(in[2]))
	}
	nb := &http.Client{Transport: b.Transport, Jar: b.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := nb.PostForm(html.UnescapeString(a[1]), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// spLogin runs an SP-initiated login through the IdP.
func spLogin(t *testing.T, h *harness, b *http.Client, c *sso.Connection, returnTo string) *http.Response {
	t.Helper()
	resp, err := b.Get(h.srv.URL + "/sso/saml/login/" + c.ID + "?return_to=" + url.QueryEscape(returnTo))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(resp.Header.Get("Content-Type"), "html") && resp.Request.URL.Host == h.srv.Listener.Addr().String() {
		// HTTP-POST binding: an auto-submitting form to the IdP.
		body := readBody(t, resp)
		a := reAction.FindStringSubmatch(body)
		v := regexp.MustCompile(`name="SAMLRequest" value="([^"]*)"`).FindStringSubmatch(body)
		if a == nil || v == nil {
			t.Fatalf("no POST binding form: %s", body)
		}
		resp, err = b.PostForm(html.UnescapeString(a[1]), url.Values{"SAMLRequest": {html.UnescapeString(v[1])}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return idpLogin(t, b, resp)
}

func TestInteropSimpleSAMLphp(t *testing.T) {
	ssp := startSimpleSAMLphp(t)
	h := newHarness(t, func(c *saml.Config) {
		c.AllowInsecureURLs = true
		c.AllowPrivateAddresses = true
		c.Now = nil // real time: the IdP signs with its own clock
	})

	t.Run("SPInitiatedRedirect", func(t *testing.T) {
		c := ssp.configure(h, "ssp_redirect", nil)
		ssp.register(h, c, false)
		resp := spLogin(t, h, h.browser(), c, "/after")
		l := h.expectAccepted(t, resp)
		p := l.Profile
		if p.Subject != "alice@example.com" || p.Email != "alice@example.com" || p.GivenName != "Alice" || p.FamilyName != "Liddell" ||
			len(p.Groups) != 2 || p.Issuer != ssp.entityID || l.ReturnTo != "/after" || p.SessionIndex == "" {
			t.Fatalf("login %+v profile %+v", l, p)
		}
		// SimpleSAMLphp bounds the session (SessionNotOnOrAfter, T-S.27).
		if !p.SessionNotOnOrAfter.After(time.Now()) {
			t.Fatalf("SessionNotOnOrAfter %v, want the IdP's future bound", p.SessionNotOnOrAfter)
		}
	})
	t.Run("SPInitiatedPOST", func(t *testing.T) {
		c := ssp.configure(h, "ssp_post", func(s *saml.ConnectionConfig) { s.SSOBinding = "post"; s.SignAuthnRequests = true })
		ssp.register(h, c, false)
		n, _ := h.rec.counts()
		h.expectAccepted(t, spLogin(t, h, h.browser(), c, "/p"))
		if m, _ := h.rec.counts(); m != n+1 {
			t.Fatalf("logins %d -> %d", n, m)
		}
	})
	t.Run("IdPInitiated", func(t *testing.T) {
		allowed := ssp.configure(h, "ssp_idpinit", func(s *saml.ConnectionConfig) { s.AllowIdPInitiated = true })
		ssp.register(h, allowed, false)
		refused := ssp.configure(h, "ssp_noidpinit", nil)
		ssp.register(h, refused, false)
		b := h.browser()
		start := func(c *sso.Connection, relay string) *http.Response {
			resp, err := b.Get(ssp.base + "/saml2/idp/SSOService.php?spentityid=" + url.QueryEscape(h.sp.EntityID(c.ID)) + "&RelayState=" + url.QueryEscape(relay))
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}
		l := h.expectAccepted(t, idpLogin(t, b, start(allowed, "/dash")))
		if l.ReturnTo != "/dash" || l.Connection.ID != allowed.ID {
			t.Fatalf("login %+v", l)
		}
		// The IdP session exists now, so the second one posts at once.
		n, _ := h.rec.counts()
		resp := postSAMLForm(t, b, readBody(t, start(refused, "https://evil.example")))
		if resp.StatusCode < 400 {
			t.Fatalf("unsolicited response accepted: %d", resp.StatusCode)
		}
		if m, _ := h.rec.counts(); m != n {
			t.Fatal("a profile reached the completion flow")
		}
		if r := sso.ReasonOf(h.rec.lastFailure().Err); r != saml.ReasonUnsolicited {
			t.Fatalf("reason %q", r)
		}
	})
	t.Run("EncryptedAssertion", func(t *testing.T) {
		c := ssp.configure(h, "ssp_enc", func(s *saml.ConnectionConfig) { s.RequireEncryptedAssertions = true })
		ssp.register(h, c, true)
		l := h.expectAccepted(t, spLogin(t, h, h.browser(), c, "/enc"))
		if l.Profile.Subject != "alice@example.com" {
			t.Fatalf("profile %+v", l.Profile)
		}
		// The same IdP without encryption is refused by this connection.
		plain := ssp.configure(h, "ssp_enc_plain", func(s *saml.ConnectionConfig) { s.RequireEncryptedAssertions = true })
		ssp.register(h, plain, false)
		resp := spLogin(t, h, h.browser(), plain, "/")
		if resp.StatusCode < 400 || sso.ReasonOf(h.rec.lastFailure().Err) != saml.ReasonEncryptionRequired {
			t.Fatalf("plaintext: status %d, failure %v", resp.StatusCode, h.rec.lastFailure())
		}
	})
	t.Run("EncryptedNameID", func(t *testing.T) {
		c := ssp.configure(h, "ssp_encid", nil)
		ssp.registerAs(h, c, ".encid.xml")
		l := h.expectAccepted(t, spLogin(t, h, h.browser(), c, "/encid"))
		if l.Profile.Subject != "alice@example.com" || l.Profile.NameIDFormat != saml.NameIDEmail {
			t.Fatalf("profile %+v", l.Profile)
		}
	})
	t.Run("ForceAuthnAndRequireMFA", func(t *testing.T) {
		c := ssp.configure(h, "ssp_fresh", nil)
		ssp.register(h, c, false)
		b := h.browser()
		h.expectAccepted(t, spLogin(t, h, b, c, "/f0"))
		// ForceAuthn: the IdP asks for the password again despite its
		// session, and the fresh AuthnInstant is accepted.
		page := browserStart(t, h, b, c, sso.StartOptions{ForceAuthn: true})
		n, _ := h.rec.counts()
		h.expectAccepted(t, idpLogin(t, b, page))
		if m, _ := h.rec.counts(); m != n+1 {
			t.Fatal("forced re-authentication did not complete")
		}
		// RequireMFA: SimpleSAMLphp's password login does not say MFA, so
		// the login is refused, naming what it got.
		page = browserStart(t, h, b, c, sso.StartOptions{RequireMFA: true})
		body := readBody(t, page)
		if reAuthState.MatchString(body) {
			t.Fatalf("the IdP asked for a login again: %s", tail(body, 300))
		}
		resp := postSAMLForm(t, b, body)
		if resp.StatusCode < 400 || sso.ReasonOf(h.rec.lastFailure().Err) != saml.ReasonMFANotPerformed {
			t.Fatalf("RequireMFA: status %d, failure %v", resp.StatusCode, h.rec.lastFailure())
		}
		if m, _ := h.rec.counts(); m != n+1 {
			t.Fatal("a login without MFA completed")
		}
	})
	t.Run("StepUpAtIdP", func(t *testing.T) {
		// A step-up at the IdP: SimpleSAMLphp asserts a multi-factor
		// AuthnContextClassRef for this SP, authenticates again
		// (ForceAuthn) and the login hands back the step-up binding with
		// the proof login completion checks.
		c := ssp.configure(h, "ssp_stepup", nil)
		ssp.registerAs(h, c, ".mfa.xml")
		b := h.browser()
		h.expectAccepted(t, spLogin(t, h, b, c, "/s0"))
		su := &sso.StepUp{SessionID: "ses_1", UserID: "usr_1", OrgID: c.OrgID, ConnectionID: c.ID, MaxAge: time.Minute,
			At: time.Now().UTC().Truncate(time.Second)}
		page := browserStart(t, h, b, c, sso.StartOptions{RequireMFA: true, MaxAge: time.Minute, ForceAuthn: true, StepUp: su})
		l := h.expectAccepted(t, idpLogin(t, b, page))
		if l.StepUp == nil || *l.StepUp != *su || !l.Profile.MFA || l.Profile.AuthnContext != "https://refeds.org/profile/mfa" ||
			time.Since(l.Profile.AuthTime) > time.Minute {
			t.Fatalf("step-up %+v, context %q, auth time %v", l.StepUp, l.Profile.AuthnContext, l.Profile.AuthTime)
		}
		// A step-up naming another connection never starts.
		other := *su
		other.ConnectionID = "ssp_other"
		if err := h.sp.StartLogin(httptest.NewRecorder(), httptest.NewRequest("GET", "/login/"+c.ID, nil), c,
			sso.StartOptions{RequireMFA: true, StepUp: &other}); !errors.Is(err, sso.ErrStepUpMismatch) {
			t.Fatalf("mismatched step-up start: %v", err)
		}
	})
	t.Run("TestLoginWrongCertificate", func(t *testing.T) {
		// The admin uploaded another certificate than the IdP's: the
		// test login's failure is recorded as a test, naming both.
		c := ssp.configure(h, "ssp_testcert", func(s *saml.ConnectionConfig) { s.Certificates = []string{certPEM(idpKey2(t).cert)} })
		ssp.register(h, c, false)
		b := h.browser()
		page := browserStart(t, h, b, c, sso.StartOptions{Test: true})
		resp := idpLogin(t, b, page)
		fail := h.rec.lastFailure()
		var ve *sso.ValidationError
		if resp.StatusCode < 400 || fail == nil || !fail.Test || fail.Connection.ID != c.ID || !errors.As(fail.Err, &ve) ||
			ve.Reason != saml.ReasonCertificateUntrusted || ve.Want != fingerprintOf(idpKey2(t).cert) || ve.Got != fingerprintOf(idpKey(t).cert) {
			t.Fatalf("status %d, failure %+v", resp.StatusCode, fail)
		}
	})
	t.Run("SignedMetadataRefresh", func(t *testing.T) {
		// SimpleSAMLphp signs its metadata with the IdP key: a refresh
		// verifies it with the pinned certificate; after the IdP moves to
		// a key the connection does not pin, the refresh is refused and
		// the last good metadata stays.
		c := ssp.configure(h, "ssp_mdsig", func(s *saml.ConnectionConfig) { s.RequireSignedMetadata = true })
		ctx := context.Background()
		saml.ConfigOf(c).MetadataExpiresAt = time.Time{}
		if err := h.sp.RefreshConnection(ctx, c); err != nil {
			t.Fatalf("signed metadata refresh: %v", err)
		}
		ssp.setIdPKey(idpKey2(t))
		t.Cleanup(func() { ssp.setIdPKey(idpKey(t)) })
		saml.ConfigOf(c).MetadataExpiresAt = time.Time{}
		if err := h.sp.RefreshConnection(ctx, c); sso.ReasonOf(err) != saml.ReasonMetadataSignature {
			t.Fatalf("metadata signed by an unpinned key: %v", err)
		}
		got, _ := h.store.GetConnection(ctx, c.ID)
		if certs := saml.ConfigOf(got).Certificates; len(certs) != 1 || certs[0] != certPEM(idpKey(t).cert) {
			t.Fatalf("pinned certificates changed: %d", len(certs))
		}
	})
	t.Run("RolloverTwoCerts", func(t *testing.T) {
		// Trust the current and the next certificate, then roll the IdP
		// over to the next key.
		both := ssp.configure(h, "ssp_roll", func(s *saml.ConnectionConfig) {
			s.Certificates = append(s.Certificates, certPEM(idpKey2(t).cert))
		})
		ssp.register(h, both, false)
		oldOnly := ssp.configure(h, "ssp_roll_old", nil)
		ssp.register(h, oldOnly, false)
		h.expectAccepted(t, spLogin(t, h, h.browser(), both, "/r1"))
		ssp.setIdPKey(idpKey2(t))
		t.Cleanup(func() { ssp.setIdPKey(idpKey(t)) })
		n, _ := h.rec.counts()
		h.expectAccepted(t, spLogin(t, h, h.browser(), both, "/r2"))
		if m, _ := h.rec.counts(); m != n+1 {
			t.Fatal("login with the new key did not complete")
		}
		resp := spLogin(t, h, h.browser(), oldOnly, "/r3")
		if resp.StatusCode < 400 || sso.ReasonOf(h.rec.lastFailure().Err) != saml.ReasonCertificateUntrusted {
			t.Fatalf("old-only connection after rollover: status %d, failure %v", resp.StatusCode, h.rec.lastFailure())
		}
	})
	t.Run("ExpiredPinnedCertificate", func(t *testing.T) {
		// The IdP keeps signing with its expired self-signed certificate,
		// which its metadata publishes: the pinned key is trusted, and a
		// connection that enforces certificate dates refuses it.
		expired := certFor(t, idpKey(t).key, "SimpleSAMLphp expired", time.Now().AddDate(-3, 0, 0), time.Now().AddDate(-1, 0, 0))
		ssp.setIdPKey(expired)
		t.Cleanup(func() { ssp.setIdPKey(idpKey(t)) })
		lenient := ssp.configure(h, "ssp_expired", nil)
		ssp.register(h, lenient, false)
		strict := ssp.configure(h, "ssp_expired_strict", func(s *saml.ConnectionConfig) { s.EnforceCertificateDates = true })
		ssp.register(h, strict, false)
		if w := h.sp.ConfigView(lenient).(*saml.ConfigView).Warnings; len(w) != 1 || !strings.Contains(w[0], "expired on") {
			t.Fatalf("warnings %q", w)
		}
		n, _ := h.rec.counts()
		h.expectAccepted(t, spLogin(t, h, h.browser(), lenient, "/x1"))
		if m, _ := h.rec.counts(); m != n+1 {
			t.Fatal("login with the expired pinned key did not complete")
		}
		resp := spLogin(t, h, h.browser(), strict, "/x2")
		if resp.StatusCode < 400 || sso.ReasonOf(h.rec.lastFailure().Err) != saml.ReasonCertificateExpired {
			t.Fatalf("enforced: status %d, failure %v", resp.StatusCode, h.rec.lastFailure())
		}
	})
}

// browserStart starts a login at c with opts through sso.Starter, as a host
// does, hands b the request cookie and follows the redirect to the IdP.
func browserStart(t *testing.T, h *harness, b *http.Client, c *sso.Connection, opts sso.StartOptions) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := h.sp.StartLogin(rec, httptest.NewRequest("GET", h.srv.URL+"/sso/saml/login/"+c.ID, nil), c, opts); err != nil {
		t.Fatal(err)
	}
	acs, _ := url.Parse(h.sp.ACSURL(c.ID))
	b.Jar.SetCookies(acs, rec.Result().Cookies())
	resp, err := b.Get(rec.Result().Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
