package oidc

import (
	"context"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// FlowTTL is how long a started login may take before its callback arrives.
const FlowTTL = 10 * time.Minute

// Flow is the server-side state of one login in progress. It is created by
// StartLogin and consumed, exactly once, by the callback.
type Flow struct {
	// ID is opaque.Hash of the state parameter; the state itself is
	// never stored.
	ID string
	// BrowserHash is opaque.Hash of the browser-binding cookie value
	// that started the flow.
	BrowserHash string
	// ConnectionID, OrgID and Issuer bind the flow to one connection of one
	// organization and to the IdP it was sent to (mix-up defence).
	ConnectionID string
	OrgID        string
	Issuer       string
	// RedirectURI is the exact redirect_uri sent in the authorization
	// request; the token request repeats it.
	RedirectURI string
	// Verifier is the PKCE code verifier and Nonce the ID token nonce.
	Verifier string
	Nonce    string
	// ReturnTo is the safe relative path to go to after login ("" if none).
	ReturnTo string
	// Test marks an admin's test login.
	Test bool
	// What the login asked of the IdP's authentication
	// (sso.StartOptions), checked against the ID token: RequireMFA with
	// the acr_values sent (space-separated), MaxAge (whole seconds, sent
	// as max_age) and ForceAuthn (prompt=login; CreatedAt is the request
	// time).
	RequireMFA bool
	ACRValues  string
	MaxAge     time.Duration
	ForceAuthn bool
	// StepUp is the step-up the login was started for (the zero value for
	// an ordinary login), handed back in sso.Login.StepUp.
	StepUp sso.StepUp

	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store keeps login flows and the replay cache of back-channel logout
// tokens. store/memstore/memoidc and store/sqlstore/sqloidc implement it;
// store/storetest checks an implementation.
//
// Every method is safe for concurrent use and honours ctx.
type Store interface {
	// SaveFlow stores f. A flow with the same ID yields an error wrapping
	// sso.ErrConflict and writes nothing.
	SaveFlow(ctx context.Context, f *Flow) error
	// TakeFlow atomically removes and returns the flow with the given ID:
	// of concurrent callers exactly one gets it. A missing flow, or one whose
	// ExpiresAt has passed, yields an error wrapping sso.ErrNotFound (and an
	// expired flow is removed as well).
	TakeFlow(ctx context.Context, id string) (*Flow, error)
	// UseOnce records key as used until expiresAt. A key already recorded
	// and not yet expired yields an error wrapping sso.ErrConflict; of
	// concurrent callers with one key exactly one succeeds.
	UseOnce(ctx context.Context, key string, expiresAt time.Time) error
	// DeleteExpiredFlows removes flows and replay keys whose expiry is
	// before now and returns how many records it removed.
	DeleteExpiredFlows(ctx context.Context, now time.Time) (int, error)
}
