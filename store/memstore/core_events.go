package memstore

import (
	"context"
	"sort"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// --- events ----------------------------------------------------------------

// AppendEvent implements sso.EventStore.
func (s *Store) AppendEvent(ctx context.Context, e *sso.Event) error {
	if err := e.Validate(); err != nil {
		return err
	}
	d := s.lock()
	defer s.mu.Unlock()
	return d.appendEvent(e)
}

// appendEvent chains e onto its organization's events; the caller holds
// the lock.
func (d *coreData) appendEvent(e *sso.Event) error {
	if d.eventIDs[e.ID] {
		return conflict("event", e.ID)
	}
	chain := d.events[e.OrgID]
	var prev *sso.Event
	if len(chain) > 0 {
		prev = chain[len(chain)-1]
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	e.Chain(prev)
	d.events[e.OrgID] = append(chain, cloneEvent(e))
	d.eventIDs[e.ID] = true
	return nil
}

// ListEvents implements sso.EventStore.
func (s *Store) ListEvents(ctx context.Context, q sso.EventQuery) ([]*sso.Event, error) {
	d := s.lock()
	defer s.mu.Unlock()
	var out []*sso.Event
	limit := q.EffectiveLimit()
	chain := d.events[q.OrgID]
	// Seq is the 1-based index in the chain, so the cursor is a slice offset.
	start := min(max(q.AfterSeq, 0), int64(len(chain)))
	for _, e := range chain[start:] {
		if e.Seq > q.AfterSeq && q.Matches(e) {
			out = append(out, cloneEvent(e))
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// --- SCIM tokens -------------------------------------------------------------

// CreateSCIMToken implements sso.SCIMTokenStore.
func (s *Store) CreateSCIMToken(ctx context.Context, t *sso.SCIMToken) error {
	if err := t.Validate(); err != nil {
		return err
	}
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := d.scimTokens[t.ID]; ok {
		return conflict("scim token", t.ID)
	}
	if _, ok := d.scimHashes[t.Hash]; ok {
		return conflict("scim token hash", t.ID)
	}
	d.scimTokens[t.ID] = cloneToken(t)
	d.scimHashes[t.Hash] = t.ID
	d.AppendEvents(s.events)
	return nil
}

// FindSCIMToken implements sso.SCIMTokenStore.
func (s *Store) FindSCIMToken(ctx context.Context, hash string) (*sso.SCIMToken, error) {
	d := s.lock()
	defer s.mu.Unlock()
	id, ok := d.scimHashes[hash]
	if !ok {
		return nil, notFound("scim token", "")
	}
	return cloneToken(d.scimTokens[id]), nil
}

// ListSCIMTokens implements sso.SCIMTokenStore.
func (s *Store) ListSCIMTokens(ctx context.Context, orgID string) ([]*sso.SCIMToken, error) {
	d := s.lock()
	defer s.mu.Unlock()
	var out []*sso.SCIMToken
	for _, t := range d.scimTokens {
		if t.OrgID == orgID {
			out = append(out, cloneToken(t))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// UpdateSCIMToken implements sso.SCIMTokenStore. A revocation is final: a
// stored RevokedAt is kept whatever t says, so a write from a copy read
// before the revocation (a rotation shortening the token's life) cannot
// make the token valid again.
func (s *Store) UpdateSCIMToken(ctx context.Context, t *sso.SCIMToken) error {
	if err := t.Validate(); err != nil {
		return err
	}
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	old, ok := d.scimTokens[t.ID]
	if !ok {
		return notFound("scim token", t.ID)
	}
	if old.Hash != t.Hash {
		if _, taken := d.scimHashes[t.Hash]; taken {
			return conflict("scim token hash", t.ID)
		}
		delete(d.scimHashes, old.Hash)
		d.scimHashes[t.Hash] = t.ID
	}
	n := cloneToken(t)
	if !old.RevokedAt.IsZero() {
		n.RevokedAt = old.RevokedAt
	}
	d.scimTokens[t.ID] = n
	d.AppendEvents(s.events)
	return nil
}

// ExpireSCIMToken implements sso.SCIMTokenExpirer.
func (s *Store) ExpireSCIMToken(ctx context.Context, id string, at time.Time) error {
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	t, ok := d.scimTokens[id]
	if !ok {
		return notFound("scim token", id)
	}
	if t.ExpiresAt.IsZero() || at.Before(t.ExpiresAt) {
		n := cloneToken(t)
		n.ExpiresAt = at
		d.scimTokens[id] = n
	}
	d.AppendEvents(s.events)
	return nil
}

// DeleteSCIMToken implements sso.SCIMTokenStore.
func (s *Store) DeleteSCIMToken(ctx context.Context, id string) error {
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	t, ok := d.scimTokens[id]
	if !ok {
		return notFound("scim token", id)
	}
	delete(d.scimHashes, t.Hash)
	delete(d.scimTokens, id)
	d.AppendEvents(s.events)
	return nil
}
