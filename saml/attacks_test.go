package saml_test

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

// signedDoc starts a login and returns a parsed valid response for it.
func (h *harness) signedDoc(t *testing.T, signResponse, signAssertion bool) *etree.Document {
	id := h.startLogin(t, h.conn.ID)
	f := h.fixtureFor(h.conn, id)
	f.signResponse, f.signAssertion = signResponse, signAssertion
	return parseDoc(t, f.build(t))
}

func assertionOf(doc *etree.Document) *etree.Element {
	return doc.Root().SelectElement("Assertion")
}

func setNameID(a *etree.Element, v string) { findEl(a, "NameID").SetText(v) }

func stripSignature(el *etree.Element) {
	if s := el.SelectElement("Signature"); s != nil {
		el.RemoveChild(s)
	}
}

// xswCase applies a wrapping mutation to a valid document.
func runXSW(t *testing.T, signResponse bool, reason string, mutate func(doc *etree.Document)) {
	t.Parallel()
	h := newHarness(t)
	doc := h.signedDoc(t, signResponse, !signResponse)
	mutate(doc)
	resp := h.post(t, h.conn.ID, encodeDoc(t, doc), "")
	h.expectRejected(t, resp, reason)
}

func TestTS1_1_XSW1(t *testing.T) {
	runXSW(t, true, saml.ReasonWrapping, func(doc *etree.Document) {
		r := doc.Root()
		clone := r.Copy()
		stripSignature(clone)
		r.SelectElement("Signature").AddChild(clone)
		r.SelectAttr("ID").Value = "_evil"
		setNameID(r.SelectElement("Assertion"), "victim@tenantb.example")
	})
}

func TestTS1_2_XSW2(t *testing.T) {
	runXSW(t, true, saml.ReasonWrapping, func(doc *etree.Document) {
		r := doc.Root()
		clone := r.Copy()
		stripSignature(clone)
		sig := r.SelectElement("Signature")
		r.InsertChildAt(sig.Index(), clone)
		r.SelectAttr("ID").Value = "_evil"
		setNameID(r.SelectElement("Assertion"), "victim@tenantb.example")
	})
}

func TestTS1_3_XSW3(t *testing.T) {
	runXSW(t, false, saml.ReasonAssertionCount, func(doc *etree.Document) {
		r := doc.Root()
		orig := assertionOf(doc)
		evil := orig.Copy()
		stripSignature(evil)
		evil.SelectAttr("ID").Value = "_evil"
		setNameID(evil, "victim@tenantb.example")
		r.InsertChildAt(orig.Index(), evil)
	})
}

func TestTS1_4_XSW4(t *testing.T) {
	runXSW(t, false, saml.ReasonWrapping, func(doc *etree.Document) {
		r := doc.Root()
		orig := assertionOf(doc)
		evil := orig.Copy()
		stripSignature(evil)
		evil.SelectAttr("ID").Value = "_evil"
		setNameID(evil, "victim@tenantb.example")
		r.RemoveChild(orig)
		evil.AddChild(orig)
		r.AddChild(evil)
	})
}

func TestTS1_5_XSW5(t *testing.T) {
	runXSW(t, false, saml.ReasonWrapping, func(doc *etree.Document) {
		r := doc.Root()
		orig := assertionOf(doc)
		clean := orig.Copy()
		stripSignature(clean)
		orig.SelectAttr("ID").Value = "_evil"
		setNameID(orig, "victim@tenantb.example")
		r.AddChild(clean)
	})
}

func TestTS1_6_XSW6(t *testing.T) {
	runXSW(t, false, saml.ReasonWrapping, func(doc *etree.Document) {
		orig := assertionOf(doc)
		clean := orig.Copy()
		stripSignature(clean)
		orig.SelectAttr("ID").Value = "_evil"
		setNameID(orig, "victim@tenantb.example")
		orig.SelectElement("Signature").AddChild(clean)
	})
}

func TestTS1_7_XSW7(t *testing.T) {
	runXSW(t, false, saml.ReasonWrapping, func(doc *etree.Document) {
		r := doc.Root()
		orig := assertionOf(doc)
		evil := orig.Copy()
		stripSignature(evil)
		evil.SelectAttr("ID").Value = "_evil"
		setNameID(evil, "victim@tenantb.example")
		ext := etree.NewElement("samlp:Extensions")
		ext.AddChild(evil)
		r.InsertChildAt(orig.Index(), ext)
	})
}

func TestTS1_8_XSW8(t *testing.T) {
	runXSW(t, false, saml.ReasonWrapping, func(doc *etree.Document) {
		orig := assertionOf(doc)
		clean := orig.Copy()
		stripSignature(clean)
		orig.SelectAttr("ID").Value = "_evil"
		setNameID(orig, "victim@tenantb.example")
		obj := etree.NewElement("ds:Object")
		obj.AddChild(clean)
		orig.SelectElement("Signature").AddChild(obj)
	})
}

func TestTS1_9_AdviceNestedAssertion(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.startLogin(t, h.conn.ID)
	inner := h.fixtureFor(h.conn, id)
	inner.nameID = "victim@tenantb.example"
	innerA := func() *etree.Element { inner.defaults(t); return inner.buildAssertion(t) }()
	f := h.fixtureFor(h.conn, id)
	f.mutate = func(a *etree.Element) { a.CreateElement("saml:Advice").AddChild(innerA) }
	h.expectRejected(t, h.post(t, h.conn.ID, f.encoded(t), ""), saml.ReasonWrapping)
}

func TestTS1_10_TrailingRoot(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.startLogin(t, h.conn.ID)
	f := h.fixtureFor(h.conn, id)
	b := f.build(t)
	evil := h.fixtureFor(h.conn, id)
	evil.nameID = "victim@tenantb.example"
	b = append(b, evil.build(t)...)
	h.expectRejected(t, h.post(t, h.conn.ID, b64(b), ""), saml.ReasonMalformed)
}

func TestTS1_11_DuplicateID(t *testing.T) {
	runXSW(t, false, saml.ReasonDuplicateID, func(doc *etree.Document) {
		a := assertionOf(doc)
		doc.Root().SelectElement("Status").CreateAttr("ID", a.SelectAttrValue("ID", ""))
	})
}

func TestTS1_12_MultipleReferences(t *testing.T) {
	runXSW(t, false, saml.ReasonWrapping, func(doc *etree.Document) {
		si := assertionOf(doc).SelectElement("Signature").SelectElement("SignedInfo")
		ref := si.SelectElement("Reference").Copy()
		ref.SelectAttr("URI").Value = "#" + doc.Root().SelectAttrValue("ID", "")
		si.AddChild(ref)
	})
}

func TestTS1_13_EmptyReferenceURI(t *testing.T) {
	runXSW(t, false, saml.ReasonWrapping, func(doc *etree.Document) {
		ref := assertionOf(doc).SelectElement("Signature").SelectElement("SignedInfo").SelectElement("Reference")
		ref.SelectAttr("URI").Value = ""
		doc.Root().SelectAttr("Destination").Value = "https://evil.example/acs"
	})
}

func TestTS1_14_AttackerKeyInKeyInfo(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp := h.login(t, h.conn, func(f *fixture) { f.key = otherKey(t); f.nameID = "victim@tenantb.example" })
	h.expectRejected(t, resp, saml.ReasonCertificateUntrusted)
}

func TestTS1_15_DoubledSubject(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp := h.login(t, h.conn, func(f *fixture) {
		f.mutate = func(a *etree.Element) {
			subj := a.SelectElement("Subject")
			n := etree.NewElement("saml:NameID")
			n.SetText("victim@tenantb.example")
			subj.InsertChildAt(0, n)
		}
	})
	h.expectRejected(t, resp, saml.ReasonDuplicateElement)
}

func TestTS2_CommentInjection(t *testing.T) {
	t.Parallel()
	for _, withComments := range []bool{false, true} {
		t.Run(map[bool]string{false: "ExcC14N", true: "ExcC14NWithComments"}[withComments], func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			id := h.startLogin(t, h.conn.ID)
			f := h.fixtureFor(h.conn, id)
			f.withComments = withComments
			f.nameID = "victim@tenantb.example.attacker.example"
			doc := parseDoc(t, f.build(t))
			// After signing, split the NameID text with a comment: exclusive
			// c14n drops comments, so the digest still matches, and a naive
			// reader would see only "victim@tenantb.example".
			n := findEl(assertionOf(doc), "NameID")
			n.SetText("")
			n.CreateText("victim@tenantb.example")
			n.CreateComment("x")
			n.CreateText(".attacker.example")
			h.expectRejected(t, h.post(t, h.conn.ID, encodeDoc(t, doc), ""), saml.ReasonCommentInAssertion)
		})
	}
}

func TestTS3_RoundTripNamespaceTricks(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		edit   func(b []byte) []byte
		reason string
	}{
		"DoubleColonAttr": {func(b []byte) []byte {
			return bytes.Replace(b, []byte("<samlp:Response "), []byte(`<samlp:Response ::foo="bar" `), 1)
		}, saml.ReasonMalformed},
		"EmptyPrefixElement": {func(b []byte) []byte {
			return bytes.Replace(b, []byte("<samlp:Status>"), []byte("<samlp:Status><x:></x:>"), 1)
		}, saml.ReasonMalformed},
		"EmptyXMLNSPrefix": {func(b []byte) []byte {
			return bytes.Replace(b, []byte("<samlp:Response "), []byte(`<samlp:Response xmlns:="urn:x" `), 1)
		}, saml.ReasonMalformed},
		"DirectiveTrick": {func(b []byte) []byte {
			return bytes.Replace(b, []byte("<samlp:Status>"), []byte(`<samlp:Status><! <<!-- -->!-->"--> " >`), 1)
		}, saml.ReasonDoctype},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			id := h.startLogin(t, h.conn.ID)
			f := h.fixtureFor(h.conn, id)
			h.expectRejected(t, h.post(t, h.conn.ID, b64(c.edit(f.build(t))), ""), c.reason)
		})
	}
}

func TestTS3b_ForeignNamespaceNameID(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp := h.login(t, h.conn, func(f *fixture) {
		f.mutate = func(a *etree.Element) {
			subj := a.SelectElement("Subject")
			subj.RemoveChild(subj.SelectElement("NameID"))
			n := etree.NewElement("x:NameID")
			n.CreateAttr("xmlns:x", "urn:evil")
			n.SetText("admin@tenantb.example")
			subj.InsertChildAt(0, n)
		}
	})
	h.expectRejected(t, resp, saml.ReasonForeignNamespace)
}

func TestTS4_SignedResponseUnsignedAssertion(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp := h.login(t, h.conn, func(f *fixture) { f.signAssertion, f.signResponse = false, true })
	h.expectRejected(t, resp, saml.ReasonSignatureMissing)

	// Fully unsigned: rejected too.
	resp = h.login(t, h.conn, func(f *fixture) { f.signAssertion = false })
	h.expectRejected(t, resp, saml.ReasonSignatureMissing)

	// Positive control: the connection opts in to Response-only signatures.
	h2 := newHarness(t)
	h2.updateConn(t, h2.conn, func(c *saml.ConnectionConfig) { c.AllowResponseSignatureOnly = true })
	h2.expectAccepted(t, h2.login(t, h2.conn, func(f *fixture) { f.signAssertion, f.signResponse = false, true }))
}

func TestTS5_MixedSignedUnsignedAssertions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.startLogin(t, h.conn.ID)
	f := h.fixtureFor(h.conn, id)
	doc := parseDoc(t, f.build(t))
	unsigned := h.fixtureFor(h.conn, id)
	unsigned.signAssertion = false
	unsigned.nameID = "victim@tenantb.example"
	unsigned.defaults(t)
	doc.Root().AddChild(unsigned.buildAssertion(t))
	h.expectRejected(t, h.post(t, h.conn.ID, encodeDoc(t, doc), ""), saml.ReasonAssertionCount)
}

func TestTS6_Replay(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.AllowIdPInitiated = true })
	f := h.fixtureFor(h.conn, "")
	enc := f.encoded(t)
	h.expectAccepted(t, h.post(t, h.conn.ID, enc, ""))
	resp := h.post(t, h.conn.ID, enc, "")
	if resp.StatusCode < 400 {
		t.Fatalf("replay status %d", resp.StatusCode)
	}
	if n, _ := h.rec.counts(); n != 1 {
		t.Fatalf("%d logins, want 1", n)
	}
	var ve *sso.ValidationError
	if f := h.rec.lastFailure(); f == nil || !errorsAs(f.Err, &ve) || ve.Reason != saml.ReasonReplayed {
		t.Fatalf("failure %+v, want reason replayed", f)
	}
}

func TestTS6_ReplayConcurrent(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"IdPInitiated", "SPInitiated"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t)
			irt := ""
			if mode == "IdPInitiated" {
				h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.AllowIdPInitiated = true })
			} else {
				irt = h.startLogin(t, h.conn.ID)
			}
			enc := h.fixtureFor(h.conn, irt).encoded(t)
			var wg sync.WaitGroup
			start := make(chan struct{})
			codes := make([]int, 50)
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					codes[i] = h.post(t, h.conn.ID, enc, "").StatusCode
				}()
			}
			close(start)
			wg.Wait()
			ok := 0
			for _, c := range codes {
				if c == http.StatusSeeOther {
					ok++
				}
			}
			logins, fails := h.rec.counts()
			if ok != 1 || logins != 1 || fails != 49 {
				t.Fatalf("successes %d, logins %d, failures %d; want 1, 1, 49", ok, logins, fails)
			}
		})
	}
}

func TestTS7_InResponseToBinding(t *testing.T) {
	t.Parallel()
	t.Run("OtherBrowser", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.startLogin(t, h.conn.ID)
		// The victim's browser (a fresh cookie jar) posts the attacker's response.
		other := &http.Client{Transport: h.client.Transport, CheckRedirect: h.client.CheckRedirect}
		resp := postWith(t, other, h.srv.URL+"/sso/saml/acs/"+h.conn.ID, h.fixtureFor(h.conn, id).encoded(t), "")
		h.expectRejected(t, resp, saml.ReasonInResponseTo)
	})
	t.Run("UnknownID", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.startLogin(t, h.conn.ID)
		h.expectRejected(t, h.post(t, h.conn.ID, h.fixtureFor(h.conn, "_unknown").encoded(t), ""), saml.ReasonInResponseTo)
	})
	t.Run("MissingWithoutIdPInitiated", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.expectRejected(t, h.post(t, h.conn.ID, h.fixtureFor(h.conn, "").encoded(t), ""), saml.ReasonUnsolicited)
	})
	t.Run("SingleUse", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.startLogin(t, h.conn.ID)
		h.expectAccepted(t, h.post(t, h.conn.ID, h.fixtureFor(h.conn, id).encoded(t), ""))
		// A second, freshly signed response for the same request ID.
		resp := h.post(t, h.conn.ID, h.fixtureFor(h.conn, id).encoded(t), "")
		if n, _ := h.rec.counts(); n != 1 || resp.StatusCode < 400 {
			t.Fatalf("second use: status %d, logins %d", resp.StatusCode, n)
		}
		if f := h.rec.lastFailure(); f == nil || sso.ReasonOf(f.Err) != saml.ReasonInResponseTo {
			t.Fatalf("failure %+v, want in_response_to_mismatch", f)
		}
	})
	t.Run("CookieAttributes", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		resp, err := h.client.Get(h.srv.URL + "/sso/saml/login/" + h.conn.ID)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		sc := resp.Header.Get("Set-Cookie")
		for _, want := range []string{"Secure", "HttpOnly", "SameSite=None", "Path=/sso/saml/acs/conn_a", "Max-Age="} {
			if !strings.Contains(sc, want) {
				t.Errorf("Set-Cookie %q lacks %q", sc, want)
			}
		}
	})
	t.Run("OtherConnection", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		b := h.addConn(t, "conn_b", "org_b", func(*saml.ConnectionConfig) {})
		id := h.startLogin(t, b.ID)
		// A response for conn_a that claims conn_b's request.
		h.expectRejected(t, h.post(t, h.conn.ID, h.fixtureFor(h.conn, id).encoded(t), ""), saml.ReasonInResponseTo)
	})
}

func TestTS8_AudienceRecipientDestinationIssuer(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		edit   func(f *fixture)
		reason string
	}{
		"WrongAudience": {func(f *fixture) { f.audience = "https://other-sp.example" }, saml.ReasonAudienceMismatch},
		"WrongRecipient": {func(f *fixture) {
			f.mutate = setAttr("SubjectConfirmationData", "Recipient", "https://other.example/acs")
		}, saml.ReasonRecipientMismatch},
		"WrongDestination": {func(f *fixture) {
			f.mutateResp = func(r *etree.Element) { r.SelectAttr("Destination").Value = "https://other.example/acs" }
		}, saml.ReasonDestinationMismatch},
		"WrongIssuer": {func(f *fixture) { f.issuer = "https://evil-idp.example" }, saml.ReasonIssuerMismatch},
		"WrongResponseIssuer": {func(f *fixture) {
			f.mutateResp = func(r *etree.Element) { r.SelectElement("Issuer").SetText("https://evil-idp.example") }
		}, saml.ReasonIssuerMismatch},
		"NotBearer": {func(f *fixture) {
			f.mutate = setAttr("SubjectConfirmation", "Method", "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key")
		}, saml.ReasonBearerRequired},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.expectRejected(t, h.login(t, h.conn, c.edit), c.reason)
		})
	}
	t.Run("TenantAResponseAtTenantB", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		b := h.addConn(t, "conn_b", "org_b", func(*saml.ConnectionConfig) {})
		idB := h.startLogin(t, b.ID)
		// Same IdP, valid signature, addressed to tenant A's SP.
		f := h.fixtureFor(h.conn, idB)
		h.expectRejected(t, h.post(t, b.ID, f.encoded(t), ""), saml.ReasonDestinationMismatch)
		// Without a Destination, the Recipient check still catches it.
		f2 := h.fixtureFor(h.conn, h.startLogin(t, b.ID))
		f2.mutateResp = func(r *etree.Element) { r.RemoveAttr("Destination") }
		h.expectRejected(t, h.post(t, b.ID, f2.encoded(t), ""), saml.ReasonRecipientMismatch)
	})
}

func setAttr(el, attr, val string) func(a *etree.Element) {
	return func(a *etree.Element) { findEl(a, el).SelectAttr(attr).Value = val }
}

func TestTS9_TimeConditions(t *testing.T) {
	t.Parallel()
	const skew = 90 * time.Second
	issued := baseTime
	noa := issued.Add(5 * time.Minute)
	nb := issued.Add(-30 * time.Second)
	cases := []struct {
		name   string
		at     time.Time
		reason string // "" = accepted
	}{
		{"JustBeforeNotOnOrAfterPlusSkew", noa.Add(skew - time.Nanosecond), ""},
		{"AtNotOnOrAfterPlusSkew", noa.Add(skew), saml.ReasonExpired},
		{"LongAfter", noa.Add(time.Hour), saml.ReasonExpired},
		{"AtNotBeforeMinusSkew", nb.Add(-skew), ""},
		{"BeforeNotBeforeMinusSkew", nb.Add(-skew - time.Second), saml.ReasonNotYetValid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.setNow(c.at)
			id := h.startLogin(t, h.conn.ID)
			f := h.fixtureFor(h.conn, id)
			f.now = issued
			if c.name == "BeforeNotBeforeMinusSkew" || c.name == "AtNotBeforeMinusSkew" {
				// IssueInstant itself must not be in the future beyond the skew.
				f.mutate = func(a *etree.Element) { a.SelectAttr("IssueInstant").Value = ts3339(nb.Add(-time.Hour)) }
			}
			resp := h.post(t, h.conn.ID, f.encoded(t), "")
			if c.reason == "" {
				h.expectAccepted(t, resp)
				return
			}
			h.expectRejected(t, resp, c.reason)
		})
	}
	t.Run("MissingSubjectConfirmationNotOnOrAfter", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		resp := h.login(t, h.conn, func(f *fixture) {
			f.mutate = func(a *etree.Element) { findEl(a, "SubjectConfirmationData").RemoveAttr("NotOnOrAfter") }
		})
		h.expectRejected(t, resp, saml.ReasonMissingElement)
	})
	t.Run("SubjectConfirmationExpired", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		resp := h.login(t, h.conn, func(f *fixture) {
			f.mutate = setAttr("SubjectConfirmationData", "NotOnOrAfter", ts3339(baseTime.Add(-time.Hour)))
		})
		h.expectRejected(t, resp, saml.ReasonExpired)
	})
	t.Run("IssueInstantInFuture", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		resp := h.login(t, h.conn, func(f *fixture) {
			f.mutate = func(a *etree.Element) { a.SelectAttr("IssueInstant").Value = ts3339(baseTime.Add(10 * time.Minute)) }
		})
		h.expectRejected(t, resp, saml.ReasonNotYetValid)
	})
}

func TestTS10_MissingAudienceRestriction(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp := h.login(t, h.conn, func(f *fixture) {
		f.mutate = func(a *etree.Element) {
			c := a.SelectElement("Conditions")
			c.RemoveChild(c.SelectElement("AudienceRestriction"))
		}
	})
	h.expectRejected(t, resp, saml.ReasonAudienceMissing)
	// An AudienceRestriction that names another SP next to ours is not
	// enough: every restriction must include us.
	resp = h.login(t, h.conn, func(f *fixture) {
		f.mutate = func(a *etree.Element) {
			a.SelectElement("Conditions").CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText("https://other-sp.example")
		}
	})
	h.expectRejected(t, resp, saml.ReasonAudienceMismatch)
}

func TestTS11_MultipleAssertions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.startLogin(t, h.conn.ID)
	f := h.fixtureFor(h.conn, id)
	doc := parseDoc(t, f.build(t))
	// A second assertion, validly signed by another trusted-looking key.
	evil := h.fixtureFor(h.conn, id)
	evil.nameID = "admin@evil.example"
	evil.key = otherKey(t)
	evil.defaults(t)
	doc.Root().AddChild(evil.buildAssertion(t))
	h.expectRejected(t, h.post(t, h.conn.ID, encodeDoc(t, doc), ""), saml.ReasonAssertionCount)
}

func TestTS12_CertificatesAndRollover(t *testing.T) {
	t.Parallel()
	t.Run("WrongCert", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.expectRejected(t, h.login(t, h.conn, func(f *fixture) { f.key = idpKey2(t) }), saml.ReasonCertificateUntrusted)
	})
	t.Run("ExpiredCertEnforced", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		expired := certFor(t, idpKey(t).key, "expired", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))
		h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) {
			c.Certificates, c.EnforceCertificateDates = []string{certPEM(expired.cert)}, true
		})
		h.expectRejected(t, h.login(t, h.conn, func(f *fixture) { f.key = expired }), saml.ReasonCertificateExpired)
	})
	t.Run("Rollover", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) {
			c.Certificates = []string{certPEM(idpKey(t).cert), certPEM(idpKey2(t).cert)}
		})
		h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) { f.key = idpKey(t) }))
		h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) { f.key = idpKey2(t) }))
		// The old certificate is removed: its signatures are refused.
		h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.Certificates = []string{certPEM(idpKey2(t).cert)} })
		resp := h.login(t, h.conn, func(f *fixture) { f.key = idpKey(t) })
		if resp.StatusCode < 400 || sso.ReasonOf(h.rec.lastFailure().Err) != saml.ReasonCertificateUntrusted {
			t.Fatalf("old cert after removal: status %d, failure %v", resp.StatusCode, h.rec.lastFailure())
		}
		if n, _ := h.rec.counts(); n != 2 {
			t.Fatalf("%d logins, want 2", n)
		}
	})
}

func TestTS13_SHA1Refused(t *testing.T) {
	t.Parallel()
	t.Run("RSASHA1Default", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.expectRejected(t, h.login(t, h.conn, func(f *fixture) { f.sha1 = true }), saml.ReasonWeakAlgorithm)
	})
	t.Run("RSASHA1OptIn", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.AllowSHA1 = true })
		h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) { f.sha1 = true }))
	})
	t.Run("HMACSHA1", func(t *testing.T) {
		runXSW(t, false, saml.ReasonUnsupportedAlgorithm, func(doc *etree.Document) {
			sm := findEl(assertionOf(doc).SelectElement("Signature"), "SignatureMethod")
			sm.SelectAttr("Algorithm").Value = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
		})
	})
	t.Run("SHA256SignatureSHA1Digest", func(t *testing.T) {
		runXSW(t, false, saml.ReasonWeakAlgorithm, func(doc *etree.Document) {
			dm := findEl(assertionOf(doc).SelectElement("Signature"), "DigestMethod")
			dm.SelectAttr("Algorithm").Value = algDigestSHA1
		})
	})
}

func TestTS14_DoctypeAndEntities(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.startLogin(t, h.conn.ID)
	b := h.fixtureFor(h.conn, id).build(t)
	for _, prefix := range []string{
		`<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>`,
		`<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>`,
	} {
		h.expectRejected(t, h.post(t, h.conn.ID, b64(append([]byte(prefix), b...)), ""), saml.ReasonDoctype)
	}
}

func deepNesting(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x" Version="2.0">`)
	for i := 0; i < n; i++ {
		b.WriteString("<a>")
	}
	for i := 0; i < n; i++ {
		b.WriteString("</a>")
	}
	b.WriteString("</samlp:Response>")
	return b.Bytes()
}

func manyNamespaces(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x" Version="2.0">`)
	for i := 0; i < 10; i++ {
		b.WriteString("<a")
		for j := 0; j < n/10; j++ {
			b.WriteString(` xmlns:p` + strconvI(i*n+j) + `="urn:x:` + strconvI(j) + `"`)
		}
		b.WriteString(">")
	}
	for i := 0; i < 10; i++ {
		b.WriteString("</a>")
	}
	b.WriteString("</samlp:Response>")
	return b.Bytes()
}

func TestTS15_DeepNestingAndNamespaces(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.expectRejected(t, h.post(t, h.conn.ID, b64(deepNesting(5000)), ""), saml.ReasonTooComplex)
	h.expectRejected(t, h.post(t, h.conn.ID, b64(manyNamespaces(5000)), ""), saml.ReasonTooComplex)
}

func TestTS16_OversizeAndDeflateBomb(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	big := strings.Repeat("A", 2<<20)
	resp := h.post(t, h.conn.ID, big, "")
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	h.expectRejected(t, resp, saml.ReasonTooLarge)
	// A DEFLATE bomb posted to the ACS is not XML: it is refused without
	// being inflated.
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	_, _ = fw.Write(bytes.Repeat([]byte("<a>"), 10<<20))
	_ = fw.Close()
	h.expectRejected(t, h.post(t, h.conn.ID, b64(buf.Bytes()), ""), saml.ReasonMalformed)
	// The redirect binding (SLO) inflates with a cap.
	q := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(buf.Bytes())}, "SigAlg": {"x"}, "Signature": {"x"}}
	r2, err := h.client.Get(h.srv.URL + "/sso/saml/slo/" + h.conn.ID + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode < 400 {
		t.Fatalf("SLO bomb: status %d", r2.StatusCode)
	}
	if h.logoutCount() != 0 {
		t.Fatal("logout hook ran")
	}
}

func TestTS17_EncryptedAssertions(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"aes256-gcm", "aes128-cbc"} {
		t.Run("Accept/"+alg, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.RequireEncryptedAssertions = true })
			l := h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) { f.encrypt = alg }))
			if l.Profile.Subject != "alice@example.com" {
				t.Fatalf("subject %q", l.Profile.Subject)
			}
		})
	}
	cases := map[string]struct {
		edit   func(f *fixture)
		conf   func(c *saml.ConnectionConfig)
		reason string
	}{
		"WrongSPCert":       {func(f *fixture) { f.encrypt, f.encKey = "aes256-gcm", otherKey(t) }, nil, saml.ReasonDecryptionFailed},
		"RSA15":             {func(f *fixture) { f.encrypt, f.rsa15 = "aes256-gcm", true }, nil, saml.ReasonWeakAlgorithm},
		"PlaintextRequired": {func(f *fixture) {}, func(c *saml.ConnectionConfig) { c.RequireEncryptedAssertions = true }, saml.ReasonEncryptionRequired},
		"CorruptCipherValue": {func(f *fixture) {
			f.encrypt = "aes256-gcm"
			f.mutateResp = func(r *etree.Element) {
				cv := r.SelectElement("EncryptedAssertion").SelectElement("EncryptedData").SelectElement("CipherData").SelectElement("CipherValue")
				cv.SetText(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 45)))
			}
		}, nil, saml.ReasonDecryptionFailed},
		"RandomLengthCBC": {func(f *fixture) {
			f.encrypt = "aes128-cbc"
			f.mutateResp = func(r *etree.Element) {
				cv := r.SelectElement("EncryptedAssertion").SelectElement("EncryptedData").SelectElement("CipherData").SelectElement("CipherValue")
				cv.SetText(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 33)))
			}
		}, nil, saml.ReasonDecryptionFailed},
		"SignedResponseUnsignedEncryptedAssertion": {func(f *fixture) {
			f.encrypt, f.signAssertion, f.signResponse = "aes256-gcm", false, true
		}, nil, saml.ReasonSignatureMissing},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			if c.conf != nil {
				h.updateConn(t, h.conn, c.conf)
			}
			h.expectRejected(t, h.login(t, h.conn, c.edit), c.reason)
		})
	}
	t.Run("SignedResponseUnsignedEncryptedAssertionOptIn", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.AllowResponseSignatureOnly = true })
		h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) { f.encrypt, f.signAssertion, f.signResponse = "aes256-gcm", false, true }))
	})
}

func TestTS18_IdPInitiated(t *testing.T) {
	t.Parallel()
	t.Run("NotOptedIn", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.expectRejected(t, h.post(t, h.conn.ID, h.fixtureFor(h.conn, "").encoded(t), "/dashboard"), saml.ReasonUnsolicited)
	})
	t.Run("OptedIn", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.AllowIdPInitiated = true })
		l := h.expectAccepted(t, h.post(t, h.conn.ID, h.fixtureFor(h.conn, "").encoded(t), "/dashboard"))
		if l.ReturnTo != "/dashboard" {
			t.Fatalf("ReturnTo %q", l.ReturnTo)
		}
	})
	t.Run("TooOld", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.AllowIdPInitiated = true })
		f := h.fixtureFor(h.conn, "")
		f.now = baseTime.Add(-4 * time.Minute)
		h.expectRejected(t, h.post(t, h.conn.ID, f.encoded(t), ""), saml.ReasonTooOld)
	})
}

func TestTS19_RelayStateOpenRedirect(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.AllowIdPInitiated = true })
	for _, rs := range []string{"https://evil.example", "//evil.example", `/\evil.example`, `\/\/evil`, "https:evil.example",
		"javascript:alert(1)", "%2F%2Fevil", "/" + strings.Repeat("a", 600)} {
		l := h.expectAccepted(t, h.post(t, h.conn.ID, h.fixtureFor(h.conn, "").encoded(t), rs))
		if l.ReturnTo != "" {
			t.Fatalf("RelayState %q reached the completion flow as ReturnTo %q", rs, l.ReturnTo)
		}
	}
	// SP-initiated: an unsafe return_to is dropped at the start.
	h2 := newHarness(t)
	id := startLoginWith(t, h2.client, h2.srv.URL+"/sso/saml/login/"+h2.conn.ID+"?return_to="+url.QueryEscape("//evil.example"))
	l := h2.expectAccepted(t, h2.post(t, h2.conn.ID, h2.fixtureFor(h2.conn, id).encoded(t), "https://evil.example"))
	if l.ReturnTo != "" {
		t.Fatalf("ReturnTo %q", l.ReturnTo)
	}
}

func TestTS20_StatusCodes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp := h.login(t, h.conn, func(f *fixture) {
		f.mutateResp = func(r *etree.Element) {
			sc := r.SelectElement("Status").SelectElement("StatusCode")
			sc.SelectAttr("Value").Value = "urn:oasis:names:tc:SAML:2.0:status:Responder"
			sc.CreateElement("samlp:StatusCode").CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Success")
		}
	})
	h.expectRejected(t, resp, saml.ReasonStatus)
	var ve *sso.ValidationError
	errorsAs(h.rec.lastFailure().Err, &ve)
	if ve.Got != "Responder/Success" {
		t.Fatalf("got %q", ve.Got)
	}
	resp = h.login(t, h.conn, func(f *fixture) {
		f.mutateResp = func(r *etree.Element) {
			r.RemoveChild(r.SelectElement("Assertion"))
			sc := r.SelectElement("Status").SelectElement("StatusCode")
			sc.SelectAttr("Value").Value = "urn:oasis:names:tc:SAML:2.0:status:Requester"
			sc.CreateElement("samlp:StatusCode").CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed")
		}
	})
	h.expectRejected(t, resp, saml.ReasonStatus)
}

func TestTS23_CrossTenantMapping(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// Tenant B configured the same IdP entity ID but trusts its own cert:
	// tenant A's IdP cannot log anyone into B.
	b := h.addConn(t, "conn_b", "org_b", func(c *saml.ConnectionConfig) { c.Certificates = []string{certPEM(idpKey2(t).cert)} })
	resp := h.login(t, b, func(f *fixture) { f.nameID = "admin@tenantb.example" })
	h.expectRejected(t, resp, saml.ReasonCertificateUntrusted)
	// A valid login at A is keyed to A's organization and connection,
	// whatever the asserted address.
	h2 := newHarness(t)
	l := h2.expectAccepted(t, h2.login(t, h2.conn, func(f *fixture) {
		f.nameID = "admin@tenantb.example"
		f.attrs = map[string][]string{"email": {"admin@tenantb.example"}}
	}))
	if l.Profile.OrgID != "org_a" || l.Profile.ConnectionID != "conn_a" || l.Profile.Issuer != testIdP || l.Connection.OrgID != "org_a" {
		t.Fatalf("profile bound to %s/%s/%s", l.Profile.OrgID, l.Profile.ConnectionID, l.Profile.Issuer)
	}
}

func TestTS22_MalformedInputNoPanic(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.startLogin(t, h.conn.ID)
	valid := h.fixtureFor(h.conn, id).build(t)
	cases := map[string]struct {
		body   string
		reason string
	}{
		"NotBase64":        {"%%%not-base64%%%", saml.ReasonMalformed},
		"Empty":            {b64([]byte(" ")), saml.ReasonMalformed},
		"NotXML":           {b64([]byte("hello")), saml.ReasonMalformed},
		"Truncated":        {b64(valid[:len(valid)/2]), saml.ReasonMalformed},
		"WrongRoot":        {b64([]byte(`<x xmlns="urn:x"/>`)), saml.ReasonMalformed},
		"EmptyResponse":    {b64([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`)), saml.ReasonAssertionCount},
		"EmptySignature":   {b64(bytes.Replace(valid, []byte("<saml:Issuer>"), []byte(`<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/><saml:Issuer>`), 1)), saml.ReasonWrapping},
		"LogoutAtACS":      {b64([]byte(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x"/>`)), saml.ReasonMalformed},
		"ProcessingInstr":  {b64(append([]byte(`<?php x ?>`), valid...)), saml.ReasonMalformed},
		"UnknownNamespace": {b64([]byte(`<samlp:Response xmlns:samlp="urn:evil"/>`)), saml.ReasonMalformed},
	}
	for name, c := range cases {
		resp := h.post(t, h.conn.ID, c.body, "")
		if resp.StatusCode >= 500 {
			t.Fatalf("%s: status %d", name, resp.StatusCode)
		}
		h.expectRejected(t, resp, c.reason)
	}
}
