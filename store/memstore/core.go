package memstore

import (
	"context"
	"slices"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
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
