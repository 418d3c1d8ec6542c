package sso

import (
	"context"
	"net/http"
	"time"
)

// PrincipalKind says how a request was authenticated.
type PrincipalKind string

// Principal kinds.
const (
	PrincipalSession     PrincipalKind = "session"
	PrincipalAccessToken PrincipalKind = "access_token"
	// PrincipalClient is an API client of an organization calling with a
	// client-credentials access token: ClientID is set, UserID is empty.
	PrincipalClient PrincipalKind = "client"
)

// Principal is the authenticated subject of a request. session middleware
// puts it in the request context; mfa, the admin API and host handlers read
// it with PrincipalFrom.
type Principal struct {
	Kind PrincipalKind
	// SessionID is the session's opaque identifier (never its bearer token).
	SessionID    string
	UserID       string
	OrgID        string
	ConnectionID string
	Method       AuthMethod
	Roles        []string
	Scopes       []string
	// ClientID is the API client that holds the access token: the
	// principal itself for PrincipalClient, the client acting for the user
	// for a token it obtained by token exchange (RFC 8693 "act").
	ClientID string
	// AuthAt is when the user last authenticated (login or re-login).
	AuthAt time.Time
	// MFA is true when the session completed a second factor at MFAAt.
	MFA   bool
	MFAAt time.Time
}

// HasRole reports whether the principal holds role.
func (p *Principal) HasRole(role string) bool {
	for _, r := range p.Roles {
		if r == role {
			return true
		}
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the request's principal, if any.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// MFAElevator records a completed second factor on the request's current
// session. Because it is a privilege change, the implementation rotates the
// session (new token, old one dead) and sets the new cookie on w.
// session.Manager implements it; mfa calls it.
type MFAElevator interface {
	ElevateMFA(w http.ResponseWriter, r *http.Request, at time.Time) error
}
