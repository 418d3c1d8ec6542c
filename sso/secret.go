package sso

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
