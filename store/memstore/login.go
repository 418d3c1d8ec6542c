package memstore

import (
	"context"

	"github.com/ssokit/ssokit/sso/login"
)

var _ login.Loader = (*Store)(nil)

// LoadLogin implements login.Loader: the organization, the verified holder
// of emailDomain, and the (orgID, issuer, subject) identity with its user
// and membership, read under one lock and returned as copies.
func (s *Store) LoadLogin(ctx context.Context, orgID, issuer, subject, emailDomain string) (*login.Records, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	d := s.lock()
	defer s.mu.Unlock()
	o, ok := d.orgs[orgID]
	if !ok {
		return nil, notFound("organization", orgID)
	}
	recs := &login.Records{Org: cloneOrg(o)}
	if holder, ok := d.verified[emailDomain]; ok {
		recs.Domain = cloneDomain(d.domains[holder][emailDomain])
	}
	id, ok := d.identityKey[[3]string{orgID, issuer, subject}]
	if !ok {
		return recs, nil
	}
	ident := d.identities[id]
	recs.Identity = cloneIdentity(ident)
	if u, ok := d.users[ident.UserID]; ok {
		recs.User = cloneUser(u)
	}
	if m, ok := d.members[orgID][ident.UserID]; ok {
		recs.Membership = cloneMember(m)
	}
	return recs, nil
}
