package saml_test

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
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

// fakeEnder is an sso.IdPSessionEnder that records what it is asked to end
// and answers n, err. It is a fake on purpose: the real one is
// session.Manager, which the lead wires to the SP in another package; here
// the SP's side of the contract (what it passes, what it answers) is
// tested.
type fakeEnder struct {
	mu    sync.Mutex
	calls []*sso.IdPLogout
	n     int
	err   error
}

func (f *fakeEnder) EndIdPSessions(ctx context.Context, l *sso.IdPLogout) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, l)
	return f.n, f.err
}

func (f *fakeEnder) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// withSessions makes the SP end sessions through e (and not OnLogout).
func withSessions(e sso.IdPSessionEnder) harnessOpt {
	return func(c *saml.Config) { c.OnLogout, c.Sessions = nil, e }
}

// logoutDoc is the harness LogoutRequest with edit applied.
func (h *harness) logoutDoc(t *testing.T, edit func(r *etree.Element)) *etree.Document {
	doc := h.logoutRequest(t, false)
	if edit != nil {
		edit(doc.Root())
	}
	return doc
}

// sloRedirect sends doc with the HTTP-Redirect binding, signed by the IdP.
func (h *harness) sloRedirect(t *testing.T, doc *etree.Document) *http.Response {
	return h.get(t, "/sso/saml/slo/"+h.conn.ID+"?"+redirectQuery(t, doc, idpKey(t).key))
}

// sloPost sends doc with the HTTP-POST binding, with an XML signature by
// the IdP.
func (h *harness) sloPost(t *testing.T, doc *etree.Document) *http.Response {
	signed := etree.NewDocument()
	signed.SetRoot(signWith(t, doc.Root().Copy(), idpKey(t), false, false))
	return postWithParam(t, h, "SAMLRequest", encodeDoc(t, signed))
}

// expectLogoutRejected asserts an error status with reason, that no session
// was ended (neither through OnLogout nor through ender) and that no login
// happened.
func (h *harness) expectLogoutRejected(t *testing.T, resp *http.Response, reason string, ender *fakeEnder) {
	t.Helper()
	if resp.StatusCode < 400 {
		t.Fatalf("status %d, want an error status", resp.StatusCode)
	}
	if got := sso.ReasonOf(h.lastErr()); got != reason {
		var ve *sso.ValidationError
		detail := ""
		if errors.As(h.lastErr(), &ve) {
			detail = ve.Detail()
		}
		t.Fatalf("reason %q (%s), want %q", got, detail, reason)
	}
	if h.logoutCount() != 0 || (ender != nil && ender.count() != 0) {
		t.Fatal("a session was ended")
	}
	if n, _ := h.rec.counts(); n != 0 {
		t.Fatal("a profile reached the completion flow")
	}
}

// logoutStatusOf decodes the LogoutResponse the SP redirected to the IdP
// with and returns its top-level and second-level status codes.
func logoutStatusOf(t *testing.T, resp *http.Response) (string, string) {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want 302 to the IdP", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Host != "idp.example.com" {
		t.Fatalf("location %q: %v", resp.Header.Get("Location"), err)
	}
	deflated, err := base64.StdEncoding.DecodeString(loc.Query().Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(flate.NewReader(bytes.NewReader(deflated)))
	if err != nil {
		t.Fatal(err)
	}
	code := parseDoc(t, b).Root().FindElement("./Status/StatusCode")
	if code == nil {
		t.Fatalf("LogoutResponse without StatusCode: %s", b)
	}
	sub := ""
	if c := code.SelectElement("StatusCode"); c != nil {
		sub = c.SelectAttrValue("Value", "")
	}
	return code.SelectAttrValue("Value", ""), sub
}

// deflateQueryValue is the HTTP-Redirect encoding of an (unsigned) message.
func deflateQueryValue(t *testing.T, doc *etree.Document) string {
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	_, _ = fw.Write(b)
	_ = fw.Close()
	return url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes()))
}

const (
	statusSuccess   = "urn:oasis:names:tc:SAML:2.0:status:Success"
	statusResponder = "urn:oasis:names:tc:SAML:2.0:status:Responder"
	statusPartial   = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout"
)

// TestTS25_RedirectParameterSmuggling takes a validly signed HTTP-Redirect
// LogoutRequest and smuggles a forged, unsigned LogoutRequest (for another
// user) into its query string. Verification and parsing read one raw
// representation, so every spelling is refused and no session ends.
func TestTS25_RedirectParameterSmuggling(t *testing.T) {
	t.Parallel()
	// captured returns a validly signed redirect query for h and a forged,
	// unsigned LogoutRequest for another user, encoded for a query.
	captured := func(h *harness) (signed, forged string) {
		signed = redirectQuery(t, h.logoutRequest(t, false), idpKey(t).key)
		forged = deflateQueryValue(t, h.logoutDoc(t, func(r *etree.Element) {
			r.SelectElement("NameID").SetText("victim@example.com")
		}))
		return signed, forged
	}
	cases := map[string]func(signed, forged string) string{
		"EncodedNamePrepended": func(s, f string) string { return "SAML%52equest=" + f + "&" + s },
		"EncodedFirstLetter":   func(s, f string) string { return "%53AMLRequest=" + f + "&" + s },
		"EncodedNameAppended":  func(s, f string) string { return s + "&SAML%52equest=" + f },
		"DuplicatePrepended":   func(s, f string) string { return "SAMLRequest=" + f + "&" + s },
		"DuplicateAppended":    func(s, f string) string { return s + "&SAMLRequest=" + f },
		"LowerCase":            func(s, f string) string { return "samlrequest=" + f + "&" + s },
		"PlusSpace":            func(s, f string) string { return "SAMLRequest+=" + f + "&" + s },
		"RequestAndResponse":   func(s, f string) string { return s + "&SAMLResponse=" + f },
		"DuplicateRelayState":  func(s, f string) string { return "RelayState=%2Fevil&" + s },
		"DuplicateSignature":   func(s, f string) string { return s + "&Signature=AAAA" },
		"EncodedSigAlg":        func(s, f string) string { return strings.Replace(s, "&SigAlg=", "&Sig%41lg=", 1) },
		"MalformedEscapeName":  func(s, f string) string { return "SAML%zzRequest=" + f + "&" + s },
	}
	for name, smuggle := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			q := smuggle(captured(h))
			h.expectLogoutRejected(t, h.get(t, "/sso/saml/slo/"+h.conn.ID+"?"+q), saml.ReasonLogoutParameter, nil)
		})
	}
	t.Run("SignedAloneAccepted", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		signed, _ := captured(h)
		resp := h.get(t, "/sso/saml/slo/"+h.conn.ID+"?"+signed)
		if code, _ := logoutStatusOf(t, resp); code != statusSuccess {
			t.Fatalf("status %q", code)
		}
		if h.logoutCount() != 1 || h.logout[0].NameID != "alice@example.com" {
			t.Fatalf("logout hook: %+v", h.logout)
		}
	})
	t.Run("UnrelatedParameterIgnored", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		signed, _ := captured(h)
		resp := h.get(t, "/sso/saml/slo/"+h.conn.ID+"?utm%5Fsource=x&"+signed)
		if code, _ := logoutStatusOf(t, resp); code != statusSuccess || h.logoutCount() != 1 {
			t.Fatalf("status %q, logouts %d", code, h.logoutCount())
		}
	})
	t.Run("POSTBothMessages", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		resp, err := h.client.PostForm(h.srv.URL+"/sso/saml/slo/"+h.conn.ID, url.Values{
			"SAMLRequest": {encodeDoc(t, h.logoutRequest(t, true))}, "SAMLResponse": {"PHg+"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h.expectLogoutRejected(t, resp, saml.ReasonLogoutParameter, nil)
	})
	t.Run("POSTDuplicateRequest", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		resp, err := h.client.PostForm(h.srv.URL+"/sso/saml/slo/"+h.conn.ID, url.Values{
			"SAMLRequest": {encodeDoc(t, h.logoutRequest(t, true)), "PHg+"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h.expectLogoutRejected(t, resp, saml.ReasonLogoutParameter, nil)
	})
}

// TestTS26_LogoutReplay delivers one signed LogoutRequest twice, with each
// binding: the second delivery is refused as a replay and ends nothing.
func TestTS26_LogoutReplay(t *testing.T) {
	t.Parallel()
	for name, send := range map[string]func(h *harness, t *testing.T, doc *etree.Document) *http.Response{
		"Redirect": (*harness).sloRedirect,
		"POST":     (*harness).sloPost,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ender := &fakeEnder{n: 1}
			h := newHarness(t, withSessions(ender))
			doc := h.logoutRequest(t, false)
			if code, _ := logoutStatusOf(t, send(h, t, doc)); code != statusSuccess || ender.count() != 1 {
				t.Fatalf("first delivery: status %q, %d calls", code, ender.count())
			}
			h.setNow(h.clock().Add(4 * time.Minute))
			resp := send(h, t, doc)
			if resp.StatusCode < 400 || sso.ReasonOf(h.lastErr()) != saml.ReasonReplayed {
				t.Fatalf("replay: status %d, reason %q, want %q", resp.StatusCode, sso.ReasonOf(h.lastErr()), saml.ReasonReplayed)
			}
			if ender.count() != 1 {
				t.Fatalf("the replay ended sessions: %d calls", ender.count())
			}
		})
	}
}

// TestTS26_LogoutTimeWindow refuses LogoutRequests older than MaxLogoutAge
// (default 5 minutes) plus MaxClockSkew (90s), issued in the future beyond
// the skew, past their NotOnOrAfter, or without IssueInstant.
func TestTS26_LogoutTimeWindow(t *testing.T) {
	t.Parallel()
	const window = 5*time.Minute + 90*time.Second
	// The harness clock stands at baseTime.
	set := func(name string, at time.Time) func(r *etree.Element) {
		return func(r *etree.Element) { r.CreateAttr(name, ts3339(at)) }
	}
	drop := func(name string) func(r *etree.Element) {
		return func(r *etree.Element) { r.RemoveAttr(name) }
	}
	rejected := map[string]struct {
		edit   func(r *etree.Element)
		reason string
	}{
		"TooOld":           {set("IssueInstant", baseTime.Add(-window-time.Second)), saml.ReasonTooOld},
		"Future":           {set("IssueInstant", baseTime.Add(90*time.Second+time.Second)), saml.ReasonNotYetValid},
		"NotOnOrAfter":     {set("NotOnOrAfter", baseTime.Add(-90*time.Second)), saml.ReasonExpired},
		"NoIssueInstant":   {drop("IssueInstant"), saml.ReasonMissingElement},
		"NoID":             {drop("ID"), saml.ReasonMissingElement},
		"Version11":        {func(r *etree.Element) { r.CreateAttr("Version", "1.1") }, saml.ReasonVersion},
		"EmptyDestination": {func(r *etree.Element) { r.CreateAttr("Destination", "") }, saml.ReasonDestinationEmpty},
	}
	for name, c := range rejected {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ender := &fakeEnder{n: 1}
			h := newHarness(t, withSessions(ender))
			h.expectLogoutRejected(t, h.sloRedirect(t, h.logoutDoc(t, c.edit)), c.reason, ender)
		})
	}
	accepted := map[string]func(r *etree.Element){
		"OldestAllowed":     set("IssueInstant", baseTime.Add(-window)),
		"SkewAhead":         set("IssueInstant", baseTime.Add(90*time.Second)),
		"NotOnOrAfterAhead": set("NotOnOrAfter", baseTime.Add(time.Minute)),
	}
	for name, edit := range accepted {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ender := &fakeEnder{n: 1}
			h := newHarness(t, withSessions(ender))
			if code, _ := logoutStatusOf(t, h.sloRedirect(t, h.logoutDoc(t, edit))); code != statusSuccess || ender.count() != 1 {
				t.Fatalf("status %q, %d calls (err %v)", code, ender.count(), h.lastErr())
			}
		})
	}
}

// TestTS26_LogoutStatusReflectsEndedSessions checks what the SP asks its
// IdPSessionEnder to end and that it answers Success only when a session
// ended: Success/PartialLogout when none did, Responder/PartialLogout on an
// error or when nothing can end sessions.
func TestTS26_LogoutStatusReflectsEndedSessions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		n         int
		err       error
		code, sub string
	}{
		{"Ended1", 1, nil, statusSuccess, ""},
		{"Ended0", 0, nil, statusSuccess, statusPartial},
		{"Error", 0, errors.New("store down"), statusResponder, statusPartial},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ender := &fakeEnder{n: c.n, err: c.err}
			h := newHarness(t, withSessions(ender))
			doc := h.logoutDoc(t, func(r *etree.Element) {
				r.CreateElement("samlp:SessionIndex").SetText("_sess2")
			})
			code, sub := logoutStatusOf(t, h.sloPost(t, doc))
			if code != c.code || sub != c.sub {
				t.Fatalf("status %q/%q, want %q/%q", code, sub, c.code, c.sub)
			}
			want := sso.IdPLogout{OrgID: "org_a", ConnectionID: "conn_a", Subject: "alice@example.com", SessionIndexes: []string{"_sess1", "_sess2"}}
			if ender.count() != 1 {
				t.Fatalf("%d calls, want 1", ender.count())
			}
			got := ender.calls[0]
			if got.OrgID != want.OrgID || got.ConnectionID != want.ConnectionID || got.Subject != want.Subject || !slices.Equal(got.SessionIndexes, want.SessionIndexes) {
				t.Fatalf("EndIdPSessions(%+v), want %+v", *got, want)
			}
		})
	}
	t.Run("NothingConfigured", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, withSessions(nil))
		if code, sub := logoutStatusOf(t, h.sloRedirect(t, h.logoutRequest(t, false))); code != statusResponder || sub != statusPartial {
			t.Fatalf("status %q/%q, want Responder/PartialLogout", code, sub)
		}
	})
	t.Run("OnLogoutOverridesSessions", func(t *testing.T) {
		t.Parallel()
		ender := &fakeEnder{n: 1}
		h := newHarness(t, func(c *saml.Config) {
			c.Sessions = ender
			c.OnLogout = func(context.Context, *saml.LogoutRequest) error { return errors.New("hook failed") }
		})
		if code, sub := logoutStatusOf(t, h.sloRedirect(t, h.logoutRequest(t, false))); code != statusResponder || sub != statusPartial {
			t.Fatalf("status %q/%q, want Responder/PartialLogout", code, sub)
		}
		if ender.count() != 0 {
			t.Fatal("Sessions was called although OnLogout is set")
		}
	})
}

// TestTS26_LogoutRequestNameID reads the LogoutRequest NameID
// namespace-exactly: a request without a usable NameID, with an
// EncryptedID, with a NameID in a foreign namespace or with two
// identifiers is refused and ends nothing.
func TestTS26_LogoutRequestNameID(t *testing.T) {
	t.Parallel()
	dropNameID := func(r *etree.Element) { r.RemoveChild(r.SelectElement("NameID")) }
	foreign := func(r *etree.Element) *etree.Element {
		e := etree.NewElement("x:NameID")
		e.CreateAttr("xmlns:x", "urn:evil")
		e.SetText("victim@example.com")
		return e
	}
	cases := map[string]struct {
		edit   func(r *etree.Element)
		reason string
	}{
		"NoNameID":    {dropNameID, saml.ReasonSubjectMissing},
		"EmptyNameID": {func(r *etree.Element) { r.SelectElement("NameID").SetText("  ") }, saml.ReasonSubjectMissing},
		"EncryptedID": {func(r *etree.Element) {
			dropNameID(r)
			e := etree.NewElement("saml:EncryptedID")
			ed := e.CreateElement("xenc:EncryptedData")
			ed.CreateAttr("xmlns:xenc", nsXMLEnc)
			ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText("AAAA")
			r.InsertChildAt(1, e)
		}, saml.ReasonSubjectMissing},
		"ForeignNameIDOnly":  {func(r *etree.Element) { dropNameID(r); r.InsertChildAt(1, foreign(r)) }, saml.ReasonForeignNamespace},
		"ForeignNameIDFirst": {func(r *etree.Element) { r.InsertChildAt(1, foreign(r)) }, saml.ReasonForeignNamespace},
		"TwoNameIDs": {func(r *etree.Element) {
			r.InsertChildAt(1, r.SelectElement("NameID").Copy())
			r.SelectElement("NameID").SetText("victim@example.com")
		}, saml.ReasonDuplicateElement},
		"ElementInNameID": {func(r *etree.Element) { r.SelectElement("NameID").CreateElement("saml:B").SetText("x") }, saml.ReasonMalformed},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ender := &fakeEnder{n: 1}
			h := newHarness(t, withSessions(ender))
			h.expectLogoutRejected(t, h.sloPost(t, h.logoutDoc(t, c.edit)), c.reason, ender)
		})
	}
}

// TestTS26_NewWarnsWhenLogoutEndsNothing: an SP that can end no session
// (neither Sessions nor OnLogout) says so once, at New.
func TestTS26_NewWarnsWhenLogoutEndsNothing(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("https://sp.example.com/sso")
	for name, c := range map[string]struct {
		edit func(c *saml.Config)
		warn bool
	}{
		"Nothing":  {func(c *saml.Config) {}, true},
		"Sessions": {func(c *saml.Config) { c.Sessions = &fakeEnder{} }, false},
		"OnLogout": {func(c *saml.Config) { c.OnLogout = func(context.Context, *saml.LogoutRequest) error { return nil } }, false},
	} {
		var buf bytes.Buffer
		st := memstore.New()
		cfg := saml.Config{BaseURL: base, Connections: st, Store: memsaml.New(st), Completer: &recorder{},
			Logger: slog.New(slog.NewTextHandler(&buf, nil))}
		c.edit(&cfg)
		if _, err := saml.New(cfg); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), "level=WARN") && strings.Contains(buf.String(), "neither Sessions nor OnLogout"); got != c.warn {
			t.Errorf("%s: warning logged %v, want %v (log %q)", name, got, c.warn, buf.String())
		}
	}
}
