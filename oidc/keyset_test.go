package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ssokit/ssokit/sso"
)

func TestVerifySigAlgorithms(t *testing.T) {
	t.Parallel()
	rk := rsaKey(1)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	input := "header.payload"
	sha := func(h crypto.Hash) []byte { x := h.New(); x.Write([]byte(input)); return x.Sum(nil) }
	ps256, _ := rsa.SignPSS(rand.Reader, rk, crypto.SHA256, sha(crypto.SHA256), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	rs512, _ := rsa.SignPKCS1v15(rand.Reader, rk, crypto.SHA512, sha(crypto.SHA512))
	r, s, _ := ecdsa.Sign(rand.Reader, ec384, sha(crypto.SHA384))
	es384 := make([]byte, 96)
	r.FillBytes(es384[:48])
	s.FillBytes(es384[48:])
	ed := ed25519.Sign(edPriv, []byte(input))
	for _, tc := range []struct {
		name string
		key  any
		alg  string
		sig  []byte
		ok   bool
	}{
		{"PS256", &rk.PublicKey, "PS256", ps256, true},
		{"RS512", &rk.PublicKey, "RS512", rs512, true},
		{"ES384", &ec384.PublicKey, "ES384", es384, true},
		{"EdDSA", edPub, "EdDSA", ed, true},
		{"PS256-as-RS256", &rk.PublicKey, "RS256", ps256, false},
		{"ES384-sig-as-ES256", &ec384.PublicKey, "ES256", es384, false},
		{"ES384-short-sig", &ec384.PublicKey, "ES384", es384[:95], false},
		{"EdDSA-alg-with-rsa-key", &rk.PublicKey, "EdDSA", ed, false},
		{"RS512-with-ec-key", &ec384.PublicKey, "RS512", rs512, false},
		{"HS256-with-rsa-key", &rk.PublicKey, "HS256", rs512, false},
		{"tampered", edPub, "EdDSA", append([]byte{ed[0] ^ 1}, ed[1:]...), false},
	} {
		if got := verifySig(tc.key, tc.alg, input, tc.sig); got != tc.ok {
			t.Errorf("%s: verifySig = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestParseJWKSFilters(t *testing.T) {
	t.Parallel()
	priv, _ := jose.JSONWebKey{Key: rsaKey(0), KeyID: "priv", Algorithm: "RS256"}.MarshalJSON()
	enc, _ := jose.JSONWebKey{Key: &rsaKey(1).PublicKey, KeyID: "enc", Use: "enc"}.MarshalJSON()
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	weak, _ := jose.JSONWebKey{Key: &small.PublicKey, KeyID: "weak"}.MarshalJSON()
	hs, _ := jose.JSONWebKey{Key: &rsaKey(2).PublicKey, KeyID: "hs", Algorithm: "HS256"}.MarshalJSON()
	keys := parseJWKS([]json.RawMessage{priv, enc, weak, hs, json.RawMessage(`{"kty":"oct","k":"AAAA","kid":"oct"}`)})
	if len(keys) != 1 || keys[0].KeyID != "priv" || !keys[0].IsPublic() {
		t.Fatalf("kept %+v, want only the public half of priv", keys)
	}
}

// TestAlgAllowed checks that algAllowed, which the verifier uses, accepts
// exactly the algorithms of signingAlgs, which error messages list, for
// every mix of configured and advertised algorithms.
func TestAlgAllowed(t *testing.T) {
	t.Parallel()
	lists := [][]string{nil, {}, {"RS256"}, {"ES256"}, {"HS256"}, {"none"}, {"RS256", "ES256"}, {"HS256", "ES384"}, {"EdDSA", "EdDSA"}, {"rs256"}}
	algs := append([]string{"", "none", "HS256", "RS256 ", "rs256"}, asymmetricAlgs...)
	for _, configured := range lists {
		for _, advertised := range lists {
			conn := &sso.Connection{Protocol: Protocol, Config: &ConnectionConfig{SigningAlgs: configured}}
			m := &metadata{IDTokenAlgs: advertised}
			want := signingAlgs(conn, m)
			for _, alg := range algs {
				if got := algAllowed(conn, m, alg); got != slices.Contains(want, alg) {
					t.Errorf("configured %q advertised %q alg %q: allowed %v, want %v (list %q)", configured, advertised, alg, got, !got, want)
				}
			}
		}
	}
}

// TestStaleKeysRefreshDoesNotHoldConcurrentTokens lets the cached keys pass
// keyMaxAge while the IdP's JWKS endpoint hangs: one verification refreshes
// them, and tokens signed with a cached key verify meanwhile with the
// cached keys instead of waiting for the hung fetch.
func TestStaleKeysRefreshDoesNotHoldConcurrentTokens(t *testing.T) {
	t.Parallel()
	h, op := setupOne(t, func(c *Config) { c.FetchTimeout = 10 * time.Minute })
	h.wantOK(h.login(newBrowser(t), "conn_a"))
	ks := h.rp.keySetFor(mustConn(h, "conn_a"), op.srv.URL+"/jwks")

	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	op.set(func(op *mockOP) {
		op.jwksHandler = func(w http.ResponseWriter, r *http.Request) {
			once.Do(func() { close(entered) })
			select {
			case <-release:
			case <-r.Context().Done():
			}
			w.WriteHeader(http.StatusGatewayTimeout)
		}
	})
	var releaseOnce sync.Once
	stop := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(stop)
	h.clock.Advance(keyMaxAge + time.Minute)
	tok := func() *compactJWS {
		now := h.clock.Now()
		raw := signJWT(map[string]any{"alg": "RS256", "kid": op.signKey.kid}, map[string]any{"iss": op.issuer, "iat": now.Unix()}, op.signKey, nil)
		jws, err := parseCompact(raw)
		if err != nil {
			panic(err)
		}
		return jws
	}
	before := op.jwksFetches.Load()

	refreshed := make(chan error, 1)
	go func() { refreshed <- ks.verify(context.Background(), tok()) }()
	<-entered

	const others = 8
	errs := make(chan error, others)
	for range others {
		go func() { errs <- ks.verify(context.Background(), tok()) }()
	}
	for range others {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatalf("token with a cached key during the refresh: %v, want verified", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("verifications waited for the hung JWKS refresh instead of using the cached keys")
		}
	}
	if got := op.jwksFetches.Load() - before; got != 1 {
		t.Fatalf("%d JWKS fetches while one was in flight, want 1", got)
	}
	stop()
	if err := <-refreshed; err != nil {
		t.Fatalf("refreshing verification: %v, want verified with the cached keys", err)
	}
}
