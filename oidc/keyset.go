package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	_ "crypto/sha256" // hashes for RS256/ES256/PS256
	_ "crypto/sha512" // hashes for *384/*512 and EdDSA
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/time/rate"

	"github.com/ssokit/ssokit/sso"
)

// asymmetricAlgs is every JWS algorithm an ID token may use. HMAC ("HS*")
// and "none" are never accepted: HMAC would let anyone holding the IdP's
// public key mint tokens.
var asymmetricAlgs = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}

func isAsymmetricAlg(alg string) bool {
	for _, a := range asymmetricAlgs {
		if a == alg {
			return true
		}
	}
	return false
}

// ErrKeysUnavailable reports that the IdP's signing keys could not be
// obtained: the JWKS fetch failed, or the token names a key the RP has not
// cached and the refetch budget is spent. It wraps sso.ErrUnavailable: the
// token may be genuine and a later attempt can succeed, unlike a bad
// signature. Rejections carry it with reason ReasonKeysUnavailable.
var ErrKeysUnavailable = fmt.Errorf("%w: oidc: signing keys unavailable", sso.ErrUnavailable)

// Errors of the key set. They are wrapped into *sso.ValidationError by the
// callers.
var (
	errNoMatchingKey  = errors.New("oidc: no key in the IdP's JWKS verifies the token")
	errRefetchLimited = errors.New("oidc: JWKS refetch rate limited")
	errRefetchBudget  = errors.New("oidc: JWKS refetch budget for unknown key IDs exhausted")
)

// Refetch budget of a key set: a token naming a key ID the cache lacks
// refetches the JWKS at once (an IdP may rotate right after the last
// fetch), once per key ID, and at most jwksRefetchBurst times plus one per
// refetch interval, so a flood of random key IDs costs the IdP a handful
// of requests.
const (
	jwksRefetchBurst = 5
	maxTriedKids     = 256
)

// keySet is a JWKS cache for one connection's jwks_uri. Keys are selected
// by kid. A kid the cache lacks (or a kid-less token no cached key
// verifies) refetches the JWKS once per kid and refetch interval, within
// the token-bucket budget. When the endpoint fails, the cached keys keep
// verifying the kids they hold. Keys that do not parse, encryption keys
// and symmetric keys are ignored.
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
	// budget bounds the refetches for unknown kids; tried remembers when
	// a refetch was made for a kid.
	budget *rate.Limiter
	tried  map[string]time.Time
}

func newKeySet(rp *RP, url string, interval time.Duration) *keySet {
	return &keySet{rp: rp, url: url, interval: interval,
		budget: rate.NewLimiter(rate.Every(interval), jwksRefetchBurst), tried: map[string]time.Time{}}
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

// VerifySignature parses a compact JWS, verifies its signature with
// verify and returns its payload.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	t, err := parseCompact(raw)
	if err != nil {
		return nil, err
	}
	if err := k.verify(ctx, t); err != nil {
		return nil, err
	}
	return t.payload, nil
}

// verify checks the signature of a parsed JWS over its exact signing input
// with the key named by its kid. The algorithm must be asymmetric and the
// header must carry no "crit" or "b64"; the caller checks the connection's
// allowlist. A known kid whose key does not verify is a forgery
// (errNoMatchingKey); a kid the cache lacks refetches the JWKS (see
// refetchFor), and when no fresh key set can be had the error wraps
// ErrKeysUnavailable.
func (k *keySet) verify(ctx context.Context, t *compactJWS) error {
	if !isAsymmetricAlg(t.hdr.Alg) {
		return fmt.Errorf("oidc: jws algorithm %q not allowed", t.hdr.Alg)
	}
	if t.hdr.Crit != nil || t.hdr.B64 != nil {
		return errors.New("oidc: jws crit/b64 headers not supported")
	}
	if !t.canonicalSig {
		return errSigSpelling
	}
	keys, gen, stale := k.snapshot()
	var staleErr error
	if stale {
		if staleErr = k.refresh(ctx, gen); staleErr == nil {
			keys, gen, _ = k.snapshot()
		}
	}
	ok, known := t.verifyWith(keys)
	if ok {
		return nil
	}
	if known && t.hdr.Kid != "" {
		// The kid is known and its key does not verify: a forgery, not a
		// rotation. Do not refetch.
		return errNoMatchingKey
	}
	if staleErr != nil && !errors.Is(staleErr, errRefetchLimited) {
		// The refresh this call made failed: do not try again at once.
		return fmt.Errorf("%w: %w", ErrKeysUnavailable, staleErr)
	}
	if err := k.refetchFor(ctx, gen, t.hdr.Kid); err != nil {
		return fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	keys, _, _ = k.snapshot()
	if ok, _ := t.verifyWith(keys); ok {
		return nil
	}
	return errNoMatchingKey
}

// jwsHeader is the protected header of a compact JWS: the members the
// verifier uses or refuses. jku, x5u, jwk and x5c never select a key; an
// embedded jwk or x5c must still be well formed.
type jwsHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
	B64  json.RawMessage `json:"b64"`
	JWK  json.RawMessage `json:"jwk"`
	X5C  json.RawMessage `json:"x5c"`
}

// compactJWS is a compact JWS split and decoded once: its header, the
// signing input the signature covers, the (not yet verified) payload and
// the signature.
type compactJWS struct {
	hdr          jwsHeader
	signingInput string
	payload      []byte
	sig          []byte
	// canonicalSig reports whether the signature segment is the one
	// spelling of sig (see errSigSpelling).
	canonicalSig bool
}

// parseCompact splits a compact JWS and decodes its three segments and its
// protected header, once. It checks the shape only: the algorithm, crit
// and the signature are checked by the callers and keySet.verify.
func parseCompact(raw string) (*compactJWS, error) {
	dot1 := strings.IndexByte(raw, '.')
	dot2 := strings.LastIndexByte(raw, '.')
	if dot1 < 0 || dot1 == dot2 || strings.IndexByte(raw[dot1+1:dot2], '.') >= 0 {
		return nil, errors.New("oidc: not a compact JWS")
	}
	hb, err := base64.RawURLEncoding.DecodeString(raw[:dot1])
	if err != nil {
		return nil, fmt.Errorf("oidc: jws header: %w", err)
	}
	t := &compactJWS{signingInput: raw[:dot2]}
	if err := json.Unmarshal(hb, &t.hdr); err != nil {
		return nil, fmt.Errorf("oidc: jws header: %w", err)
	}
	if t.payload, err = base64.RawURLEncoding.DecodeString(raw[dot1+1 : dot2]); err != nil {
		return nil, fmt.Errorf("oidc: jws payload: %w", err)
	}
	if t.sig, t.canonicalSig, err = decodeSignature(raw[dot2+1:]); err != nil {
		return nil, err
	}
	return t, nil
}

// errSigSpelling refuses a signature segment that is not the one
// spelling of its bytes: the header and payload segments are signed as
// written, but the signature segment is not, so a second spelling (line
// breaks, which encoding/base64 skips, or non-zero unused trailing bits)
// would make a different token with the same valid signature.
var errSigSpelling = errors.New("oidc: jws signature is not canonical base64url")

// strictB64URL refuses non-zero unused trailing bits.
var strictB64URL = base64.RawURLEncoding.Strict()

// decodeSignature decodes the signature segment and reports whether it is
// canonical; keySet.verify refuses one that is not (errSigSpelling).
func decodeSignature(seg string) ([]byte, bool, error) {
	sig, err := strictB64URL.DecodeString(seg)
	if err == nil && len(sig) == strictB64URL.DecodedLen(len(seg)) {
		return sig, true, nil
	}
	sig, err = base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return nil, false, fmt.Errorf("oidc: jws signature: %w", err)
	}
	return sig, false, nil
}

// checkEmbeddedKeys refuses a malformed embedded key: a jwk header that is
// not a valid public JWK, an x5c header that is not a chain of base64 DER
// certificates. Neither is ever used to verify.
func (h *jwsHeader) checkEmbeddedKeys() error {
	if h.JWK != nil && string(h.JWK) != "null" {
		var k jose.JSONWebKey
		if err := json.Unmarshal(h.JWK, &k); err != nil {
			return fmt.Errorf("oidc: jws jwk header: %w", err)
		}
		if !k.Valid() || !k.IsPublic() {
			return errors.New("oidc: jws jwk header is not a public key")
		}
	}
	if h.X5C != nil && string(h.X5C) != "null" {
		var chain []string
		if err := json.Unmarshal(h.X5C, &chain); err != nil {
			return fmt.Errorf("oidc: jws x5c header: %w", err)
		}
		for _, c := range chain {
			der, err := base64.StdEncoding.DecodeString(c)
			if err != nil {
				return fmt.Errorf("oidc: jws x5c header: %w", err)
			}
			if _, err := x509.ParseCertificate(der); err != nil {
				return fmt.Errorf("oidc: jws x5c header: %w", err)
			}
		}
	}
	return nil
}

// verifyWith tries the keys matching the token's kid (all keys when the
// token has no kid) and reports whether one verifies; known reports
// whether a key with the kid exists.
func (t *compactJWS) verifyWith(keys []jose.JSONWebKey) (ok, known bool) {
	for i := range keys {
		key := &keys[i]
		if t.hdr.Kid != "" && key.KeyID != t.hdr.Kid {
			continue
		}
		known = true
		if key.Algorithm != "" && key.Algorithm != t.hdr.Alg {
			continue
		}
		if verifySig(key.Key, t.hdr.Alg, t.signingInput, t.sig) {
			return true, true
		}
	}
	return false, known
}

// verifySig verifies an RFC 7518 signature with a public key whose type
// fits the algorithm: RSA for RS*/PS*, ECDSA on the algorithm's curve for
// ES*, Ed25519 for EdDSA. Anything else fails.
func verifySig(key any, alg, input string, sig []byte) bool {
	var h crypto.Hash
	switch alg[2:] {
	case "256":
		h = crypto.SHA256
	case "384":
		h = crypto.SHA384
	case "512":
		h = crypto.SHA512
	}
	digest := func() []byte {
		hh := h.New()
		hh.Write([]byte(input))
		return hh.Sum(nil)
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		switch alg[:2] {
		case "RS":
			return rsa.VerifyPKCS1v15(k, h, digest(), sig) == nil
		case "PS":
			return rsa.VerifyPSS(k, h, digest(), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
	case *ecdsa.PublicKey:
		var curve elliptic.Curve
		switch alg {
		case "ES256":
			curve = elliptic.P256()
		case "ES384":
			curve = elliptic.P384()
		case "ES512":
			curve = elliptic.P521()
		default:
			return false
		}
		size := (curve.Params().BitSize + 7) / 8
		if k.Curve != curve || len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(k, digest(), r, s)
	case ed25519.PublicKey:
		return alg == "EdDSA" && ed25519.Verify(k, []byte(input), sig)
	}
	return false
}

// refresh fetches the JWKS unless another caller refreshed since gen was
// read, or the last attempt was less than the refetch interval ago. It
// checks before waiting for a fetch in flight too: the caller has cached
// keys to go on with and need not wait for a slow IdP.
func (k *keySet) refresh(ctx context.Context, gen uint64) error {
	if skip, err := k.skipRefresh(gen); skip {
		return err
	}
	k.fmu.Lock()
	defer k.fmu.Unlock()
	if skip, err := k.skipRefresh(gen); skip {
		return err
	}
	return k.fetchLocked(ctx, k.rp.now())
}

// skipRefresh reports whether the keys read at gen are not to be refreshed
// now: another caller refreshed them since (nil error), or the last attempt
// was less than the refetch interval ago (errRefetchLimited).
func (k *keySet) skipRefresh(gen uint64) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.gen != gen {
		return true, nil
	}
	now := k.rp.now()
	if !k.lastAttempt.IsZero() && now.Sub(k.lastAttempt) < k.interval && now.Sub(k.lastAttempt) >= 0 {
		return true, errRefetchLimited
	}
	return false, nil
}

// refetchFor fetches the JWKS for a token whose kid the key set read at
// gen lacks: not when another caller refreshed since (the caller verifies
// again with the new keys), nor when a refetch for this kid was made
// within the refetch interval (the kid is then simply not the IdP's). Each
// fetch spends one token of the budget; with the budget spent it returns
// errRefetchBudget.
func (k *keySet) refetchFor(ctx context.Context, gen uint64, kid string) error {
	k.fmu.Lock()
	defer k.fmu.Unlock()
	k.mu.Lock()
	now := k.rp.now()
	if k.gen != gen {
		k.mu.Unlock()
		return nil
	}
	if at, ok := k.tried[kid]; ok && now.Sub(at) < k.interval && now.Sub(at) >= 0 {
		k.mu.Unlock()
		return nil
	}
	if !k.budget.AllowN(now, 1) {
		k.mu.Unlock()
		return errRefetchBudget
	}
	if len(k.tried) >= maxTriedKids {
		for id, at := range k.tried {
			if now.Sub(at) >= k.interval || now.Sub(at) < 0 {
				delete(k.tried, id)
			}
		}
		if len(k.tried) >= maxTriedKids {
			clear(k.tried)
		}
	}
	k.tried[kid] = now
	k.mu.Unlock()
	err := k.fetchLocked(ctx, now)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil || slices.ContainsFunc(k.keys, func(key jose.JSONWebKey) bool { return key.KeyID == kid }) {
		// Only a fetch that came back without the kid counts: a failed
		// one says nothing about it, and a kid that was found may leave
		// and come back in a later rotation.
		delete(k.tried, kid)
	}
	return err
}

// fetchLocked fetches the JWKS and installs it; k.fmu must be held.
func (k *keySet) fetchLocked(ctx context.Context, now time.Time) error {
	k.mu.Lock()
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
func (rp *RP) fetchJWKS(ctx context.Context, url string) (_ []jose.JSONWebKey, err error) {
	ctx, span := rp.tel.Start(ctx, "oidc.jwks.fetch")
	defer func() { rp.tel.RecordFetch(ctx, span, "oidc_jwks", sso.ReasonOf(err), err) }()
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if _, err := rp.fetchJSON(ctx, docJWKS, url, maxJWKSBytes, &doc); err != nil {
		return nil, err
	}
	keys := parseJWKS(doc.Keys)
	if len(keys) == 0 {
		return nil, &UpstreamError{Kind: UpstreamIncomplete, Doc: docJWKS, URL: redactURL(url), Want: "a usable signing key", Got: "a usable signing key"}
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
