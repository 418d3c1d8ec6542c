package memstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// sessionData holds the session records; its methods live in this file.
type sessionData struct {
	byID       map[string]*session.Session
	byHash     map[string]string // token hash -> session ID
	refresh    map[string]*session.RefreshToken
	families   map[string]*tokenFamily
	revocation map[string]revocation
	clients    map[string]*session.APIClient
}

type tokenFamily struct {
	userID, sessionID string
	revokedAt         time.Time
	expiresAt         time.Time
	hashes            []string
}

type revocation struct{ at, until time.Time }

var (
	_ session.Store           = (*Store)(nil)
	_ session.TokenStore      = (*Store)(nil)
	_ session.RevocationStore = (*Store)(nil)
	_ session.Sweeper         = (*Store)(nil)
)

func (d *sessionData) init() {
	if d.byID == nil {
		d.byID = map[string]*session.Session{}
		d.byHash = map[string]string{}
		d.refresh = map[string]*session.RefreshToken{}
		d.families = map[string]*tokenFamily{}
		d.revocation = map[string]revocation{}
	}
}

func copySession(s *session.Session) *session.Session {
	c := *s
	c.Roles = slices.Clone(s.Roles)
	return &c
}

// userSessions returns the user's sessions ordered by CreatedAt, then ID.
func (d *sessionData) userSessions(userID string) []*session.Session {
	return d.sessionsWhere(func(s *session.Session) bool { return s.UserID == userID })
}

// sessionsWhere returns the sessions matching keep ordered by CreatedAt,
// then ID.
func (d *sessionData) sessionsWhere(keep func(s *session.Session) bool) []*session.Session {
	var out []*session.Session
	for _, s := range d.byID {
		if keep(s) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (d *sessionData) deleteSession(s *session.Session) {
	delete(d.byID, s.ID)
	delete(d.byHash, s.TokenHash)
}

// CreateSession implements session.Store.
func (s *Store) CreateSession(ctx context.Context, ss *session.Session, limit int) ([]*session.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.session.create(ss, limit)
}

// CreateLoginSession implements session.LoginWriter: the identity update,
// the session with its evictions and the audit event in one step under the
// store's lock, all or nothing.
func (s *Store) CreateLoginSession(ctx context.Context, ss *session.Session, limit int, w *sso.LoginWrites) ([]*session.Session, error) {
	if w == nil {
		return s.CreateSession(ctx, ss, limit)
	}
	if w.Identity != nil {
		if err := w.Identity.Validate(); err != nil {
			return nil, err
		}
	}
	if w.Event != nil {
		if err := w.Event.Validate(); err != nil {
			return nil, err
		}
	}
	if w.Evicted != nil {
		if err := w.Evicted.Validate(); err != nil {
			return nil, err
		}
	}
	core := s.lock()
	defer s.mu.Unlock()
	// Every check that can fail runs before the first write; the identity
	// update, whose own checks come first, is that write.
	if _, dup := s.session.byID[ss.ID]; dup {
		return nil, sso.ErrConflict
	}
	if _, dup := s.session.byHash[ss.TokenHash]; dup {
		return nil, sso.ErrConflict
	}
	if w.Event != nil && core.eventIDs[w.Event.ID] {
		return nil, conflict("event", w.Event.ID)
	}
	if w.Org != nil && !w.SameOrg(core.orgs[w.Org.ID]) {
		return nil, sso.OrgChanged(w.Org.ID)
	}
	if !w.SameMember(core.members[ss.OrgID][ss.UserID]) {
		return nil, sso.ErrMembershipChanged
	}
	if w.Identity != nil {
		if err := core.updateIdentity(w.Identity); err != nil {
			return nil, err
		}
	}
	evicted, err := s.session.create(ss, limit)
	if err != nil {
		return nil, err
	}
	if w.Event != nil {
		if err := core.appendEvent(w.Event); err != nil {
			return nil, err
		}
	}
	if w.Evicted != nil {
		for _, e := range evicted {
			// The IDs derive from the template's fresh ID and distinct
			// session IDs: no conflict with a stored event is possible.
			if err := core.appendEvent(w.EvictionEvent(e.ID)); err != nil {
				return nil, err
			}
		}
	}
	return evicted, nil
}

// create stores ss and evicts past limit; the caller holds the lock.
func (d *sessionData) create(ss *session.Session, limit int) ([]*session.Session, error) {
	d.init()
	if _, ok := d.byID[ss.ID]; ok {
		return nil, sso.ErrConflict
	}
	if _, ok := d.byHash[ss.TokenHash]; ok {
		return nil, sso.ErrConflict
	}
	d.byID[ss.ID] = copySession(ss)
	d.byHash[ss.TokenHash] = ss.ID
	var evicted []*session.Session
	if limit > 0 {
		var all []*session.Session
		for _, o := range d.userSessions(ss.UserID) {
			if o.ID != ss.ID && o.OrgID == ss.OrgID {
				all = append(all, o)
			}
		}
		for i := 0; i < len(all)-(limit-1); i++ {
			d.deleteSession(all[i])
			evicted = append(evicted, copySession(all[i]))
		}
	}
	return evicted, nil
}

// GetSession implements session.Store.
func (s *Store) GetSession(ctx context.Context, id string) (*session.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.session.byID[id]
	if !ok {
		return nil, sso.ErrNotFound
	}
	return copySession(ss), nil
}

// FindSession implements session.Store.
func (s *Store) FindSession(ctx context.Context, hash string) (*session.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.session.byHash[hash]
	if !ok {
		return nil, sso.ErrNotFound
	}
	return copySession(s.session.byID[id]), nil
}

// TouchSession implements session.Store.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.session.byID[id]
	if !ok {
		return sso.ErrNotFound
	}
	ss.LastSeenAt = at
	return nil
}

// DeleteSession implements session.Store.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.session.byID[id]
	if !ok {
		return sso.ErrNotFound
	}
	s.session.deleteSession(ss)
	return nil
}

// ListUserSessions implements session.Store.
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]*session.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*session.Session{}
	for _, ss := range s.session.userSessions(userID) {
		out = append(out, copySession(ss))
	}
	return out, nil
}

// ListIdPSessions implements session.Store. Being in memory, it scans.
func (s *Store) ListIdPSessions(ctx context.Context, connectionID, subject, sessionIndex string) ([]*session.Session, error) {
	if subject == "" && sessionIndex == "" {
		return nil, fmt.Errorf("%w: memstore: IdP session lookup needs a subject or a session index", sso.ErrInvalidInput)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*session.Session{}
	for _, ss := range s.session.sessionsWhere(func(ss *session.Session) bool {
		return ss.ConnectionID == connectionID && (subject == "" || ss.IdPSubject == subject) &&
			(sessionIndex == "" || ss.IdPSessionIndex == sessionIndex)
	}) {
		out = append(out, copySession(ss))
	}
	return out, nil
}

// DeleteUserSessions implements session.Store.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.session.userSessions(userID)
	for _, ss := range all {
		s.session.deleteSession(ss)
	}
	return len(all), nil
}

func (d *sessionData) readToken(t *session.RefreshToken) *session.RefreshToken {
	c := *t
	c.Roles, c.Scopes = slices.Clone(t.Roles), slices.Clone(t.Scopes)
	if f := d.families[t.FamilyID]; f != nil {
		c.RevokedAt = f.revokedAt
	}
	return &c
}

func (d *sessionData) storeToken(t *session.RefreshToken) {
	c := *t
	c.Roles, c.Scopes = slices.Clone(t.Roles), slices.Clone(t.Scopes)
	c.UsedAt, c.RevokedAt = time.Time{}, time.Time{}
	d.refresh[t.Hash] = &c
	f := d.families[t.FamilyID]
	f.hashes = append(f.hashes, t.Hash)
}

// CreateRefreshToken implements session.TokenStore.
func (s *Store) CreateRefreshToken(ctx context.Context, t *session.RefreshToken) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := &s.session
	d.init()
	if _, ok := d.refresh[t.Hash]; ok {
		return sso.ErrConflict
	}
	if _, ok := d.families[t.FamilyID]; ok {
		return sso.ErrConflict
	}
	d.families[t.FamilyID] = &tokenFamily{userID: t.UserID, sessionID: t.SessionID, expiresAt: t.ExpiresAt}
	d.storeToken(t)
	return nil
}

// GetRefreshToken implements session.TokenStore.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (*session.RefreshToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.session.refresh[hash]
	if !ok {
		return nil, sso.ErrNotFound
	}
	return s.session.readToken(t), nil
}

// RotateRefreshToken implements session.TokenStore.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next *session.RefreshToken) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := &s.session
	old, ok := d.refresh[oldHash]
	if !ok {
		return sso.ErrNotFound
	}
	if next.FamilyID != old.FamilyID {
		return sso.ErrInvalidInput
	}
	if !d.families[old.FamilyID].revokedAt.IsZero() {
		return session.ErrTokenRevoked
	}
	if !old.UsedAt.IsZero() {
		return session.ErrTokenUsed
	}
	if _, ok := d.refresh[next.Hash]; ok {
		return sso.ErrConflict
	}
	old.UsedAt = next.CreatedAt
	d.storeToken(next)
	return nil
}

// RevokeFamily implements session.TokenStore.
func (s *Store) RevokeFamily(ctx context.Context, familyID string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.session.families[familyID]; f != nil && f.revokedAt.IsZero() {
		f.revokedAt = at
	}
	return nil
}

// RevokeSessionTokens implements session.TokenStore.
func (s *Store) RevokeSessionTokens(ctx context.Context, sessionID string, at time.Time) error {
	s.revokeFamilies(at, func(f *tokenFamily) bool { return f.sessionID == sessionID })
	return nil
}

// revokeFamilies marks every unrevoked token family that match selects as
// revoked at at.
func (s *Store) revokeFamilies(at time.Time, match func(f *tokenFamily) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.session.families {
		if match(f) && f.revokedAt.IsZero() {
			f.revokedAt = at
		}
	}
}

// RevokeUserTokens implements session.TokenStore.
func (s *Store) RevokeUserTokens(ctx context.Context, userID string, at time.Time) error {
	s.revokeFamilies(at, func(f *tokenFamily) bool { return f.userID == userID })
	return nil
}

// SetRevocation implements session.RevocationStore.
func (s *Store) SetRevocation(ctx context.Context, subject string, at, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := &s.session
	d.init()
	cur, ok := d.revocation[subject]
	if ok && !at.After(cur.at) {
		if until.After(cur.until) {
			cur.until = until
			d.revocation[subject] = cur
		}
		return nil
	}
	if cur.until.After(until) {
		until = cur.until
	}
	d.revocation[subject] = revocation{at: at, until: until}
	return nil
}

// GetRevocation implements session.RevocationStore.
func (s *Store) GetRevocation(ctx context.Context, subject string) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.session.revocation[subject]
	if !ok || !s.now().Before(r.until) {
		return time.Time{}, sso.ErrNotFound
	}
	return r.at, nil
}

// SweepExpired implements session.Sweeper.
func (s *Store) SweepExpired(ctx context.Context, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := &s.session
	n := 0
	for _, ss := range d.byID {
		if !ss.Valid(now) {
			d.deleteSession(ss)
			n++
		}
	}
	for id, f := range d.families {
		if !now.Before(f.expiresAt) {
			for _, h := range f.hashes {
				delete(d.refresh, h)
			}
			delete(d.families, id)
		}
	}
	for k, r := range d.revocation {
		if !now.Before(r.until) {
			delete(d.revocation, k)
		}
	}
	return n, nil
}
