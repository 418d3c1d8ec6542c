package memstore

import (
	"context"
	"sort"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

// --- organizations -------------------------------------------------------

// CreateOrg implements sso.OrgStore.
func (s *Store) CreateOrg(ctx context.Context, o *sso.Organization) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return err
	}
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := d.orgs[o.ID]; ok {
		return conflict("organization", o.ID)
	}
	if _, ok := d.slugs[o.Slug]; ok {
		return conflict("slug", o.Slug)
	}
	d.orgs[o.ID] = cloneOrg(o)
	d.slugs[o.Slug] = o.ID
	d.AppendEvents(s.events)
	return nil
}

// GetOrg implements sso.OrgStore.
func (s *Store) GetOrg(ctx context.Context, id string) (*sso.Organization, error) {
	d := s.lock()
	defer s.mu.Unlock()
	o, ok := d.orgs[id]
	if !ok {
		return nil, notFound("organization", id)
	}
	return cloneOrg(o), nil
}

// GetOrgBySlug implements sso.OrgStore.
func (s *Store) GetOrgBySlug(ctx context.Context, slug string) (*sso.Organization, error) {
	d := s.lock()
	defer s.mu.Unlock()
	id, ok := d.slugs[slug]
	if !ok {
		return nil, notFound("organization slug", slug)
	}
	return cloneOrg(d.orgs[id]), nil
}

// UpdateOrg implements sso.OrgStore.
func (s *Store) UpdateOrg(ctx context.Context, o *sso.Organization) error {
	return s.updateOrg(o, nil)
}

var _ sso.ConditionalOrgUpdater = (*Store)(nil)

// UpdateOrgIf implements sso.ConditionalOrgUpdater.
func (s *Store) UpdateOrgIf(ctx context.Context, o *sso.Organization, prevUpdatedAt time.Time) error {
	return s.updateOrg(o, &prevUpdatedAt)
}

// updateOrg replaces the organization o.ID with o, when prev is set only
// while its stored UpdatedAt equals *prev.
func (s *Store) updateOrg(o *sso.Organization, prev *time.Time) error {
	if err := o.Validate(); err != nil {
		return err
	}
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	old, ok := d.orgs[o.ID]
	if !ok {
		return notFound("organization", o.ID)
	}
	if prev != nil && !old.UpdatedAt.Equal(*prev) {
		return sso.OrgChanged(o.ID)
	}
	if old.Slug != o.Slug {
		if _, taken := d.slugs[o.Slug]; taken {
			return conflict("slug", o.Slug)
		}
		delete(d.slugs, old.Slug)
		d.slugs[o.Slug] = o.ID
	}
	d.orgs[o.ID] = cloneOrg(o)
	d.AppendEvents(s.events)
	return nil
}

// DeleteOrg implements sso.OrgStore.
func (s *Store) DeleteOrg(ctx context.Context, id string) error {
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	o, ok := d.orgs[id]
	if !ok {
		return notFound("organization", id)
	}
	delete(d.slugs, o.Slug)
	delete(d.orgs, id)
	d.AppendEvents(s.events)
	return nil
}

// ListOrgs implements sso.OrgStore.
func (s *Store) ListOrgs(ctx context.Context, afterID string, limit int) ([]*sso.Organization, error) {
	d := s.lock()
	defer s.mu.Unlock()
	return memstate.PageAfter(d.orgs, afterID, nil, limit, cloneOrg), nil
}

// --- domains -----------------------------------------------------------------

// CreateDomain implements sso.DomainStore.
func (s *Store) CreateDomain(ctx context.Context, dm *sso.Domain) error {
	if err := dm.Validate(); err != nil {
		return err
	}
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := d.domains[dm.OrgID][dm.Name]; ok {
		return conflict("domain", dm.Name)
	}
	if dm.State == sso.DomainVerified {
		if _, held := d.verified[dm.Name]; held {
			return conflict("verified domain", dm.Name)
		}
		d.verified[dm.Name] = dm.OrgID
	}
	if d.domains[dm.OrgID] == nil {
		d.domains[dm.OrgID] = map[string]*sso.Domain{}
	}
	d.domains[dm.OrgID][dm.Name] = cloneDomain(dm)
	d.AppendEvents(s.events)
	return nil
}

// GetDomain implements sso.DomainStore.
func (s *Store) GetDomain(ctx context.Context, orgID, name string) (*sso.Domain, error) {
	d := s.lock()
	defer s.mu.Unlock()
	dm, ok := d.domains[orgID][name]
	if !ok {
		return nil, notFound("domain", name)
	}
	return cloneDomain(dm), nil
}

// ListDomains implements sso.DomainStore.
func (s *Store) ListDomains(ctx context.Context, orgID string) ([]*sso.Domain, error) {
	d := s.lock()
	defer s.mu.Unlock()
	out := make([]*sso.Domain, 0, len(d.domains[orgID]))
	for _, dm := range d.domains[orgID] {
		out = append(out, cloneDomain(dm))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// FindVerifiedDomain implements sso.DomainStore.
func (s *Store) FindVerifiedDomain(ctx context.Context, name string) (*sso.Domain, error) {
	d := s.lock()
	defer s.mu.Unlock()
	org, ok := d.verified[name]
	if !ok {
		return nil, notFound("verified domain", name)
	}
	return cloneDomain(d.domains[org][name]), nil
}

// UpdateDomain implements sso.DomainStore.
func (s *Store) UpdateDomain(ctx context.Context, dm *sso.Domain) error {
	if err := dm.Validate(); err != nil {
		return err
	}
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	old, ok := d.domains[dm.OrgID][dm.Name]
	if !ok {
		return notFound("domain", dm.Name)
	}
	if dm.State == sso.DomainVerified && old.State != sso.DomainVerified {
		if holder, held := d.verified[dm.Name]; held && holder != dm.OrgID {
			return conflict("verified domain", dm.Name)
		}
		d.verified[dm.Name] = dm.OrgID
	}
	if dm.State != sso.DomainVerified && old.State == sso.DomainVerified {
		delete(d.verified, dm.Name)
	}
	d.domains[dm.OrgID][dm.Name] = cloneDomain(dm)
	d.AppendEvents(s.events)
	return nil
}

// DeleteDomain implements sso.DomainStore.
func (s *Store) DeleteDomain(ctx context.Context, orgID, name string) error {
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	dm, ok := d.domains[orgID][name]
	if !ok {
		return notFound("domain", name)
	}
	if dm.State == sso.DomainVerified {
		delete(d.verified, name)
	}
	delete(d.domains[orgID], name)
	d.AppendEvents(s.events)
	return nil
}

// ListDomainsToCheck implements sso.DomainStore.
func (s *Store) ListDomainsToCheck(ctx context.Context, checkedBefore time.Time, limit int) ([]*sso.Domain, error) {
	d := s.lock()
	defer s.mu.Unlock()
	var out []*sso.Domain
	for _, byName := range d.domains {
		for _, dm := range byName {
			if (dm.State == sso.DomainVerified || dm.State == sso.DomainFailed) && dm.LastCheckedAt.Before(checkedBefore) {
				out = append(out, dm)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].LastCheckedAt.Equal(out[j].LastCheckedAt) {
			return out[i].LastCheckedAt.Before(out[j].LastCheckedAt)
		}
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].OrgID < out[j].OrgID
	})
	out = memstate.Page(out, limit)
	for i, dm := range out {
		out[i] = cloneDomain(dm)
	}
	return out, nil
}

// --- connections -----------------------------------------------------------

// CreateConnection implements sso.ConnectionStore.
func (s *Store) CreateConnection(ctx context.Context, c *sso.Connection) error {
	if err := c.Validate(); err != nil {
		return err
	}
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := d.conns[c.ID]; ok {
		return conflict("connection", c.ID)
	}
	d.conns[c.ID] = cloneConn(c)
	d.AppendEvents(s.events)
	return nil
}

// GetConnection implements sso.ConnectionStore.
func (s *Store) GetConnection(ctx context.Context, id string) (*sso.Connection, error) {
	d := s.lock()
	defer s.mu.Unlock()
	c, ok := d.conns[id]
	if !ok {
		return nil, notFound("connection", id)
	}
	return cloneConn(c), nil
}

// ListConnections implements sso.ConnectionStore.
func (s *Store) ListConnections(ctx context.Context, orgID string) ([]*sso.Connection, error) {
	d := s.lock()
	defer s.mu.Unlock()
	var out []*sso.Connection
	for _, c := range d.conns {
		if c.OrgID == orgID {
			out = append(out, cloneConn(c))
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

// ListActiveConnections implements sso.ConnectionStore.
func (s *Store) ListActiveConnections(ctx context.Context, p sso.Protocol, afterID string, limit int) ([]*sso.Connection, error) {
	d := s.lock()
	defer s.mu.Unlock()
	active := func(c *sso.Connection) bool { return c.Status == sso.ConnectionActive && (p == "" || c.Protocol == p) }
	return memstate.PageAfter(d.conns, afterID, active, limit, cloneConn), nil
}

// ListProtocolConnections returns up to limit connections of protocol p,
// whatever their status, with ID > afterID in ID order.
func (s *Store) ListProtocolConnections(ctx context.Context, p sso.Protocol, afterID string, limit int) ([]*sso.Connection, error) {
	d := s.lock()
	defer s.mu.Unlock()
	return memstate.PageAfter(d.conns, afterID, func(c *sso.Connection) bool { return c.Protocol == p }, limit, cloneConn), nil
}

// UpdateConnection implements sso.ConnectionStore.
func (s *Store) UpdateConnection(ctx context.Context, c *sso.Connection) error {
	if err := c.Validate(); err != nil {
		return err
	}
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := d.conns[c.ID]; !ok {
		return notFound("connection", c.ID)
	}
	d.conns[c.ID] = cloneConn(c)
	d.AppendEvents(s.events)
	return nil
}

var _ sso.ConditionalConnectionUpdater = (*Store)(nil)

// UpdateConnectionIf implements sso.ConditionalConnectionUpdater.
func (s *Store) UpdateConnectionIf(ctx context.Context, c *sso.Connection, prevUpdatedAt time.Time) error {
	if err := c.Validate(); err != nil {
		return err
	}
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	cur, ok := d.conns[c.ID]
	if !ok {
		return notFound("connection", c.ID)
	}
	if !cur.UpdatedAt.Equal(prevUpdatedAt) {
		return sso.ConnectionChanged(c.ID)
	}
	d.conns[c.ID] = cloneConn(c)
	d.AppendEvents(s.events)
	return nil
}

// DeleteConnection implements sso.ConnectionStore.
func (s *Store) DeleteConnection(ctx context.Context, id string) error {
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := d.conns[id]; !ok {
		return notFound("connection", id)
	}
	delete(d.conns, id)
	d.AppendEvents(s.events)
	return nil
}
