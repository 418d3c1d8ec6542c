package oidc

import (
	"context"
	"crypto"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/ssokit/ssokit/internal/opaque"
)

// BenchmarkCallbackVerify measures the callback's verification path
// without the code exchange: take the flow named by state (hashing the
// state), load the connection and its metadata, verify the ID token with
// every check (signature, iss, aud, azp, exp/nbf/iat, sub, nonce).
// Claim mapping is measured by BenchmarkProfileMapping.
func BenchmarkCallbackVerify(b *testing.B) {
	rp, conn, _, tok := tokenFixture(b)
	ctx := context.Background()
	conns := rp.cfg.Connections.(*memConns)
	if err := conns.CreateConnection(ctx, conn); err != nil {
		b.Fatal(err)
	}
	store := rp.cfg.Store
	now := rp.now()
	states := make([]string, b.N)
	for i := range states {
		states[i] = fmt.Sprint("state-", i)
		if err := store.SaveFlow(ctx, &Flow{ID: opaque.Hash(states[i]), ConnectionID: conn.ID, OrgID: conn.OrgID, Issuer: ConfigOf(conn).Issuer,
			Nonce: "n0nce", ExpiresAt: now.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, cpuTime())
	for i := 0; i < b.N; i++ {
		f, err := store.TakeFlow(ctx, opaque.Hash(states[i]))
		if err != nil {
			b.Fatal(err)
		}
		c, err := conns.GetConnection(ctx, f.ConnectionID)
		if err != nil {
			b.Fatal(err)
		}
		md, err := rp.metadataFor(ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rp.verifyIDToken(ctx, c, md, tok, f.Nonce, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProfileMapping measures decoding the verified claims and
// mapping them to an sso.Profile.
func BenchmarkProfileMapping(b *testing.B) {
	rp, conn, m, tok := tokenFixture(b)
	vt, err := rp.verifyIDToken(context.Background(), conn, m, tok, "n0nce", "")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, cpuTime())
	for i := 0; i < b.N; i++ {
		vt.claims = nil
		if err := vt.decode(); err != nil {
			b.Fatal(err)
		}
		_ = rp.profile(context.Background(), conn, vt)
	}
}

// BenchmarkGoOIDCVerify is the baseline: bare go-oidc Verify of the same
// token with a warm RemoteKeySet.
func BenchmarkGoOIDCVerify(b *testing.B) {
	rp, conn, m, tok := tokenFixture(b)
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[` + string(newRSAKey(0, "k1").jwk()) + `]}`))
	}))
	defer jwks.Close()
	ks := gooidc.NewRemoteKeySet(context.Background(), jwks.URL)
	now := rp.now()
	v := gooidc.NewVerifier(m.Issuer, ks, &gooidc.Config{ClientID: ConfigOf(conn).ClientID, SupportedSigningAlgs: []string{"RS256", "ES256"}, Now: func() time.Time { return now }})
	if _, err := v.Verify(context.Background(), tok); err != nil { // warm the key cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, cpuTime())
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGoOIDCVerifyStatic is go-oidc Verify with a StaticKeySet, the
// cheapest possible key lookup.
func BenchmarkGoOIDCVerifyStatic(b *testing.B) {
	rp, conn, m, tok := tokenFixture(b)
	now := rp.now()
	v := gooidc.NewVerifier(m.Issuer, &gooidc.StaticKeySet{PublicKeys: []crypto.PublicKey{&rsaKey(0).PublicKey}},
		&gooidc.Config{ClientID: ConfigOf(conn).ClientID, SupportedSigningAlgs: []string{"RS256"}, Now: func() time.Time { return now }})
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, cpuTime())
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime returns the process's user+system CPU time. The benchmarks
// report it per operation as cpu-ns/op, which stays meaningful on a
// machine shared with other work where wall time does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
