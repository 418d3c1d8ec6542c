package memscim

import (
	"context"
	"time"

	"github.com/ssokit/ssokit/scim"
)

var _ scim.StatusStore = (*Store)(nil)

// statusData is the sync status of the organizations.
type statusData struct {
	tokenUse map[string]map[string]time.Time // org -> token ID -> last use
	failures map[string][]scim.SyncFailure   // org -> failures, oldest first
}

func (d *statusData) init() {
	if d.tokenUse == nil {
		d.tokenUse = map[string]map[string]time.Time{}
		d.failures = map[string][]scim.SyncFailure{}
	}
}

// TouchSCIMToken implements scim.StatusStore.
func (s *Store) TouchSCIMToken(ctx context.Context, orgID, tokenID string, at time.Time, minGap time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.init()
	uses := inner(s.status.tokenUse, orgID)
	if last, ok := uses[tokenID]; ok && last.After(at.Add(-minGap)) {
		return nil
	}
	uses[tokenID] = at.UTC()
	return nil
}

// RecordSCIMFailure implements scim.StatusStore.
func (s *Store) RecordSCIMFailure(ctx context.Context, orgID string, f scim.SyncFailure, keep int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.init()
	f.At = f.At.UTC()
	list := append(s.status.failures[orgID], f)
	if len(list) > keep {
		list = append([]scim.SyncFailure(nil), list[len(list)-keep:]...)
	}
	s.status.failures[orgID] = list
	return nil
}

// SCIMSyncStatus implements scim.StatusStore. Token last uses recorded
// here are merged with the tokens' own LastUsedAt.
func (s *Store) SCIMSyncStatus(ctx context.Context, orgID string) (*scim.SyncStatus, error) {
	toks, err := s.ms.ListSCIMTokens(ctx, orgID)
	if err != nil {
		return nil, err
	}
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	s.status.init()
	st := &scim.SyncStatus{Users: d.liveUsers[orgID], Groups: len(d.groups[orgID])}
	for _, t := range toks {
		if !t.RevokedAt.IsZero() {
			continue
		}
		last := t.LastUsedAt
		if u := s.status.tokenUse[orgID][t.ID]; u.After(last) {
			last = u
		}
		st.Tokens = append(st.Tokens, scim.TokenUse{TokenID: t.ID, LastUsedAt: last})
	}
	list := s.status.failures[orgID]
	for i := len(list) - 1; i >= 0; i-- {
		st.Failures = append(st.Failures, list[i])
	}
	return st, nil
}
