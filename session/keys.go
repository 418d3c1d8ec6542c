package session

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/ssokit/ssokit/sso"
)

// Access-token signature algorithms.
const (
	ES256 = "ES256"
	EdDSA = "EdDSA"
	RS256 = "RS256"
)

// accessTokenType is the JWT "typ" header of access tokens (RFC 9068).
const accessTokenType = "at+jwt"

// SigningKey is one access-token signing key.
//
// Rotation without a flag day: add the next key with ActiveAt in the
// future; from now on it is published by the JWKS handler, so resource
// servers caching the JWKS learn it before any token carries it. At
// ActiveAt it becomes the signing key. The JWKS response may be cached for
// five minutes, so publish a key at least that long before its ActiveAt. Set RetiredAt on the previous key (at
// or after the next key's ActiveAt): it stops signing then and stays in the
// JWKS and verifiable for MaxAccessTokenTTL more, until its last tokens have
// expired; after that it can be removed from the configuration.
type SigningKey struct {
	// ID is the "kid". Required and unique.
	ID string
	// PrivateKey is an *ecdsa.PrivateKey on P-256 (ES256), an
	// ed25519.PrivateKey (EdDSA) or an *rsa.PrivateKey of at least 2048 bits
	// (RS256).
	PrivateKey crypto.Signer
	// ActiveAt is when the key starts signing. Zero means at once.
	ActiveAt time.Time
	// RetiredAt, when non-zero, is when the key stops signing.
	RetiredAt time.Time
}

// GenerateSigningKey returns a new key for alg (ES256, EdDSA or RS256)
// with the given ID, active at once.
func GenerateSigningKey(id, alg string) (SigningKey, error) {
	var (
		k   crypto.Signer
		err error
	)
	switch alg {
	case ES256:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, k, err = ed25519.GenerateKey(rand.Reader)
	case RS256:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return SigningKey{}, fmt.Errorf("%w: session: unsupported algorithm %q", sso.ErrInvalidConfig, alg)
	}
	if err != nil {
		return SigningKey{}, fmt.Errorf("session: generate key: %w", err)
	}
	return SigningKey{ID: id, PrivateKey: k}, nil
}

type keyEntry struct {
	id        string
	alg       jwa.SignatureAlgorithm
	priv      jwk.Key
	pub       jwk.Key
	rawPub    any
	activeAt  time.Time
	retiredAt time.Time
}

// published reports whether the key is in the JWKS (and may verify) at now.
func (e *keyEntry) published(now time.Time) bool {
	return e.retiredAt.IsZero() || now.Before(e.retiredAt.Add(MaxAccessTokenTTL))
}

type keyring struct {
	keys []*keyEntry
	byID map[string]*keyEntry
}

func newKeyEntry(k SigningKey) (*keyEntry, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: session: signing key %q: %s", sso.ErrInvalidConfig, k.ID, fmt.Sprintf(format, args...))
	}
	if k.ID == "" {
		return nil, bad("ID is required")
	}
	e := &keyEntry{id: k.ID, activeAt: k.ActiveAt, retiredAt: k.RetiredAt}
	var raw any
	switch pk := k.PrivateKey.(type) {
	case *ecdsa.PrivateKey:
		if pk.Curve != elliptic.P256() {
			return nil, bad("ECDSA keys must use P-256")
		}
		e.alg, raw = jwa.ES256, pk
	case ed25519.PrivateKey:
		if len(pk) != ed25519.PrivateKeySize {
			return nil, bad("malformed Ed25519 key")
		}
		e.alg, raw = jwa.EdDSA, pk
	case *rsa.PrivateKey:
		if pk.N.BitLen() < 2048 {
			return nil, bad("RSA keys need at least 2048 bits")
		}
		e.alg, raw = jwa.RS256, pk
	default:
		return nil, bad("unsupported key type %T", k.PrivateKey)
	}
	if !e.retiredAt.IsZero() && !e.retiredAt.After(e.activeAt) {
		return nil, bad("RetiredAt must be after ActiveAt")
	}
	priv, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, bad("%v", err)
	}
	for _, kv := range [][2]any{{jwk.KeyIDKey, k.ID}, {jwk.AlgorithmKey, e.alg}, {jwk.KeyUsageKey, "sig"}} {
		if err := priv.Set(kv[0].(string), kv[1]); err != nil {
			return nil, bad("%v", err)
		}
	}
	pub, err := priv.PublicKey()
	if err != nil {
		return nil, bad("%v", err)
	}
	var rawPub any
	if err := pub.Raw(&rawPub); err != nil {
		return nil, bad("%v", err)
	}
	e.priv, e.pub, e.rawPub = priv, pub, rawPub
	return e, nil
}

// SetSigningKeys replaces the signing keys (for rotation at run time). The
// keys are validated as by New; on error nothing changes.
func (m *Manager) SetSigningKeys(keys []SigningKey) error {
	if m.cfg.Tokens == nil || m.cfg.Revocations == nil {
		return fmt.Errorf("%w: session: SigningKeys need Tokens and Revocations", sso.ErrInvalidConfig)
	}
	if m.cfg.Issuer == "" {
		return fmt.Errorf("%w: session: Issuer is required with SigningKeys", sso.ErrInvalidConfig)
	}
	if len(keys) == 0 {
		return fmt.Errorf("%w: session: no signing keys", sso.ErrInvalidConfig)
	}
	kr := &keyring{byID: make(map[string]*keyEntry, len(keys))}
	for _, k := range keys {
		e, err := newKeyEntry(k)
		if err != nil {
			return err
		}
		if _, dup := kr.byID[e.id]; dup {
			return fmt.Errorf("%w: session: duplicate signing key ID %q", sso.ErrInvalidConfig, e.id)
		}
		kr.byID[e.id] = e
		kr.keys = append(kr.keys, e)
	}
	m.keys.Store(kr)
	return nil
}

// signer returns the key that signs at now: among active, unretired keys
// the one activated last.
func (kr *keyring) signer(now time.Time) *keyEntry {
	var best *keyEntry
	for _, e := range kr.keys {
		if e.activeAt.After(now) || (!e.retiredAt.IsZero() && !now.Before(e.retiredAt)) {
			continue
		}
		if best == nil || e.activeAt.After(best.activeAt) {
			best = e
		}
	}
	return best
}

// errKey is returned by the key provider for tokens it will not verify.
var errKey = errors.New("session: no acceptable key")

// keyProvider gives jwx exactly one key: the one named by the token's kid,
// with the algorithm that key was configured for, and only for tokens of
// type at+jwt. The token's alg header never chooses the algorithm.
type keyProvider struct{ m *Manager }

func (p keyProvider) FetchKeys(_ context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
	h := sig.ProtectedHeaders()
	if h.Type() != accessTokenType {
		return errKey
	}
	kr := p.m.keys.Load()
	if kr == nil {
		return errKey
	}
	now := p.m.now()
	e, ok := kr.byID[h.KeyID()]
	if !ok || e.activeAt.After(now) || !e.published(now) || h.Algorithm() != e.alg {
		return errKey
	}
	sink.Key(e.alg, e.rawPub)
	return nil
}

// JWKSHandler serves the public signing keys as a JSON Web Key Set,
// including keys that will sign soon and retired keys whose tokens may
// still be live.
func (m *Manager) JWKSHandler() http.Handler {
	return http.HandlerFunc(m.ServeJWKS)
}

// ServeJWKS writes the JWKS (see JWKSHandler).
func (m *Manager) ServeJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method_not_allowed"})
		return
	}
	set := jwk.NewSet()
	if kr := m.keys.Load(); kr != nil {
		now := m.now()
		for _, e := range kr.keys {
			if e.published(now) {
				_ = set.AddKey(e.pub)
			}
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(b)
}
