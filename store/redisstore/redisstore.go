// Package redisstore keeps ssokit sessions, refresh-token families and
// access-token revocations in Redis (github.com/redis/go-redis/v9). It
// implements session.Store, session.TokenStore and session.RevocationStore
// and nothing else: organizations, users and audit events stay in a
// database store (sqlstore), which a host combines with this one:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	rs, _ := redisstore.New(rdb, redisstore.Options{})
//	m, _ := session.New(session.Config{Store: rs, Tokens: rs, Revocations: rs, Events: db, Orgs: db, ...})
//
// Every multi-key operation is one Lua script, so it is atomic on a single
// Redis server (or a primary with replicas / Sentinel): the refresh
// rotation has exactly one winner and the per-user session limit cannot be
// raced. The scripts touch keys they derive at run time, so Redis Cluster is
// not supported. Records expire with Redis TTLs at their absolute expiry;
// there is nothing to sweep.
//
// Only SHA-256 hashes of session and refresh tokens are stored.
//
// The store is not a session.LoginWriter: a login's session is written here
// and its identity and audit event in the database, separately. So that a
// suspension, demotion or SSO enforcement committed during a login is still
// seen, session.Manager reads the login's organization and membership again
// (Config.Orgs, Config.Memberships) once the session is written here, and
// ends it when either changed.
//
// [Bus] carries revocations between replicas over Redis pub/sub
// (session.RevocationBus), whichever store keeps the revocations:
//
//	bus, _ := redisstore.NewBus(rdb, redisstore.BusOptions{})
//	m, _ := session.New(session.Config{..., Revocations: rs, RevocationBus: bus})
//	go m.Run(ctx)
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// Options configure a Store.
type Options struct {
	// Prefix starts every key. Zero means "ssokit:".
	Prefix string
}

// Store implements the session storage interfaces on Redis. It is safe for
// concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

var (
	_ session.Store           = (*Store)(nil)
	_ session.TokenStore      = (*Store)(nil)
	_ session.RevocationStore = (*Store)(nil)
)

// New returns a Store on rdb.
func New(rdb redis.UniversalClient, opts Options) (*Store, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: redisstore: nil client", sso.ErrInvalidConfig)
	}
	s := &Store{rdb: rdb, prefix: opts.Prefix}
	if s.prefix == "" {
		s.prefix = "ssokit:"
	}
	return s, nil
}

// Script replies that map to errors.
const (
	replyConflict = "CONFLICT"
	replyNotFound = "NOTFOUND"
	replyUsed     = "USED"
	replyRevoked  = "REVOKED"
	replyFamily   = "FAMILY"
)

func (s *Store) wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redis.Nil):
		return sso.ErrNotFound
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	msg := err.Error()
	if strings.Contains(msg, "connection refused") || strings.Contains(msg, "i/o timeout") ||
		strings.Contains(msg, "EOF") || strings.Contains(msg, "connection reset") || strings.Contains(msg, "closed") {
		return fmt.Errorf("%w: redisstore: %v", sso.ErrUnavailable, err)
	}
	return fmt.Errorf("redisstore: %w", err)
}

func replyErr(v any) error {
	str, ok := v.(string)
	if !ok {
		return nil
	}
	switch str {
	case replyConflict:
		return sso.ErrConflict
	case replyNotFound:
		return sso.ErrNotFound
	case replyUsed:
		return session.ErrTokenUsed
	case replyRevoked:
		return session.ErrTokenRevoked
	case replyFamily:
		return fmt.Errorf("%w: redisstore: rotation into another family", sso.ErrInvalidInput)
	}
	return nil
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// expiryMS is the PEXPIREAT value for t, at least one millisecond ahead of
// the Unix epoch so Redis always accepts it.
func expiryMS(t time.Time) int64 { return max(t.UnixMilli(), 1) }

// sessionRecord is the stored JSON of a session (LastSeenAt lives in its
// own hash field so touching does not rewrite the record).
type sessionRecord struct {
	ID              string         `json:"id"`
	TokenHash       string         `json:"h"`
	UserID          string         `json:"u"`
	OrgID           string         `json:"o"`
	ConnectionID    string         `json:"c,omitempty"`
	Method          sso.AuthMethod `json:"m,omitempty"`
	Roles           []string       `json:"r,omitempty"`
	MFA             bool           `json:"mfa,omitempty"`
	MFAAt           int64          `json:"mfa_at,omitempty"`
	AuthAt          int64          `json:"auth_at"`
	CreatedAt       int64          `json:"created"`
	ExpiresAt       int64          `json:"exp"`
	IdleTimeout     int64          `json:"idle"`
	IP              string         `json:"ip,omitempty"`
	UserAgent       string         `json:"ua,omitempty"`
	IdPSessionIndex string         `json:"idx,omitempty"`
	IdPSubject      string         `json:"isub,omitempty"`
	IdPLogoutHint   string         `json:"ilh,omitempty"`
}

func encodeSession(s *session.Session) (string, error) {
	b, err := json.Marshal(sessionRecord{
		ID: s.ID, TokenHash: s.TokenHash, UserID: s.UserID, OrgID: s.OrgID, ConnectionID: s.ConnectionID,
		Method: s.Method, Roles: s.Roles, MFA: s.MFA, MFAAt: micros(s.MFAAt), AuthAt: micros(s.AuthAt),
		CreatedAt: micros(s.CreatedAt), ExpiresAt: micros(s.ExpiresAt), IdleTimeout: s.IdleTimeout.Microseconds(),
		IP: s.IP, UserAgent: s.UserAgent, IdPSessionIndex: s.IdPSessionIndex, IdPSubject: s.IdPSubject,
		IdPLogoutHint: s.IdPLogoutHint,
	})
	return string(b), err
}

func decodeSession(data, seen any) (*session.Session, error) {
	d, ok1 := data.(string)
	sv, ok2 := seen.(string)
	if !ok1 || !ok2 {
		return nil, sso.ErrNotFound
	}
	var r sessionRecord
	if err := json.Unmarshal([]byte(d), &r); err != nil {
		return nil, fmt.Errorf("redisstore: decode session: %w", err)
	}
	lastSeen, err := strconv.ParseInt(sv, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("redisstore: decode last seen: %w", err)
	}
	return &session.Session{
		ID: r.ID, TokenHash: r.TokenHash, UserID: r.UserID, OrgID: r.OrgID, ConnectionID: r.ConnectionID,
		Method: r.Method, Roles: r.Roles, MFA: r.MFA, MFAAt: fromMicros(r.MFAAt), AuthAt: fromMicros(r.AuthAt),
		CreatedAt: fromMicros(r.CreatedAt), LastSeenAt: fromMicros(lastSeen), ExpiresAt: fromMicros(r.ExpiresAt),
		IdleTimeout: time.Duration(r.IdleTimeout) * time.Microsecond, IP: r.IP, UserAgent: r.UserAgent,
		IdPSessionIndex: r.IdPSessionIndex, IdPSubject: r.IdPSubject, IdPLogoutHint: r.IdPLogoutHint,
	}, nil
}

// decodePairs turns a flat {data, seen, data, seen, ...} reply into
// sessions.
func decodePairs(v any) ([]*session.Session, error) {
	list, ok := v.([]any)
	if !ok || len(list)%2 != 0 {
		return nil, fmt.Errorf("redisstore: unexpected reply %T", v)
	}
	out := make([]*session.Session, 0, len(list)/2)
	for i := 0; i < len(list); i += 2 {
		s, err := decodeSession(list[i], list[i+1])
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
