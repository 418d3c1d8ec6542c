package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// asymmetricAlgs is every JWS algorithm an ID token may use. HMAC ("HS*")
// and "none" are never accepted: HMAC would let anyone holding the IdP's
// public key mint tokens.
var asymmetricAlgs = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}

var joseAsymmetricAlgs = func() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(asymmetricAlgs))
	for i, a := range asymmetricAlgs {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}()

func isAsymmetricAlg(alg string) bool {
	for _, a := range asymmetricAlgs {
		if a == alg {
			return true
		}
	}
	return false
}

// Errors of the key set. They are wrapped into *sso.ValidationError by the
// callers.
var (
	errNoMatchingKey   = errors.New("oidc: no key in the IdP's JWKS verifies the token")
	errRefetchLimited  = errors.New("oidc: JWKS refetch rate limited")
	errKeysUnavailable = errors.New("oidc: no signing keys available")
)

// keySet is a JWKS cache for one connection's jwks_uri that implements
// go-oidc's KeySet. Keys are selected by kid; an unknown kid (or a
// kid-less token no cached key verifies) refetches the JWKS at most once
// per refetch interval, so a flood of tokens with random kids costs at most
// one fetch per interval. When the endpoint fails, the cached keys keep
// verifying. Keys that do not parse, encryption keys and symmetric keys are
// ignored.
type keySet struct {
	rp       *RP
	url      string
	interval time.Duration

	fmu sync.Mutex // serialises fetches

	mu          sync.Mutex
	keys        []jose.JSONWebKey
	gen         uint64
	fetchedAt   time.Time
	lastAttempt time.Time
	fetches     int
}

// keyMaxAge is how long a fetched JWKS is used before a (rate-limited)
// refresh is attempted, so keys the IdP removed stop verifying.
const keyMaxAge = time.Hour

func (k *keySet) snapshot() ([]jose.JSONWebKey, uint64, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	stale := k.fetchedAt.IsZero() || k.rp.now().Sub(k.fetchedAt) > keyMaxAge
	return k.keys, k.gen, stale
}

// VerifySignature implements go-oidc's KeySet. go-oidc has already checked
// the algorithm against the allowlist; the token is parsed again here with
// the asymmetric algorithms only.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, joseAsymmetricAlgs)
	if err != nil {
		return nil, fmt.Errorf("oidc: malformed jws: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("oidc: want exactly one signature")
	}
	hdr := jws.Signatures[0].Header
	keys, gen, stale := k.snapshot()
	if stale {
		if err := k.refresh(ctx, gen); err == nil {
			keys, gen, _ = k.snapshot()
		}
	}
	payload, known := verifyWith(jws, hdr, keys)
	if payload != nil {
		return payload, nil
	}
	if known && hdr.KeyID != "" {
		// The kid is known and its key does not verify: a forgery, not a
		// rotation. Do not refetch.
		return nil, errNoMatchingKey
	}
	if err := k.refresh(ctx, gen); err != nil {
		if len(keys) == 0 {
			return nil, fmt.Errorf("%w: %w", errKeysUnavailable, err)
		}
		return nil, fmt.Errorf("%w (%w)", errNoMatchingKey, err)
	}
	keys, _, _ = k.snapshot()
	if payload, _ := verifyWith(jws, hdr, keys); payload != nil {
		return payload, nil
	}
	return nil, errNoMatchingKey
}

// verifyWith tries the keys matching hdr's kid (all keys when the token has
// no kid) and returns the payload of the first that verifies. known reports
// whether a key with the kid exists.
func verifyWith(jws *jose.JSONWebSignature, hdr jose.Header, keys []jose.JSONWebKey) (payload []byte, known bool) {
	for i := range keys {
		key := &keys[i]
		if hdr.KeyID != "" && key.KeyID != hdr.KeyID {
			continue
		}
		known = true
		if key.Algorithm != "" && key.Algorithm != hdr.Algorithm {
			continue
		}
		if p, err := jws.Verify(key); err == nil {
			return p, true
		}
	}
	return nil, known
}

// refresh fetches the JWKS unless another caller refreshed since gen was
// read, or the last attempt was less than the refetch interval ago.
func (k *keySet) refresh(ctx context.Context, gen uint64) error {
	k.fmu.Lock()
	defer k.fmu.Unlock()
	k.mu.Lock()
	if k.gen != gen {
		k.mu.Unlock()
		return nil
	}
	now := k.rp.now()
	if !k.lastAttempt.IsZero() && now.Sub(k.lastAttempt) < k.interval && now.Sub(k.lastAttempt) >= 0 {
		k.mu.Unlock()
		return errRefetchLimited
	}
	k.lastAttempt = now
	k.fetches++
	k.mu.Unlock()

	keys, err := k.rp.fetchJWKS(ctx, k.url)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.keys, k.fetchedAt = keys, now
	k.gen++
	k.mu.Unlock()
	return nil
}

// fetchCount returns how many JWKS fetches were attempted.
func (k *keySet) fetchCount() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fetches
}

// fetchJWKS downloads and parses a JWKS, keeping the usable signature keys.
// A document without a single usable key is an error, so a broken
// endpoint never replaces good cached keys.
func (rp *RP) fetchJWKS(ctx context.Context, url string) ([]jose.JSONWebKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if _, err := rp.fetchJSON(ctx, url, maxJWKSBytes, &doc); err != nil {
		return nil, err
	}
	keys := parseJWKS(doc.Keys)
	if len(keys) == 0 {
		return nil, errors.New("oidc: JWKS holds no usable signing key")
	}
	return keys, nil
}

// parseJWKS keeps the public signature keys of a JWKS: keys that fail to
// parse, "use":"enc" keys, symmetric keys and keys advertising a symmetric
// or unknown algorithm are skipped.
func parseJWKS(raw []json.RawMessage) []jose.JSONWebKey {
	var keys []jose.JSONWebKey
	for _, r := range raw {
		var k jose.JSONWebKey
		if err := json.Unmarshal(r, &k); err != nil || !k.Valid() {
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if k.Algorithm != "" && !isAsymmetricAlg(k.Algorithm) {
			continue
		}
		switch k.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			k = k.Public()
			if !k.Valid() {
				continue
			}
		default:
			continue
		}
		if rk, ok := k.Key.(*rsa.PublicKey); ok && rk.N.BitLen() < 2048 {
			continue
		}
		keys = append(keys, k)
	}
	return keys
}
