package oidc

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// setupOne returns a harness with one connection to one mock OP.
func setupOne(t *testing.T, mod func(*Config)) (*harness, *mockOP) {
	t.Helper()
	clk := newClock()
	op := newMockOP(t, clk)
	h := newHarness(t, clk, mod)
	h.addConn(op, "conn_a", "org_a", nil)
	return h, op
}

// rejects runs one login with the OP knob and asserts the rejection.
func rejects(t *testing.T, knob func(op *mockOP), reason string) {
	t.Helper()
	h, op := setupOne(t, nil)
	op.set(knob)
	h.wantReject(h.login(newBrowser(t), "conn_a"), reason)
}

func accepts(t *testing.T, knob func(op *mockOP)) *sso.Login {
	t.Helper()
	h, op := setupOne(t, nil)
	if knob != nil {
		op.set(knob)
	}
	return h.wantOK(h.login(newBrowser(t), "conn_a"))
}

// T-O.1: alg=none is rejected, and no code path carries a switch that
// disables a check.
func TestT_O_1_AlgNone(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"none", "None", "NONE", ""} {
		t.Run("alg="+alg, func(t *testing.T) {
			t.Parallel()
			rejects(t, func(op *mockOP) {
				op.header = func(h map[string]any) { h["alg"] = alg }
				op.mint = func(h, c map[string]any) string { return signJWT(map[string]any{"alg": "none"}, c, nil, nil) }
				if alg != "none" {
					op.mint = func(h, c map[string]any) string { return signJWT(h, c, op.signKey, nil) }
				}
			}, ReasonAlgNotAllowed)
		})
	}
	t.Run("no-insecure-switches-in-source", func(t *testing.T) {
		files, _ := filepath.Glob("*.go")
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"InsecureSkipSignatureCheck", "SkipClientIDCheck", "SkipIssuerCheck", "SkipExpiryCheck", "InsecureIssuerURLContext", "WithVerifyAuto", "WithInferAlgorithm"} {
				if strings.Contains(string(b), bad) {
					t.Errorf("%s uses %s", f, bad)
				}
			}
		}
	})
}

// T-O.2: HS256/384/512 tokens MAC'd with the IdP's RSA public key in every
// encoding are rejected.
func TestT_O_2_HMACKeyConfusion(t *testing.T) {
	t.Parallel()
	pub := &rsaKey(0).PublicKey
	der := x509.MarshalPKCS1PublicKey(pub)
	spki, _ := x509.MarshalPKIXPublicKey(pub)
	encodings := map[string][]byte{
		"pkcs1-der": der,
		"spki-der":  spki,
		"pem":       pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}),
		"jwk-n":     pub.N.Bytes(),
		"jwk-json":  newRSAKey(0, "k1").jwk(),
	}
	for _, alg := range []string{"HS256", "HS384", "HS512"} {
		for name, key := range encodings {
			t.Run(alg+"/"+name, func(t *testing.T) {
				t.Parallel()
				rejects(t, func(op *mockOP) {
					op.header = func(h map[string]any) { h["alg"] = alg }
					op.mint = func(h, c map[string]any) string { return signJWT(h, c, nil, key) }
				}, ReasonAlgNotAllowed)
			})
		}
	}
	t.Run("keyset-refuses-hmac-even-past-the-allowlist", func(t *testing.T) {
		h, op := setupOne(t, nil)
		ks := h.rp.keySetFor(mustConn(h, "conn_a"), op.srv.URL+"/jwks")
		tok := signJWT(map[string]any{"alg": "HS256", "kid": "k1"}, map[string]any{"sub": "x"}, nil, der)
		if _, err := ks.VerifySignature(context.Background(), tok); err == nil {
			t.Fatal("key set verified an HMAC token")
		}
	})
}

// T-O.3: kid and header injection.
func TestT_O_3_KidHeaderInjection(t *testing.T) {
	t.Parallel()
	for name, kid := range map[string]string{
		"path":    "../../etc/passwd",
		"sql":     "' OR 1=1--",
		"10KB":    strings.Repeat("k", 10<<10),
		"unicode": "k1\u202e\u0000",
	} {
		t.Run("kid="+name, func(t *testing.T) {
			t.Parallel()
			rejects(t, func(op *mockOP) {
				op.header = func(h map[string]any) { h["kid"] = kid }
				op.mint = func(h, c map[string]any) string { return signJWT(h, c, newRSAKey(1, kid), nil) }
			}, ReasonSignatureInvalid)
		})
	}
	t.Run("duplicate-kids-in-jwks", func(t *testing.T) {
		t.Parallel()
		accepts(t, func(op *mockOP) {
			op.keys = []*testKey{newRSAKey(1, "k1"), op.signKey}
		})
	})
	t.Run("kid-absent-one-key", func(t *testing.T) {
		t.Parallel()
		accepts(t, func(op *mockOP) { op.header = func(h map[string]any) { delete(h, "kid") } })
	})
	t.Run("kid-absent-many-keys-none-verifies", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) {
			op.keys = []*testKey{newRSAKey(1, "a"), newRSAKey(2, "b")}
			op.header = func(h map[string]any) { delete(h, "kid") }
		}, ReasonSignatureInvalid)
	})
	t.Run("embedded-jwk-jku-x5u-headers-ignored", func(t *testing.T) {
		t.Parallel()
		var hits atomic.Int32
		attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
		defer attacker.Close()
		evil := newRSAKey(3, "evil")
		rejects(t, func(op *mockOP) {
			op.header = func(h map[string]any) {
				h["kid"] = "evil"
				h["jwk"] = json.RawMessage(evil.jwk())
				h["jku"] = attacker.URL + "/jwks"
				h["x5u"] = attacker.URL + "/cert"
			}
			op.mint = func(h, c map[string]any) string { return signJWT(h, c, evil, nil) }
		}, ReasonSignatureInvalid)
		if hits.Load() != 0 {
			t.Fatalf("attacker URL fetched %d times", hits.Load())
		}
	})
}

// T-O.4: rotation, refetch rate limit, broken JWKS endpoints, unparseable
// keys.
func TestT_O_4_JWKSRotationAndRefetch(t *testing.T) {
	t.Parallel()
	t.Run("rotation-right-after-fetch-logs-in", func(t *testing.T) {
		t.Parallel()
		h, op := setupOne(t, nil)
		h.wantOK(h.login(newBrowser(t), "conn_a"))
		op.set(func(op *mockOP) { op.signKey = newRSAKey(1, "k2"); op.keys = []*testKey{op.signKey} })
		h.comp = &recCompleter{}
		h.rp.cfg.Completer = h.comp
		h.wantOK(h.login(newBrowser(t), "conn_a"))
		h.comp = &recCompleter{}
		h.rp.cfg.Completer = h.comp
		h.wantOK(h.login(newBrowser(t), "conn_a"))
		if n := op.jwksFetches.Load(); n != 2 {
			t.Fatalf("JWKS fetches = %d, want 2 (one refetch for the new kid)", n)
		}
	})
	t.Run("unknown-kid-refetched-once-then-forged", func(t *testing.T) {
		t.Parallel()
		h, op := setupOne(t, nil)
		h.wantOK(h.login(newBrowser(t), "conn_a"))
		evil := newRSAKey(3, "not-published")
		op.set(func(op *mockOP) {
			op.mint = func(h, c map[string]any) string { h["kid"] = evil.kid; return signJWT(h, c, evil, nil) }
		})
		for range 3 {
			h.comp = &recCompleter{}
			h.rp.cfg.Completer = h.comp
			h.wantReject(h.login(newBrowser(t), "conn_a"), ReasonSignatureInvalid)
		}
		if n := op.jwksFetches.Load(); n != 2 {
			t.Fatalf("JWKS fetches = %d, want 2 (one refetch for the unseen kid, none for its repeats)", n)
		}
	})
	t.Run("1000-random-kids-bounded-fetches", func(t *testing.T) {
		t.Parallel()
		h, op := setupOne(t, nil)
		ks := h.rp.keySetFor(mustConn(h, "conn_a"), op.srv.URL+"/jwks")
		var wg sync.WaitGroup
		var forged, unavailable atomic.Int32
		for i := range 1000 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok := b64json(map[string]any{"alg": "RS256", "kid": fmt.Sprint("rand-", i)}) + "." + b64json(map[string]any{"sub": "x"}) + "." + b64(make([]byte, 256))
				_, err := ks.VerifySignature(context.Background(), tok)
				switch {
				case err == nil:
					t.Error("verified a token with a random kid")
				case errors.Is(err, ErrKeysUnavailable):
					unavailable.Add(1)
				case errors.Is(err, errNoMatchingKey):
					forged.Add(1)
				default:
					t.Errorf("unexpected error %v", err)
				}
			}()
		}
		wg.Wait()
		if n := op.jwksFetches.Load(); n < 1 || n > 1+jwksRefetchBurst {
			t.Fatalf("JWKS fetches = %d for 1000 unknown kids, want 1..%d", n, 1+jwksRefetchBurst)
		}
		if forged.Load()+unavailable.Load() != 1000 {
			t.Fatalf("forged %d + unavailable %d != 1000", forged.Load(), unavailable.Load())
		}
		// A further sequential flood spends what is left of the budget,
		// then fetches nothing more and is reported as keys unavailable,
		// not as a forged signature.
		for i := range 50 {
			tok := b64json(map[string]any{"alg": "RS256", "kid": fmt.Sprint("more-", i)}) + "." + b64json(map[string]any{"sub": "x"}) + "." + b64(make([]byte, 256))
			_, err := ks.VerifySignature(context.Background(), tok)
			if i >= jwksRefetchBurst && (!errors.Is(err, ErrKeysUnavailable) || !errors.Is(err, errRefetchBudget)) {
				t.Fatalf("kid %d with the budget spent: %v, want ErrKeysUnavailable (budget)", i, err)
			}
		}
		if n := op.jwksFetches.Load(); n > 1+jwksRefetchBurst {
			t.Fatalf("JWKS fetches = %d after 1050 unknown kids, want at most %d", n, 1+jwksRefetchBurst)
		}
		before := op.jwksFetches.Load()
		h.clock.Advance(31 * time.Second)
		tok := signJWT(map[string]any{"alg": "RS256", "kid": "again"}, map[string]any{"sub": "x"}, newRSAKey(1, ""), nil)
		_, _ = ks.VerifySignature(context.Background(), tok)
		_, _ = ks.VerifySignature(context.Background(), tok)
		if n := op.jwksFetches.Load(); n != before+1 {
			t.Fatalf("JWKS fetches = %d after the interval, want %d", n, before+1)
		}
	})
	t.Run("rotation-while-jwks-down-is-keys-unavailable", func(t *testing.T) {
		t.Parallel()
		h, op := setupOne(t, nil)
		h.wantOK(h.login(newBrowser(t), "conn_a"))
		op.set(func(op *mockOP) {
			op.signKey = newRSAKey(1, "k2")
			op.keys = []*testKey{op.signKey}
			op.jwksHandler = func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }
		})
		h.comp = &recCompleter{}
		h.rp.cfg.Completer = h.comp
		ve := h.wantRejectStatus(h.login(newBrowser(t), "conn_a"), http.StatusServiceUnavailable, ReasonKeysUnavailable)
		if !errors.Is(ve, ErrKeysUnavailable) || !errors.Is(ve, sso.ErrUnavailable) {
			t.Fatalf("keys_unavailable error %v does not wrap ErrKeysUnavailable and sso.ErrUnavailable", ve)
		}
	})
	broken := map[string]func(w http.ResponseWriter, r *http.Request){
		"500":  func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) },
		"html": func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>maintenance</html>")) },
		"huge": func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"keys":["` + strings.Repeat("A", 10<<20) + `"]}`))
		},
		"empty": func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"keys":[]}`)) },
		"slow": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		},
		"non-json": func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("\x00\x01")) },
	}
	for name, handler := range broken {
		t.Run("endpoint-"+name+"-cached-keys-still-verify", func(t *testing.T) {
			t.Parallel()
			h, op := setupOne(t, func(c *Config) { c.FetchTimeout = 500 * time.Millisecond })
			h.wantOK(h.login(newBrowser(t), "conn_a"))
			op.set(func(op *mockOP) { op.jwksHandler = handler })
			h.clock.Advance(2 * time.Hour) // cache stale: a refresh is attempted and fails
			start := time.Now()
			h.wantOK(h.login(newBrowser(t), "conn_a"))
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("login took %v with a broken JWKS endpoint", d)
			}
			if n := op.jwksFetches.Load(); n != 2 {
				t.Fatalf("JWKS fetches = %d, want 2", n)
			}
		})
	}
	t.Run("endpoint-down-no-cache", func(t *testing.T) {
		t.Parallel()
		h, op := setupOne(t, nil)
		op.set(func(op *mockOP) { op.jwksHandler = broken["500"] })
		h.wantRejectStatus(h.login(newBrowser(t), "conn_a"), http.StatusServiceUnavailable, ReasonKeysUnavailable)
	})
	t.Run("unparseable-key-ignored", func(t *testing.T) {
		t.Parallel()
		accepts(t, func(op *mockOP) {
			op.extraJWKS = []json.RawMessage{
				json.RawMessage(`{"kty":"RSA","kid":"bad","n":"!!!","e":"AQAB"}`),
				json.RawMessage(`{"kty":"OKP","crv":"X448","kid":"x448","x":"AAAA"}`),
				json.RawMessage(`{"kty":"oct","kid":"k1","k":"c2VjcmV0"}`),
				json.RawMessage(`{"kty":"EC","kid":"noxy"}`),
				json.RawMessage(`"not an object"`),
			}
			op.keys = append([]*testKey{}, op.keys...)
		})
	})
}

// T-O.5: issuer mismatch in tokens and discovery.
func TestT_O_5_IssuerMismatch(t *testing.T) {
	t.Parallel()
	t.Run("id-token-iss-evil", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) { op.claims = func(c map[string]any) { c["iss"] = "https://evil" } }, ReasonIssuerMismatch)
	})
	t.Run("id-token-iss-trailing-slash", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) { op.claims = func(c map[string]any) { c["iss"] = op.issuer + "/" } }, ReasonIssuerMismatch)
	})
	for name, f := range map[string]func(string) string{
		"trailing-slash": func(s string) string { return s + "/" },
		"case":           strings.ToUpper,
		"other":          func(string) string { return "https://evil.example" },
	} {
		t.Run("discovery-"+name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			op := newMockOP(t, clk)
			h := newHarness(t, clk, nil)
			op.set(func(op *mockOP) { op.discoveryIssuer = f(op.issuer) })
			_, err := h.rp.Configure(t.Context(), &sso.Connection{ID: "c"}, &ConnectionInput{Issuer: op.issuer, ClientID: "x", ClientSecret: "y"})
			wantReason(t, err, ReasonDiscoveryIssuerMismatch)
			if !errors.Is(err, sso.ErrInvalidInput) {
				t.Fatalf("error does not wrap ErrInvalidInput: %v", err)
			}
		})
	}
}

// twoOrgs sets up two OPs for two organizations' connections.
func twoOrgs(t *testing.T) (*harness, *mockOP, *mockOP) {
	clk := newClock()
	a := newMockOP(t, clk)
	b := newMockOP(t, clk)
	b.set(func(op *mockOP) {
		op.clientID, op.secret, op.signKey = "client-b", "s3cret-b", newRSAKey(1, "kb")
		op.keys = []*testKey{op.signKey}
	})
	h := newHarness(t, clk, nil)
	h.addConn(a, "conn_a", "org_a", nil)
	h.addConn(b, "conn_b", "org_b", nil)
	return h, a, b
}

// T-O.6: mix-up between two organizations' IdPs.
func TestT_O_6_MixUp(t *testing.T) {
	t.Parallel()
	t.Run("state-of-A-at-B-callback", func(t *testing.T) {
		t.Parallel()
		h, _, _ := twoOrgs(t)
		br := newBrowser(t)
		cb := h.authorize(br, h.start(br, "conn_a", ""))
		cb.Path = strings.Replace(cb.Path, "/callback/conn_a", "/callback/conn_b", 1)
		h.wantReject(br.get(cb.String()), ReasonConnectionMismatch)
	})
	t.Run("code-from-B-with-state-of-A", func(t *testing.T) {
		t.Parallel()
		h, _, _ := twoOrgs(t)
		br := newBrowser(t)
		authA := h.start(br, "conn_a", "")
		cbB := h.authorize(br, h.start(br, "conn_b", ""))
		q := cbB.Query()
		cb, _ := url.Parse(h.rp.RedirectURI("conn_a"))
		cb.RawQuery = url.Values{"code": {q.Get("code")}, "state": {authA.Query().Get("state")}}.Encode()
		h.wantReject(br.get(cb.String()), ReasonTokenExchange)
	})
	t.Run("iss-parameter-of-B-on-flow-of-A", func(t *testing.T) {
		t.Parallel()
		h, a, b := twoOrgs(t)
		a.set(func(op *mockOP) { op.issParam = b.issuer })
		h.wantReject(h.login(newBrowser(t), "conn_a"), ReasonIssuerParamMismatch)
	})
	t.Run("iss-advertised-but-missing", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) { op.advertiseIss, op.issParam = true, "omit" }, ReasonIssuerParamMissing)
	})
	t.Run("iss-not-advertised-and-missing-accepted", func(t *testing.T) {
		t.Parallel()
		accepts(t, func(op *mockOP) { op.issParam = "omit" })
	})
	t.Run("connection-reconfigured-to-other-issuer-mid-flow", func(t *testing.T) {
		t.Parallel()
		h, _, b := twoOrgs(t)
		br := newBrowser(t)
		cb := h.authorize(br, h.start(br, "conn_a", ""))
		c := mustConn(h, "conn_a")
		ConfigOf(c).Issuer = b.issuer
		_ = h.conns.UpdateConnection(t.Context(), c)
		h.wantReject(br.get(cb.String()), ReasonIssuerMismatch)
	})
}

// T-O.7: audience and azp.
func TestT_O_7_AudienceAZP(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		edit   func(op *mockOP, c map[string]any)
		reason string
	}{
		"aud-other":            {func(op *mockOP, c map[string]any) { c["aud"] = "other-client" }, ReasonAudienceMismatch},
		"aud-missing":          {func(op *mockOP, c map[string]any) { delete(c, "aud") }, ReasonAudienceMismatch},
		"aud-multi-azp-other":  {func(op *mockOP, c map[string]any) { c["aud"] = []string{op.clientID, "x"}; c["azp"] = "x" }, ReasonAZPMismatch},
		"aud-multi-azp-absent": {func(op *mockOP, c map[string]any) { c["aud"] = []string{op.clientID, "x"} }, ReasonAZPMismatch},
		"aud-single-azp-other": {func(op *mockOP, c map[string]any) { c["azp"] = "x" }, ReasonAZPMismatch},
		"aud-multi-azp-ours":   {func(op *mockOP, c map[string]any) { c["aud"] = []string{op.clientID, "x"}; c["azp"] = op.clientID }, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			knob := func(op *mockOP) { op.claims = func(c map[string]any) { tc.edit(op, c) } }
			if tc.reason == "" {
				accepts(t, knob)
				return
			}
			rejects(t, knob, tc.reason)
		})
	}
}

// T-O.8: nonce.
func TestT_O_8_Nonce(t *testing.T) {
	t.Parallel()
	t.Run("nonce-wrong", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) { op.claims = func(c map[string]any) { c["nonce"] = "x" } }, ReasonNonceMismatch)
	})
	t.Run("nonce-missing", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) { op.claims = func(c map[string]any) { delete(c, "nonce") } }, ReasonNonceMismatch)
	})
	t.Run("id-token-replayed-into-new-flow", func(t *testing.T) {
		t.Parallel()
		h, op := setupOne(t, nil)
		h.wantOK(h.login(newBrowser(t), "conn_a"))
		op.set(func(op *mockOP) { op.replayIDToken = op.lastIDToken; op.claims = nil })
		h.comp = &recCompleter{}
		h.rp.cfg.Completer = h.comp
		h.wantReject(h.login(newBrowser(t), "conn_a"), ReasonNonceMismatch)
	})
	t.Run("nonce-and-state-entropy", func(t *testing.T) {
		t.Parallel()
		h, _ := setupOne(t, nil)
		seen := map[string]bool{}
		for range 20 {
			u := h.start(newBrowser(t), "conn_a", "")
			for _, p := range []string{"nonce", "state"} {
				v := u.Query().Get(p)
				raw, err := base64.RawURLEncoding.DecodeString(v)
				if err != nil || len(raw) < 16 {
					t.Fatalf("%s %q has fewer than 128 bits", p, v)
				}
				if seen[v] {
					t.Fatalf("%s repeated", p)
				}
				seen[v] = true
			}
		}
	})
}

// T-O.9: state and login CSRF.
func TestT_O_9_StateCSRF(t *testing.T) {
	t.Parallel()
	t.Run("missing-state", func(t *testing.T) {
		t.Parallel()
		h, _ := setupOne(t, nil)
		br := newBrowser(t)
		cb := h.authorize(br, h.start(br, "conn_a", ""))
		q := cb.Query()
		q.Del("state")
		cb.RawQuery = q.Encode()
		h.wantReject(br.get(cb.String()), ReasonStateMissing)
		if f := h.comp.lastFail(); f.Connection != nil {
			t.Fatal("failure attributed to a connection without state")
		}
	})
	t.Run("wrong-state", func(t *testing.T) {
		t.Parallel()
		h, _ := setupOne(t, nil)
		br := newBrowser(t)
		cb := h.authorize(br, h.start(br, "conn_a", ""))
		q := cb.Query()
		q.Set("state", opaque.NewToken(32))
		cb.RawQuery = q.Encode()
		h.wantReject(br.get(cb.String()), ReasonStateInvalid)
	})
	t.Run("state-from-another-browser", func(t *testing.T) {
		t.Parallel()
		h, _ := setupOne(t, nil)
		attacker := newBrowser(t)
		cb := h.authorize(attacker, h.start(attacker, "conn_a", ""))
		victim := newBrowser(t)
		h.wantReject(victim.get(cb.String()), ReasonBrowserMismatch)
	})
	t.Run("state-reused", func(t *testing.T) {
		t.Parallel()
		h, _ := setupOne(t, nil)
		br := newBrowser(t)
		cb := h.authorize(br, h.start(br, "conn_a", ""))
		h.wantOK(br.get(cb.String()))
		h.comp = &recCompleter{}
		h.rp.cfg.Completer = h.comp
		h.wantReject(br.get(cb.String()), ReasonStateInvalid)
	})
	t.Run("state-expired", func(t *testing.T) {
		t.Parallel()
		h, _ := setupOne(t, nil)
		br := newBrowser(t)
		cb := h.authorize(br, h.start(br, "conn_a", ""))
		h.clock.Advance(FlowTTL + time.Second)
		h.wantReject(br.get(cb.String()), ReasonStateInvalid)
	})
	t.Run("cookie-attributes-https", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		op := newMockOP(t, clk)
		srv := httptest.NewTLSServer(http.NotFoundHandler())
		defer srv.Close()
		base, _ := url.Parse(srv.URL + "/sso/oidc/")
		h := newHarness(t, clk, func(c *Config) { c.BaseURL = base })
		h.addConn(op, "conn_a", "org_a", nil)
		rec := httptest.NewRecorder()
		h.rp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login/conn_a", nil))
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("cookies = %v", cookies)
		}
		c := cookies[0]
		if c.Name != "__Host-ssokit_oidc" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
			t.Fatalf("cookie = %+v", c)
		}
		if strings.Contains(rec.Header().Get("Location"), c.Value) {
			t.Fatal("browser binding leaked into the authorization URL")
		}
	})
	t.Run("flow-starts-on-one-replica-ends-on-another", func(t *testing.T) {
		t.Parallel()
		h, _ := setupOne(t, nil)
		other, err := New(h.rp.cfg)
		if err != nil {
			t.Fatal(err)
		}
		br := newBrowser(t)
		cb := h.authorize(br, h.start(br, "conn_a", ""))
		req := httptest.NewRequest(http.MethodGet, "/callback/conn_a?"+cb.RawQuery, nil)
		for _, c := range br.c.Jar.Cookies(cb) {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		other.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther || h.comp.lastLogin() == nil {
			t.Fatalf("replica callback status %d", rec.Code)
		}
	})
}

// T-O.10: PKCE.
func TestT_O_10_PKCE(t *testing.T) {
	t.Parallel()
	t.Run("s256-on-every-auth-url", func(t *testing.T) {
		t.Parallel()
		h, _ := setupOne(t, nil)
		for range 5 {
			u := h.start(newBrowser(t), "conn_a", "")
			if len(u.Query().Get("code_challenge")) != 43 {
				t.Fatalf("code_challenge %q", u.Query().Get("code_challenge"))
			}
		}
	})
	t.Run("idp-without-s256-refused", func(t *testing.T) {
		t.Parallel()
		h, op := setupOne(t, nil)
		op.set(func(op *mockOP) { op.codeChallenges = []string{"plain"} })
		h.rp.forget("conn_a")
		resp := newBrowser(t).get(h.srv.URL + "/sso/oidc/login/conn_a")
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d", resp.StatusCode)
		}
		wantReason(t, h.err(), ReasonPKCEUnsupported)
	})
	t.Run("injected-code-from-another-session", func(t *testing.T) {
		t.Parallel()
		h, _ := setupOne(t, nil)
		attacker := newBrowser(t)
		stolen := h.authorize(attacker, h.start(attacker, "conn_a", "")).Query().Get("code")
		victim := newBrowser(t)
		cb := h.authorize(victim, h.start(victim, "conn_a", ""))
		q := cb.Query()
		q.Set("code", stolen)
		cb.RawQuery = q.Encode()
		ve := h.wantReject(victim.get(cb.String()), ReasonTokenExchange)
		var ie *IdPError
		if !errors.As(ve, &ie) || ie.Code != "invalid_grant" {
			t.Fatalf("IdP error = %v", ie)
		}
	})
}

// T-O.11: time claims.
func TestT_O_11_TimeClaims(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		edit   func(now time.Time, c map[string]any)
		reason string
	}{
		"exp-past-skew":      {func(now time.Time, c map[string]any) { c["exp"] = now.Add(-61 * time.Second).Unix() }, ReasonExpired},
		"exp-within-skew":    {func(now time.Time, c map[string]any) { c["exp"] = now.Add(-1 * time.Second).Unix() }, ""},
		"exp-missing":        {func(now time.Time, c map[string]any) { delete(c, "exp") }, ReasonExpMissing},
		"nbf-6m-future":      {func(now time.Time, c map[string]any) { c["nbf"] = now.Add(6 * time.Minute).Unix() }, ReasonNotYetValid},
		"nbf-2m-future":      {func(now time.Time, c map[string]any) { c["nbf"] = now.Add(2 * time.Minute).Unix() }, ReasonNotYetValid},
		"nbf-30s-future":     {func(now time.Time, c map[string]any) { c["nbf"] = now.Add(30 * time.Second).Unix() }, ""},
		"iat-missing":        {func(now time.Time, c map[string]any) { delete(c, "iat") }, ReasonIATMissing},
		"iat-future":         {func(now time.Time, c map[string]any) { c["iat"] = now.Add(2 * time.Minute).Unix() }, ReasonIATInFuture},
		"iat-too-old":        {func(now time.Time, c map[string]any) { c["iat"] = now.Add(-15 * time.Minute).Unix() }, ReasonTokenTooOld},
		"iat-string":         {func(now time.Time, c map[string]any) { c["iat"] = "yesterday" }, ReasonTokenMalformed},
		"exp-far-future-ok":  {func(now time.Time, c map[string]any) { c["exp"] = now.Add(24 * time.Hour).Unix() }, ""},
		"exp-float-accepted": {func(now time.Time, c map[string]any) { c["exp"] = float64(now.Add(time.Minute).Unix()) + 0.5 }, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			knob := func(op *mockOP) { op.claims = func(c map[string]any) { tc.edit(op.clock.Now(), c) } }
			if tc.reason == "" {
				accepts(t, knob)
				return
			}
			rejects(t, knob, tc.reason)
		})
	}
}

// T-O.12: at_hash.
func TestT_O_12_AtHash(t *testing.T) {
	t.Parallel()
	t.Run("mismatch", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) { op.claims = func(c map[string]any) { c["at_hash"] = atHash("x") } }, ReasonAtHashMismatch)
	})
	t.Run("absent-accepted-in-code-flow", func(t *testing.T) {
		t.Parallel()
		accepts(t, func(op *mockOP) { op.claims = func(c map[string]any) { delete(c, "at_hash") } })
	})
	t.Run("present-and-correct", func(t *testing.T) {
		t.Parallel()
		accepts(t, nil)
	})
}

// T-O.13: sub and userinfo consistency.
func TestT_O_13_SubUserInfo(t *testing.T) {
	t.Parallel()
	t.Run("sub-missing", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) { op.claims = func(c map[string]any) { delete(c, "sub") } }, ReasonSubMissing)
	})
	t.Run("sub-empty", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) { op.claims = func(c map[string]any) { c["sub"] = "" } }, ReasonSubMissing)
	})
	t.Run("userinfo-sub-differs", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) {
			op.omitProfileClaims = true
			op.userinfo = func(c map[string]any) { c["sub"] = "mallory" }
		}, ReasonUserInfoSubMismatch)
	})
	t.Run("userinfo-sub-missing", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) {
			op.omitProfileClaims = true
			op.userinfo = func(c map[string]any) { delete(c, "sub") }
		}, ReasonUserInfoSubMismatch)
	})
	t.Run("userinfo-signed-by-other-key", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) {
			op.omitProfileClaims, op.userinfoSigned, op.userinfoKey = true, true, newRSAKey(3, "k1")
		}, ReasonSignatureInvalid)
	})
	t.Run("userinfo-signed-other-issuer", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) {
			op.omitProfileClaims, op.userinfoSigned = true, true
			op.userinfo = func(c map[string]any) { c["iss"] = "https://evil.example" }
		}, ReasonIssuerMismatch)
	})
	t.Run("userinfo-never-mode", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		op := newMockOP(t, clk)
		h := newHarness(t, clk, nil)
		h.addConn(op, "conn_a", "org_a", func(c *sso.Connection, in *ConnectionInput) {
			c.Config = &ConnectionConfig{UserInfo: UserInfoNever}
		})
		op.set(func(op *mockOP) { op.omitProfileClaims = true })
		l := h.wantOK(h.login(newBrowser(t), "conn_a"))
		if op.userinfoCalls.Load() != 0 || l.Profile.Email != "" {
			t.Fatalf("never mode called userinfo (%d) or invented an email", op.userinfoCalls.Load())
		}
	})
}

// T-O.14: return_to and per-connection redirect URIs.
func TestT_O_14_ReturnToRedirectURI(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"//evil.com", "https://evil.com/", "/\\evil.com", "/%2F%2Fevil.com", "javascript:alert(1)", "/%5Cevil.com", "\\\\evil.com", "/ok\r\nLocation: x"} {
		t.Run("return_to="+url.PathEscape(p), func(t *testing.T) {
			t.Parallel()
			h, _ := setupOne(t, nil)
			br := newBrowser(t)
			resp := br.get(h.authorize(br, h.start(br, "conn_a", "?return_to="+url.QueryEscape(p))).String())
			l := h.wantOK(resp)
			if l.ReturnTo != "" || resp.Header.Get("Location") != "/" {
				t.Fatalf("return_to %q kept as %q", p, l.ReturnTo)
			}
		})
	}
	t.Run("safe-relative-path-kept", func(t *testing.T) {
		t.Parallel()
		h, _ := setupOne(t, nil)
		br := newBrowser(t)
		l := h.wantOK(br.get(h.authorize(br, h.start(br, "conn_a", "?return_to="+url.QueryEscape("/app/settings?tab=2"))).String()))
		if l.ReturnTo != "/app/settings?tab=2" {
			t.Fatalf("ReturnTo = %q", l.ReturnTo)
		}
	})
	t.Run("distinct-redirect-uri-per-connection", func(t *testing.T) {
		t.Parallel()
		h, a, b := twoOrgs(t)
		ua := h.start(newBrowser(t), "conn_a", "").Query().Get("redirect_uri")
		ub := h.start(newBrowser(t), "conn_b", "").Query().Get("redirect_uri")
		if ua == ub || ua != h.rp.RedirectURI("conn_a") || !strings.HasSuffix(ub, "/sso/oidc/callback/conn_b") {
			t.Fatalf("redirect URIs %q %q", ua, ub)
		}
		if sp := h.rp.SPDetails(mustConn(h, "conn_b")); sp.RedirectURI != ub || sp.LoginURL != h.rp.LoginURL("conn_b") {
			t.Fatalf("SPDetails = %+v", sp)
		}
		_, _ = a, b
	})
}

// T-O.15: tokens from another tenant's IdP, multi-tenant issuers.
func TestT_O_15_CrossTenant(t *testing.T) {
	t.Parallel()
	t.Run("token-of-org-A-idp-at-org-B", func(t *testing.T) {
		t.Parallel()
		h, a, b := twoOrgs(t)
		// B's token endpoint hands out a token minted by A (A's key, iss,
		// aud): B's verifier refuses it.
		b.set(func(op *mockOP) {
			op.mint = func(hd, c map[string]any) string {
				c["iss"], c["aud"] = a.issuer, a.clientID
				hd["kid"] = a.signKey.kid
				return signJWT(hd, c, a.signKey, nil)
			}
		})
		// A's kid is unknown to B's key set: the signature check fails
		// first.
		h.wantReject(h.login(newBrowser(t), "conn_b"), ReasonSignatureInvalid)
	})
	t.Run("same-idp-other-client", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) { op.claims = func(c map[string]any) { c["aud"] = "client-of-org-b" } }, ReasonAudienceMismatch)
	})
	entra := func(t *testing.T, tid, issTenant string) (*harness, *http.Response) {
		clk := newClock()
		op := newMockOP(t, clk)
		op.set(func(op *mockOP) { op.issuer = op.srv.URL + "/{tenantid}/v2.0"; op.issParam = "omit" })
		h := newHarness(t, clk, nil)
		h.addConn(op, "conn_a", "org_a", func(c *sso.Connection, in *ConnectionInput) {
			c.Config = &ConnectionConfig{AllowedTenantIDs: []string{"tenant-1"}}
		})
		op.set(func(op *mockOP) {
			op.claims = func(c map[string]any) {
				c["tid"] = tid
				c["iss"] = op.srv.URL + "/" + issTenant + "/v2.0"
			}
		})
		return h, h.login(newBrowser(t), "conn_a")
	}
	t.Run("entra-template-allowed-tenant", func(t *testing.T) {
		t.Parallel()
		h, resp := entra(t, "tenant-1", "tenant-1")
		l := h.wantOK(resp)
		if !strings.HasSuffix(l.Profile.Issuer, "/tenant-1/v2.0") || l.Profile.Subject != "user-123" {
			t.Fatalf("identity = %q %q", l.Profile.Issuer, l.Profile.Subject)
		}
	})
	t.Run("entra-template-other-tenant", func(t *testing.T) {
		t.Parallel()
		h, resp := entra(t, "tenant-2", "tenant-2")
		h.wantReject(resp, ReasonTenantNotAllowed)
	})
	t.Run("entra-template-tid-allowed-iss-of-other-tenant", func(t *testing.T) {
		t.Parallel()
		h, resp := entra(t, "tenant-1", "tenant-2")
		h.wantReject(resp, ReasonIssuerMismatch)
	})
	t.Run("entra-template-needs-allowlist", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		op := newMockOP(t, clk)
		h := newHarness(t, clk, nil)
		_, err := h.rp.Configure(t.Context(), &sso.Connection{ID: "c"}, &ConnectionInput{Issuer: op.srv.URL + "/{tenantid}/v2.0", ClientID: "x", ClientSecret: "y"})
		if !errors.Is(err, sso.ErrInvalidInput) {
			t.Fatalf("err = %v", err)
		}
	})
}

// T-O.16: email_verified counts only as boolean true.
func TestT_O_16_EmailVerified(t *testing.T) {
	t.Parallel()
	for name, v := range map[string]any{"absent": nil, "string-false": "false", "false": false, "string-true": "true", "one": 1, "true": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := accepts(t, func(op *mockOP) {
				op.claims = func(c map[string]any) {
					delete(c, "email_verified")
					if v != nil {
						c["email_verified"] = v
					}
				}
			})
			if want := v == true; l.Profile.EmailVerified != want {
				t.Fatalf("EmailVerified = %v, want %v", l.Profile.EmailVerified, want)
			}
		})
	}
}

// T-O.17 lives in TestConformanceBackChannelLogout (one subtest per
// conformance module) plus these extra cases.
func TestT_O_17_BackChannelLogout(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		edit   func(h, c map[string]any)
		reason string
	}{
		"missing-jti":     {func(h, c map[string]any) { delete(c, "jti") }, ReasonLogoutTokenInvalid},
		"no-sub-no-sid":   {func(h, c map[string]any) { delete(c, "sub"); delete(c, "sid") }, ReasonLogoutTokenInvalid},
		"iat-missing":     {func(h, c map[string]any) { delete(c, "iat") }, ReasonIATMissing},
		"expired":         {func(h, c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, ReasonExpired},
		"event-not-obj":   {func(h, c map[string]any) { c["events"] = map[string]any{backChannelLogoutEvent: "x"} }, ReasonLogoutTokenInvalid},
		"signature-other": {func(h, c map[string]any) { h["kid"] = "zz" }, ReasonSignatureInvalid},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, op := setupOne(t, nil)
			hd, c := op.logoutToken()
			tc.edit(hd, c)
			status, err := h.postLogout("conn_a", signJWT(hd, c, op.signKey, nil))
			if status != http.StatusBadRequest || h.logouts.Load() != 0 {
				t.Fatalf("status %d logouts %d", status, h.logouts.Load())
			}
			wantReason(t, err, tc.reason)
		})
	}
	t.Run("no-hook-404", func(t *testing.T) {
		t.Parallel()
		h, _ := setupOne(t, func(c *Config) { c.OnLogout = nil })
		rec := httptest.NewRecorder()
		h.rp.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/backchannel-logout/conn_a", nil))
		if rec.Code != http.StatusNotFound {
			t.Fatalf("status %d", rec.Code)
		}
	})
}

// T-O.18: oversize and dot-heavy tokens are rejected before parsing.
func TestT_O_18_TokenParsingDoS(t *testing.T) {
	t.Parallel()
	big := map[string]func(op *mockOP) string{
		"1MB":       func(op *mockOP) string { return strings.Repeat("A", 1<<20-4096) },
		"100k-dots": func(op *mockOP) string { return strings.Repeat(".", 100000) },
	}
	for name, mk := range big {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, op := setupOne(t, nil)
			op.set(func(op *mockOP) { op.mint = func(h, c map[string]any) string { return mk(op) } })
			// The reason proves the size check ran first: a parse would
			// have reported the token as malformed.
			h.wantReject(h.login(newBrowser(t), "conn_a"), ReasonTokenTooLarge)
		})
	}
	t.Run("jwe-with-zip", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) {
			op.mint = func(h, c map[string]any) string {
				return b64json(map[string]any{"alg": "RSA-OAEP", "enc": "A256GCM", "zip": "DEF"}) + ".AAAA.AAAA.AAAA.AAAA"
			}
		}, ReasonTokenMalformed)
	})
	t.Run("dots-under-cap", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) { op.mint = func(h, c map[string]any) string { return strings.Repeat(".", 5000) } }, ReasonTokenMalformed)
	})
}

// T-O.19: discovery and JWKS SSRF.
func TestT_O_19_SSRF(t *testing.T) {
	t.Parallel()
	newRP := func(t *testing.T, mod func(*Config)) *RP {
		h := newHarness(t, newClock(), func(c *Config) {
			c.AllowInsecureURLs, c.AllowPrivateAddresses = false, false
			if mod != nil {
				mod(c)
			}
		})
		return h.rp
	}
	for _, iss := range []string{
		"https://169.254.169.254/latest", "https://127.0.0.1", "https://[::1]", "https://10.0.0.1", "https://192.168.1.1",
		"https://localhost", "https://[::ffff:127.0.0.1]", "https://100.64.0.1", "https://0.0.0.0", "http://idp.example.com",
		"file:///etc/passwd", "gopher://idp.example.com", "https://user:pw@idp.example.com",
	} {
		t.Run("issuer="+iss, func(t *testing.T) {
			t.Parallel()
			_, err := newRP(t, nil).Configure(t.Context(), &sso.Connection{ID: "c"}, &ConnectionInput{Issuer: iss, ClientID: "x", ClientSecret: "y"})
			if !errors.Is(err, sso.ErrInvalidInput) {
				t.Fatalf("err = %v, want ErrInvalidInput", err)
			}
		})
	}
	t.Run("dial-time-check", func(t *testing.T) {
		t.Parallel()
		var hits atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
		defer srv.Close()
		c, err := newFetchClient(nil, false, true, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Get(srv.URL) // 127.0.0.1, reached as a resolved address
		if !errors.Is(err, errBlockedAddress) || hits.Load() != 0 {
			t.Fatalf("err = %v, hits = %d", err, hits.Load())
		}
	})
	t.Run("redirect-to-internal", func(t *testing.T) {
		t.Parallel()
		c, err := newFetchClient(nil, false, false, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range []string{"https://169.254.169.254/", "http://idp.example.com/", "https://localhost/"} {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			if err := c.CheckRedirect(req, []*http.Request{req}); err == nil {
				t.Fatalf("redirect to %s allowed", target)
			}
		}
	})
	t.Run("custom-roundtripper-rule", func(t *testing.T) {
		t.Parallel()
		// Same rule as saml.Config.HTTPClient: a RoundTripper that is not
		// an *http.Transport cannot be guarded and is refused unless
		// private addresses are allowed.
		cfg := newHarness(t, newClock(), nil).rp.cfg
		cfg.HTTPClient = &http.Client{Transport: handlerTransport{http.NotFoundHandler()}}
		cfg.AllowPrivateAddresses = false
		if _, err := New(cfg); !errors.Is(err, sso.ErrInvalidConfig) {
			t.Fatalf("err = %v, want ErrInvalidConfig", err)
		}
		cfg.AllowPrivateAddresses = true
		if _, err := New(cfg); err != nil {
			t.Fatalf("with AllowPrivateAddresses: %v", err)
		}
	})
	t.Run("discovered-http-jwks-refused", func(t *testing.T) {
		t.Parallel()
		var jwks string
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			iss := "https://" + r.Host
			_ = json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "authorization_endpoint": iss + "/a", "token_endpoint": iss + "/t", "jwks_uri": jwks})
		}))
		defer srv.Close()
		jwks = "http://" + srv.Listener.Addr().String() + "/jwks"
		rp := newRP(t, func(c *Config) { c.HTTPClient = srv.Client(); c.AllowPrivateAddresses = true })
		_, err := rp.Configure(t.Context(), &sso.Connection{ID: "c"}, &ConnectionInput{Issuer: srv.URL, ClientID: "x", ClientSecret: "y"})
		if !errors.Is(err, errInsecureURL) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("https-issuer-with-custom-client-works", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			iss := "https://" + r.Host
			if r.URL.Path == "/jwks" {
				_, _ = w.Write([]byte(`{"keys":[` + string(newRSAKey(0, "k1").jwk()) + `]}`))
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "authorization_endpoint": iss + "/a", "token_endpoint": iss + "/t", "jwks_uri": iss + "/jwks"})
		}))
		defer srv.Close()
		rp := newRP(t, func(c *Config) { c.HTTPClient = srv.Client(); c.AllowPrivateAddresses = true })
		d, err := rp.Configure(t.Context(), &sso.Connection{ID: "c"}, &ConnectionInput{Issuer: srv.URL, ClientID: "x", ClientSecret: "y"})
		if err != nil || d.Issuer != srv.URL {
			t.Fatalf("ConfigureConnection = %v, %v", d, err)
		}
		// The same server is refused without AllowPrivateAddresses, at dial time.
		rp2 := newRP(t, func(c *Config) { c.HTTPClient = srv.Client() })
		if _, err := rp2.discover(t.Context(), strings.Replace(srv.URL, "127.0.0.1", "127.0.0.1.", 1)); err == nil {
			t.Fatal("discovery reached a loopback server")
		}
	})
}
