package sso

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Sealer encrypts secrets that must be read back (OIDC client secrets and
// private keys, TOTP seeds) before they reach a store. Values that only need
// checking (SCIM, session and refresh tokens, recovery codes) are stored as
// hashes instead; see HashToken.
//
// Implementations must be safe for concurrent use.
type Sealer interface {
	// Seal encrypts plaintext bound to associatedData (e.g. the record's ID,
	// so a sealed value cannot be moved to another record) and returns a
	// printable string.
	Seal(plaintext, associatedData []byte) (string, error)
	// Open decrypts a value produced by Seal with the same associatedData. It
	// returns an error wrapping ErrInvalidInput for tampered or foreign values.
	Open(sealed string, associatedData []byte) ([]byte, error)
}

// ErrUnknownKey reports a sealed value whose key ID the Keyring lacks.
var ErrUnknownKey = errors.New("sso: sealed with an unknown key")

// Keyring is a Sealer using AES-256-GCM with named keys. New values are sealed
// with the primary key; values sealed with any key still in the ring open, so
// a host rotates by adding a new primary key, re-sealing at leisure, then
// removing the old key.
//
// Sealed values look like "v1.<keyID>.<base64url(nonce|ciphertext)>".
type Keyring struct {
	primary string
	aeads   map[string]cipher.AEAD
}

var _ Sealer = (*Keyring)(nil)

// NewKeyring returns a Keyring sealing with keys[primary]. Every key must be
// 32 bytes; key IDs must be non-empty and free of '.'.
func NewKeyring(primary string, keys map[string][]byte) (*Keyring, error) {
	if _, ok := keys[primary]; !ok {
		return nil, fmt.Errorf("%w: primary key %q not in keyring", ErrInvalidConfig, primary)
	}
	k := &Keyring{primary: primary, aeads: make(map[string]cipher.AEAD, len(keys))}
	for id, key := range keys {
		if id == "" || strings.ContainsAny(id, ". ") {
			return nil, fmt.Errorf("%w: invalid key ID %q", ErrInvalidConfig, id)
		}
		if len(key) != 32 {
			return nil, fmt.Errorf("%w: key %q must be 32 bytes, got %d", ErrInvalidConfig, id, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
		}
		k.aeads[id] = aead
	}
	return k, nil
}

// Seal implements Sealer.
func (k *Keyring) Seal(plaintext, associatedData []byte) (string, error) {
	aead := k.aeads[k.primary]
	buf := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("sso: seal: %w", err)
	}
	buf = aead.Seal(buf, buf, plaintext, associatedData)
	return "v1." + k.primary + "." + base64.RawURLEncoding.EncodeToString(buf), nil
}

// Open implements Sealer.
func (k *Keyring) Open(sealed string, associatedData []byte) ([]byte, error) {
	parts := strings.SplitN(sealed, ".", 3)
	if len(parts) != 3 || parts[0] != "v1" {
		return nil, fmt.Errorf("%w: malformed sealed value", ErrInvalidInput)
	}
	aead, ok := k.aeads[parts[1]]
	if !ok {
		return nil, fmt.Errorf("%w: key %q", ErrUnknownKey, parts[1])
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: malformed sealed value", ErrInvalidInput)
	}
	pt, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], associatedData)
	if err != nil {
		return nil, fmt.Errorf("%w: sealed value does not authenticate", ErrInvalidInput)
	}
	return pt, nil
}

// NeedsReseal reports whether sealed was produced with a key other than the
// primary one.
func (k *Keyring) NeedsReseal(sealed string) bool {
	parts := strings.SplitN(sealed, ".", 3)
	return len(parts) != 3 || parts[1] != k.primary
}

// NewToken returns a random URL-safe token carrying nbytes bytes of entropy
// from crypto/rand. Use at least 32 bytes for bearer secrets.
func NewToken(nbytes int) string {
	b := make([]byte, nbytes)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand.Read never fails on supported platforms (Go 1.24+).
		panic("sso: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewID returns a random 128-bit identifier, hex encoded, with an optional
// prefix such as "org_" or "conn_".
func NewID(prefix string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("sso: crypto/rand failed: " + err.Error())
	}
	return prefix + hex.EncodeToString(b[:])
}

// HashToken returns the hex SHA-256 of a bearer token. Stores keep only this
// hash; a token is found by hashing the presented value and looking the hash
// up, which is not timing-sensitive because the hash of an unknown token
// reveals nothing about stored ones.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// EqualHash compares two hashes in constant time.
func EqualHash(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
