package mfa_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
)

// softKey is a software authenticator: an ECDSA P-256 key producing
// "none" attestations and assertions as the WebAuthn spec lays them out
// (authenticator data, client data JSON, signature over
// authData || SHA-256(clientDataJSON)).
type softKey struct {
	priv   *ecdsa.PrivateKey
	credID []byte
	rpID   string
	origin string
	count  uint32
}

func newSoftKey(t testing.TB) *softKey {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	rand.Read(id)
	return &softKey{priv: priv, credID: id, rpID: "app.example", origin: "https://app.example"}
}

var b64 = base64.RawURLEncoding

// ceremonyOpts alter what the authenticator produces, for negative tests.
type ceremonyOpts struct {
	origin    string // overrides the origin in client data
	challenge []byte // overrides the challenge
	rpID      string // overrides the RP ID hashed into authenticator data
	count     *uint32
	signer    *ecdsa.PrivateKey       // signs with another key
	tamperCD  func(cd []byte) []byte  // alters client data after signing
	tamperSig func(sig []byte) []byte // alters the signature
	typ       string                  // overrides the client data type
	flags     *byte                   // overrides the authenticator flags
}

func (k *softKey) clientData(typ string, challenge []byte, o ceremonyOpts) []byte {
	if o.typ != "" {
		typ = o.typ
	}
	if o.challenge != nil {
		challenge = o.challenge
	}
	origin := k.origin
	if o.origin != "" {
		origin = o.origin
	}
	cd, _ := json.Marshal(map[string]any{"type": typ, "challenge": b64.EncodeToString(challenge), "origin": origin, "crossOrigin": false})
	return cd
}

func (k *softKey) authData(flags byte, o ceremonyOpts, attested []byte) []byte {
	rp := k.rpID
	if o.rpID != "" {
		rp = o.rpID
	}
	if o.flags != nil {
		flags = *o.flags
	}
	h := sha256.Sum256([]byte(rp))
	ad := append([]byte{}, h[:]...)
	ad = append(ad, flags)
	ad = binary.BigEndian.AppendUint32(ad, k.count)
	return append(ad, attested...)
}

// register answers a creation challenge with a "none" attestation.
func (k *softKey) register(t testing.TB, opts *protocol.CredentialCreation, o ceremonyOpts) []byte {
	t.Helper()
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         1,
		XCoord:        k.priv.PublicKey.X.FillBytes(make([]byte, 32)),
		YCoord:        k.priv.PublicKey.Y.FillBytes(make([]byte, 32)),
	})
	if err != nil {
		t.Fatal(err)
	}
	attested := make([]byte, 16) // zero AAGUID
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(k.credID)))
	attested = append(attested, k.credID...)
	attested = append(attested, cose...)
	ad := k.authData(0x45, o, attested) // UP | UV | AT
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": ad})
	if err != nil {
		t.Fatal(err)
	}
	cd := k.clientData("webauthn.create", opts.Response.Challenge, o)
	if o.tamperCD != nil {
		cd = o.tamperCD(cd)
	}
	body, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.credID), "rawId": b64.EncodeToString(k.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(cd), "attestationObject": b64.EncodeToString(att), "transports": []string{"usb"},
		},
		"clientExtensionResults": map[string]any{},
	})
	return body
}

// assert answers a request challenge with a signed assertion.
func (k *softKey) assert(t testing.TB, opts *protocol.CredentialAssertion, o ceremonyOpts) []byte {
	t.Helper()
	if o.count != nil {
		k.count = *o.count
	} else {
		k.count++
	}
	ad := k.authData(0x05, o, nil) // UP | UV
	cd := k.clientData("webauthn.get", opts.Response.Challenge, o)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), cdHash[:]...))
	signer := k.priv
	if o.signer != nil {
		signer = o.signer
	}
	sig, err := ecdsa.SignASN1(rand.Reader, signer, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if o.tamperCD != nil {
		cd = o.tamperCD(cd)
	}
	if o.tamperSig != nil {
		sig = o.tamperSig(sig)
	}
	body, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.credID), "rawId": b64.EncodeToString(k.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad), "signature": b64.EncodeToString(sig),
		},
		"clientExtensionResults": map[string]any{},
	})
	return body
}

// registerKey registers k for e's user and returns the recovery codes.
func registerKey(t *testing.T, e *env, k *softKey) []string {
	t.Helper()
	id, opts, err := e.m.BeginWebAuthnRegistration(e.ctx(), e.p)
	if err != nil {
		t.Fatalf("BeginWebAuthnRegistration: %v", err)
	}
	info, codes, err := e.m.FinishWebAuthnRegistration(e.ctx(), e.p, id, "YubiKey", k.register(t, opts, ceremonyOpts{}))
	if err != nil {
		t.Fatalf("FinishWebAuthnRegistration: %v", err)
	}
	if info.ID != b64.EncodeToString(k.credID) || info.Name != "YubiKey" {
		t.Fatalf("credential info %+v", info)
	}
	return codes
}

func login(t *testing.T, e *env, k *softKey, o ceremonyOpts) error {
	t.Helper()
	id, opts, err := e.m.BeginWebAuthnLogin(e.ctx(), e.p)
	if err != nil {
		t.Fatalf("BeginWebAuthnLogin: %v", err)
	}
	return e.m.FinishWebAuthnLogin(e.ctx(), e.p, id, k.assert(t, opts, o))
}

func TestWebAuthnRegisterAndLogin(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, b.open)
			k := newSoftKey(t)
			codes := registerKey(t, e, k)
			if len(codes) != mfa.RecoveryCodeCount {
				t.Fatalf("first factor must come with recovery codes, got %d", len(codes))
			}
			for range 3 {
				if err := login(t, e, k, ceremonyOpts{}); err != nil {
					t.Fatalf("login: %v", err)
				}
			}
			creds, _ := e.st.ListWebAuthnCredentials(e.ctx(), e.p.UserID)
			if len(creds) != 1 || creds[0].SignCount != 3 || creds[0].LastUsedAt.IsZero() {
				t.Fatalf("stored credential after 3 logins: %+v", creds)
			}
			st, _ := e.m.Status(e.ctx(), e.p)
			if !st.Enrolled || len(st.WebAuthn) != 1 || st.TOTP {
				t.Fatalf("status: %+v", st)
			}
			if n := len(e.events(mfa.EventSucceeded)); n != 3 {
				t.Fatalf("success events: got %d, want 3", n)
			}
			// A second key needs a recent second factor; with one it works and
			// brings no new recovery codes.
			e.p.MFA, e.p.MFAAt = true, e.clock.Now()
			k2 := newSoftKey(t)
			if codes := registerKey(t, e, k2); len(codes) != 0 {
				t.Fatalf("second key must not replace recovery codes, got %d", len(codes))
			}
			// The first key cannot be registered again (excluded, and its ID is
			// unique in the store).
			id, opts, _ := e.m.BeginWebAuthnRegistration(e.ctx(), e.p)
			_, _, err := e.m.FinishWebAuthnRegistration(e.ctx(), e.p, id, "again", k.register(t, opts, ceremonyOpts{}))
			wantReason(t, err, mfa.ReasonWebAuthnInvalid)
		})
	}
}

func TestWebAuthnRejects(t *testing.T) {
	t.Parallel()
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	zero, one := uint32(0), uint32(1)
	noUP := byte(0x04)
	for _, tc := range []struct {
		name   string
		o      ceremonyOpts
		reason string
	}{
		{"tampered clientDataJSON", ceremonyOpts{tamperCD: func(cd []byte) []byte {
			return []byte(string(cd[:len(cd)-1]) + `,"extra":"x"}`)
		}}, mfa.ReasonWebAuthnInvalid},
		{"wrong challenge", ceremonyOpts{challenge: []byte("0123456789abcdef0123456789abcdef")}, mfa.ReasonWebAuthnInvalid},
		{"wrong origin", ceremonyOpts{origin: "https://evil.example"}, mfa.ReasonWebAuthnInvalid},
		{"wrong RP ID", ceremonyOpts{rpID: "evil.example"}, mfa.ReasonWebAuthnInvalid},
		{"wrong type", ceremonyOpts{typ: "webauthn.create"}, mfa.ReasonWebAuthnInvalid},
		{"no user presence", ceremonyOpts{flags: &noUP}, mfa.ReasonWebAuthnInvalid},
		{"signature by another key", ceremonyOpts{signer: other}, mfa.ReasonWebAuthnInvalid},
		{"corrupted signature", ceremonyOpts{tamperSig: func(s []byte) []byte { s[len(s)-1] ^= 1; return s }}, mfa.ReasonWebAuthnInvalid},
		{"truncated signature", ceremonyOpts{tamperSig: func(s []byte) []byte { return s[:8] }}, mfa.ReasonWebAuthnInvalid},
		{"counter regression", ceremonyOpts{count: &one}, mfa.ReasonCounterRegression},
		{"counter reset to zero", ceremonyOpts{count: &zero}, mfa.ReasonCounterRegression},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *mfa.Config) { c.MaxFailures = 100 })
			k := newSoftKey(t)
			registerKey(t, e, k)
			if err := login(t, e, k, ceremonyOpts{}); err != nil { // counter 1
				t.Fatal(err)
			}
			if err := login(t, e, k, ceremonyOpts{}); err != nil { // counter 2
				t.Fatal(err)
			}
			err := login(t, e, k, tc.o)
			wantReason(t, err, tc.reason)
			var ve *sso.ValidationError
			if !errors.As(err, &ve) || ve.Protocol != mfa.Protocol {
				t.Fatalf("want an mfa *sso.ValidationError, got %T", err)
			}
			if a, err := e.st.GetAttempts(e.ctx(), e.p.UserID); err != nil || a.Failures != 1 {
				t.Fatalf("rejection must count as a failure: %+v, %v", a, err)
			}
			if evs := e.events(mfa.EventFailed); len(evs) != 1 || evs[0].Reason != tc.reason {
				t.Fatalf("failure audit event: %+v", evs)
			}
			// The stored counter did not move.
			if creds, _ := e.st.ListWebAuthnCredentials(e.ctx(), e.p.UserID); creds[0].SignCount != 2 {
				t.Fatalf("stored counter changed to %d", creds[0].SignCount)
			}
		})
	}
}

func TestWebAuthnCeremonies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *mfa.Config) { c.MaxFailures = 100 })
	k := newSoftKey(t)
	registerKey(t, e, k)

	// A ceremony works once: replaying the same assertion fails.
	id, opts, err := e.m.BeginWebAuthnLogin(e.ctx(), e.p)
	if err != nil {
		t.Fatal(err)
	}
	body := k.assert(t, opts, ceremonyOpts{})
	if err := e.m.FinishWebAuthnLogin(e.ctx(), e.p, id, body); err != nil {
		t.Fatal(err)
	}
	wantReason(t, e.m.FinishWebAuthnLogin(e.ctx(), e.p, id, body), mfa.ReasonCeremonyInvalid)

	// A ceremony of another session (or user) is refused and consumed.
	id, opts, _ = e.m.BeginWebAuthnLogin(e.ctx(), e.p)
	thief := *e.p
	thief.SessionID = "ses_other"
	wantReason(t, e.m.FinishWebAuthnLogin(e.ctx(), &thief, id, k.assert(t, opts, ceremonyOpts{})), mfa.ReasonCeremonyInvalid)
	wantReason(t, e.m.FinishWebAuthnLogin(e.ctx(), e.p, id, k.assert(t, opts, ceremonyOpts{})), mfa.ReasonCeremonyInvalid)

	// A registration ceremony cannot finish a login.
	rid, _, err := func() (string, any, error) {
		e.p.MFA, e.p.MFAAt = true, e.clock.Now()
		return e.m.BeginWebAuthnRegistration(e.ctx(), e.p)
	}()
	if err != nil {
		t.Fatal(err)
	}
	wantReason(t, e.m.FinishWebAuthnLogin(e.ctx(), e.p, rid, body), mfa.ReasonCeremonyInvalid)

	// Expired ceremonies are gone.
	id, opts, _ = e.m.BeginWebAuthnLogin(e.ctx(), e.p)
	e.clock.Advance(6 * 60 * 1e9)
	wantReason(t, e.m.FinishWebAuthnLogin(e.ctx(), e.p, id, k.assert(t, opts, ceremonyOpts{})), mfa.ReasonCeremonyInvalid)

	// Garbage is malformed, never a panic.
	for _, junk := range []string{``, `{}`, `null`, `[]`, `{"id":"!!","rawId":"??","type":"public-key","response":{}}`, "\xff\x00"} {
		id, _, _ := e.m.BeginWebAuthnLogin(e.ctx(), e.p)
		wantReason(t, e.m.FinishWebAuthnLogin(e.ctx(), e.p, id, []byte(junk)), mfa.ReasonWebAuthnMalformed)
	}
}

func TestWebAuthnRegistrationRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		o    ceremonyOpts
	}{
		{"wrong origin", ceremonyOpts{origin: "https://evil.example"}},
		{"wrong challenge", ceremonyOpts{challenge: []byte("0123456789abcdef0123456789abcdef")}},
		{"wrong RP ID", ceremonyOpts{rpID: "evil.example"}},
		{"wrong type", ceremonyOpts{typ: "webauthn.get"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			k := newSoftKey(t)
			id, opts, err := e.m.BeginWebAuthnRegistration(e.ctx(), e.p)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = e.m.FinishWebAuthnRegistration(e.ctx(), e.p, id, "k", k.register(t, opts, tc.o))
			wantReason(t, err, mfa.ReasonWebAuthnInvalid)
			if creds, _ := e.st.ListWebAuthnCredentials(e.ctx(), e.p.UserID); len(creds) != 0 {
				t.Fatalf("rejected registration stored a credential")
			}
		})
	}
}

func FuzzWebAuthnAssertion(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AA","signature":"AA"}}`))
	f.Add([]byte("\x00"))
	e := newEnv(f, func(c *mfa.Config) { c.MaxFailures = 1 << 30 })
	k := newSoftKey(f)
	id, opts, err := e.m.BeginWebAuthnRegistration(e.ctx(), e.p)
	if err != nil {
		f.Fatal(err)
	}
	if _, _, err := e.m.FinishWebAuthnRegistration(e.ctx(), e.p, id, "k", k.register(f, opts, ceremonyOpts{})); err != nil {
		f.Fatal(err)
	}
	_, lopts, _ := e.m.BeginWebAuthnLogin(e.ctx(), e.p)
	f.Add(k.assert(f, lopts, ceremonyOpts{}))
	f.Fuzz(func(t *testing.T, body []byte) {
		id, _, err := e.m.BeginWebAuthnLogin(e.ctx(), e.p)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.m.FinishWebAuthnLogin(e.ctx(), e.p, id, body); err == nil {
			t.Fatalf("fuzzed assertion accepted: %q", body)
		} else if r := sso.ReasonOf(err); r != mfa.ReasonWebAuthnMalformed && r != mfa.ReasonWebAuthnInvalid && r != mfa.ReasonCounterRegression {
			t.Fatalf("unexpected rejection %v (reason %q)", err, r)
		}
	})
}

// TestWebAuthnAcrossReplicas: a ceremony begun on one replica finishes on
// another that shares the store.
func TestWebAuthnAcrossReplicas(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, b.open)
			replica, err := mfa.New(mfa.Config{Store: e.st, Sealer: e.keys, Users: e.st, Orgs: e.st, Members: e.st, Events: e.st,
				Issuer: "Acme Cloud", Now: e.clock.Now,
				WebAuthn: &mfa.WebAuthnConfig{RPID: "app.example", Origins: []string{"https://app.example"}}})
			if err != nil {
				t.Fatal(err)
			}
			k := newSoftKey(t)
			id, opts, err := e.m.BeginWebAuthnRegistration(e.ctx(), e.p)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := replica.FinishWebAuthnRegistration(e.ctx(), e.p, id, "k", k.register(t, opts, ceremonyOpts{})); err != nil {
				t.Fatalf("finish registration on the replica: %v", err)
			}
			lid, lopts, err := replica.BeginWebAuthnLogin(e.ctx(), e.p)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.m.FinishWebAuthnLogin(e.ctx(), e.p, lid, k.assert(t, lopts, ceremonyOpts{})); err != nil {
				t.Fatalf("finish login on the first replica: %v", err)
			}
		})
	}
}
