package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// Key layout (P is the prefix):
//
//	P s:<hash>    hash {d: session JSON, seen: last-seen micros, u: user ID}
//	P sid:<id>    string <hash>
//	P us:<user>   sorted set of session IDs scored by creation micros
//	P rt:<hash>   hash {d: token JSON, used: micros, fam: family ID}
//	P fam:<id>    hash {u: user ID, s: session ID, rev: revoked micros}
//	P ufam:<user> set of family IDs; P sfam:<session> likewise
//	P rev:<subj>  string revoked micros
//	P idps:<h>    set of session IDs of one (connection, IdP subject)
//	P idpi:<h>    set of session IDs of one (connection, IdP session index)
//
// Every key expires at the absolute expiry of what it holds.

// luaHelpers are shared by the scripts: extend a key's expiry (never
// shorten it) and remove one session.
const luaHelpers = `
local P = ARGV[1]
local function extend(key, ms)
  redis.call('PEXPIREAT', key, ms, 'NX')
  redis.call('PEXPIREAT', key, ms, 'GT')
end
local function delsession(id)
  local h = redis.call('GET', P..'sid:'..id)
  if not h then return nil end
  local rec = redis.call('HMGET', P..'s:'..h, 'd', 'seen', 'u')
  redis.call('DEL', P..'s:'..h, P..'sid:'..id)
  if rec[3] then redis.call('ZREM', P..'us:'..rec[3], id) end
  return rec
end
`

// ARGV: prefix, id, hash, user, json, seen, expMS, created, limit, org,
// IdP subject index key, IdP session index key (each "" when absent)
var createSessionScript = redis.NewScript(luaHelpers + `
local id, h, user, org = ARGV[2], ARGV[3], ARGV[4], ARGV[10]
if redis.call('EXISTS', P..'sid:'..id) == 1 or redis.call('EXISTS', P..'s:'..h) == 1 then
  return 'CONFLICT'
end
local exp = tonumber(ARGV[7])
redis.call('HSET', P..'s:'..h, 'd', ARGV[5], 'seen', ARGV[6], 'u', user, 'o', org)
redis.call('PEXPIREAT', P..'s:'..h, exp)
redis.call('SET', P..'sid:'..id, h, 'PXAT', exp)
for i = 11, 12 do
  if ARGV[i] ~= '' then
    redis.call('SADD', P..ARGV[i], id)
    extend(P..ARGV[i], exp)
  end
end
local uk = P..'us:'..user
redis.call('ZADD', uk, ARGV[8], id)
extend(uk, exp)
local others = {}
for _, m in ipairs(redis.call('ZRANGE', uk, 0, -1)) do
  local mh = redis.call('GET', P..'sid:'..m)
  if not mh then
    redis.call('ZREM', uk, m)
  elseif m ~= id and redis.call('HGET', P..'s:'..mh, 'o') == org then
    table.insert(others, m)
  end
end
local out = {}
local limit = tonumber(ARGV[9])
if limit > 0 then
  for i = 1, #others - (limit - 1) do
    local rec = delsession(others[i])
    if rec then
      table.insert(out, rec[1])
      table.insert(out, rec[2])
    end
  end
end
return out
`)

// ARGV: prefix, id
var getSessionScript = redis.NewScript(luaHelpers + `
local h = redis.call('GET', P..'sid:'..ARGV[2])
if not h then return 'NOTFOUND' end
local rec = redis.call('HMGET', P..'s:'..h, 'd', 'seen')
if not rec[1] then return 'NOTFOUND' end
return rec
`)

// ARGV: prefix, id, seen
var touchSessionScript = redis.NewScript(luaHelpers + `
local h = redis.call('GET', P..'sid:'..ARGV[2])
if not h or redis.call('EXISTS', P..'s:'..h) == 0 then return 'NOTFOUND' end
redis.call('HSET', P..'s:'..h, 'seen', ARGV[3])
return 'OK'
`)

// ARGV: prefix, id
var deleteSessionScript = redis.NewScript(luaHelpers + `
if not delsession(ARGV[2]) then return 'NOTFOUND' end
return 'OK'
`)

// ARGV: prefix, user, delete (0/1)
var userSessionsScript = redis.NewScript(luaHelpers + `
local uk = P..'us:'..ARGV[2]
local out = {}
for _, m in ipairs(redis.call('ZRANGE', uk, 0, -1)) do
  local h = redis.call('GET', P..'sid:'..m)
  local rec = nil
  if h then rec = redis.call('HMGET', P..'s:'..h, 'd', 'seen') end
  if rec and rec[1] then
    table.insert(out, rec[1])
    table.insert(out, rec[2])
    if ARGV[3] == '1' then delsession(m) end
  else
    redis.call('ZREM', uk, m)
  end
end
return out
`)

// ARGV: prefix, index key. It returns the live sessions of the index set
// and drops the IDs of ended ones.
var idpSessionsScript = redis.NewScript(luaHelpers + `
local k = P..ARGV[2]
local out = {}
for _, m in ipairs(redis.call('SMEMBERS', k)) do
  local h = redis.call('GET', P..'sid:'..m)
  local rec = nil
  if h then rec = redis.call('HMGET', P..'s:'..h, 'd', 'seen') end
  if rec and rec[1] then
    table.insert(out, rec[1])
    table.insert(out, rec[2])
  else
    redis.call('SREM', k, m)
  end
end
return out
`)

// idpKey names the index set of one (connection, value) pair; "" when
// value is empty.
func idpKey(kind, connectionID, value string) string {
	if value == "" {
		return ""
	}
	return kind + ":" + opaque.Hash(connectionID+"\x00"+value)
}

func (s *Store) run(ctx context.Context, sc *redis.Script, args ...any) (any, error) {
	v, err := sc.Run(ctx, s.rdb, nil, append([]any{s.prefix}, args...)...).Result()
	if err != nil {
		return nil, s.wrap(err)
	}
	if err := replyErr(v); err != nil {
		return nil, err
	}
	return v, nil
}

// CreateSession implements session.Store.
func (s *Store) CreateSession(ctx context.Context, ss *session.Session, limit int) ([]*session.Session, error) {
	data, err := encodeSession(ss)
	if err != nil {
		return nil, fmt.Errorf("redisstore: encode session: %w", err)
	}
	v, err := s.run(ctx, createSessionScript, ss.ID, ss.TokenHash, ss.UserID, data,
		micros(ss.LastSeenAt), expiryMS(ss.ExpiresAt), micros(ss.CreatedAt), limit, ss.OrgID,
		idpKey("idps", ss.ConnectionID, ss.IdPSubject), idpKey("idpi", ss.ConnectionID, ss.IdPSessionIndex))
	if err != nil {
		return nil, err
	}
	ev, err := decodePairs(v)
	if err != nil || len(ev) == 0 {
		return nil, err
	}
	return ev, nil
}

// GetSession implements session.Store.
func (s *Store) GetSession(ctx context.Context, id string) (*session.Session, error) {
	v, err := s.run(ctx, getSessionScript, id)
	if err != nil {
		return nil, err
	}
	ss, err := decodePairs(v)
	if err != nil || len(ss) != 1 {
		return nil, fmt.Errorf("redisstore: get session: %w", sso.ErrNotFound)
	}
	return ss[0], nil
}

// FindSession implements session.Store with a single HMGET.
func (s *Store) FindSession(ctx context.Context, hash string) (*session.Session, error) {
	v, err := s.rdb.HMGet(ctx, s.prefix+"s:"+hash, "d", "seen").Result()
	if err != nil {
		return nil, s.wrap(err)
	}
	if len(v) != 2 || v[0] == nil {
		return nil, sso.ErrNotFound
	}
	return decodeSession(v[0], v[1])
}

// TouchSession implements session.Store.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	_, err := s.run(ctx, touchSessionScript, id, micros(at))
	return err
}

// DeleteSession implements session.Store.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	_, err := s.run(ctx, deleteSessionScript, id)
	return err
}

// ListUserSessions implements session.Store.
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]*session.Session, error) {
	v, err := s.run(ctx, userSessionsScript, userID, "0")
	if err != nil {
		return nil, err
	}
	return decodePairs(v)
}

// ListIdPSessions implements session.Store through the per-(connection,
// subject) and per-(connection, session index) sets.
func (s *Store) ListIdPSessions(ctx context.Context, connectionID, subject, sessionIndex string) ([]*session.Session, error) {
	key := idpKey("idps", connectionID, subject)
	if key == "" {
		key = idpKey("idpi", connectionID, sessionIndex)
	}
	if key == "" {
		return nil, fmt.Errorf("%w: redisstore: IdP session lookup needs a subject or a session index", sso.ErrInvalidInput)
	}
	v, err := s.run(ctx, idpSessionsScript, key)
	if err != nil {
		return nil, err
	}
	all, err := decodePairs(v)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, ss := range all {
		if ss.ConnectionID == connectionID && (subject == "" || ss.IdPSubject == subject) &&
			(sessionIndex == "" || ss.IdPSessionIndex == sessionIndex) {
			out = append(out, ss)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// DeleteUserSessions implements session.Store.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	v, err := s.run(ctx, userSessionsScript, userID, "1")
	if err != nil {
		return 0, err
	}
	ss, err := decodePairs(v)
	return len(ss), err
}

type tokenRecord struct {
	Hash      string   `json:"h"`
	FamilyID  string   `json:"f"`
	UserID    string   `json:"u"`
	OrgID     string   `json:"o"`
	SessionID string   `json:"s"`
	ClientID  string   `json:"c,omitempty"`
	Roles     []string `json:"r,omitempty"`
	Scopes    []string `json:"sc,omitempty"`
	CreatedAt int64    `json:"created"`
	ExpiresAt int64    `json:"exp"`
}

func encodeToken(t *session.RefreshToken) (string, error) {
	b, err := json.Marshal(tokenRecord{Hash: t.Hash, FamilyID: t.FamilyID, UserID: t.UserID, OrgID: t.OrgID,
		SessionID: t.SessionID, ClientID: t.ClientID, Roles: t.Roles, Scopes: t.Scopes,
		CreatedAt: micros(t.CreatedAt), ExpiresAt: micros(t.ExpiresAt)})
	return string(b), err
}

const luaPutToken = `
local function puttoken(h, fam, data, exp)
  redis.call('HSET', P..'rt:'..h, 'd', data, 'used', '0', 'fam', fam)
  redis.call('PEXPIREAT', P..'rt:'..h, exp)
end
`

// ARGV: prefix, hash, family, user, session, json, expMS
var createTokenScript = redis.NewScript(luaHelpers + luaPutToken + `
local h, fam, exp = ARGV[2], ARGV[3], tonumber(ARGV[7])
if redis.call('EXISTS', P..'rt:'..h) == 1 or redis.call('EXISTS', P..'fam:'..fam) == 1 then return 'CONFLICT' end
redis.call('HSET', P..'fam:'..fam, 'u', ARGV[4], 's', ARGV[5], 'rev', '0')
redis.call('PEXPIREAT', P..'fam:'..fam, exp)
puttoken(h, fam, ARGV[6], exp)
redis.call('SADD', P..'ufam:'..ARGV[4], fam)
extend(P..'ufam:'..ARGV[4], exp)
redis.call('SADD', P..'sfam:'..ARGV[5], fam)
extend(P..'sfam:'..ARGV[5], exp)
return 'OK'
`)

// ARGV: prefix, hash
var getTokenScript = redis.NewScript(luaHelpers + `
local rec = redis.call('HMGET', P..'rt:'..ARGV[2], 'd', 'used', 'fam')
if not rec[1] then return 'NOTFOUND' end
local rev = redis.call('HGET', P..'fam:'..rec[3], 'rev') or '0'
return {rec[1], rec[2], rev}
`)

// ARGV: prefix, oldHash, newHash, family, json, usedMicros, expMS
var rotateScript = redis.NewScript(luaHelpers + luaPutToken + `
local old = P..'rt:'..ARGV[2]
local rec = redis.call('HMGET', old, 'used', 'fam')
if not rec[1] then return 'NOTFOUND' end
if rec[2] ~= ARGV[4] then return 'FAMILY' end
local rev = redis.call('HGET', P..'fam:'..rec[2], 'rev')
if not rev or rev ~= '0' then return 'REVOKED' end
if rec[1] ~= '0' then return 'USED' end
if redis.call('EXISTS', P..'rt:'..ARGV[3]) == 1 then return 'CONFLICT' end
redis.call('HSET', old, 'used', ARGV[6])
puttoken(ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[7]))
return 'OK'
`)

// ARGV: prefix, kind ("fam", "sfam" or "ufam"), id, revokedMicros
var revokeScript = redis.NewScript(luaHelpers + `
local fams
if ARGV[2] == 'fam' then fams = {ARGV[3]} else fams = redis.call('SMEMBERS', P..ARGV[2]..':'..ARGV[3]) end
for _, f in ipairs(fams) do
  local k = P..'fam:'..f
  if redis.call('HGET', k, 'rev') == '0' then redis.call('HSET', k, 'rev', ARGV[4]) end
end
return 'OK'
`)

// CreateRefreshToken implements session.TokenStore.
func (s *Store) CreateRefreshToken(ctx context.Context, t *session.RefreshToken) error {
	data, err := encodeToken(t)
	if err != nil {
		return fmt.Errorf("redisstore: encode token: %w", err)
	}
	_, err = s.run(ctx, createTokenScript, t.Hash, t.FamilyID, t.UserID, t.SessionID, data, expiryMS(t.ExpiresAt))
	return err
}

// GetRefreshToken implements session.TokenStore.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (*session.RefreshToken, error) {
	v, err := s.run(ctx, getTokenScript, hash)
	if err != nil {
		return nil, err
	}
	list, ok := v.([]any)
	if !ok || len(list) != 3 {
		return nil, fmt.Errorf("redisstore: unexpected reply %T", v)
	}
	d, _ := list[0].(string)
	var r tokenRecord
	if err := json.Unmarshal([]byte(d), &r); err != nil {
		return nil, fmt.Errorf("redisstore: decode token: %w", err)
	}
	num := func(x any) int64 {
		str, _ := x.(string)
		n, _ := strconv.ParseInt(str, 10, 64)
		return n
	}
	return &session.RefreshToken{
		Hash: r.Hash, FamilyID: r.FamilyID, UserID: r.UserID, OrgID: r.OrgID, SessionID: r.SessionID,
		ClientID: r.ClientID, Roles: r.Roles, Scopes: r.Scopes, CreatedAt: fromMicros(r.CreatedAt),
		ExpiresAt: fromMicros(r.ExpiresAt), UsedAt: fromMicros(num(list[1])), RevokedAt: fromMicros(num(list[2])),
	}, nil
}

// RotateRefreshToken implements session.TokenStore; the Lua script makes
// the check and the update one atomic step.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next *session.RefreshToken) error {
	data, err := encodeToken(next)
	if err != nil {
		return fmt.Errorf("redisstore: encode token: %w", err)
	}
	_, err = s.run(ctx, rotateScript, oldHash, next.Hash, next.FamilyID, data, micros(next.CreatedAt), expiryMS(next.ExpiresAt))
	return err
}

func (s *Store) revoke(ctx context.Context, kind, id string, at time.Time) error {
	_, err := s.run(ctx, revokeScript, kind, id, max(micros(at), 1))
	return err
}

// RevokeFamily implements session.TokenStore.
func (s *Store) RevokeFamily(ctx context.Context, familyID string, at time.Time) error {
	return s.revoke(ctx, "fam", familyID, at)
}

// RevokeSessionTokens implements session.TokenStore.
func (s *Store) RevokeSessionTokens(ctx context.Context, sessionID string, at time.Time) error {
	return s.revoke(ctx, "sfam", sessionID, at)
}

// RevokeUserTokens implements session.TokenStore.
func (s *Store) RevokeUserTokens(ctx context.Context, userID string, at time.Time) error {
	return s.revoke(ctx, "ufam", userID, at)
}

// ARGV: prefix, subject, atMicros, untilMS
var setRevocationScript = redis.NewScript(luaHelpers + `
local k = P..'rev:'..ARGV[2]
local cur = redis.call('GET', k)
if not cur or tonumber(cur) < tonumber(ARGV[3]) then
  local ttl = redis.call('PEXPIRETIME', k)
  redis.call('SET', k, ARGV[3])
  if ttl > 0 then redis.call('PEXPIREAT', k, ttl) end
end
extend(k, tonumber(ARGV[4]))
return 'OK'
`)

// SetRevocation implements session.RevocationStore.
func (s *Store) SetRevocation(ctx context.Context, subject string, at, until time.Time) error {
	_, err := s.run(ctx, setRevocationScript, subject, micros(at), expiryMS(until))
	return err
}

// GetRevocation implements session.RevocationStore.
func (s *Store) GetRevocation(ctx context.Context, subject string) (time.Time, error) {
	v, err := s.rdb.Get(ctx, s.prefix+"rev:"+subject).Int64()
	if err != nil {
		return time.Time{}, s.wrap(err)
	}
	return fromMicros(v), nil
}
