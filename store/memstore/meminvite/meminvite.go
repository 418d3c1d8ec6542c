// Package meminvite implements invite.Store (invitations, auto-join
// policies, join requests and the account lookup) in memory, on the state
// of a memstore.Store, for tests, demos and single-process development.
//
//	ms := memstore.New()
//	inv, err := invite.New(invite.Config{Store: meminvite.New(ms), Users: ms, Orgs: ms, Members: ms, Domains: ms, ...})
package meminvite

import (
	"context"
	"slices"
	"sort"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/invite"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

// data holds the records; its methods live in this file.
type data struct {
	invites  map[string]invite.Invitation  // by ID
	byToken  map[string]string             // token hash -> ID
	policies map[string]invite.AutoJoin    // by org ID
	requests map[string]invite.JoinRequest // by ID
}

var (
	_ invite.Store       = (*Store)(nil)
	_ invite.EventBinder = (*Store)(nil)
)

// Store is the invite store on a memstore.Store: it shares the Store's
// lock and users, and every Store that New returns for one memstore.Store
// sees the same records. It is safe for concurrent use.
type Store struct {
	st *memstate.State
	d  *data
	// events are appended with every write of a view WithEvents returned;
	// nil for the Store New returns.
	events []*sso.Event
}

// New returns the invite store on ms.
func New(ms *memstore.Store) *Store {
	st := memstate.Of(ms)
	return &Store{st: st, d: memstate.Data[data](st)}
}

func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.st.Mu.Lock()
	if s.d.invites == nil {
		s.d.invites, s.d.byToken = map[string]invite.Invitation{}, map[string]string{}
		s.d.policies, s.d.requests = map[string]invite.AutoJoin{}, map[string]invite.JoinRequest{}
	}
	return nil
}

func (s *Store) unlock() { s.st.Mu.Unlock() }

func cloneInv(v invite.Invitation) *invite.Invitation {
	v.Roles = slices.Clone(v.Roles)
	return &v
}

// CreateInvitation implements invite.InvitationStore: under the lock it
// refuses a second live pending invitation of the address and marks the
// expired ones StatusExpired.
func (s *Store) CreateInvitation(ctx context.Context, inv *invite.Invitation) error {
	if err := s.writeLock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	if _, ok := s.d.invites[inv.ID]; ok {
		return memstate.Conflict("invitation", inv.ID)
	}
	if _, ok := s.d.byToken[inv.TokenHash]; ok {
		return memstate.Conflict("invitation token", "")
	}
	var expired []string
	if inv.Status == invite.StatusPending {
		for id, v := range s.d.invites {
			if !samePending(v, inv) {
				continue
			}
			if inv.CreatedAt.Before(v.ExpiresAt) {
				return memstate.Conflict("pending invitation", inv.Email)
			}
			expired = append(expired, id)
		}
	}
	for _, id := range expired {
		v := s.d.invites[id]
		v.Status, v.UpdatedAt = invite.StatusExpired, inv.CreatedAt
		s.d.invites[id] = v
	}
	s.d.invites[inv.ID] = *cloneInv(*inv)
	s.d.byToken[inv.TokenHash] = inv.ID
	s.appendEvents()
	return nil
}

// samePending reports whether the stored v is a pending invitation of
// the organization and address of inv.
func samePending(v invite.Invitation, inv *invite.Invitation) bool {
	return v.ID != inv.ID && v.OrgID == inv.OrgID && v.Email == inv.Email && v.Status == invite.StatusPending
}

// GetInvitation implements invite.InvitationStore.
func (s *Store) GetInvitation(ctx context.Context, orgID, id string) (*invite.Invitation, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	v, ok := s.d.invites[id]
	if !ok || v.OrgID != orgID {
		return nil, memstate.NotFound("invitation", id)
	}
	return cloneInv(v), nil
}

// FindInvitation implements invite.InvitationStore.
func (s *Store) FindInvitation(ctx context.Context, tokenHash string) (*invite.Invitation, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	id, ok := s.d.byToken[tokenHash]
	if !ok {
		return nil, memstate.NotFound("invitation token", "")
	}
	return cloneInv(s.d.invites[id]), nil
}

// ListInvitations implements invite.InvitationStore.
func (s *Store) ListInvitations(ctx context.Context, orgID string) ([]*invite.Invitation, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	var out []*invite.Invitation
	for _, v := range s.d.invites {
		if v.OrgID == orgID {
			out = append(out, cloneInv(v))
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

// ListPendingInvitations implements invite.InvitationStore.
func (s *Store) ListPendingInvitations(ctx context.Context, email string) ([]*invite.Invitation, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	var out []*invite.Invitation
	for _, v := range s.d.invites {
		if v.Email == email && v.Status == invite.StatusPending {
			out = append(out, cloneInv(v))
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

// UpdateInvitation implements invite.InvitationStore.
func (s *Store) UpdateInvitation(ctx context.Context, inv *invite.Invitation, oldTokenHash string) error {
	if err := s.writeLock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	cur, ok := s.d.invites[inv.ID]
	switch {
	case !ok || cur.OrgID != inv.OrgID:
		return memstate.NotFound("invitation", inv.ID)
	case cur.TokenHash != oldTokenHash:
		return memstate.Conflict("invitation changed", inv.ID)
	}
	if owner, ok := s.d.byToken[inv.TokenHash]; ok && owner != inv.ID {
		return memstate.Conflict("invitation token", "")
	}
	if inv.Status == invite.StatusPending {
		for _, v := range s.d.invites {
			if samePending(v, inv) {
				return memstate.Conflict("pending invitation", inv.Email)
			}
		}
	}
	delete(s.d.byToken, cur.TokenHash)
	s.d.invites[inv.ID] = *cloneInv(*inv)
	s.d.byToken[inv.TokenHash] = inv.ID
	s.appendEvents()
	return nil
}

// GetAutoJoin implements invite.JoinStore.
func (s *Store) GetAutoJoin(ctx context.Context, orgID string) (*invite.AutoJoin, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	p, ok := s.d.policies[orgID]
	if !ok {
		return nil, memstate.NotFound("auto-join policy", orgID)
	}
	return &p, nil
}

// PutAutoJoin implements invite.JoinStore.
func (s *Store) PutAutoJoin(ctx context.Context, p *invite.AutoJoin) error {
	if err := s.writeLock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	s.d.policies[p.OrgID] = *p
	s.appendEvents()
	return nil
}

// CreateJoinRequest implements invite.JoinStore.
func (s *Store) CreateJoinRequest(ctx context.Context, jr *invite.JoinRequest) error {
	if err := s.writeLock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	if _, ok := s.d.requests[jr.ID]; ok {
		return memstate.Conflict("join request", jr.ID)
	}
	for _, o := range s.d.requests {
		if o.OrgID == jr.OrgID && o.UserID == jr.UserID && o.Status == invite.StatusPending && jr.Status == invite.StatusPending {
			return memstate.Conflict("pending join request", jr.UserID)
		}
	}
	s.d.requests[jr.ID] = *jr
	s.appendEvents()
	return nil
}

// GetJoinRequest implements invite.JoinStore.
func (s *Store) GetJoinRequest(ctx context.Context, orgID, id string) (*invite.JoinRequest, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	jr, ok := s.d.requests[id]
	if !ok || jr.OrgID != orgID {
		return nil, memstate.NotFound("join request", id)
	}
	return &jr, nil
}

// ListJoinRequests implements invite.JoinStore.
func (s *Store) ListJoinRequests(ctx context.Context, orgID string, status invite.Status) ([]*invite.JoinRequest, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	var out []*invite.JoinRequest
	for _, jr := range s.d.requests {
		if jr.OrgID == orgID && (status == "" || jr.Status == status) {
			c := jr
			out = append(out, &c)
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

// DecideJoinRequest implements invite.JoinStore.
func (s *Store) DecideJoinRequest(ctx context.Context, jr *invite.JoinRequest) error {
	if err := s.writeLock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	cur, ok := s.d.requests[jr.ID]
	switch {
	case !ok || cur.OrgID != jr.OrgID:
		return memstate.NotFound("join request", jr.ID)
	case cur.Status != invite.StatusPending:
		return memstate.Conflict("join request decided", jr.ID)
	}
	s.d.requests[jr.ID] = *jr
	s.appendEvents()
	return nil
}

// FindVerifiedUser implements invite.UserFinder on the memstore's users.
func (s *Store) FindVerifiedUser(ctx context.Context, email string) (*sso.User, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	if u := s.st.Core.VerifiedUserByEmail(email); u != nil {
		return u, nil
	}
	return nil, memstate.NotFound("verified user email", "")
}
