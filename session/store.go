package session

import (
	"context"
	"errors"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Errors a Store, TokenStore or the Manager return. Match them with
// errors.Is.
var (
	// ErrNoSession reports a request without a valid session or access
	// token. Handlers answer it with 401 and no further detail.
	ErrNoSession = errors.New("session: no valid session")
	// ErrTokenUsed reports that a refresh token was already rotated. A
	// TokenStore returns it from RotateRefreshToken for every caller but the
	// one that won.
	ErrTokenUsed = errors.New("session: refresh token already used")
	// ErrTokenRevoked reports that a refresh token's family was revoked.
	ErrTokenRevoked = errors.New("session: refresh token revoked")
	// ErrReauthRequired reports that an operation needs a more recent
	// authentication than the session carries.
	ErrReauthRequired = errors.New("session: recent authentication required")
	// ErrTokensDisabled reports an API-token operation on a Manager
	// configured without signing keys or token storage.
	ErrTokensDisabled = errors.New("session: API tokens are not configured")
)

// Session is one server-side browser session. The bearer value of its cookie
// is never stored: TokenHash is opaque.Hash of it.
type Session struct {
	// ID identifies the session in lists and admin APIs. It is not a
	// credential.
	ID string
	// TokenHash is the hex SHA-256 of the cookie value.
	TokenHash    string
	UserID       string
	OrgID        string
	ConnectionID string
	Method       sso.AuthMethod
	Roles        []string
	// MFA is true when a second factor was completed at MFAAt.
	MFA   bool
	MFAAt time.Time
	// AuthAt is when the user last authenticated (the login this session
	// descends from).
	AuthAt     time.Time
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute expiry, whatever the activity.
	ExpiresAt time.Time
	// IdleTimeout ends the session when no request was seen for that long.
	IdleTimeout time.Duration
	IP          string
	UserAgent   string
	// IdPSessionIndex is the SAML SessionIndex or OIDC sid, for logout.
	IdPSessionIndex string
	// IdPSubject is the SAML NameID or OIDC sub of the login, for logout.
	IdPSubject string
	// IdPLogoutHint is the sealed (Config.Sealer) logout hint of the login:
	// the OIDC ID token sent as id_token_hint. Read it with
	// Manager.IdPLogoutHint; stores keep it as they got it.
	IdPLogoutHint string
}

// Valid reports whether the session may authenticate a request at now.
func (s *Session) Valid(now time.Time) bool {
	if !now.Before(s.ExpiresAt) {
		return false
	}
	return s.IdleTimeout <= 0 || now.Before(s.LastSeenAt.Add(s.IdleTimeout))
}

// Info returns the session's public description.
func (s *Session) Info() sso.SessionInfo {
	return sso.SessionInfo{
		ID: s.ID, UserID: s.UserID, OrgID: s.OrgID, ConnectionID: s.ConnectionID,
		Method: s.Method, MFA: s.MFA, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt,
		ExpiresAt: s.ExpiresAt, IP: s.IP, UserAgent: s.UserAgent,
	}
}

// Store stores browser sessions.
//
// Contracts: a missing session yields an error wrapping sso.ErrNotFound; a
// duplicate ID or TokenHash yields sso.ErrConflict and writes nothing;
// records are copied in and out; every method is safe for concurrent use.
// Stores return sessions whatever their expiry (the Manager checks Valid)
// and may drop sessions whose ExpiresAt has passed.
type Store interface {
	// CreateSession stores s. When limit > 0 it then ends the user's oldest
	// other sessions in the same organization (s.OrgID; by CreatedAt, then
	// ID; never s itself) until at most limit remain there, in the same
	// atomic step, and returns the ended sessions oldest first. Sessions in
	// other organizations are never ended: one organization's policy must
	// not end sessions in another.
	CreateSession(ctx context.Context, s *Session, limit int) (evicted []*Session, err error)
	// GetSession returns the session with the given ID.
	GetSession(ctx context.Context, id string) (*Session, error)
	// FindSession returns the session whose TokenHash is hash. It is the hot
	// path: one indexed read.
	FindSession(ctx context.Context, hash string) (*Session, error)
	// TouchSession sets LastSeenAt of session id to at.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// DeleteSession removes session id.
	DeleteSession(ctx context.Context, id string) error
	// ListUserSessions returns the user's sessions ordered by CreatedAt,
	// then ID (an empty slice when there are none).
	ListUserSessions(ctx context.Context, userID string) ([]*Session, error)
	// DeleteUserSessions removes every session of the user and returns how
	// many it removed.
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
	// ListIdPSessions returns the sessions whose ConnectionID is
	// connectionID and whose IdPSubject is subject and IdPSessionIndex is
	// sessionIndex; an empty subject or sessionIndex matches any value, and
	// the Manager never passes both empty. It serves IdP-initiated logout
	// (SAML SLO, OIDC back-channel logout) and must not scan every session:
	// index the pairs (connection, subject) and (connection, index).
	ListIdPSessions(ctx context.Context, connectionID, subject, sessionIndex string) ([]*Session, error)
}

// LoginWriter is an optional Store capability: CreateSession that also
// writes a login's other records (sso.LoginWrites: the identity's last
// login and the audit event) in the session's transaction, so that a
// returning login commits once. store/sqlstore and store/memstore implement
// it; with a Store without it the login's records are written separately.
type LoginWriter interface {
	// CreateLoginSession is CreateSession plus, atomically, the update of
	// w.Identity (an error wrapping sso.ErrNotFound when it is gone) and
	// the append of w.Event. Nothing is written when any part fails.
	CreateLoginSession(ctx context.Context, s *Session, limit int, w *sso.LoginWrites) (evicted []*Session, err error)
}

// RefreshToken is one member of a refresh-token family. Only the hash of the
// opaque bearer value is stored.
type RefreshToken struct {
	// Hash is opaque.Hash of the bearer value.
	Hash string
	// FamilyID groups the tokens descending from one grant by rotation.
	FamilyID string
	UserID   string
	OrgID    string
	// SessionID is the browser session the family was issued from; the
	// family lives no longer than that session (see Manager.Refresh). Empty
	// means a family bound to no session.
	SessionID string
	ClientID  string
	Roles     []string
	Scopes    []string
	CreatedAt time.Time
	// ExpiresAt is the family's absolute expiry; rotation does not extend
	// it, and the family ends before it when its session ends.
	ExpiresAt time.Time
	// UsedAt is when the token was rotated (zero while unused).
	UsedAt time.Time
	// RevokedAt is when the token's family was revoked (zero while live).
	// It is a property of the family, set by the Revoke methods.
	RevokedAt time.Time
}

// TokenStore stores refresh-token families.
//
// Contracts: a missing token yields sso.ErrNotFound; a duplicate Hash or
// (for CreateRefreshToken) FamilyID yields sso.ErrConflict and writes nothing;
// every method is safe for concurrent use. Revocation is a property of the
// family: once a family is revoked, every token in it, including tokens
// added by a rotation racing with the revocation, reads back with RevokedAt
// set.
type TokenStore interface {
	// CreateRefreshToken stores t as the first token of the new family
	// t.FamilyID.
	CreateRefreshToken(ctx context.Context, t *RefreshToken) error
	// GetRefreshToken returns the token with the given hash, used or
	// revoked alike.
	GetRefreshToken(ctx context.Context, hash string) (*RefreshToken, error)
	// RotateRefreshToken marks the token oldHash used at next.CreatedAt and
	// stores next in the same family, atomically: of any number of
	// concurrent calls with one oldHash exactly one succeeds. The others get
	// ErrTokenUsed; a revoked family gives ErrTokenRevoked; an unknown
	// oldHash gives sso.ErrNotFound. next.FamilyID must equal the old
	// token's.
	RotateRefreshToken(ctx context.Context, oldHash string, next *RefreshToken) error
	// RevokeFamily revokes every token of the family at at. Revoking a
	// revoked or unknown family is not an error.
	RevokeFamily(ctx context.Context, familyID string, at time.Time) error
	// RevokeSessionTokens revokes every family issued for the session.
	RevokeSessionTokens(ctx context.Context, sessionID string, at time.Time) error
	// RevokeUserTokens revokes every family of the user.
	RevokeUserTokens(ctx context.Context, userID string, at time.Time) error
}

// RevocationStore records revocation times of token subjects ("user:<id>",
// "session:<id>"), which stop access tokens issued before them. Access
// tokens are stateless, so this is how a revoked user loses API access
// before expiry.
type RevocationStore interface {
	// SetRevocation records that tokens of subject issued at or before at are
	// revoked. The record may be dropped after until (when every such token
	// has expired). A later at replaces an earlier one; an earlier at never
	// replaces a later one.
	SetRevocation(ctx context.Context, subject string, at, until time.Time) error
	// GetRevocation returns the subject's revocation time, or
	// sso.ErrNotFound.
	GetRevocation(ctx context.Context, subject string) (time.Time, error)
}

// Sweeper is an optional capability of stores whose records do not expire
// by themselves (SQL, memory): it deletes sessions past their absolute or
// idle expiry, refresh-token families past their expiry, and revocation
// records past their until time. Redis-backed stores expire keys natively and
// need not implement it. See Manager.Sweep.
type Sweeper interface {
	// SweepExpired deletes what expired at or before now and returns how many
	// sessions it deleted.
	SweepExpired(ctx context.Context, now time.Time) (int, error)
}
