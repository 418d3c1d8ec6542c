package session_test

import (
	"context"
	"crypto/ecdsa"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
)

func benchManager(b *testing.B, cacheSize int) (*session.Manager, *memstore.Store, session.SigningKey) {
	b.Helper()
	ms := memstore.New()
	key, err := session.GenerateSigningKey("k1", session.ES256)
	if err != nil {
		b.Fatal(err)
	}
	m, err := session.New(session.Config{Store: ms, Events: ms, Tokens: ms, Revocations: ms, Memberships: ms,
		SigningKeys: []session.SigningKey{key}, Issuer: "https://app.test", TokenCacheSize: cacheSize})
	if err != nil {
		b.Fatal(err)
	}
	return m, ms, key
}

// BenchmarkLoadAuthenticated is an authenticated read through Load and
// Require on memstore (compare bench/session_test.go for scs).
func BenchmarkLoadAuthenticated(b *testing.B) {
	m, _, _ := benchManager(b, 0)
	w := httptest.NewRecorder()
	if _, err := m.Issue(w, httptest.NewRequest("POST", "/", nil), &sso.SessionGrant{UserID: "alice", OrgID: orgA}); err != nil {
		b.Fatal(err)
	}
	cookie := w.Result().Cookies()[0]
	h := m.Load(m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := sso.PrincipalFrom(r.Context())
		_, _ = w.Write([]byte(p.UserID))
	})))
	b.ReportAllocs()
	b.ResetTimer()
	threadCPU(b, func() {
		for b.Loop() {
			r := httptest.NewRequest("GET", "/", nil)
			r.AddCookie(cookie)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
		}
	})
}

func benchToken(b *testing.B, m *session.Manager, ms *memstore.Store) string {
	w := httptest.NewRecorder()
	s, err := m.Issue(w, httptest.NewRequest("POST", "/", nil), &sso.SessionGrant{UserID: "alice", OrgID: orgA, Roles: []string{"admin"}})
	if err != nil {
		b.Fatal(err)
	}
	p, err := m.IssueTokens(context.Background(), s, session.TokenOptions{Scopes: []string{"read"}})
	if err != nil {
		b.Fatal(err)
	}
	return p.AccessToken
}

// BenchmarkVerifyAccessToken verifies without the token cache: signature,
// claims and the (cached) revocation check.
func BenchmarkVerifyAccessToken(b *testing.B) {
	m, ms, _ := benchManager(b, -1)
	tok := benchToken(b, m, ms)
	ctx := context.Background()
	b.ReportAllocs()
	threadCPU(b, func() {
		for b.Loop() {
			if _, err := m.VerifyAccessToken(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBareJWXParseVerify is the baseline: jwx parse + verify +
// validate of the same token with the key given directly.
func BenchmarkBareJWXParseVerify(b *testing.B) {
	m, ms, key := benchManager(b, -1)
	tok := []byte(benchToken(b, m, ms))
	pub := &key.PrivateKey.(*ecdsa.PrivateKey).PublicKey
	b.ReportAllocs()
	threadCPU(b, func() {
		for b.Loop() {
			if _, err := jwt.Parse(tok, jwt.WithKey(jwa.ES256, pub), jwt.WithValidate(true)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerifyAccessTokenCached verifies a token seen before.
func BenchmarkVerifyAccessTokenCached(b *testing.B) {
	m, ms, _ := benchManager(b, 0)
	tok := benchToken(b, m, ms)
	ctx := context.Background()
	if _, err := m.VerifyAccessToken(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	threadCPU(b, func() {
		for b.Loop() {
			if _, err := m.VerifyAccessToken(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}
