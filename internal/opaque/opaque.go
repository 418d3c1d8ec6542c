// Package opaque makes and checks opaque values: random tokens and IDs,
// and the hashes under which bearer secrets are stored.
package opaque

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

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

// Hash returns the hex SHA-256 of a bearer token. Stores keep only this
// hash; a token is found by hashing the presented value and looking the hash
// up, which is not timing-sensitive because the hash of an unknown token
// reveals nothing about stored ones.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Equal compares two hashes in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
