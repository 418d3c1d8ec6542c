package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/session"
)

// FuzzSessionCookie feeds arbitrary cookie values through Load and Require:
// always 401 with the fixed body, never a panic, never a store write.
func FuzzSessionCookie(f *testing.F) {
	e := newFuzzEnv(f)
	c := e.browser()
	e.login(c, "alice", orgA)
	valid := e.cookie(c)
	for _, s := range []string{"", "a", valid[:len(valid)-1], valid + "=", opaque.NewToken(32), strings.Repeat("\xff", 43), "%2e%2e"} {
		f.Add(s)
	}
	h := e.m.Load(e.m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})))
	f.Fuzz(func(t *testing.T, v string) {
		writes := e.st.writes.Load()
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", e.m.CookieName()+"="+v)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if v == valid {
			return
		}
		if w.Code != http.StatusUnauthorized || strings.TrimSpace(w.Body.String()) != `{"error":"unauthorized"}` {
			t.Fatalf("cookie %q: %d %s", v, w.Code, w.Body.String())
		}
		if e.st.writes.Load() != writes {
			t.Fatalf("cookie %q caused a store write", v)
		}
	})
}

// FuzzAccessToken feeds arbitrary bearer tokens to VerifyAccessToken and
// LoadBearer.
func FuzzAccessToken(f *testing.F) {
	e := newFuzzEnv(f)
	p, err := e.m.IssueTokens(context.Background(), e.sessionFor("alice", orgA), session.TokenOptions{})
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(p.AccessToken, ".")
	for _, s := range []string{"", ".", "..", p.AccessToken[:len(p.AccessToken)/2], parts[0] + "." + parts[1] + ".",
		parts[0] + ".e30." + parts[2], "eyJhbGciOiJub25lIn0.e30.", p.RefreshToken} {
		f.Add(s)
	}
	h := e.m.LoadBearer(e.m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})))
	f.Fuzz(func(t *testing.T, tok string) {
		if tok == p.AccessToken {
			return
		}
		writes := e.st.writes.Load()
		if _, err := e.m.VerifyAccessToken(context.Background(), tok); err == nil {
			t.Fatalf("token %q verified", tok)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("token %q: %d", tok, w.Code)
		}
		if e.st.writes.Load() != writes {
			t.Fatalf("token %q caused a store write", tok)
		}
	})
}

// FuzzTokenEndpoint feeds arbitrary form bodies to the token endpoint: no
// 5xx, no success, no panic.
func FuzzTokenEndpoint(f *testing.F) {
	e := newFuzzEnv(f)
	h := e.m.TokenHandler(session.TokenHandlerOptions{})
	for _, s := range []string{"", "grant_type=refresh_token", "grant_type=refresh_token&refresh_token=" + opaque.NewToken(32),
		"grant_type=refresh_token&refresh_token=%zz", "a=b&&&=", "grant_type=refresh_token&refresh_token=" + strings.Repeat("A", 9000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		writes := e.st.writes.Load()
		r := httptest.NewRequest("POST", "/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest {
			t.Fatalf("body %q: %d %s", body, w.Code, w.Body.String())
		}
		if e.st.writes.Load() != writes {
			q, _ := url.ParseQuery(body)
			t.Fatalf("body %q (%v) caused a store write", body, q)
		}
	})
}
