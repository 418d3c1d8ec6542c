package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
)

// endpointChangeSetup returns a harness with connection conn_a to victim,
// configured by mod (nil: discovery), and an attacker OP that would accept
// the connection's redirect URI, so that a login reaches the attacker's
// token endpoint whenever the connection points there.
func endpointChangeSetup(t *testing.T, mod func(victim *mockOP, in *ConnectionInput)) (h *harness, victim, attacker *mockOP) {
	t.Helper()
	clk := newClock()
	victim, attacker = newMockOP(t, clk), newMockOP(t, clk)
	attacker.set(func(op *mockOP) { op.secret = "attacker-does-not-know-it" })
	h = newHarness(t, clk, nil)
	h.addConn(victim, "conn_a", "org_a", func(_ *sso.Connection, in *ConnectionInput) {
		if mod != nil {
			mod(victim, in)
		}
	})
	attacker.set(func(op *mockOP) { op.redirectURIs[h.rp.RedirectURI("conn_a")] = true })
	return h, victim, attacker
}

// reconfigure runs an admin update of conn_a the way sso/admin does: the
// stored connection is configured with in and written back only when
// ConfigureConnection succeeds.
func (h *harness) reconfigure(in *ConnectionInput) (*sso.Connection, error) {
	h.t.Helper()
	c := mustConn(h, "conn_a")
	if _, err := h.rp.Configure(context.Background(), c, in); err != nil {
		return nil, err
	}
	if err := h.conns.UpdateConnection(context.Background(), c); err != nil {
		h.t.Fatal(err)
	}
	return c, nil
}

func manualEndpoints(op *mockOP, in *ConnectionInput) {
	in.AuthURL, in.TokenURL, in.JWKSURL, in.UserInfoURL = op.srv.URL+"/authorize", op.srv.URL+"/token", op.srv.URL+"/jwks", op.srv.URL+"/userinfo"
}

// wantCredentialRequired asserts the T-O.20 refusal: an ErrInvalidInput
// *sso.ValidationError with the reason, naming the field and the change.
func wantCredentialRequired(t *testing.T, err error, reason, field, change string) {
	t.Helper()
	ve := wantReason(t, err, reason)
	if !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("error %v does not wrap sso.ErrInvalidInput", err)
	}
	if d := ve.Detail(); !strings.Contains(d, field+": required again because the "+change+" changed") {
		t.Fatalf("detail %q does not name %s and the %s", d, field, change)
	}
}

// wantNoSecretAt asserts that op's token endpoint never received secret,
// in an Authorization header or as client_secret.
func wantNoSecretAt(t *testing.T, op *mockOP, secret string) {
	t.Helper()
	for _, c := range op.credentials() {
		if strings.Contains(c, secret) {
			t.Fatalf("token endpoint %s received the secret (%q)", op.issuer, c)
		}
	}
}

// T-O.20: an update that moves the token endpoint (new issuer, new manual
// token endpoint, or a switch between discovery and manual endpoints)
// without a new client secret is refused, the stored connection keeps
// pointing at the old IdP, and a test login afterwards never sends the
// secret to the new endpoint.
func TestTO20_SecretFollowsEndpointChange(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		method string
		manual bool // conn_a starts with manual endpoints
		update func(victim, attacker *mockOP, in *ConnectionInput)
		change string
	}{
		{name: "issuer", update: func(v, a *mockOP, in *ConnectionInput) { in.Issuer = a.issuer }, change: "issuer"},
		{name: "issuer-client_secret_post", method: "client_secret_post",
			update: func(v, a *mockOP, in *ConnectionInput) { in.Issuer = a.issuer }, change: "issuer"},
		{name: "manual-token-endpoint", manual: true,
			update: func(v, a *mockOP, in *ConnectionInput) {
				manualEndpoints(v, in)
				in.TokenURL = a.srv.URL + "/token"
			},
			change: "token endpoint"},
		{name: "discovery-to-manual", update: func(v, a *mockOP, in *ConnectionInput) {
			manualEndpoints(v, in)
			in.TokenURL = a.srv.URL + "/token"
		}, change: "choice between discovery and manual endpoints"},
		{name: "discovery-to-manual-same-urls", update: func(v, a *mockOP, in *ConnectionInput) { manualEndpoints(v, in) },
			change: "choice between discovery and manual endpoints"},
		{name: "manual-to-discovery", manual: true, update: func(v, a *mockOP, in *ConnectionInput) {},
			change: "choice between discovery and manual endpoints"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, victim, attacker := endpointChangeSetup(t, func(victim *mockOP, in *ConnectionInput) {
				if tc.method != "" {
					in.AuthMethod = tc.method
				}
				if tc.manual {
					manualEndpoints(victim, in)
				}
			})
			if tc.method != "" {
				victim.set(func(op *mockOP) { op.authMethod = tc.method })
				attacker.set(func(op *mockOP) { op.authMethod = tc.method })
			}
			before := ConfigOf(mustConn(h, "conn_a"))
			in := &ConnectionInput{Issuer: victim.issuer, ClientID: victim.clientID, AuthMethod: tc.method}
			tc.update(victim, attacker, in)
			_, err := h.reconfigure(in)
			// The admin now runs a test login, whatever the update did.
			resp := h.login(newBrowser(t), "conn_a")
			if got := attacker.credentials(); len(got) != 0 {
				t.Fatalf("attacker token endpoint received credentials %q", got)
			}
			if n := attacker.tokenCalls.Load(); n != 0 {
				t.Fatalf("attacker token endpoint called %d times", n)
			}
			wantCredentialRequired(t, err, ReasonClientSecretRequired, "client_secret", tc.change)
			if after := ConfigOf(mustConn(h, "conn_a")); after.Issuer != before.Issuer || after.TokenURL != before.TokenURL ||
				after.ClientSecretSealed != before.ClientSecretSealed {
				t.Fatalf("refused update changed the stored connection: %+v", after)
			}
			h.wantOK(resp) // still the victim's login
		})
	}
}

// T-O.20: the same update with a new secret is accepted, and the new
// endpoint receives only the new secret, never the old one.
func TestTO20_NewSecretWithEndpointChange(t *testing.T) {
	t.Parallel()
	h, victim, attacker := endpointChangeSetup(t, nil)
	c, err := h.reconfigure(&ConnectionInput{Issuer: attacker.issuer, ClientID: attacker.clientID, ClientSecret: attacker.secret})
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := h.sealer.Open(ConfigOf(c).ClientSecretSealed, []byte("conn_a")); err != nil || string(pt) != attacker.secret {
		t.Fatalf("sealed secret = %q, %v; want the new one", pt, err)
	}
	h.wantOK(h.login(newBrowser(t), "conn_a"))
	wantNoSecretAt(t, attacker, victim.secret)
	if got := attacker.credentials(); !slices.Contains(got, attacker.clientID+":"+attacker.secret) {
		t.Fatalf("attacker credentials %q, want the new secret by Basic", got)
	}
}

// T-O.20 positive: updates that leave the issuer, the endpoint mode and the
// token endpoint alone keep the sealed secret, and logins keep working.
func TestTO20_UnchangedEndpointsKeepSecret(t *testing.T) {
	t.Parallel()
	for name, manual := range map[string]bool{"discovery": false, "manual": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, victim, attacker := endpointChangeSetup(t, func(victim *mockOP, in *ConnectionInput) {
				if manual {
					manualEndpoints(victim, in)
				}
			})
			before := ConfigOf(mustConn(h, "conn_a")).ClientSecretSealed
			in := &ConnectionInput{Issuer: victim.issuer, ClientID: victim.clientID, Scopes: []string{"openid", "email", "groups"}}
			if manual {
				manualEndpoints(victim, in)
				in.UserInfoURL = "" // a change that does not move the secret
			}
			c, err := h.reconfigure(in)
			if err != nil {
				t.Fatalf("reconfigure: %v", err)
			}
			if ConfigOf(c).ClientSecretSealed != before {
				t.Fatal("sealed secret not kept")
			}
			h.wantOK(h.login(newBrowser(t), "conn_a"))
			if got := victim.credentials(); !slices.Contains(got, victim.clientID+":"+victim.secret) {
				t.Fatalf("victim credentials %q, want the kept secret", got)
			}
			if attacker.tokenCalls.Load() != 0 {
				t.Fatal("attacker token endpoint called")
			}
		})
	}
}

// T-O.20 for private_key_jwt: a sealed private key is dropped with the
// token endpoint too (a client assertion minted for the attacker's
// endpoint is still a credential), and kept when nothing moved.
func TestTO20_PrivateKeyFollowsEndpointChange(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	h, victim, attacker := endpointChangeSetup(t, func(victim *mockOP, in *ConnectionInput) {
		manualEndpoints(victim, in)
		in.ClientSecret, in.AuthMethod, in.PrivateKeyPEM = "", "private_key_jwt", pemText
	})
	victim.set(func(op *mockOP) { op.authMethod, op.assertionPub = "private_key_jwt", &key.PublicKey })
	attacker.set(func(op *mockOP) { op.authMethod, op.assertionPub = "private_key_jwt", &key.PublicKey })
	before := ConfigOf(mustConn(h, "conn_a"))

	in := &ConnectionInput{Issuer: victim.issuer, ClientID: victim.clientID, AuthMethod: "private_key_jwt"}
	manualEndpoints(victim, in)
	in.TokenURL = attacker.srv.URL + "/token"
	_, err = h.reconfigure(in)
	resp := h.login(newBrowser(t), "conn_a")
	if n := attacker.tokenCalls.Load(); n != 0 {
		t.Fatalf("attacker token endpoint called %d times", n)
	}
	wantCredentialRequired(t, err, ReasonPrivateKeyRequired, "private_key_pem", "token endpoint")
	h.wantOK(resp)

	in.TokenURL = victim.srv.URL + "/token"
	c, err := h.reconfigure(in)
	if err != nil {
		t.Fatalf("unchanged endpoints: %v", err)
	}
	if ConfigOf(c).PrivateKeySealed != before.PrivateKeySealed || ConfigOf(c).PrivateKeyID != before.PrivateKeyID {
		t.Fatal("sealed private key not kept for unchanged endpoints")
	}
}
