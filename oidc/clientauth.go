package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/ssokit/ssokit/sso"
)

// privateKeyAD is the associated data a connection's private key is sealed
// with.
func privateKeyAD(connID string) []byte { return []byte(connID + "/private_key") }

// parsePrivateKey parses a PEM PKCS#8, PKCS#1 or SEC 1 private key and
// returns it with its JWS algorithm.
func parsePrivateKey(pemText []byte) (crypto.Signer, jwa.SignatureAlgorithm, error) {
	block, _ := pem.Decode(pemText)
	if block == nil {
		return nil, "", fmt.Errorf("%w: oidc: private key is not PEM", sso.ErrInvalidInput)
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%w: oidc: private key: %v", sso.ErrInvalidInput, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, "", fmt.Errorf("%w: oidc: RSA private key shorter than 2048 bits", sso.ErrInvalidInput)
		}
		return k, jwa.RS256, nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			return k, jwa.ES256, nil
		case elliptic.P384():
			return k, jwa.ES384, nil
		case elliptic.P521():
			return k, jwa.ES512, nil
		}
	case ed25519.PrivateKey:
		return k, jwa.EdDSA, nil
	}
	return nil, "", fmt.Errorf("%w: oidc: unsupported private key type %T", sso.ErrInvalidInput, key)
}

// clientAssertion returns a private_key_jwt client assertion (RFC 7523,
// OIDC Core 9) for the token endpoint: iss = sub = client_id, aud = the
// token endpoint, a fresh jti, and a one-minute lifetime.
func (rp *RP) clientAssertion(conn *sso.Connection, tokenURL string) (string, error) {
	pemText, err := rp.cfg.Sealer.Open(ConfigOf(conn).PrivateKeySealed, privateKeyAD(conn.ID))
	if err != nil {
		return "", fmt.Errorf("oidc: open private key of connection %s: %w", conn.ID, err)
	}
	key, alg, err := parsePrivateKey(pemText)
	if err != nil {
		return "", err
	}
	jti, err := rp.random(24)
	if err != nil {
		return "", err
	}
	now := rp.now()
	payload, err := json.Marshal(map[string]any{
		"iss": ConfigOf(conn).ClientID,
		"sub": ConfigOf(conn).ClientID,
		"aud": tokenURL,
		"jti": jti,
		"iat": now.Unix(),
		"exp": now.Add(time.Minute).Unix(),
	})
	if err != nil {
		return "", err
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, "JWT"); err != nil {
		return "", err
	}
	if ConfigOf(conn).PrivateKeyID != "" {
		if err := hdr.Set(jws.KeyIDKey, ConfigOf(conn).PrivateKeyID); err != nil {
			return "", err
		}
	}
	signed, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("oidc: sign client assertion: %w", err)
	}
	if len(signed) == 0 {
		return "", errors.New("oidc: empty client assertion")
	}
	return string(signed), nil
}
