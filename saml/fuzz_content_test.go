package saml_test

import (
	"context"
	"encoding/base64"
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

// contentInput is one FuzzACSContent input: the content of an assertion as
// small typed values. The *Sel fields pick one of a few candidate values
// (right, near-miss, empty, foreign), the offsets are seconds from the SP's
// clock, and the strings are free.
type contentInput struct {
	nameID, attrName, attrValue                                             string
	issuerSel, audienceSel, destinationSel, recipientSel, irtSel, flags     uint8
	issueOff, notBeforeOff, notOnOrAfterOff, scdNotOnOrAfterOff, sessionOff int16
}

// contentInput flags.
const (
	flagNoAuthnStatement = 1 << iota
	flagUntrustedKey
	flagSignResponse
	flagVersion11
)

// contentSkew is the SP's default MaxClockSkew.
const contentSkew = 90 * time.Second

// contentAbsent marks a candidate Destination that leaves the attribute out.
const contentAbsent = "\x00absent"

// contentTargets are the values the *Sel fields pick from for an SP whose
// ACS is acs and entity ID aud, answering request reqID.
type contentTargets struct {
	issuer, audience, destination, recipient, irt []string
}

func newContentTargets(acs, aud, reqID string) *contentTargets {
	return &contentTargets{
		issuer:      []string{testIdP, testIdP + "/", " " + testIdP, "https://evil.example/metadata", ""},
		audience:    []string{aud, " " + aud + "\n", aud + "x", strings.Replace(aud, "conn_f", "conn_g", 1), ""},
		destination: []string{acs, contentAbsent, "", acs + "/", strings.Replace(acs, "conn_f", "conn_g", 1)},
		recipient:   []string{acs, "", acs + "?", strings.Replace(acs, "conn_f", "conn_g", 1)},
		irt:         []string{reqID, "", "_unknown"},
	}
}

func pick(vals []string, sel uint8) string { return vals[int(sel)%len(vals)] }

// contentSP is the SP FuzzACSContent posts to: a fixed clock, memstore and a
// recording Completer. It is rebuilt every 512 runs so that the replay
// cache and the outstanding requests stay small.
type contentSP struct {
	mu   sync.Mutex
	runs int
	sp   *saml.SP
	rec  *recorder
	conn *sso.Connection
}

func (c *contentSP) get(t testing.TB) (*saml.SP, *recorder, *sso.Connection) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sp == nil || c.runs%512 == 0 {
		now := func() time.Time { return baseTime }
		st := memstore.New(memstore.WithClock(now))
		c.conn = &sso.Connection{ID: "conn_f", OrgID: "org_f", Protocol: saml.Protocol, Status: sso.ConnectionActive,
			Config: &saml.ConnectionConfig{IdPEntityID: testIdP, SSOURL: "https://idp.example.com/sso", Certificates: []string{certPEM(idpKey(t).cert)}}}
		if err := st.CreateConnection(context.Background(), c.conn); err != nil {
			t.Fatal(err)
		}
		c.rec = &recorder{}
		sp, err := saml.New(saml.Config{BaseURL: &url.URL{Scheme: "https", Host: "sp.example.com"}, Connections: st, Store: memsaml.New(st),
			Completer: c.rec, Now: now, Logger: discardLogger(), OnLogout: func(context.Context, *saml.LogoutRequest) error { return nil },
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusBadRequest) }})
		if err != nil {
			t.Fatal(err)
		}
		c.sp = sp
	}
	c.runs++
	return c.sp, c.rec, c.conn
}

// response builds the response for in and signs it with the test IdP key
// (or, with flagUntrustedKey, an attacker's).
func (in *contentInput) response(t testing.TB, tg *contentTargets) string {
	at := func(off int16) string { return ts3339(baseTime.Add(time.Duration(off) * time.Second)) }
	issuer, dest := pick(tg.issuer, in.issuerSel), pick(tg.destination, in.destinationSel)
	f := &fixture{acs: pick(tg.recipient, in.recipientSel), audience: pick(tg.audience, in.audienceSel),
		inResponseTo: pick(tg.irt, in.irtSel), nameID: "-", issuer: "-", now: baseTime.Add(time.Duration(in.issueOff) * time.Second),
		signAssertion: true, signResponse: in.flags&flagSignResponse != 0, key: idpKey(t),
		attrs: map[string][]string{in.attrName: {in.attrValue}}}
	if in.flags&flagUntrustedKey != 0 {
		f.key = otherKey(t)
	}
	f.mutate = func(a *etree.Element) {
		a.SelectElement("Issuer").SetText(issuer)
		findEl(a, "NameID").SetText(in.nameID)
		findEl(a, "SubjectConfirmationData").CreateAttr("NotOnOrAfter", at(in.scdNotOnOrAfterOff))
		cond := a.SelectElement("Conditions")
		cond.CreateAttr("NotBefore", at(in.notBeforeOff))
		cond.CreateAttr("NotOnOrAfter", at(in.notOnOrAfterOff))
		switch {
		case in.flags&flagNoAuthnStatement != 0:
			a.RemoveChild(a.SelectElement("AuthnStatement"))
		case in.sessionOff != 0:
			a.SelectElement("AuthnStatement").CreateAttr("SessionNotOnOrAfter", at(in.sessionOff))
		}
		if in.flags&flagVersion11 != 0 {
			a.CreateAttr("Version", "1.1")
		}
	}
	f.mutateResp = func(r *etree.Element) {
		r.SelectElement("Issuer").SetText(issuer)
		if dest == contentAbsent {
			r.RemoveAttr("Destination")
		} else {
			r.CreateAttr("Destination", dest)
		}
	}
	return f.encoded(t)
}

// mustReject recomputes, independently of the SP, why in must be refused
// ("" when nothing forbids it) by an SP at baseTime with ACS acs and entity
// ID aud whose outstanding request from this browser is reqID.
func (in *contentInput) mustReject(tg *contentTargets, acs, aud, reqID string) string {
	now := baseTime
	off := func(o int16) time.Time { return now.Add(time.Duration(o) * time.Second) }
	dest := pick(tg.destination, in.destinationSel)
	switch {
	case in.flags&flagUntrustedKey != 0:
		return "signed by an untrusted key"
	case pick(tg.issuer, in.issuerSel) != testIdP:
		return "issuer"
	case strings.TrimSpace(pick(tg.audience, in.audienceSel)) != aud:
		return "audience"
	case strings.TrimSpace(in.nameID) == "":
		return "no subject"
	case off(in.issueOff).After(now.Add(contentSkew)):
		return "issued in the future"
	case now.Add(contentSkew).Before(off(in.notBeforeOff)):
		return "Conditions NotBefore"
	case !now.Before(off(in.notOnOrAfterOff).Add(contentSkew)):
		return "Conditions NotOnOrAfter"
	case !now.Before(off(in.scdNotOnOrAfterOff).Add(contentSkew)):
		return "SubjectConfirmationData NotOnOrAfter"
	case pick(tg.recipient, in.recipientSel) != acs:
		return "Recipient"
	case dest != contentAbsent && dest != acs && (dest != "" || in.flags&flagSignResponse != 0):
		return "Destination"
	case pick(tg.irt, in.irtSel) != reqID:
		return "InResponseTo"
	case in.flags&flagNoAuthnStatement != 0:
		return "no AuthnStatement"
	case in.sessionOff < 0:
		return "SessionNotOnOrAfter passed"
	case in.flags&flagVersion11 != 0:
		return "Version"
	}
	return ""
}

// signedNameID reads the NameID text of the signed response the target
// built, as the IdP serialized it (invalid XML characters become U+FFFD).
func signedNameID(t *testing.T, encoded string) string {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(findEl(parseDoc(t, raw).Root(), "NameID").Text())
}

// FuzzACSContent fuzzes the content of a signed assertion rather than its
// bytes, so that inputs get past signature verification: each input is
// built into a response, signed inside the target with the test IdP key (or
// an untrusted one) and posted to the real ACS handler with the request
// cookie of a login started on it. Invariant: whatever reaches the
// Completer was signed by the trusted key and passes the issuer, audience,
// time, recipient, destination, InResponseTo, AuthnStatement, session and
// version checks, recomputed here, and its profile carries the signed
// NameID and SessionNotOnOrAfter. The handler never panics.
func FuzzACSContent(f *testing.F) {
	cs := &contentSP{}
	// Short strings keep minimization (which re-signs on every attempt)
	// quick.
	valid := contentInput{nameID: "a@b.co", attrName: "mail", attrValue: "a@b.co",
		notBeforeOff: -30, notOnOrAfterOff: 300, scdNotOnOrAfterOff: 300, sessionOff: 28800}
	seeds := []contentInput{valid}
	for _, edit := range []func(in *contentInput){
		func(in *contentInput) { in.flags = flagNoAuthnStatement },
		func(in *contentInput) { in.flags = flagUntrustedKey },
		func(in *contentInput) { in.flags = flagSignResponse },
		func(in *contentInput) { in.flags = flagVersion11 },
		func(in *contentInput) { in.flags, in.destinationSel = flagSignResponse, 2 },
		func(in *contentInput) {
			in.issuerSel, in.audienceSel, in.destinationSel, in.recipientSel, in.irtSel = 1, 1, 1, 1, 1
		},
		func(in *contentInput) {
			in.issuerSel, in.audienceSel, in.destinationSel, in.recipientSel, in.irtSel = 3, 3, 4, 3, 2
		},
		func(in *contentInput) { in.notOnOrAfterOff, in.scdNotOnOrAfterOff = -90, -89 },
		func(in *contentInput) { in.notBeforeOff, in.issueOff = 91, 90 },
		func(in *contentInput) { in.sessionOff = -1 },
		func(in *contentInput) { in.nameID = " " },
		func(in *contentInput) { in.nameID = " a\x01\x8f\r\nb\u2028 " },
		func(in *contentInput) { in.attrName, in.attrValue = "groups", "x" },
	} {
		in := valid
		edit(&in)
		seeds = append(seeds, in)
	}
	for _, in := range seeds {
		f.Add(in.nameID, in.attrName, in.attrValue, in.issuerSel, in.audienceSel, in.destinationSel, in.recipientSel, in.irtSel,
			in.flags, in.issueOff, in.notBeforeOff, in.notOnOrAfterOff, in.scdNotOnOrAfterOff, in.sessionOff)
	}
	f.Fuzz(func(t *testing.T, nameID, attrName, attrValue string, issuerSel, audienceSel, destinationSel, recipientSel, irtSel,
		flags uint8, issueOff, notBeforeOff, notOnOrAfterOff, scdNotOnOrAfterOff, sessionOff int16) {
		in := contentInput{nameID, attrName, attrValue, issuerSel, audienceSel, destinationSel, recipientSel, irtSel,
			flags, issueOff, notBeforeOff, notOnOrAfterOff, scdNotOnOrAfterOff, sessionOff}
		sp, rec, conn := cs.get(t)
		acs, aud := sp.ACSURL(conn.ID), sp.EntityID(conn.ID)
		login := httptest.NewRecorder()
		if err := sp.StartLogin(login, httptest.NewRequest(http.MethodGet, "/login/"+conn.ID, nil), conn, sso.StartOptions{}); err != nil {
			t.Fatal(err)
		}
		reqID := authnRequestID(t, login.Header().Get("Location"))
		tg := newContentTargets(acs, aud, reqID)
		encoded := in.response(t, tg)
		form := url.Values{"SAMLResponse": {encoded}}
		r := httptest.NewRequest(http.MethodPost, "/acs/"+conn.ID, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range login.Result().Cookies() {
			r.AddCookie(c)
		}
		before, _ := rec.counts()
		sp.ServeHTTP(httptest.NewRecorder(), r)
		if after, _ := rec.counts(); after == before {
			if in == valid {
				t.Fatal("the valid seed was rejected: the target does not reach acceptance")
			}
			return
		}
		if why := in.mustReject(tg, acs, aud, reqID); why != "" {
			t.Fatalf("accepted although the %s must be refused: %+v", why, in)
		}
		p := rec.lastLogin().Profile
		if p.Issuer != testIdP || p.ConnectionID != conn.ID || p.Subject != signedNameID(t, encoded) {
			t.Fatalf("profile %+v does not carry the signed identity of %+v", p, in)
		}
		if want := baseTime.Add(time.Duration(in.sessionOff) * time.Second); in.sessionOff > 0 && !p.SessionNotOnOrAfter.Equal(want) {
			t.Fatalf("SessionNotOnOrAfter %v, want %v", p.SessionNotOnOrAfter, want)
		}
	})
}
