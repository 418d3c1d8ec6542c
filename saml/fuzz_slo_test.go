package saml_test

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

// sloSP is the SP FuzzSLORedirect sends to, with a fixed clock and an
// OnLogout hook that records what it was asked to end. It is rebuilt after
// every logout it acts on, so that the signed seed is not a replay.
type sloSP struct {
	mu    sync.Mutex
	sp    *saml.SP
	conn  *sso.Connection
	ended []string
}

func (c *sloSP) get(t testing.TB) (*saml.SP, *sso.Connection) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sp == nil || len(c.ended) > 0 {
		now := func() time.Time { return baseTime }
		st := memstore.New(memstore.WithClock(now))
		// No SLO URL: the SP answers 204 instead of signing a response.
		c.conn = &sso.Connection{ID: "conn_f", OrgID: "org_f", Protocol: saml.Protocol, Status: sso.ConnectionActive,
			Config: &saml.ConnectionConfig{IdPEntityID: testIdP, SSOURL: "https://idp.example.com/sso", Certificates: []string{certPEM(idpKey(t).cert)}}}
		if err := st.CreateConnection(context.Background(), c.conn); err != nil {
			t.Fatal(err)
		}
		sp, err := saml.New(saml.Config{BaseURL: &url.URL{Scheme: "https", Host: "sp.example.com"}, Connections: st, Store: memsaml.New(st),
			Completer: &recorder{}, Now: now, Logger: discardLogger(),
			OnLogout: func(ctx context.Context, req *saml.LogoutRequest) error {
				c.mu.Lock() // called from ServeHTTP, outside get
				defer c.mu.Unlock()
				c.ended = append(c.ended, req.NameID)
				return nil
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusBadRequest) }})
		if err != nil {
			t.Fatal(err)
		}
		c.sp, c.ended = sp, nil
	}
	return c.sp, c.conn
}

// endedNameIDs returns the NameIDs the SP ended sessions for since it was
// built (the next get builds a fresh SP when there are any).
func (c *sloSP) endedNameIDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ended...)
}

// verifiedNameID is FuzzSLORedirect's oracle, independent of the SP: the
// NameID of rawQuery's SAMLRequest when its exactly spelled binding
// parameters, each present once, carry a valid RSA-SHA256 signature of pub
// over their values as received (SAML Bindings 3.4.4.1).
func verifiedNameID(rawQuery string, pub *rsa.PublicKey) (string, bool) {
	vals, counts := map[string]string{}, map[string]int{}
	for _, kv := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		vals[k] = v
		counts[k]++
	}
	for _, p := range []string{"SAMLRequest", "RelayState", "SigAlg", "Signature"} {
		if counts[p] > 1 {
			return "", false
		}
	}
	if counts["SAMLRequest"] != 1 || counts["SAMLResponse"] != 0 || counts["SigAlg"] != 1 || counts["Signature"] != 1 {
		return "", false
	}
	octets := "SAMLRequest=" + vals["SAMLRequest"]
	if counts["RelayState"] == 1 {
		octets += "&RelayState=" + vals["RelayState"]
	}
	octets += "&SigAlg=" + vals["SigAlg"]
	alg, err1 := url.QueryUnescape(vals["SigAlg"])
	sigB64, err2 := url.QueryUnescape(vals["Signature"])
	sig, err3 := base64.StdEncoding.DecodeString(sigB64)
	sum := sha256.Sum256([]byte(octets))
	if err1 != nil || err2 != nil || err3 != nil || alg != "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" ||
		rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return "", false
	}
	msgB64, err := url.QueryUnescape(vals["SAMLRequest"])
	if err != nil {
		return "", false
	}
	deflated, err := base64.StdEncoding.DecodeString(msgB64)
	if err != nil {
		return "", false
	}
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(deflated)), 1<<20))
	doc := etree.NewDocument()
	if err != nil || doc.ReadFromBytes(raw) != nil || doc.Root() == nil || doc.Root().SelectElement("NameID") == nil {
		return "", false
	}
	return strings.TrimSpace(doc.Root().SelectElement("NameID").Text()), true
}

// FuzzSLORedirect fuzzes the raw query string of the HTTP-Redirect binding
// at the SLO endpoint: parameter splitting, signature verification,
// base64, inflation and parsing. Invariant: the SP ends a session only for
// the NameID of a message the IdP's key signed, as the oracle
// verifiedNameID reads it from the same query; it never panics. Seeds: a
// validly signed query and smuggling variants of it (T-S.25).
func FuzzSLORedirect(f *testing.F) {
	ss := &sloSP{}
	sp, conn := ss.get(f)
	signed := redirectQuery(f, logoutRequestFor(f, sp.SLOURL(conn.ID), baseTime, "alice@example.com", false), idpKey(f).key)
	forgedDoc := logoutRequestFor(f, sp.SLOURL(conn.ID), baseTime, "victim@example.com", false)
	b, err := forgedDoc.WriteToBytes()
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	_, _ = fw.Write(b)
	_ = fw.Close()
	forged := url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes()))
	for _, q := range []string{
		signed,
		"SAML%52equest=" + forged + "&" + signed,
		signed + "&SAMLRequest=" + forged,
		"samlrequest=" + forged + "&" + signed,
		strings.Replace(signed, "&Signature=", "&X=", 1),
		"SAMLRequest=" + forged,
		"",
	} {
		f.Add(q)
	}
	pub := &idpKey(f).key.PublicKey
	f.Fuzz(func(t *testing.T, rawQuery string) {
		sp, conn := ss.get(t)
		r := httptest.NewRequest(http.MethodGet, "/slo/"+conn.ID, nil)
		r.URL.RawQuery = rawQuery
		sp.ServeHTTP(httptest.NewRecorder(), r)
		ended := ss.endedNameIDs()
		if len(ended) == 0 {
			if rawQuery == signed {
				t.Fatal("the signed seed ended no session: the target does not reach acceptance")
			}
			return
		}
		nameID, ok := verifiedNameID(rawQuery, pub)
		if !ok || len(ended) != 1 || ended[0] != nameID {
			t.Fatalf("ended sessions of %q for a query the IdP did not sign that way (oracle %q, %v): %q", ended, nameID, ok, rawQuery)
		}
	})
}
