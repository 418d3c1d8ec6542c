package passkey_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"
)

// authenticator is a software ES256 passkey authenticator (a platform
// authenticator with a PIN, so it sets user verification): it makes
// "none" attestations and signs assertions, encoding CBOR by hand for its
// few fixed shapes.
type authenticator struct {
	t      *testing.T
	origin string
	rpID   string
	keys   map[string]*ecdsa.PrivateKey // credential ID -> key
	handle map[string][]byte            // credential ID -> user handle
	count  map[string]uint32
	// noUV makes assertions without user verification (a security key
	// touched, no PIN).
	noUV bool
}

func newAuthenticator(t *testing.T, origin, rpID string) *authenticator {
	return &authenticator{t: t, origin: origin, rpID: rpID, keys: map[string]*ecdsa.PrivateKey{}, handle: map[string][]byte{}, count: map[string]uint32{}}
}

var b64 = base64.RawURLEncoding

// cborBytes encodes a CBOR byte string header and b.
func cborBytes(b []byte) []byte {
	switch n := len(b); {
	case n < 24:
		return append([]byte{0x40 | byte(n)}, b...)
	case n < 256:
		return append([]byte{0x58, byte(n)}, b...)
	default:
		return append([]byte{0x59, byte(n >> 8), byte(n)}, b...)
	}
}

func cborText(s string) []byte { return append([]byte{0x60 | byte(len(s))}, s...) }

// options extracts the publicKey options of a begin answer.
type options struct {
	Challenge string `json:"challenge"`
	User      struct {
		ID string `json:"id"`
	} `json:"user"`
	AllowCredentials []any `json:"allowCredentials"`
}

func parseOptions(t *testing.T, raw json.RawMessage) options {
	var o struct {
		PublicKey options `json:"publicKey"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatalf("options: %v: %s", err, raw)
	}
	return o.PublicKey
}

func (a *authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.origin, "crossOrigin": false})
	return b
}

// create makes a credential for the creation options and returns the
// PublicKeyCredential JSON and the credential ID.
func (a *authenticator) create(raw json.RawMessage) (json.RawMessage, []byte) {
	o := parseOptions(a.t, raw)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		a.t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	handle, err := b64.DecodeString(o.User.ID)
	if err != nil {
		a.t.Fatalf("user.id: %v", err)
	}
	a.keys[string(id)], a.handle[string(id)] = key, handle
	x, y := make([]byte, 32), make([]byte, 32)
	key.X.FillBytes(x)
	key.Y.FillBytes(y)
	cose := append([]byte{0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21}, cborBytes(x)...)
	cose = append(append(cose, 0x22), cborBytes(y)...)
	rp := sha256.Sum256([]byte(a.rpID))
	auth := append(rp[:], 0x01|0x04|0x40) // UP, UV, AT
	auth = binary.BigEndian.AppendUint32(auth, 0)
	auth = append(auth, make([]byte, 16)...) // AAGUID
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(id)))
	auth = append(append(auth, id...), cose...)
	att := append([]byte{0xa3}, cborText("fmt")...)
	att = append(att, cborText("none")...)
	att = append(att, cborText("attStmt")...)
	att = append(att, 0xa0)
	att = append(att, cborText("authData")...)
	att = append(att, cborBytes(auth)...)
	out, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(id), "rawId": b64.EncodeToString(id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(a.clientData("webauthn.create", o.Challenge)),
			"attestationObject": b64.EncodeToString(att), "transports": []string{"internal"}}})
	return out, id
}

// get signs the request options with credential id, as a discoverable
// login: the answer carries the user handle. counter overrides the
// signature counter when >= 0.
func (a *authenticator) get(raw json.RawMessage, id []byte, handle []byte, counter int64) json.RawMessage {
	o := parseOptions(a.t, raw)
	key := a.keys[string(id)]
	if key == nil { // a credential the site never registered
		key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		a.keys[string(id)] = key
	}
	if counter >= 0 {
		a.count[string(id)] = uint32(counter)
	} else {
		a.count[string(id)]++
	}
	rp := sha256.Sum256([]byte(a.rpID))
	flags := byte(0x01 | 0x04) // UP, UV
	if a.noUV {
		flags = 0x01
	}
	auth := append(rp[:], flags)
	auth = binary.BigEndian.AppendUint32(auth, a.count[string(id)])
	cd := a.clientData("webauthn.get", o.Challenge)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, auth...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		a.t.Fatal(err)
	}
	if handle == nil {
		handle = a.handle[string(id)]
	}
	out, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(id), "rawId": b64.EncodeToString(id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(auth),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(handle)}})
	return out
}
