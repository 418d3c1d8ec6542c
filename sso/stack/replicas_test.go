package stack_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/scimtoken"
	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/stack"
	"github.com/ssokit/ssokit/store/memstore"
)

// replicas returns two Stacks on the stores of cfg, as two replicas of a
// host sharing one database, with API tokens and one revocation bus.
func replicas(t *testing.T, cfg stack.Config) (a, b *stack.Stack) {
	t.Helper()
	key, err := session.GenerateSigningKey("k1", session.ES256)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("https://app.example.com")
	cfg.BaseURL, cfg.SealKeyID, cfg.SealKeys = base, "k1", map[string][]byte{"k1": make([]byte, 32)}
	cfg.LocalLoginURL, cfg.Logger = "/password-login", slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.SigningKeys = []session.SigningKey{key}
	cfg.RevocationBus = &memstore.Bus{}
	var out [2]*stack.Stack
	for i := range out {
		s, err := stack.New(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = s
	}
	return out[0], out[1]
}

// TestSCIMLimitSharedByReplicas: with a SCIM store that counts requests,
// two replicas share one budget per organization.
func TestSCIMLimitSharedByReplicas(t *testing.T) {
	t.Parallel()
	for name, newStores := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := newStores(t)
			a, b := replicas(t, cfg)
			ctx := context.Background()
			// The budget is per minute: a run that straddles a minute
			// boundary is repeated on a fresh organization.
			for attempt := 0; attempt < 3; attempt++ {
				org := &sso.Organization{ID: fmt.Sprintf("org_limit%d", attempt), Slug: fmt.Sprintf("limit%d", attempt), Name: "limit",
					Settings: sso.OrgSettings{Features: sso.Features{"scim"}}}
				if err := cfg.Store.CreateOrg(ctx, org); err != nil {
					t.Fatal(err)
				}
				tok, _, err := scimtoken.Issue(ctx, cfg.Store, org.ID, "idp", time.Now())
				if err != nil {
					t.Fatal(err)
				}
				window := time.Now().Truncate(time.Minute)
				ok, limited := 0, 0
				for i := 0; i < scim.DefaultRateLimit+20; i++ {
					s := []*stack.Stack{a, b}[i%2]
					r := httptest.NewRequest("GET", "https://app.example.com/scim/v2/Users", nil)
					r.Header.Set("Authorization", "Bearer "+tok)
					w := httptest.NewRecorder()
					s.Handler().ServeHTTP(w, r)
					switch w.Code {
					case http.StatusOK:
						ok++
					case http.StatusTooManyRequests:
						limited++
					default:
						t.Fatalf("request %d: status %d: %s", i, w.Code, w.Body)
					}
				}
				if !time.Now().Truncate(time.Minute).Equal(window) {
					continue
				}
				if ok != scim.DefaultRateLimit || limited != 20 {
					t.Fatalf("%d requests admitted and %d limited over two replicas, want %d and 20: one budget shared by both",
						ok, limited, scim.DefaultRateLimit)
				}
				return
			}
			t.Fatal("every attempt straddled a minute boundary")
		})
	}
}

// TestRevocationBusWired: a user revoked through one replica's session
// manager loses API access on the other at once.
func TestRevocationBusWired(t *testing.T) {
	t.Parallel()
	a, b := replicas(t, memStores())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, s := range []*stack.Stack{a, b} {
		go s.Sessions.Run(ctx)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		user := opaque.NewID("usr_")
		w := httptest.NewRecorder()
		ses, err := a.Sessions.Issue(w, httptest.NewRequest("POST", "https://app.example.com/", nil),
			&sso.SessionGrant{UserID: user, OrgID: "org_1"})
		if err != nil {
			t.Fatal(err)
		}
		pair, err := a.Sessions.IssueTokens(ctx, ses, session.TokenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Sessions.VerifyAccessToken(ctx, pair.AccessToken); err != nil {
			t.Fatal(err)
		}
		if err := a.Sessions.RevokeUser(ctx, user); err != nil {
			t.Fatal(err)
		}
		refused := time.Now().Add(time.Second)
		for time.Now().Before(refused) {
			_, err := b.Sessions.VerifyAccessToken(ctx, pair.AccessToken)
			var ve *sso.ValidationError
			if errors.As(err, &ve) && ve.Reason == session.ReasonRevoked {
				return
			}
			time.Sleep(time.Millisecond)
		}
		// The first rounds may run before the replica listens.
		if time.Now().After(deadline) {
			t.Fatal("the other replica still accepts the revoked user's token")
		}
	}
}
