package login

import (
	"context"
	"errors"

	"github.com/ssokit/ssokit/internal/routing"
	"github.com/ssokit/ssokit/sso"
)

// Records is everything a login resolves before it decides: the
// organization, the verified holder of the email's domain, and the
// identity with its user and membership.
type Records struct {
	// Org is the connection's organization.
	Org *sso.Organization
	// Domain is the verified domain named like the email's domain, held by
	// any organization, or nil.
	Domain *sso.Domain
	// Identity is the (organization, issuer, subject) identity, or nil.
	Identity *sso.Identity
	// User and Membership are the identity's user and its membership in
	// Org; nil when the identity is nil or names a missing record.
	User       *sso.User
	Membership *sso.Membership
}

// Loader is an optional Store capability that reads Records in one round
// trip. store/memstore and store/sqlstore implement it; a Store without it
// is read record by record, with the same results.
type Loader interface {
	// LoadLogin returns the Records of a login at orgID by (issuer,
	// subject) whose email has domain emailDomain ("" for none), as one
	// consistent read. It fails with sso.ErrNotFound only when the
	// organization does not exist.
	LoadLogin(ctx context.Context, orgID, issuer, subject, emailDomain string) (*Records, error)
}

// load reads the Records of a login, in one round trip when the store is a
// Loader.
func (c *Completer) load(ctx context.Context, orgID, issuer, subject, emailDomain string) (*Records, error) {
	if l, ok := c.cfg.Store.(Loader); ok {
		return l.LoadLogin(ctx, orgID, issuer, subject, emailDomain)
	}
	st := c.cfg.Store
	org, err := st.GetOrg(ctx, orgID)
	if err != nil {
		return nil, err
	}
	recs := &Records{Org: org}
	if emailDomain != "" {
		switch dom, err := routing.Domain(ctx, st, emailDomain); {
		case err == nil:
			recs.Domain = dom
		case !errors.Is(err, sso.ErrNotFound):
			return nil, err
		}
	}
	ident, err := st.GetIdentity(ctx, orgID, issuer, subject)
	switch {
	case errors.Is(err, sso.ErrNotFound):
		return recs, nil
	case err != nil:
		return nil, err
	}
	recs.Identity = ident
	if recs.User, err = st.GetUser(ctx, ident.UserID); err != nil && !errors.Is(err, sso.ErrNotFound) {
		return nil, err
	}
	if recs.Membership, err = st.GetMembership(ctx, orgID, ident.UserID); err != nil && !errors.Is(err, sso.ErrNotFound) {
		return nil, err
	}
	return recs, nil
}
