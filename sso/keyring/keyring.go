// Package keyring seals secrets with AES-256-GCM under named keys, so a
// host can rotate the key that protects OIDC client secrets, TOTP seeds and
// other values ssokit must read back.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/ssokit/ssokit/sso"
)

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

var _ sso.Sealer = (*Keyring)(nil)

// New returns a Keyring sealing with keys[primary]. Every key must be
// 32 bytes; key IDs must be non-empty and free of '.'.
func New(primary string, keys map[string][]byte) (*Keyring, error) {
	if _, ok := keys[primary]; !ok {
		return nil, fmt.Errorf("%w: primary key %q not in keyring", sso.ErrInvalidConfig, primary)
	}
	k := &Keyring{primary: primary, aeads: make(map[string]cipher.AEAD, len(keys))}
	for id, key := range keys {
		if id == "" || strings.ContainsAny(id, ". ") {
			return nil, fmt.Errorf("%w: invalid key ID %q", sso.ErrInvalidConfig, id)
		}
		if len(key) != 32 {
			return nil, fmt.Errorf("%w: key %q must be 32 bytes, got %d", sso.ErrInvalidConfig, id, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", sso.ErrInvalidConfig, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", sso.ErrInvalidConfig, err)
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
		return nil, fmt.Errorf("%w: malformed sealed value", sso.ErrInvalidInput)
	}
	aead, ok := k.aeads[parts[1]]
	if !ok {
		return nil, fmt.Errorf("%w: key %q", ErrUnknownKey, parts[1])
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: malformed sealed value", sso.ErrInvalidInput)
	}
	pt, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], associatedData)
	if err != nil {
		return nil, fmt.Errorf("%w: sealed value does not authenticate", sso.ErrInvalidInput)
	}
	return pt, nil
}

// NeedsReseal reports whether sealed was produced with a key other than the
// primary one.
func (k *Keyring) NeedsReseal(sealed string) bool {
	parts := strings.SplitN(sealed, ".", 3)
	return len(parts) != 3 || parts[1] != k.primary
}
