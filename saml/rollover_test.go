package saml_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

// nextSPKey is the key a rollover moves to.
func nextSPKey(t testing.TB) *testKey { return testKeys(t, 5) }

// The rollover schedule of these tests: published from day 5, switched
// on day 10, the old key retired on day 13.
var (
	rollSwitch = baseTime.Add(10 * 24 * time.Hour)
	rollPhases = []struct {
		phase saml.RolloverPhase
		at    time.Time
	}{
		{saml.RolloverScheduled, baseTime},
		{saml.RolloverPublished, baseTime.Add(6 * 24 * time.Hour)},
		{saml.RolloverSwitched, baseTime.Add(11 * 24 * time.Hour)},
		{saml.RolloverRetired, baseTime.Add(14 * 24 * time.Hour)},
	}
)

func rolloverHarness(t *testing.T) *harness {
	h := newHarness(t, func(c *saml.Config) {
		c.Rollover = &saml.KeyRollover{Next: nextSPKey(t).pair(), SwitchAt: rollSwitch,
			PublishFor: 5 * 24 * time.Hour, RetireAfter: 3 * 24 * time.Hour}
	})
	h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.SignAuthnRequests = true })
	return h
}

func TestRolloverMetadata(t *testing.T) {
	h := rolloverHarness(t)
	cur := base64.StdEncoding.EncodeToString(spKey(t).cert.Raw)
	next := base64.StdEncoding.EncodeToString(nextSPKey(t).cert.Raw)
	for _, p := range rollPhases {
		t.Run(string(p.phase), func(t *testing.T) {
			h.setNow(p.at)
			if got := h.sp.RolloverPhase(p.at); got != p.phase {
				t.Fatalf("phase %q, want %q", got, p.phase)
			}
			md := getBody(t, h, "/sso/saml/metadata/"+h.conn.ID)
			nCur, nNext := strings.Count(md, cur), strings.Count(md, next)
			want := map[saml.RolloverPhase][2]int{
				saml.RolloverScheduled: {2, 0}, // signing + encryption
				saml.RolloverPublished: {2, 2}, // next as additional KeyDescriptors
				saml.RolloverSwitched:  {0, 2},
				saml.RolloverRetired:   {0, 2},
			}[p.phase]
			if nCur != want[0] || nNext != want[1] || strings.Count(md, "<md:KeyDescriptor") != want[0]+want[1] {
				t.Fatalf("current cert %d times, next %d times, want %v:\n%s", nCur, nNext, want, md)
			}
			if p.phase == saml.RolloverPublished && strings.Index(md, cur) > strings.Index(md, next) {
				t.Fatal("the current key must come first while it still signs")
			}
		})
	}
}

func TestRolloverSigning(t *testing.T) {
	h := rolloverHarness(t)
	for _, p := range rollPhases {
		t.Run(string(p.phase), func(t *testing.T) {
			h.setNow(p.at)
			resp, err := h.client.Get(h.srv.URL + "/sso/saml/login/" + h.conn.ID)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := spKey(t)
			if p.phase == saml.RolloverSwitched || p.phase == saml.RolloverRetired {
				want = nextSPKey(t)
			}
			if err := verifyRedirectSignature(resp.Header.Get("Location"), &want.key.PublicKey); err != nil {
				t.Fatalf("AuthnRequest not signed by the expected key: %v", err)
			}
			// And the logout request the SP sends.
			rec := httptest.NewRecorder()
			if err := h.sp.StartLogout(rec, httptest.NewRequest("GET", h.srv.URL+"/logout", nil), h.conn, "alice@example.com", "_s1", "/bye"); err != nil {
				t.Fatal(err)
			}
			if err := verifyRedirectSignature(rec.Header().Get("Location"), &want.key.PublicKey); err != nil {
				t.Fatalf("LogoutRequest not signed by the expected key: %v", err)
			}
		})
	}
}

func TestRolloverDecryption(t *testing.T) {
	h := rolloverHarness(t)
	type want struct{ cur, next bool }
	wants := map[saml.RolloverPhase]want{
		saml.RolloverScheduled: {true, false}, // nobody may know the next key yet
		saml.RolloverPublished: {true, true},
		saml.RolloverSwitched:  {true, true},
		saml.RolloverRetired:   {false, true},
	}
	for _, p := range rollPhases {
		for _, k := range []struct {
			name string
			key  *testKey
			ok   bool
		}{{"current", spKey(t), wants[p.phase].cur}, {"next", nextSPKey(t), wants[p.phase].next}} {
			for _, what := range []string{"EncryptedAssertion", "EncryptedID"} {
				t.Run(string(p.phase)+"/"+what+"To"+k.name, func(t *testing.T) {
					h.setNow(p.at)
					h.rec.reset()
					resp := h.login(t, h.conn, func(f *fixture) {
						f.encKey = k.key
						if what == "EncryptedAssertion" {
							f.encrypt = "aes256-gcm"
						} else {
							f.mutate = encryptNameID(t, f, encNameID)
						}
					})
					if !k.ok {
						h.expectRejected(t, resp, saml.ReasonDecryptionFailed)
						return
					}
					l := h.expectAccepted(t, resp)
					if what == "EncryptedID" && l.Profile.Subject != "enc-subject-42" {
						t.Fatalf("subject %q", l.Profile.Subject)
					}
				})
			}
		}
	}
}

func TestRolloverAudit(t *testing.T) {
	h := rolloverHarness(t)
	ctx := context.Background()
	// A second replica with the same configuration and store.
	replica, err := saml.New(saml.Config{BaseURL: mustURL(h.srv.URL + "/sso/saml"), Key: spKey(t).pair(), Connections: h.store, Store: h.saml,
		Events: h.store, Completer: h.rec, Now: h.clock, Logger: discardLogger(), OnLogout: func(context.Context, *saml.LogoutRequest) error { return nil },
		Rollover: &saml.KeyRollover{Next: nextSPKey(t).pair(), SwitchAt: rollSwitch, PublishFor: 5 * 24 * time.Hour, RetireAfter: 3 * 24 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	count := func() map[string]int {
		evs, err := h.store.ListEvents(ctx, sso.EventQuery{OrgID: "", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		for _, e := range evs {
			n[e.Type]++
			if e.Target.ID != fingerprintOf(nextSPKey(t).cert) || e.Details["old_fingerprint"] != fingerprintOf(spKey(t).cert) || e.Actor.Type != sso.ActorSystem {
				t.Fatalf("event %+v", e)
			}
		}
		return n
	}
	wantAfter := map[saml.RolloverPhase]map[string]int{
		saml.RolloverScheduled: {},
		saml.RolloverPublished: {saml.EventSPKeyPublished: 1},
		saml.RolloverSwitched:  {saml.EventSPKeyPublished: 1, saml.EventSPKeySwitched: 1},
		saml.RolloverRetired:   {saml.EventSPKeyPublished: 1, saml.EventSPKeySwitched: 1, saml.EventSPKeyRetired: 1},
	}
	for _, p := range rollPhases {
		h.setNow(p.at)
		for range 2 {
			for _, sp := range []*saml.SP{h.sp, replica} {
				if err := sp.AuditRollover(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		got := count()
		for typ, n := range wantAfter[p.phase] {
			if got[typ] != n {
				t.Fatalf("%s: %s recorded %d times, want %d (all: %v)", p.phase, typ, got[typ], n, got)
			}
		}
		if len(got) != len(wantAfter[p.phase]) {
			t.Fatalf("%s: events %v, want %v", p.phase, got, wantAfter[p.phase])
		}
	}
	// A process started after the switch records the missed steps in order.
	h2 := rolloverHarness(t)
	h2.setNow(rollPhases[3].at)
	if err := h2.sp.AuditRollover(ctx); err != nil {
		t.Fatal(err)
	}
	evs, _ := h2.store.ListEvents(ctx, sso.EventQuery{})
	var order []string
	for _, e := range evs {
		order = append(order, e.Type)
	}
	if strings.Join(order, ",") != saml.EventSPKeyPublished+","+saml.EventSPKeySwitched+","+saml.EventSPKeyRetired {
		t.Fatalf("late start recorded %v", order)
	}
}

func TestRolloverConfig(t *testing.T) {
	base := mustURL("https://app.example.com/sso/saml")
	for name, r := range map[string]*saml.KeyRollover{
		"NoNext":     {SwitchAt: rollSwitch},
		"SameKey":    {Next: spKey(t).pair(), SwitchAt: rollSwitch},
		"NoSwitchAt": {Next: nextSPKey(t).pair()},
		"Negative":   {Next: nextSPKey(t).pair(), SwitchAt: rollSwitch, PublishFor: -time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			_, err := saml.New(saml.Config{BaseURL: base, Key: spKey(t).pair(), Connections: h.store, Store: h.saml, Completer: h.rec,
				Logger: discardLogger(), Rollover: r})
			if err == nil || !strings.Contains(err.Error(), "Rollover") {
				t.Fatalf("err %v, want a Rollover configuration error", err)
			}
		})
	}
}

// verifyRedirectSignature checks an HTTP-Redirect binding signature
// (RSA-SHA256) over the query as the SP built it.
func verifyRedirectSignature(location string, pub *rsa.PublicKey) error {
	u, err := url.Parse(location)
	if err != nil {
		return err
	}
	raw := u.RawQuery
	i := strings.Index(raw, "&Signature=")
	if i < 0 {
		return errors.New("no Signature parameter")
	}
	start := strings.Index(raw, "SAMLRequest=")
	sig, err := url.QueryUnescape(raw[i+len("&Signature="):])
	if err != nil {
		return err
	}
	b, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(raw[start:i]))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], b)
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
