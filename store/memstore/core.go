package memstore

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

var (
	_ sso.Store         = (*Store)(nil)
	_ audit.EventBinder = (*Store)(nil)
)

// coreData holds the records of the sso core interfaces.
type coreData struct {
	orgs        map[string]*sso.Organization
	slugs       map[string]string                 // slug -> org ID
	domains     map[string]map[string]*sso.Domain // org ID -> name -> domain
	verified    map[string]string                 // domain name -> org ID holding it verified
	conns       map[string]*sso.Connection
	users       map[string]*sso.User
	byEmail     map[string]map[string]bool            // lower-case email -> user IDs
	members     map[string]map[string]*sso.Membership // org ID -> user ID -> membership
	identities  map[string]*sso.Identity              // ID -> identity
	identityKey map[[3]string]string                  // (org, issuer, subject) -> identity ID
	events      map[string][]*sso.Event               // org ID -> chain
	eventIDs    map[string]bool
	scimTokens  map[string]*sso.SCIMToken // ID -> token
	scimHashes  map[string]string         // hash -> ID
}

func (d *coreData) init() {
	if d.orgs != nil {
		return
	}
	d.orgs = map[string]*sso.Organization{}
	d.slugs = map[string]string{}
	d.domains = map[string]map[string]*sso.Domain{}
	d.verified = map[string]string{}
	d.conns = map[string]*sso.Connection{}
	d.users = map[string]*sso.User{}
	d.byEmail = map[string]map[string]bool{}
	d.members = map[string]map[string]*sso.Membership{}
	d.identities = map[string]*sso.Identity{}
	d.identityKey = map[[3]string]string{}
	d.events = map[string][]*sso.Event{}
	d.eventIDs = map[string]bool{}
	d.scimTokens = map[string]*sso.SCIMToken{}
	d.scimHashes = map[string]string{}
}

// lock takes the store lock and initialises the core maps.
func (s *Store) lock() *coreData {
	s.mu.Lock()
	s.core.init()
	return &s.core
}

// writeLock takes the store lock for a core write: on a view WithEvents
// returned it first checks the view's events, so that a refused event
// leaves the lock released and nothing written.
func (s *Store) writeLock() (*coreData, error) {
	d := s.lock()
	if len(s.events) == 0 {
		return d, nil
	}
	if err := d.CheckEvents(s.events); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	return d, nil
}

// WithEvents implements audit.EventBinder: the core writes of the
// returned view (organizations, domains, connections, memberships, SCIM
// tokens) append
// evs under the same lock as their change, and neither when either fails.
func (s *Store) WithEvents(evs ...*sso.Event) sso.Store {
	return &Store{records: s.records, events: evs}
}

func ctxErr(ctx context.Context) error { return ctx.Err() }

// --- copies ---------------------------------------------------------------

func cloneOrg(o *sso.Organization) *sso.Organization {
	c := *o
	c.Settings.Features = slices.Clone(o.Settings.Features)
	c.Settings.Network.AllowedCIDRs = slices.Clone(o.Settings.Network.AllowedCIDRs)
	c.Settings.ExchangeAudiences = slices.Clone(o.Settings.ExchangeAudiences)
	c.Settings.SignInMethods = slices.Clone(o.Settings.SignInMethods)
	return &c
}

func cloneDomain(d *sso.Domain) *sso.Domain { c := *d; return &c }

// cloneConfig copies a protocol configuration through its stored form, as
// a database would, so callers never share it with the store. The document
// of a valid connection always encodes; a failure keeps the value.
func cloneConfig(p sso.Protocol, c sso.ProtocolConfig) sso.ProtocolConfig {
	doc, version, err := sso.EncodeConfig(c)
	if err != nil {
		return c
	}
	out, err := sso.DecodeConfig(p, version, doc)
	if err != nil {
		return c
	}
	return out
}

func cloneConn(c *sso.Connection) *sso.Connection {
	n := *c
	n.Config = cloneConfig(c.Protocol, c.Config)
	n.GroupRoles = slices.Clone(c.GroupRoles)
	if c.LastTest != nil {
		t := *c.LastTest
		if t.Profile != nil {
			t.Profile = cloneProfile(t.Profile)
		}
		n.LastTest = &t
	}
	return &n
}

func cloneProfile(p *sso.Profile) *sso.Profile {
	c := *p
	c.Groups = slices.Clone(p.Groups)
	c.AMR = slices.Clone(p.AMR)
	if p.Raw != nil {
		c.Raw = make(map[string][]string, len(p.Raw))
		for k, v := range p.Raw {
			c.Raw[k] = slices.Clone(v)
		}
	}
	return &c
}

func cloneUser(u *sso.User) *sso.User { c := *u; return &c }

func cloneMember(m *sso.Membership) *sso.Membership {
	c := *m
	c.Roles = slices.Clone(m.Roles)
	return &c
}

func cloneIdentity(i *sso.Identity) *sso.Identity { c := *i; return &c }

func cloneEvent(e *sso.Event) *sso.Event {
	c := *e
	if e.Details != nil {
		c.Details = make(map[string]string, len(e.Details))
		for k, v := range e.Details {
			c.Details[k] = v
		}
	}
	return &c
}

func cloneToken(t *sso.SCIMToken) *sso.SCIMToken { c := *t; return &c }

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
	var out []*sso.Organization
	for id, o := range d.orgs {
		if id > afterID {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	out = memstate.Page(out, limit)
	for i, o := range out {
		out[i] = cloneOrg(o)
	}
	return out, nil
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
	var out []*sso.Connection
	for id, c := range d.conns {
		if id > afterID && c.Status == sso.ConnectionActive && (p == "" || c.Protocol == p) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	out = memstate.Page(out, limit)
	for i, c := range out {
		out[i] = cloneConn(c)
	}
	return out, nil
}

// ListProtocolConnections returns up to limit connections of protocol p,
// whatever their status, with ID > afterID in ID order.
func (s *Store) ListProtocolConnections(ctx context.Context, p sso.Protocol, afterID string, limit int) ([]*sso.Connection, error) {
	d := s.lock()
	defer s.mu.Unlock()
	var out []*sso.Connection
	for id, c := range d.conns {
		if id > afterID && c.Protocol == p {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	out = memstate.Page(out, limit)
	for i, c := range out {
		out[i] = cloneConn(c)
	}
	return out, nil
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

// --- users ---------------------------------------------------------------

// CreateUser implements sso.UserStore.
func (s *Store) CreateUser(ctx context.Context, u *sso.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	d := s.lock()
	defer s.mu.Unlock()
	if _, ok := d.users[u.ID]; ok {
		return conflict("user", u.ID)
	}
	d.putUser(u)
	return nil
}

// GetUser implements sso.UserStore.
func (s *Store) GetUser(ctx context.Context, id string) (*sso.User, error) {
	d := s.lock()
	defer s.mu.Unlock()
	u, ok := d.users[id]
	if !ok {
		return nil, notFound("user", id)
	}
	return cloneUser(u), nil
}

// UpdateUser implements sso.UserStore.
func (s *Store) UpdateUser(ctx context.Context, u *sso.User) error {
	return s.updateUser(u, nil)
}

var _ sso.ConditionalUserUpdater = (*Store)(nil)

// UpdateUserIf implements sso.ConditionalUserUpdater.
func (s *Store) UpdateUserIf(ctx context.Context, u *sso.User, prevUpdatedAt time.Time) error {
	return s.updateUser(u, &prevUpdatedAt)
}

// updateUser replaces user u.ID with u, when prev is set only while its
// stored UpdatedAt equals *prev.
func (s *Store) updateUser(u *sso.User, prev *time.Time) error {
	if err := u.Validate(); err != nil {
		return err
	}
	d := s.lock()
	defer s.mu.Unlock()
	old, ok := d.users[u.ID]
	if !ok {
		return notFound("user", u.ID)
	}
	if prev != nil && !old.UpdatedAt.Equal(*prev) {
		return sso.UserChanged(u.ID)
	}
	d.putUser(u)
	return nil
}

// DeleteUser implements sso.UserStore.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	d := s.lock()
	defer s.mu.Unlock()
	if _, ok := d.users[id]; !ok {
		return notFound("user", id)
	}
	d.dropUser(id)
	return nil
}

// putUser stores a copy of u and indexes its email; the caller holds the
// lock.
func (d *coreData) putUser(u *sso.User) {
	d.dropUser(u.ID)
	d.users[u.ID] = cloneUser(u)
	key := strings.ToLower(u.Email)
	if d.byEmail[key] == nil {
		d.byEmail[key] = map[string]bool{}
	}
	d.byEmail[key][u.ID] = true
}

// dropUser removes user id and its email index entry; the caller holds the
// lock.
func (d *coreData) dropUser(id string) {
	old, ok := d.users[id]
	if !ok {
		return
	}
	key := strings.ToLower(old.Email)
	delete(d.byEmail[key], id)
	if len(d.byEmail[key]) == 0 {
		delete(d.byEmail, key)
	}
	delete(d.users, id)
}

// --- memberships -----------------------------------------------------------

// CreateMembership implements sso.MembershipStore.
func (s *Store) CreateMembership(ctx context.Context, m *sso.Membership) error {
	if err := m.Validate(); err != nil {
		return err
	}
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := d.createMembership(m); err != nil {
		return err
	}
	d.AppendEvents(s.events)
	return nil
}

func (d *coreData) createMembership(m *sso.Membership) error {
	if _, ok := d.members[m.OrgID][m.UserID]; ok {
		return conflict("membership", m.OrgID+"/"+m.UserID)
	}
	if d.members[m.OrgID] == nil {
		d.members[m.OrgID] = map[string]*sso.Membership{}
	}
	d.members[m.OrgID][m.UserID] = cloneMember(m)
	return nil
}

// GetMembership implements sso.MembershipStore.
func (s *Store) GetMembership(ctx context.Context, orgID, userID string) (*sso.Membership, error) {
	d := s.lock()
	defer s.mu.Unlock()
	m, ok := d.members[orgID][userID]
	if !ok {
		return nil, notFound("membership", orgID+"/"+userID)
	}
	return cloneMember(m), nil
}

// UpdateMembership implements sso.MembershipStore.
func (s *Store) UpdateMembership(ctx context.Context, m *sso.Membership) error {
	if err := m.Validate(); err != nil {
		return err
	}
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := d.members[m.OrgID][m.UserID]; !ok {
		return notFound("membership", m.OrgID+"/"+m.UserID)
	}
	d.members[m.OrgID][m.UserID] = cloneMember(m)
	d.AppendEvents(s.events)
	return nil
}

// SetMembershipRoles implements scim.RolesWriter: it writes only the
// roles (and the update time) of a membership.
func (s *Store) SetMembershipRoles(ctx context.Context, orgID, userID string, roles []string, at time.Time) error {
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	m, ok := d.members[orgID][userID]
	if !ok {
		return notFound("membership", orgID+"/"+userID)
	}
	c := cloneMember(m)
	c.Roles, c.UpdatedAt = slices.Clone(roles), at
	if err := c.Validate(); err != nil {
		return err
	}
	d.members[orgID][userID] = c
	d.AppendEvents(s.events)
	return nil
}

// EditMembership implements sso.MembershipEditor: it reads, edits and
// writes (or deletes) the membership, and checks e.Keep, under the store
// lock.
func (s *Store) EditMembership(ctx context.Context, e *sso.MembershipEdit) (*sso.Membership, error) {
	d, err := s.writeLock()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	old, ok := d.members[e.OrgID][e.UserID]
	if !ok {
		return nil, notFound("membership", e.OrgID+"/"+e.UserID)
	}
	m, err := e.Apply(cloneMember(old))
	if err != nil {
		return nil, err
	}
	if e.TakesKeep(old, m) && !d.otherHolder(e) {
		return nil, sso.ErrLastHolder
	}
	if e.Delete {
		delete(d.members[e.OrgID], e.UserID)
	} else {
		d.members[e.OrgID][e.UserID] = cloneMember(m)
	}
	d.AppendEvents(s.events)
	return m, nil
}

// otherHolder reports whether a member of e's organization other than
// e's is an active holder of e.Keep.
func (d *coreData) otherHolder(e *sso.MembershipEdit) bool {
	for uid, m := range d.members[e.OrgID] {
		if uid != e.UserID && e.HoldsKeep(m) {
			return true
		}
	}
	return false
}

// DeleteMembership implements sso.MembershipStore.
func (s *Store) DeleteMembership(ctx context.Context, orgID, userID string) error {
	d, err := s.writeLock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := d.members[orgID][userID]; !ok {
		return notFound("membership", orgID+"/"+userID)
	}
	delete(d.members[orgID], userID)
	d.AppendEvents(s.events)
	return nil
}

// ListMembers implements sso.MembershipStore.
func (s *Store) ListMembers(ctx context.Context, orgID, afterUserID string, limit int) ([]*sso.Membership, error) {
	d := s.lock()
	defer s.mu.Unlock()
	var out []*sso.Membership
	for uid, m := range d.members[orgID] {
		if uid > afterUserID {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	out = memstate.Page(out, limit)
	for i, m := range out {
		out[i] = cloneMember(m)
	}
	return out, nil
}

// ListUserMemberships implements sso.MembershipStore.
func (s *Store) ListUserMemberships(ctx context.Context, userID string) ([]*sso.Membership, error) {
	d := s.lock()
	defer s.mu.Unlock()
	var out []*sso.Membership
	for _, byUser := range d.members {
		if m, ok := byUser[userID]; ok {
			out = append(out, cloneMember(m))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OrgID < out[j].OrgID })
	return out, nil
}

// betterEmailMatch orders FindMemberByEmail candidates: verified email
// first, then earliest joined, then user ID.
func betterEmailMatch(u *sso.User, m *sso.Membership, bu *sso.User, bm *sso.Membership) bool {
	if u.EmailVerified != bu.EmailVerified {
		return u.EmailVerified
	}
	if !m.JoinedAt.Equal(bm.JoinedAt) {
		return m.JoinedAt.Before(bm.JoinedAt)
	}
	return m.UserID < bm.UserID
}

// FindMemberByEmail implements sso.MembershipStore.
func (s *Store) FindMemberByEmail(ctx context.Context, orgID, email string) (*sso.Membership, error) {
	d := s.lock()
	defer s.mu.Unlock()
	// Through the email index: the users with this email, then their
	// memberships here, so a large organization is not scanned.
	var best *sso.Membership
	for uid := range d.byEmail[strings.ToLower(email)] {
		u, m := d.users[uid], d.members[orgID][uid]
		if m == nil {
			continue
		}
		if best == nil || betterEmailMatch(u, m, d.users[best.UserID], best) {
			best = m
		}
	}
	if best == nil {
		return nil, notFound("member email", email)
	}
	return cloneMember(best), nil
}

// --- identities ------------------------------------------------------------

// CreateIdentity implements sso.IdentityStore.
func (s *Store) CreateIdentity(ctx context.Context, id *sso.Identity) error {
	if err := id.Validate(); err != nil {
		return err
	}
	d := s.lock()
	defer s.mu.Unlock()
	return d.createIdentity(id)
}

func (d *coreData) createIdentity(id *sso.Identity) error {
	key := [3]string{id.OrgID, id.Issuer, id.Subject}
	if _, ok := d.identityKey[key]; ok {
		return conflict("identity", id.Issuer+"/"+id.Subject)
	}
	if _, ok := d.identities[id.ID]; ok {
		return conflict("identity", id.ID)
	}
	d.identities[id.ID] = cloneIdentity(id)
	d.identityKey[key] = id.ID
	return nil
}

// GetIdentity implements sso.IdentityStore.
func (s *Store) GetIdentity(ctx context.Context, orgID, issuer, subject string) (*sso.Identity, error) {
	d := s.lock()
	defer s.mu.Unlock()
	id, ok := d.identityKey[[3]string{orgID, issuer, subject}]
	if !ok {
		return nil, notFound("identity", issuer+"/"+subject)
	}
	return cloneIdentity(d.identities[id]), nil
}

// ListUserIdentities implements sso.IdentityStore.
func (s *Store) ListUserIdentities(ctx context.Context, userID string) ([]*sso.Identity, error) {
	d := s.lock()
	defer s.mu.Unlock()
	var out []*sso.Identity
	for _, id := range d.identities {
		if id.UserID == userID {
			out = append(out, cloneIdentity(id))
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

// UpdateIdentity implements sso.IdentityStore.
func (s *Store) UpdateIdentity(ctx context.Context, id *sso.Identity) error {
	if err := id.Validate(); err != nil {
		return err
	}
	d := s.lock()
	defer s.mu.Unlock()
	return d.updateIdentity(id)
}

// updateIdentity stores id; the caller holds the lock.
func (d *coreData) updateIdentity(id *sso.Identity) error {
	old, ok := d.identities[id.ID]
	if !ok {
		return notFound("identity", id.ID)
	}
	oldKey := [3]string{old.OrgID, old.Issuer, old.Subject}
	newKey := [3]string{id.OrgID, id.Issuer, id.Subject}
	if oldKey != newKey {
		if _, taken := d.identityKey[newKey]; taken {
			return conflict("identity", id.Issuer+"/"+id.Subject)
		}
		delete(d.identityKey, oldKey)
		d.identityKey[newKey] = id.ID
	}
	d.identities[id.ID] = cloneIdentity(id)
	return nil
}

// DeleteIdentity implements sso.IdentityStore.
func (s *Store) DeleteIdentity(ctx context.Context, id string) error {
	d := s.lock()
	defer s.mu.Unlock()
	old, ok := d.identities[id]
	if !ok {
		return notFound("identity", id)
	}
	delete(d.identityKey, [3]string{old.OrgID, old.Issuer, old.Subject})
	delete(d.identities, id)
	return nil
}

// Provision implements sso.Provisioner.
func (s *Store) Provision(ctx context.Context, u *sso.User, m *sso.Membership, id *sso.Identity) error {
	return s.ProvisionEvent(ctx, u, m, id, nil)
}

// ProvisionEvent implements login.EventProvisioner: the records and the
// event e (when non-nil) under one lock, neither when either would fail.
func (s *Store) ProvisionEvent(ctx context.Context, u *sso.User, m *sso.Membership, id *sso.Identity, e *sso.Event) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if err := m.Validate(); err != nil {
		return err
	}
	if id != nil {
		if err := id.Validate(); err != nil {
			return err
		}
	}
	var evs []*sso.Event
	if e != nil {
		evs = []*sso.Event{e}
	}
	d := s.lock()
	defer s.mu.Unlock()
	// Check everything first so that a conflict writes nothing.
	if err := d.CheckEvents(evs); err != nil {
		return err
	}
	if _, ok := d.members[m.OrgID][m.UserID]; ok {
		return conflict("membership", m.OrgID+"/"+m.UserID)
	}
	if id != nil {
		if _, ok := d.identityKey[[3]string{id.OrgID, id.Issuer, id.Subject}]; ok {
			return conflict("identity", id.Issuer+"/"+id.Subject)
		}
		if _, ok := d.identities[id.ID]; ok {
			return conflict("identity", id.ID)
		}
	}
	if _, ok := d.users[u.ID]; !ok {
		d.putUser(u)
	}
	_ = d.createMembership(m)
	if id != nil {
		_ = d.createIdentity(id)
	}
	d.AppendEvents(evs)
	return nil
}

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
