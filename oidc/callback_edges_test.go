package oidc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// Review variants: hostile and real-IdP shapes not covered by the
// conformance-module tests. Every rejection asserts the stable Reason and
// that no Profile reached the Completer (harness.wantReject).

func rawJWK(t *testing.T, k jose.JSONWebKey) json.RawMessage {
	t.Helper()
	b, err := k.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAudienceAndAZP(t *testing.T) {
	t.Parallel()
	accept := map[string]func(c map[string]any){
		"aud-string":                   func(c map[string]any) { c["aud"] = "client-a" },
		"aud-array-of-one":             func(c map[string]any) { c["aud"] = []string{"client-a"} },
		"aud-array-two-azp-ours":       func(c map[string]any) { c["aud"], c["azp"] = []string{"client-a", "api"}, "client-a" },
		"aud-string-azp-ours":          func(c map[string]any) { c["azp"] = "client-a" },
		"aud-array-ours-second-azp-ok": func(c map[string]any) { c["aud"], c["azp"] = []string{"api", "client-a"}, "client-a" },
	}
	for name, edit := range accept {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			accepts(t, func(op *mockOP) { op.claims = edit })
		})
	}
	reject := []struct {
		name   string
		edit   func(c map[string]any)
		reason string
	}{
		{"aud-array-two-azp-absent", func(c map[string]any) { c["aud"] = []string{"client-a", "api"} }, ReasonAZPMismatch},
		{"aud-array-two-azp-other", func(c map[string]any) { c["aud"], c["azp"] = []string{"client-a", "api"}, "api" }, ReasonAZPMismatch},
		{"aud-string-azp-other", func(c map[string]any) { c["azp"] = "android-client" }, ReasonAZPMismatch},
		{"aud-array-empty", func(c map[string]any) { c["aud"] = []string{} }, ReasonAudienceMismatch},
		{"aud-absent", func(c map[string]any) { delete(c, "aud") }, ReasonAudienceMismatch},
		{"aud-other-only", func(c map[string]any) { c["aud"] = []string{"client-b"} }, ReasonAudienceMismatch},
		{"aud-case-variant", func(c map[string]any) { c["aud"] = "CLIENT-A" }, ReasonAudienceMismatch},
		{"aud-number", func(c map[string]any) { c["aud"] = 7 }, ReasonAudienceMismatch},
		{"azp-number", func(c map[string]any) { c["azp"] = 7 }, ReasonTokenMalformed},
	}
	for _, tc := range reject {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rejects(t, func(op *mockOP) { op.claims = tc.edit }, tc.reason)
		})
	}
}

func TestIssuerVariants(t *testing.T) {
	t.Parallel()
	for name, iss := range map[string]func(op string) string{
		"trailing-slash":    func(op string) string { return op + "/" },
		"upper-case-scheme": func(op string) string { return strings.Replace(op, "http://", "HTTP://", 1) },
		"unicode-lookalike": func(op string) string { return strings.Replace(op, "127.0.0.1", "127.0.0.\uff11", 1) },
		"cyrillic-letter":   func(op string) string { return strings.Replace(op, "http", "h\u0442tp", 1) },
		"google-schemeless": func(string) string { return "accounts.google.com" },
		"google-https":      func(string) string { return "https://accounts.google.com" },
		"port-dropped":      func(op string) string { return op[:strings.LastIndexByte(op, ':')] },
		"whitespace-suffix": func(op string) string { return op + " " },
		"nul-suffix":        func(op string) string { return op + "\x00" },
		"path-dot-segment":  func(op string) string { return op + "/." },
		"userinfo-in-authority": func(op string) string {
			return strings.Replace(op, "http://", "http://evil@", 1)
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rejects(t, func(op *mockOP) {
				want := iss(op.issuer)
				op.claims = func(c map[string]any) { c["iss"] = want }
			}, ReasonIssuerMismatch)
		})
	}
	t.Run("iss-param-trailing-slash", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) { op.issParam = op.issuer + "/" }, ReasonIssuerParamMismatch)
	})
	t.Run("iss-array", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) {
			iss := op.issuer
			op.claims = func(c map[string]any) { c["iss"] = []string{iss} }
		}, ReasonTokenMalformed)
	})
}

// googleSetup configures a connection whose issuer is Google's, with manual
// endpoints served by the mock OP.
func googleSetup(t *testing.T, hostedDomains ...string) (*harness, *mockOP) {
	t.Helper()
	clk := newClock()
	op := newMockOP(t, clk)
	op.set(func(op *mockOP) { op.issuer = "https://accounts.google.com" })
	h := newHarness(t, clk, nil)
	h.addConn(op, "conn_g", "org_g", func(c *sso.Connection, in *ConnectionInput) {
		in.AuthURL, in.TokenURL, in.JWKSURL, in.UserInfoURL = op.srv.URL+"/authorize", op.srv.URL+"/token", op.srv.URL+"/jwks", op.srv.URL+"/userinfo"
		in.HostedDomains = hostedDomains
	})
	return h, op
}

// Google's scheme-less "accounts.google.com" is accepted only when the
// configured issuer is https://accounts.google.com; the identity must then
// carry the configured issuer so one Google user never becomes two
// identities.
func TestGoogleSchemelessIssuer(t *testing.T) {
	t.Parallel()
	t.Run("accepted-for-google-and-normalized", func(t *testing.T) {
		t.Parallel()
		h, op := googleSetup(t)
		op.set(func(op *mockOP) {
			op.claims = func(c map[string]any) { c["iss"], c["hd"] = "accounts.google.com", "example.com" }
		})
		l := h.wantOK(h.login(newBrowser(t), "conn_g"))
		if l.Profile.Issuer != "https://accounts.google.com" {
			t.Fatalf("Profile.Issuer = %q, want the configured issuer", l.Profile.Issuer)
		}
	})
	t.Run("signed-userinfo-with-https-issuer-after-schemeless-id-token", func(t *testing.T) {
		t.Parallel()
		h, op := googleSetup(t)
		op.set(func(op *mockOP) {
			op.omitProfileClaims, op.userinfoSigned = true, true
			op.claims = func(c map[string]any) { c["iss"], c["hd"] = "accounts.google.com", "example.com" }
		})
		l := h.wantOK(h.login(newBrowser(t), "conn_g"))
		if l.Profile.Email != "alice@example.com" || l.Profile.Issuer != "https://accounts.google.com" {
			t.Fatalf("profile = %+v", l.Profile)
		}
	})
	t.Run("schemeless-rejected-for-other-issuers", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) { op.claims = func(c map[string]any) { c["iss"] = "accounts.google.com" } }, ReasonIssuerMismatch)
	})
	t.Run("google-http-scheme-rejected", func(t *testing.T) {
		t.Parallel()
		h, op := googleSetup(t)
		op.set(func(op *mockOP) { op.claims = func(c map[string]any) { c["iss"] = "http://accounts.google.com" } })
		h.wantReject(h.login(newBrowser(t), "conn_g"), ReasonIssuerMismatch)
	})
}

// TestGoogleHostedDomain is the personal-account attack on a Google
// connection: Google's issuer is every Google account's, and a personal
// account may carry a work address its owner no longer controls (an
// employee who left). Only a Workspace account (hd) signs in, and with
// hosted_domains only one of those Workspaces.
func TestGoogleHostedDomain(t *testing.T) {
	t.Parallel()
	hd := func(v any) func(op *mockOP) {
		return func(op *mockOP) {
			op.claims = func(c map[string]any) {
				if v != nil {
					c["hd"] = v
				}
			}
		}
	}
	t.Run("personal-account-refused", func(t *testing.T) {
		t.Parallel()
		h, op := googleSetup(t)
		op.set(hd(nil))
		h.wantReject(h.login(newBrowser(t), "conn_g"), ReasonHostedDomainNotAllowed)
	})
	t.Run("empty-hd-refused", func(t *testing.T) {
		t.Parallel()
		h, op := googleSetup(t)
		op.set(hd(""))
		h.wantReject(h.login(newBrowser(t), "conn_g"), ReasonHostedDomainNotAllowed)
	})
	t.Run("workspace-account-accepted", func(t *testing.T) {
		t.Parallel()
		h, op := googleSetup(t)
		op.set(hd("example.com"))
		h.wantOK(h.login(newBrowser(t), "conn_g"))
	})
	for name, c := range map[string]struct {
		hd   any
		want string
	}{
		"listed-domain-accepted":      {"Example.COM", ""},
		"other-workspace-refused":     {"evil.example", ReasonHostedDomainNotAllowed},
		"suffix-of-listed-refused":    {"notexample.com", ReasonHostedDomainNotAllowed},
		"subdomain-of-listed-refused": {"eu.example.com", ReasonHostedDomainNotAllowed},
		"hd-not-a-string-refused":     {[]string{"example.com"}, ReasonTokenMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, op := googleSetup(t, "example.com")
			op.set(hd(c.hd))
			res := h.login(newBrowser(t), "conn_g")
			if c.want == "" {
				h.wantOK(res)
			} else {
				h.wantReject(res, c.want)
			}
		})
	}
}

// TestHostedDomainsSetting checks hosted_domains as an admin sets it:
// only for Google's issuer, domain names only, once each, kept in
// canonical form, and a warning while a Google connection has none.
func TestHostedDomainsSetting(t *testing.T) {
	t.Parallel()
	clk := newClock()
	op := newMockOP(t, clk)
	h := newHarness(t, clk, nil)
	for _, tc := range []struct {
		issuer  string
		domains []string
	}{
		{op.issuer, []string{"example.com"}},
		{"https://accounts.google.com", []string{"not a domain"}},
		{"https://accounts.google.com", []string{"203.0.113.7"}},
		{"https://accounts.google.com", []string{"example.com", "EXAMPLE.com."}},
	} {
		in := &ConnectionInput{Issuer: tc.issuer, ClientID: "x", ClientSecret: "y", HostedDomains: tc.domains}
		_, err := h.rp.Configure(t.Context(), &sso.Connection{ID: "c"}, in)
		if ve := wantReason(t, err, "invalid_hosted_domains"); !strings.Contains(ve.Detail(), "fix: ") {
			t.Fatalf("%+v: %s", tc, ve.Detail())
		}
	}
	g, gop := googleSetup(t, "Example.COM", "bücher.example")
	v := g.rp.ConfigView(mustConn(g, "conn_g")).(*ConfigView)
	if strings.Join(v.HostedDomains, " ") != "example.com xn--bcher-kva.example" || len(v.Warnings) != 0 {
		t.Fatalf("view %+v; want the canonical domains and no warning", v)
	}
	_ = gop
	open, _ := googleSetup(t)
	if v := open.rp.ConfigView(mustConn(open, "conn_g")).(*ConfigView); len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "hosted_domains") {
		t.Fatalf("view %+v; want a warning naming hosted_domains", v)
	}
}

func TestTimeClaims(t *testing.T) {
	t.Parallel()
	accept := map[string]func(now time.Time, c map[string]any){
		"exp-float":    func(now time.Time, c map[string]any) { c["exp"] = float64(now.Add(5*time.Minute).Unix()) + 0.75 },
		"iat-float":    func(now time.Time, c map[string]any) { c["iat"] = float64(now.Unix()) - 0.25 },
		"nbf-past":     func(now time.Time, c map[string]any) { c["nbf"] = now.Add(-time.Minute).Unix() },
		"nbf-negative": func(now time.Time, c map[string]any) { c["nbf"] = -5 },
		"exp-exponent": func(now time.Time, c map[string]any) {
			c["exp"] = json.Number(fmt.Sprintf("%de0", now.Add(5*time.Minute).Unix()))
		},
		"iat-within-skew-ahead": func(now time.Time, c map[string]any) { c["iat"] = now.Add(59 * time.Second).Unix() },
	}
	for name, edit := range accept {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			accepts(t, func(op *mockOP) {
				now := op.clock.Now()
				op.claims = func(c map[string]any) { edit(now, c) }
			})
		})
	}
	reject := []struct {
		name   string
		edit   func(now time.Time, c map[string]any)
		reason string
	}{
		{"exp-string", func(now time.Time, c map[string]any) { c["exp"] = fmt.Sprint(now.Add(5 * time.Minute).Unix()) }, ReasonTokenMalformed},
		{"iat-string", func(now time.Time, c map[string]any) { c["iat"] = fmt.Sprint(now.Unix()) }, ReasonTokenMalformed},
		{"nbf-string", func(now time.Time, c map[string]any) { c["nbf"] = fmt.Sprint(now.Unix()) }, ReasonTokenMalformed},
		{"exp-bool", func(now time.Time, c map[string]any) { c["exp"] = true }, ReasonTokenMalformed},
		{"exp-null", func(now time.Time, c map[string]any) { c["exp"] = nil }, ReasonTokenMalformed},
		{"exp-negative", func(now time.Time, c map[string]any) { c["exp"] = -1 }, ReasonExpired},
		{"exp-zero", func(now time.Time, c map[string]any) { c["exp"] = 0 }, ReasonExpired},
		{"exp-huge", func(now time.Time, c map[string]any) { c["exp"] = json.Number("1e300") }, ReasonTokenMalformed},
		{"exp-beyond-int64", func(now time.Time, c map[string]any) { c["exp"] = json.Number("18446744073709551616") }, ReasonTokenMalformed},
		{"iat-huge", func(now time.Time, c map[string]any) { c["iat"] = json.Number("1e30") }, ReasonTokenMalformed},
		{"nbf-huge", func(now time.Time, c map[string]any) { c["nbf"] = json.Number("-1e30") }, ReasonTokenMalformed},
		{"iat-negative", func(now time.Time, c map[string]any) { c["iat"] = -1 }, ReasonTokenTooOld},
		{"exp-missing", func(now time.Time, c map[string]any) { delete(c, "exp") }, ReasonExpMissing},
		{"iat-missing", func(now time.Time, c map[string]any) { delete(c, "iat") }, ReasonIATMissing},
		{"exp-beyond-skew", func(now time.Time, c map[string]any) { c["exp"] = now.Add(-61 * time.Second).Unix() }, ReasonExpired},
		{"nbf-beyond-skew", func(now time.Time, c map[string]any) { c["nbf"] = now.Add(2 * time.Minute).Unix() }, ReasonNotYetValid},
		{"iat-beyond-skew", func(now time.Time, c map[string]any) { c["iat"] = now.Add(2 * time.Minute).Unix() }, ReasonIATInFuture},
	}
	for _, tc := range reject {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rejects(t, func(op *mockOP) {
				now := op.clock.Now()
				op.claims = func(c map[string]any) { tc.edit(now, c) }
			}, tc.reason)
		})
	}
}

func TestNonceAndSubject(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		edit   func(c map[string]any)
		reason string
	}{
		{"nonce-absent-when-sent", func(c map[string]any) { delete(c, "nonce") }, ReasonNonceMismatch},
		{"nonce-empty", func(c map[string]any) { c["nonce"] = "" }, ReasonNonceMismatch},
		{"nonce-of-another-flow", func(c map[string]any) { c["nonce"] = opaque.NewToken(32) }, ReasonNonceMismatch},
		{"nonce-prefix", func(c map[string]any) { c["nonce"] = c["nonce"].(string)[:20] }, ReasonNonceMismatch},
		{"nonce-number", func(c map[string]any) { c["nonce"] = 1 }, ReasonTokenMalformed},
		{"sub-number", func(c map[string]any) { c["sub"] = 123 }, ReasonTokenMalformed},
		{"at-hash-wrong", func(c map[string]any) { c["at_hash"] = atHash("other") }, ReasonAtHashMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rejects(t, func(op *mockOP) { op.claims = tc.edit }, tc.reason)
		})
	}
}

func TestJWSHeaders(t *testing.T) {
	t.Parallel()
	evilEC, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	evil := &testKey{kid: "k1", alg: "ES256", priv: evilEC}
	var hits atomic.Int32
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(attacker.Close)

	for _, tc := range []struct {
		name   string
		knob   func(op *mockOP)
		reason string
	}{
		{"crit-header", func(op *mockOP) {
			op.header = func(h map[string]any) { h["crit"] = []string{"exp"}; h["exp"] = 1 }
		}, ReasonSignatureInvalid},
		{"crit-empty-array", func(op *mockOP) { op.header = func(h map[string]any) { h["crit"] = []string{} } }, ReasonSignatureInvalid},
		{"b64-false", func(op *mockOP) {
			op.header = func(h map[string]any) { h["b64"] = false; h["crit"] = []string{"b64"} }
		}, ReasonSignatureInvalid},
		{"jku-to-attacker-signed-by-attacker", func(op *mockOP) {
			op.header = func(h map[string]any) { h["alg"], h["jku"] = "ES256", attacker.URL+"/jwks" }
			op.mint = func(h, c map[string]any) string { return signJWT(h, c, evil, nil) }
		}, ReasonSignatureInvalid},
		{"x5u-to-attacker", func(op *mockOP) {
			op.header = func(h map[string]any) { h["alg"], h["x5u"], h["kid"] = "ES256", attacker.URL+"/cert", "" }
			op.mint = func(h, c map[string]any) string { return signJWT(h, c, evil, nil) }
		}, ReasonSignatureInvalid},
		{"jwk-embedded-attacker-key-no-kid", func(op *mockOP) {
			op.header = func(h map[string]any) {
				delete(h, "kid")
				h["alg"], h["jwk"] = "ES256", json.RawMessage(rawJWK(t, jose.JSONWebKey{Key: evilEC.Public(), Algorithm: "ES256", Use: "sig"}))
			}
			op.mint = func(h, c map[string]any) string { return signJWT(h, c, evil, nil) }
		}, ReasonSignatureInvalid},
		{"x5c-embedded", func(op *mockOP) {
			op.header = func(h map[string]any) {
				h["alg"], h["x5c"] = "ES256", []string{"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"}
			}
			op.mint = func(h, c map[string]any) string { return signJWT(h, c, evil, nil) }
		}, ReasonTokenMalformed},
		{"none-with-kid", func(op *mockOP) {
			op.mint = func(h, c map[string]any) string {
				return signJWT(map[string]any{"alg": "none", "kid": "k1"}, c, nil, nil)
			}
		}, ReasonAlgNotAllowed},
		{"hs256-with-kid", func(op *mockOP) {
			op.mint = func(h, c map[string]any) string {
				return signJWT(map[string]any{"alg": "HS256", "kid": "k1"}, c, nil, []byte("secret"))
			}
		}, ReasonAlgNotAllowed},
		{"alg-lowercase", func(op *mockOP) { op.header = func(h map[string]any) { h["alg"] = "rs256" } }, ReasonAlgNotAllowed},
		{"alg-not-advertised", func(op *mockOP) {
			op.algs = []string{"ES256"}
		}, ReasonAlgNotAllowed},
		{"rs256-header-with-ec-key", func(op *mockOP) {
			ec := newECKey("ec1")
			op.keys = append(op.keys, ec)
			op.header = func(h map[string]any) { h["alg"], h["kid"] = "RS256", "ec1" }
			op.mint = func(h, c map[string]any) string { return signJWT(h, c, ec, nil) }
		}, ReasonSignatureInvalid},
		{"es256-header-with-rsa-key", func(op *mockOP) {
			op.header = func(h map[string]any) { h["alg"] = "ES256" }
			op.mint = func(h, c map[string]any) string {
				return signJWT(map[string]any{"alg": "ES256", "kid": "k1"}, c, evil, nil)
			}
		}, ReasonSignatureInvalid},
		{"ps256-with-rs256-only-jwk", func(op *mockOP) {
			op.algs = []string{"RS256", "PS256"}
			op.header = func(h map[string]any) { h["alg"] = "PS256" }
		}, ReasonSignatureInvalid},
		{"kid-collision-attacker-ec", func(op *mockOP) {
			ec := newECKey("k1")
			op.keys = append(op.keys, ec)
			op.header = func(h map[string]any) { h["alg"] = "ES256" }
			op.mint = func(h, c map[string]any) string { return signJWT(h, c, evil, nil) }
		}, ReasonSignatureInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rejects(t, tc.knob, tc.reason)
		})
	}
	t.Run("kid-collision-rsa-and-ec-both-genuine", func(t *testing.T) {
		t.Parallel()
		for _, alg := range []string{"RS256", "ES256"} {
			accepts(t, func(op *mockOP) {
				ec := newECKey("k1")
				op.keys = append(op.keys, ec)
				if alg == "ES256" {
					op.signKey = ec
				}
			})
		}
	})
	if hits.Load() != 0 {
		t.Fatalf("attacker URL fetched %d times", hits.Load())
	}
}

func TestJWKSKeyFilters(t *testing.T) {
	t.Parallel()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		jwk    func(op *mockOP) jose.JSONWebKey
		signer func(op *mockOP) *testKey
	}{
		{"use-enc", func(op *mockOP) jose.JSONWebKey {
			return jose.JSONWebKey{Key: op.signKey.priv.Public(), KeyID: "k1", Algorithm: "RS256", Use: "enc"}
		}, nil},
		{"use-enc-no-alg", func(op *mockOP) jose.JSONWebKey {
			return jose.JSONWebKey{Key: op.signKey.priv.Public(), KeyID: "k1", Use: "enc"}
		}, nil},
		{"alg-rsa-oaep", func(op *mockOP) jose.JSONWebKey {
			return jose.JSONWebKey{Key: op.signKey.priv.Public(), KeyID: "k1", Algorithm: "RSA-OAEP"}
		}, nil},
		{"alg-rs512-token-rs256", func(op *mockOP) jose.JSONWebKey {
			return jose.JSONWebKey{Key: op.signKey.priv.Public(), KeyID: "k1", Algorithm: "RS512", Use: "sig"}
		}, nil},
		{"alg-es256-on-rsa-key", func(op *mockOP) jose.JSONWebKey {
			return jose.JSONWebKey{Key: op.signKey.priv.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}
		}, nil},
		{"rsa-1024", func(op *mockOP) jose.JSONWebKey {
			return jose.JSONWebKey{Key: small.Public(), KeyID: "k1", Algorithm: "RS256", Use: "sig"}
		}, func(op *mockOP) *testKey { return &testKey{kid: "k1", alg: "RS256", priv: small} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rejects(t, func(op *mockOP) {
				k := tc.jwk(op)
				signer := op.signKey
				if tc.signer != nil {
					signer = tc.signer(op)
				}
				// A second, genuine key keeps the JWKS usable.
				op.keys = []*testKey{newRSAKey(1, "other")}
				op.extraJWKS = []json.RawMessage{rawJWK(t, k)}
				op.mint = func(h, c map[string]any) string { return signJWT(h, c, signer, nil) }
			}, ReasonSignatureInvalid)
		})
	}
}

func TestTokenShape(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		edit   func(tok string) string
		reason string
	}{
		{"jwe-five-parts", func(string) string {
			return b64json(map[string]any{"alg": "RSA-OAEP", "enc": "A256GCM", "kid": "k1"}) + ".YQ.YQ.YQ.YQ"
		}, ReasonTokenMalformed},
		{"four-parts", func(tok string) string { return tok + ".x" }, ReasonTokenMalformed},
		{"two-parts", func(tok string) string { return tok[:strings.LastIndexByte(tok, '.')] }, ReasonTokenMalformed},
		{"leading-space", func(tok string) string { return " " + tok }, ReasonTokenMalformed},
		{"header-padded", func(tok string) string {
			h, rest, _ := strings.Cut(tok, ".")
			return h + "==." + rest
		}, ReasonTokenMalformed},
		{"newline-in-header", func(tok string) string { return tok[:5] + "\n" + tok[5:] }, ReasonSignatureInvalid},
		{"newline-in-payload", func(tok string) string {
			i := strings.IndexByte(tok, '.') + 5
			return tok[:i] + "\r\n" + tok[i:]
		}, ReasonSignatureInvalid},
		{"signature-padded", func(tok string) string { return tok + "==" }, ReasonTokenMalformed},
		// A second spelling of a genuine signature is a different token.
		{"newline-in-signature", func(tok string) string {
			i := strings.LastIndexByte(tok, '.') + 5
			return tok[:i] + "\n" + tok[i:]
		}, ReasonSignatureInvalid},
		{"signature-trailing-bits", func(tok string) string {
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			v := strings.IndexByte(alphabet, tok[len(tok)-1])
			return tok[:len(tok)-1] + string(alphabet[v|1])
		}, ReasonSignatureInvalid},
		{"signature-std-base64", func(tok string) string {
			i := strings.LastIndexByte(tok, '.')
			return tok[:i+1] + strings.NewReplacer("-", "+", "_", "/").Replace(tok[i+1:]) + "+/"
		}, ReasonTokenMalformed},
		{"empty-signature", func(tok string) string { return tok[:strings.LastIndexByte(tok, '.')+1] }, ReasonSignatureInvalid},
		{"oversize", func(tok string) string { return tok + strings.Repeat("A", 70<<10) }, ReasonTokenTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rejects(t, func(op *mockOP) {
				op.mint = func(h, c map[string]any) string { return tc.edit(signJWT(h, c, op.signKey, nil)) }
			}, tc.reason)
		})
	}
}

// manualSetup configures a connection with manual endpoints: the mock OP
// serves authorization and JWKS, token and userinfo go to op unless the
// given handlers replace them.
func manualSetup(t *testing.T, token, userinfo http.HandlerFunc) (*harness, *mockOP) {
	t.Helper()
	clk := newClock()
	op := newMockOP(t, clk)
	tokenURL, userinfoURL := op.srv.URL+"/token", op.srv.URL+"/userinfo"
	if token != nil {
		s := httptest.NewServer(token)
		t.Cleanup(s.Close)
		tokenURL = s.URL
	}
	if userinfo != nil {
		s := httptest.NewServer(userinfo)
		t.Cleanup(s.Close)
		userinfoURL = s.URL
	}
	h := newHarness(t, clk, nil)
	h.addConn(op, "conn_m", "org_m", func(c *sso.Connection, in *ConnectionInput) {
		in.AuthURL, in.TokenURL, in.JWKSURL, in.UserInfoURL = op.srv.URL+"/authorize", tokenURL, op.srv.URL+"/jwks", userinfoURL
	})
	return h, op
}

func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	const html = `<html><body><h1>Bad Gateway</h1><script>alert(1)</script>error=%3Cscript%3E</body></html>`
	for _, status := range []int{http.StatusForbidden, http.StatusInternalServerError, http.StatusBadGateway} {
		t.Run(fmt.Sprint("html-", status), func(t *testing.T) {
			t.Parallel()
			h, _ := manualSetup(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(status)
				_, _ = fmt.Fprint(w, html)
			}, nil)
			b := newBrowser(t)
			cb := h.authorize(b, h.start(b, "conn_m", ""))
			resp, err := b.c.Get(cb.String())
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			h.wantReject(resp, ReasonTokenExchange)
			if strings.Contains(body, "script") || strings.Contains(body, "Bad Gateway") {
				t.Fatalf("IdP HTML reflected in the error page: %s", body)
			}
		})
	}
	t.Run("html-200-no-token", func(t *testing.T) {
		t.Parallel()
		h, _ := manualSetup(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = fmt.Fprint(w, html)
		}, nil)
		b := newBrowser(t)
		cb := h.authorize(b, h.start(b, "conn_m", ""))
		resp, err := b.c.Get(cb.String())
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		if n, _ := h.comp.counts(); n != 0 || resp.StatusCode < 400 {
			t.Fatalf("status %d, %d logins", resp.StatusCode, n)
		}
		if strings.Contains(body, "script") || strings.Contains(body, "access_token") {
			t.Fatalf("internal detail in the error page: %s", body)
		}
		if h.comp.lastFail() == nil {
			t.Fatal("Completer.Fail not called")
		}
	})
	t.Run("id-token-for-another-nonce", func(t *testing.T) {
		t.Parallel()
		rejects(t, func(op *mockOP) { op.claims = func(c map[string]any) { c["nonce"] = "nonce-of-another-login" } }, ReasonNonceMismatch)
	})
	t.Run("id-token-not-a-string", func(t *testing.T) {
		t.Parallel()
		h, _ := manualSetup(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprint(w, `{"access_token":"a","token_type":"Bearer","id_token":{"alg":"none"}}`)
		}, nil)
		h.wantReject(h.login(newBrowser(t), "conn_m"), ReasonIDTokenMissing)
	})
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String()
		}
	}
}

func TestCallbackParameters(t *testing.T) {
	t.Parallel()
	t.Run("two-tabs-each-completes-once", func(t *testing.T) {
		t.Parallel()
		h, _ := setupOne(t, nil)
		b := newBrowser(t)
		a1 := h.start(b, "conn_a", "")
		a2 := h.start(b, "conn_a", "")
		cb1, cb2 := h.authorize(b, a1), h.authorize(b, a2)
		h.wantOK(b.get(cb2.String()))
		h.wantOK(b.get(cb1.String()))
		if n, _ := h.comp.counts(); n != 2 {
			t.Fatalf("%d logins, want 2", n)
		}
		// Replaying tab 1's callback is refused.
		resp := b.get(cb1.String())
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("replay status %d", resp.StatusCode)
		}
		wantReason(t, h.err(), ReasonStateInvalid)
		if n, _ := h.comp.counts(); n != 2 {
			t.Fatalf("%d logins after replay, want 2", n)
		}
	})
	t.Run("code-and-error-together", func(t *testing.T) {
		t.Parallel()
		h, _ := setupOne(t, nil)
		b := newBrowser(t)
		cb := h.authorize(b, h.start(b, "conn_a", ""))
		q := cb.Query()
		q.Set("error", "access_denied")
		cb.RawQuery = q.Encode()
		h.wantReject(b.get(cb.String()), ReasonIdPError)
		// The flow is spent: the code alone no longer completes.
		q.Del("error")
		cb.RawQuery = q.Encode()
		resp := b.get(cb.String())
		if n, _ := h.comp.counts(); n != 0 || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d, %d logins", resp.StatusCode, n)
		}
		wantReason(t, h.err(), ReasonStateInvalid)
	})
	for _, tc := range []struct {
		name   string
		edit   func(q url.Values)
		reason string
	}{
		{"state-10k", func(q url.Values) { q.Set("state", strings.Repeat("s", 10<<10)) }, ReasonStateInvalid},
		{"code-8k", func(q url.Values) { q.Set("code", strings.Repeat("c", 8<<10)) }, ReasonCodeMissing},
		{"query-over-16k", func(q url.Values) { q.Set("pad", strings.Repeat("p", 17<<10)) }, ReasonBadRequest},
		{"two-states", func(q url.Values) { q.Add("state", "x") }, ReasonBadRequest},
		{"state-first-empty", func(q url.Values) { q["state"] = append([]string{""}, q["state"]...) }, ReasonBadRequest},
		{"two-codes", func(q url.Values) { q.Add("code", "x") }, ReasonBadRequest},
		{"two-iss", func(q url.Values) { q.Add("iss", "https://evil.example") }, ReasonBadRequest},
		{"code-empty", func(q url.Values) { q.Set("code", "") }, ReasonCodeMissing},
		{"error-description-html", func(q url.Values) {
			q.Set("error", "<img src=x>")
			q.Set("error_description", "<script>alert(1)</script>")
		}, ReasonIdPError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, _ := setupOne(t, nil)
			b := newBrowser(t)
			cb := h.authorize(b, h.start(b, "conn_a", ""))
			q := cb.Query()
			tc.edit(q)
			cb.RawQuery = q.Encode()
			resp, err := b.c.Get(cb.String())
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			h.wantReject(resp, tc.reason)
			if strings.Contains(body, "<script>") || strings.Contains(body, "<img") {
				t.Fatalf("reflected markup: %s", body)
			}
		})
	}
	t.Run("callback-of-other-connection", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		op := newMockOP(t, clk)
		h := newHarness(t, clk, nil)
		h.addConn(op, "conn_a", "org_a", nil)
		h.addConn(op, "conn_b", "org_b", nil)
		b := newBrowser(t)
		cb := h.authorize(b, h.start(b, "conn_a", ""))
		cb.Path = strings.Replace(cb.Path, "/callback/conn_a", "/callback/conn_b", 1)
		h.wantReject(b.get(cb.String()), ReasonConnectionMismatch)
	})
}

func TestUserInfo(t *testing.T) {
	t.Parallel()
	t.Run("email-verified-string-true", func(t *testing.T) {
		t.Parallel()
		l := accepts(t, func(op *mockOP) {
			op.omitProfileClaims = true
			op.userinfo = func(c map[string]any) { c["email_verified"] = "true" }
		})
		if l.Profile.Email != "alice@example.com" || l.Profile.EmailVerified {
			t.Fatalf("email %q verified %v", l.Profile.Email, l.Profile.EmailVerified)
		}
	})
	t.Run("signed-email-verified-string-true", func(t *testing.T) {
		t.Parallel()
		l := accepts(t, func(op *mockOP) {
			op.omitProfileClaims, op.userinfoSigned = true, true
			op.userinfo = func(c map[string]any) { c["email_verified"] = "true" }
		})
		if l.Profile.EmailVerified {
			t.Fatal("string email_verified counted as verified")
		}
	})
	t.Run("id-token-verified-flag-does-not-vouch-for-userinfo-email", func(t *testing.T) {
		t.Parallel()
		l := accepts(t, func(op *mockOP) {
			op.omitProfileClaims = true
			op.claims = func(c map[string]any) { c["email_verified"] = true }
			op.userinfo = func(c map[string]any) { c["email"], c["email_verified"] = "other@example.com", false }
		})
		if l.Profile.Email != "other@example.com" || l.Profile.EmailVerified {
			t.Fatalf("email %q verified %v", l.Profile.Email, l.Profile.EmailVerified)
		}
	})
	jwtUserinfo := func(ct string, hdr map[string]any, edit func(c map[string]any)) func(op *mockOP) http.HandlerFunc {
		return func(op *mockOP) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				c := map[string]any{"sub": "user-123", "email": "alice@example.com", "email_verified": true, "name": "Alice",
					"iss": op.issuer, "aud": op.clientID}
				if edit != nil {
					edit(c)
				}
				w.Header().Set("Content-Type", ct)
				_, _ = fmt.Fprint(w, signJWT(hdr, c, op.signKey, nil)+"\n")
			}
		}
	}
	rs := map[string]any{"alg": "RS256", "kid": "k1"}
	for _, tc := range []struct {
		name   string
		h      func(op *mockOP) http.HandlerFunc
		reason string // "" accepts
	}{
		{"jwt-with-params-and-case", jwtUserinfo("Application/JWT; charset=UTF-8", rs, nil), ""},
		{"jwt-alg-none", jwtUserinfo("application/jwt", map[string]any{"alg": "none", "kid": "k1"}, nil), ReasonAlgNotAllowed},
		{"jwt-hs256", func(op *mockOP) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/jwt")
				_, _ = fmt.Fprint(w, signJWT(map[string]any{"alg": "HS256"}, map[string]any{"sub": "user-123"}, nil, []byte("k")))
			}
		}, ReasonAlgNotAllowed},
		{"jwt-aud-other", jwtUserinfo("application/jwt", rs, func(c map[string]any) { c["aud"] = "client-b" }), ReasonAudienceMismatch},
		{"jwt-sub-other", jwtUserinfo("application/jwt", rs, func(c map[string]any) { c["sub"] = "user-999" }), ReasonUserInfoSubMismatch},
		{"jwt-served-as-json", jwtUserinfo("application/json", rs, nil), ReasonUserInfoInvalid},
		{"html-200", func(op *mockOP) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = fmt.Fprint(w, "<html>login</html>")
			}
		}, ReasonUserInfoInvalid},
		{"json-array", func(op *mockOP) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { _, _ = fmt.Fprint(w, `[{"sub":"user-123"}]`) }
		}, ReasonUserInfoInvalid},
		{"sub-number", func(op *mockOP) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { _, _ = fmt.Fprint(w, `{"sub":123}`) }
		}, ReasonUserInfoSubMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var op *mockOP
			h, op := manualSetup(t, nil, func(w http.ResponseWriter, r *http.Request) { tc.h(op)(w, r) })
			op.set(func(op *mockOP) { op.omitProfileClaims = true })
			resp := h.login(newBrowser(t), "conn_m")
			if tc.reason == "" {
				if l := h.wantOK(resp); l.Profile.Email != "alice@example.com" {
					t.Fatalf("profile %+v", l.Profile)
				}
				return
			}
			h.wantReject(resp, tc.reason)
		})
	}
}

func TestMultiTenantAndPorts(t *testing.T) {
	t.Parallel()
	entra := func(t *testing.T, edit func(c map[string]any)) (*harness, *http.Response) {
		clk := newClock()
		op := newMockOP(t, clk)
		op.set(func(op *mockOP) { op.issuer = op.srv.URL + "/{tenantid}/v2.0"; op.issParam = "omit" })
		h := newHarness(t, clk, nil)
		h.addConn(op, "conn_a", "org_a", func(c *sso.Connection, in *ConnectionInput) {
			c.Config = &ConnectionConfig{AllowedTenantIDs: []string{"9188040d-6c67-4c5b-b112-36a304b66dad"}}
		})
		op.set(func(op *mockOP) {
			op.claims = func(c map[string]any) {
				c["tid"] = "9188040d-6c67-4c5b-b112-36a304b66dad"
				c["iss"] = op.srv.URL + "/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
				edit(c)
			}
		})
		return h, h.login(newBrowser(t), "conn_a")
	}
	for _, tc := range []struct {
		name   string
		edit   func(c map[string]any)
		reason string
	}{
		{"tid-absent", func(c map[string]any) { delete(c, "tid") }, ReasonTenantNotAllowed},
		{"tid-upper-case", func(c map[string]any) { c["tid"] = "9188040D-6C67-4C5B-B112-36A304B66DAD" }, ReasonTenantNotAllowed},
		{"tid-array", func(c map[string]any) { c["tid"] = []string{"9188040d-6c67-4c5b-b112-36a304b66dad"} }, ReasonTenantNotAllowed},
		{"tid-common", func(c map[string]any) {
			c["tid"] = "common"
		}, ReasonTenantNotAllowed},
		{"iss-literal-template", func(c map[string]any) {
			c["iss"] = strings.Replace(c["iss"].(string), "9188040d-6c67-4c5b-b112-36a304b66dad", "{tenantid}", 1)
		}, ReasonIssuerMismatch},
		{"iss-common", func(c map[string]any) {
			c["iss"] = strings.Replace(c["iss"].(string), "9188040d-6c67-4c5b-b112-36a304b66dad", "common", 1)
		}, ReasonIssuerMismatch},
	} {
		t.Run("entra-"+tc.name, func(t *testing.T) {
			t.Parallel()
			h, resp := entra(t, tc.edit)
			h.wantReject(resp, tc.reason)
		})
	}
	keycloak := func(t *testing.T, edit func(iss string) string) (*harness, *http.Response) {
		clk := newClock()
		op := newMockOP(t, clk)
		op.set(func(op *mockOP) { op.issuer = op.srv.URL + "/realms/acme" })
		h := newHarness(t, clk, nil)
		h.addConn(op, "conn_k", "org_k", func(c *sso.Connection, in *ConnectionInput) {
			in.AuthURL, in.TokenURL, in.JWKSURL, in.UserInfoURL = op.srv.URL+"/authorize", op.srv.URL+"/token", op.srv.URL+"/jwks", op.srv.URL+"/userinfo"
		})
		if edit != nil {
			op.set(func(op *mockOP) {
				iss := edit(op.issuer)
				op.claims = func(c map[string]any) { c["iss"] = iss }
			})
		}
		return h, h.login(newBrowser(t), "conn_k")
	}
	t.Run("keycloak-realm-with-port", func(t *testing.T) {
		t.Parallel()
		h, resp := keycloak(t, nil)
		if l := h.wantOK(resp); !strings.HasSuffix(l.Profile.Issuer, "/realms/acme") || !strings.Contains(l.Profile.Issuer, ":") {
			t.Fatalf("issuer %q", l.Profile.Issuer)
		}
	})
	for name, edit := range map[string]func(string) string{
		"port-dropped":  func(iss string) string { u, _ := url.Parse(iss); u.Host = u.Hostname(); return u.String() },
		"other-port":    func(iss string) string { u, _ := url.Parse(iss); u.Host = u.Hostname() + ":1"; return u.String() },
		"realm-case":    func(iss string) string { return strings.Replace(iss, "acme", "ACME", 1) },
		"other-realm":   func(iss string) string { return strings.Replace(iss, "acme", "master", 1) },
		"realm-encoded": func(iss string) string { return strings.Replace(iss, "acme", "ac%6De", 1) },
	} {
		t.Run("keycloak-"+name, func(t *testing.T) {
			t.Parallel()
			h, resp := keycloak(t, edit)
			h.wantReject(resp, ReasonIssuerMismatch)
		})
	}
}
