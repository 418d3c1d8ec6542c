package oidc

import (
	"net/http"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// conformanceCase reproduces one OpenID RP conformance module
// (openid-certification/conformance-suite, oidcc-client-test-*) against
// the mock OP: setup flips the module's knob, and either the login
// completes (reason "") or it is rejected with reason and no Profile
// reaches completion.
type conformanceCase struct {
	module string
	setup  func(op *mockOP)
	conn   func(c *sso.Connection, in *ConnectionInput)
	reason string
	check  func(t *testing.T, h *harness, op *mockOP, l *sso.Login)
}

func runConformance(t *testing.T, cases []conformanceCase) {
	for _, tc := range cases {
		t.Run(tc.module, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			op := newMockOP(t, clk)
			h := newHarness(t, clk, nil)
			h.addConn(op, "conn_a", "org_a", tc.conn)
			if tc.setup != nil {
				op.set(tc.setup)
			}
			resp := h.login(newBrowser(t), "conn_a")
			if tc.reason == "" {
				l := h.wantOK(resp)
				if tc.check != nil {
					tc.check(t, h, op, l)
				}
				return
			}
			h.wantReject(resp, tc.reason)
			if tc.check != nil {
				tc.check(t, h, op, nil)
			}
		})
	}
}

func TestConformanceBasicRP(t *testing.T) {
	t.Parallel()
	runConformance(t, []conformanceCase{
		{module: "oidcc-client-test", check: func(t *testing.T, h *harness, op *mockOP, l *sso.Login) {
			p := l.Profile
			if p.Issuer != op.issuer || p.Subject != "user-123" || p.OrgID != "org_a" || p.ConnectionID != "conn_a" {
				t.Fatalf("profile identity = %q %q %q %q", p.Issuer, p.Subject, p.OrgID, p.ConnectionID)
			}
			if p.Email != "alice@example.com" || !p.EmailVerified || p.GivenName != "Alice" || p.FamilyName != "Liddell" || p.DisplayName != "Alice Liddell" {
				t.Fatalf("profile claims = %+v", p)
			}
			if len(p.Groups) != 2 || p.Groups[0] != "admins" || !p.MFA || p.AuthnContext != "urn:example:loa:2" || p.SessionIndex != "sid-1" {
				t.Fatalf("groups/mfa/acr/sid = %v %v %q %q", p.Groups, p.MFA, p.AuthnContext, p.SessionIndex)
			}
			if op.userinfoCalls.Load() != 0 {
				t.Fatalf("auto mode called userinfo although the ID token had every claim")
			}
		}},
		{module: "oidcc-client-test-invalid-iss", setup: func(op *mockOP) {
			op.claims = func(c map[string]any) { c["iss"] = "https://evil.example" }
		}, reason: ReasonIssuerMismatch},
		{module: "oidcc-client-test-missing-sub", setup: func(op *mockOP) {
			op.claims = func(c map[string]any) { delete(c, "sub") }
		}, reason: ReasonSubMissing},
		{module: "oidcc-client-test-invalid-aud", setup: func(op *mockOP) {
			op.claims = func(c map[string]any) { c["aud"] = "other-client" }
		}, reason: ReasonAudienceMismatch},
		{module: "oidcc-client-test-missing-iat", setup: func(op *mockOP) {
			op.claims = func(c map[string]any) { delete(c, "iat") }
		}, reason: ReasonIATMissing},
		{module: "oidcc-client-test-kid-absent-single-jwks", setup: func(op *mockOP) {
			op.header = func(h map[string]any) { delete(h, "kid") }
		}},
		{module: "oidcc-client-test-kid-absent-multiple-jwks", setup: func(op *mockOP) {
			// Policy: every key is tried; only a verifying one is accepted.
			op.keys = []*testKey{newRSAKey(1, "other"), newECKey("ec"), op.signKey}
			op.header = func(h map[string]any) { delete(h, "kid") }
		}},
		{module: "oidcc-client-test-idtoken-sig-rs256"},
		{module: "oidcc-client-test-idtoken-sig-none", setup: func(op *mockOP) {
			op.header = func(h map[string]any) { h["alg"] = "none"; delete(h, "kid") }
		}, reason: ReasonAlgNotAllowed},
		{module: "oidcc-client-test-invalid-sig-rs256", setup: func(op *mockOP) {
			op.mint = func(h, c map[string]any) string { return signJWT(h, c, newRSAKey(1, "k1"), nil) }
		}, reason: ReasonSignatureInvalid},
		{module: "oidcc-client-test-userinfo-invalid-sub", setup: func(op *mockOP) {
			op.omitProfileClaims = true
			op.userinfo = func(c map[string]any) { c["sub"] = "someone-else" }
		}, reason: ReasonUserInfoSubMismatch},
		{module: "oidcc-client-test-nonce-invalid", setup: func(op *mockOP) {
			op.claims = func(c map[string]any) { c["nonce"] = "not-the-nonce" }
		}, reason: ReasonNonceMismatch},
		{module: "oidcc-client-test-scope-userinfo-claims", setup: func(op *mockOP) {
			op.omitProfileClaims = true
		}, check: func(t *testing.T, h *harness, op *mockOP, l *sso.Login) {
			if op.userinfoCalls.Load() != 1 {
				t.Fatalf("userinfo calls = %d, want 1", op.userinfoCalls.Load())
			}
			if l.Profile.Email != "alice@example.com" || l.Profile.DisplayName != "Alice Liddell" || !l.Profile.EmailVerified {
				t.Fatalf("userinfo claims not used: %+v", l.Profile)
			}
			if got := op.lastAuth.Get("scope"); got != "openid email profile" {
				t.Fatalf("scope = %q", got)
			}
		}},
		{module: "oidcc-client-test-client-secret-basic", check: func(t *testing.T, h *harness, op *mockOP, l *sso.Login) {
			if m := op.tokenAuthMethod.Load(); m != "client_secret_basic" {
				t.Fatalf("token endpoint auth = %v", m)
			}
		}},
	})
}

func TestConformanceOtherRP(t *testing.T) {
	t.Parallel()
	runConformance(t, []conformanceCase{
		{module: "oidcc-client-test-missing-aud", setup: func(op *mockOP) {
			op.claims = func(c map[string]any) { delete(c, "aud") }
		}, reason: ReasonAudienceMismatch},
		{module: "oidcc-client-test-invalid-sig-hs256", setup: func(op *mockOP) {
			op.header = func(h map[string]any) { h["alg"] = "HS256" }
			op.mint = func(h, c map[string]any) string { return signJWT(h, c, nil, []byte(op.secret)) }
		}, reason: ReasonAlgNotAllowed},
		{module: "oidcc-client-test-invalid-sig-es256", setup: func(op *mockOP) {
			op.keys = append(op.keys, newECKey("ec1"))
			op.header = func(h map[string]any) { h["alg"] = "ES256"; h["kid"] = "ec1" }
			op.mint = func(h, c map[string]any) string {
				tok := signJWT(h, c, newECKey("ec1"), nil)
				return tok[:len(tok)-4] + "AAAA"
			}
		}, reason: ReasonSignatureInvalid},
		{module: "oidcc-client-test-invalid-athash", setup: func(op *mockOP) {
			op.claims = func(c map[string]any) { c["at_hash"] = atHash("another-access-token") }
		}, reason: ReasonAtHashMismatch},
		{module: "oidcc-client-test-discovery-openid-config", check: func(t *testing.T, h *harness, op *mockOP, l *sso.Login) {
			if l.Profile.Issuer != op.issuer {
				t.Fatal("issuer")
			}
		}},
		{module: "oidcc-client-test-discovery-jwks-uri-keys", check: func(t *testing.T, h *harness, op *mockOP, l *sso.Login) {
			if op.jwksFetches.Load() != 1 {
				t.Fatalf("jwks fetches = %d, want 1", op.jwksFetches.Load())
			}
		}},
		{module: "oidcc-client-test-userinfo-bearer-header", conn: func(c *sso.Connection, in *ConnectionInput) {
			c.Config = &ConnectionConfig{UserInfo: UserInfoAlways}
		}, check: func(t *testing.T, h *harness, op *mockOP, l *sso.Login) {
			if op.userinfoCalls.Load() != 1 {
				t.Fatalf("userinfo calls = %d", op.userinfoCalls.Load())
			}
		}},
		{module: "oidcc-client-test-userinfo-signed", setup: func(op *mockOP) {
			op.omitProfileClaims, op.userinfoSigned = true, true
		}, check: func(t *testing.T, h *harness, op *mockOP, l *sso.Login) {
			if l.Profile.Email != "alice@example.com" {
				t.Fatalf("signed userinfo not used: %+v", l.Profile)
			}
		}},
		{module: "oidcc-client-test-client-secret-post", conn: func(c *sso.Connection, in *ConnectionInput) {
			in.AuthMethod = "client_secret_post"
		}, setup: func(op *mockOP) { op.authMethod = "client_secret_post" }},
		// FAPI2 client-test modules for mix-up and state.
		{module: "fapi2-security-profile-final-client-test-invalid-authorization-response-iss", setup: func(op *mockOP) {
			op.issParam = "https://attacker.example"
		}, reason: ReasonIssuerParamMismatch},
		{module: "fapi2-security-profile-final-client-test-remove-authorization-response-iss", setup: func(op *mockOP) {
			op.advertiseIss, op.issParam = true, "omit"
		}, reason: ReasonIssuerParamMissing},
		{module: "fapi2-security-profile-final-client-test-invalid-missing-nonce", setup: func(op *mockOP) {
			op.claims = func(c map[string]any) { delete(c, "nonce") }
		}, reason: ReasonNonceMismatch},
		{module: "fapi2-security-profile-final-client-test-invalid-secondary-aud", setup: func(op *mockOP) {
			op.claims = func(c map[string]any) { c["aud"] = []string{op.clientID, "other-client"} }
		}, reason: ReasonAZPMismatch},
		{module: "fapi2-security-profile-final-client-test-valid-aud-as-array", setup: func(op *mockOP) {
			op.claims = func(c map[string]any) { c["aud"] = []string{op.clientID} }
		}},
		{module: "fapi2-security-profile-final-client-test-invalid-null-alg", setup: func(op *mockOP) {
			op.header = func(h map[string]any) { h["alg"] = "none" }
		}, reason: ReasonAlgNotAllowed},
		{module: "fapi2-security-profile-final-client-test-invalid-alternate-alg", setup: func(op *mockOP) {
			op.header = func(h map[string]any) { h["alg"] = "PS256" }
		}, reason: ReasonAlgNotAllowed},
		{module: "fapi2-security-profile-final-client-test-invalid-expired-exp", setup: func(op *mockOP) {
			op.claims = func(c map[string]any) { c["exp"] = op.clock.Now().Add(-2 * time.Minute).Unix() }
		}, reason: ReasonExpired},
	})
}

func TestConformanceDiscoveryIssuerMismatch(t *testing.T) {
	t.Parallel()
	t.Run("oidcc-client-test-discovery-issuer-mismatch", func(t *testing.T) {
		clk := newClock()
		op := newMockOP(t, clk)
		h := newHarness(t, clk, nil)
		c := h.addConn(op, "conn_a", "org_a", nil)
		// Configuration refuses a mismatching document outright.
		op.set(func(op *mockOP) { op.discoveryIssuer = op.issuer + "/" })
		_, err := h.rp.Configure(t.Context(), &sso.Connection{ID: "conn_b"}, &ConnectionInput{Issuer: op.issuer, ClientID: "x", ClientSecret: "y"})
		wantReason(t, err, ReasonDiscoveryIssuerMismatch)
		// A login whose discovery (first use, no cached copy) mismatches
		// never reaches the IdP; the person is told the IdP is at fault.
		h.rp.forget(c.ID)
		resp := newBrowser(t).get(h.srv.URL + "/sso/oidc/login/conn_a")
		if resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("status %d, want 502", resp.StatusCode)
		}
		wantReason(t, h.err(), ReasonDiscoveryIssuerMismatch)
		if n, _ := h.comp.counts(); n != 0 {
			t.Fatal("login completed")
		}
	})
}

func TestConformanceKeyRotation(t *testing.T) {
	t.Parallel()
	for _, module := range []string{"oidcc-client-test-signing-key-rotation", "oidcc-client-test-signing-key-rotation-just-before-signing"} {
		t.Run(module, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			op := newMockOP(t, clk)
			h := newHarness(t, clk, nil)
			h.addConn(op, "conn_a", "org_a", nil)
			h.wantOK(h.login(newBrowser(t), "conn_a"))
			clk.Advance(31 * time.Second)
			op.set(func(op *mockOP) {
				op.signKey = newRSAKey(2, "k2")
				if module == "oidcc-client-test-signing-key-rotation" {
					op.keys = []*testKey{op.keys[0], op.signKey}
				} else {
					op.keys = []*testKey{op.signKey}
				}
			})
			h.wantOK(h.login(newBrowser(t), "conn_a"))
			if got := op.jwksFetches.Load(); got != 2 {
				t.Fatalf("JWKS fetches = %d, want 2 (one refetch after rotation)", got)
			}
		})
	}
}

func TestConformanceBackChannelLogout(t *testing.T) {
	t.Parallel()
	type bcl struct {
		module string
		edit   func(op *mockOP, h, c map[string]any)
		mint   func(op *mockOP, h, c map[string]any) string
		ok     bool
		reason string
	}
	cases := []bcl{
		{module: "oidcc-client-test-rp-backchannel-rpinitlogout", ok: true},
		{module: "oidcc-client-test-rp-backchannel-rpinitlogout-alg-none", edit: func(op *mockOP, h, c map[string]any) { h["alg"] = "none" }, reason: ReasonAlgNotAllowed},
		{module: "oidcc-client-test-rp-backchannel-rpinitlogout-wrong-alg", edit: func(op *mockOP, h, c map[string]any) { h["alg"] = "HS256" },
			mint: func(op *mockOP, h, c map[string]any) string { return signJWT(h, c, nil, []byte(op.secret)) }, reason: ReasonAlgNotAllowed},
		{module: "oidcc-client-test-rp-backchannel-rpinitlogout-wrong-iss", edit: func(op *mockOP, h, c map[string]any) { c["iss"] = "https://evil.example" }, reason: ReasonIssuerMismatch},
		{module: "oidcc-client-test-rp-backchannel-rpinitlogout-wrong-aud", edit: func(op *mockOP, h, c map[string]any) { c["aud"] = "other" }, reason: ReasonAudienceMismatch},
		{module: "oidcc-client-test-rp-backchannel-rpinitlogout-no-event", edit: func(op *mockOP, h, c map[string]any) { delete(c, "events") }, reason: ReasonLogoutTokenInvalid},
		{module: "oidcc-client-test-rp-backchannel-rpinitlogout-wrong-event", edit: func(op *mockOP, h, c map[string]any) {
			c["events"] = map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}
		}, reason: ReasonLogoutTokenInvalid},
		{module: "oidcc-client-test-rp-backchannel-rpinitlogout-with-nonce", edit: func(op *mockOP, h, c map[string]any) { c["nonce"] = "n" }, reason: ReasonLogoutTokenInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.module, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			op := newMockOP(t, clk)
			h := newHarness(t, clk, nil)
			h.addConn(op, "conn_a", "org_a", nil)
			hd, c := op.logoutToken()
			if tc.edit != nil {
				tc.edit(op, hd, c)
			}
			tok := signJWT(hd, c, op.signKey, nil)
			if tc.mint != nil {
				tok = tc.mint(op, hd, c)
			}
			status, err := h.postLogout("conn_a", tok)
			if tc.ok {
				if status != http.StatusOK || h.logouts.Load() != 1 {
					t.Fatalf("status %d, logouts %d; err %v", status, h.logouts.Load(), err)
				}
				// T-O.17: the same jti again is a replay.
				status, _ = h.postLogout("conn_a", tok)
				if status != http.StatusBadRequest || h.logouts.Load() != 1 {
					t.Fatalf("replayed logout token: status %d, logouts %d", status, h.logouts.Load())
				}
				return
			}
			if status != http.StatusBadRequest || h.logouts.Load() != 0 {
				t.Fatalf("status %d, logouts %d; want 400 and 0", status, h.logouts.Load())
			}
			wantReason(t, err, tc.reason)
		})
	}
}
