package login

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/ssokit/ssokit/internal/normalize"
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

// loadKey is what a login's Records are read by.
type loadKey struct{ orgID, issuer, subject, emailDomain string }

// preload is a LoadLogin started by PreloadLogin.
type preload struct {
	key  loadKey
	done chan struct{}
	recs *Records
	err  error
	// used makes the Records single-use: a login completed again
	// (sso.ErrMembershipChanged) reads them anew.
	used atomic.Bool
}

var _ sso.LoginPreloader = (*Completer)(nil)

type preloadCtxKey struct{}

// PreloadLogin implements sso.LoginPreloader when the store is a Loader:
// it starts LoadLogin for login in a goroutine and returns ctx carrying
// it. It is ctx unchanged for a login it cannot key (no profile, an email
// that does not parse) or a store that is not a Loader.
func (c *Completer) PreloadLogin(ctx context.Context, login *sso.Login) context.Context {
	l, ok := c.cfg.Store.(Loader)
	if !ok || login == nil || login.Connection == nil || login.Profile == nil {
		return ctx
	}
	p := login.Profile
	key := loadKey{orgID: login.Connection.OrgID, issuer: p.Issuer, subject: p.Subject}
	if p.Email != "" {
		_, domain, err := normalize.Email(p.Email)
		if err != nil {
			return ctx
		}
		key.emailDomain = domain
	}
	pl := &preload{key: key, done: make(chan struct{})}
	go func() {
		defer close(pl.done)
		pl.recs, pl.err = l.LoadLogin(ctx, key.orgID, key.issuer, key.subject, key.emailDomain)
	}()
	return context.WithValue(ctx, preloadCtxKey{}, pl)
}

// preloaded returns the Records PreloadLogin read for key, or nil when it
// read none, for another key, or failed (the caller reads them itself).
func preloaded(ctx context.Context, key loadKey) *Records {
	pl, ok := ctx.Value(preloadCtxKey{}).(*preload)
	if !ok || pl.key != key || pl.used.Swap(true) {
		return nil
	}
	<-pl.done
	if pl.err != nil {
		return nil
	}
	return pl.recs
}

// load reads the Records of a login, in one round trip when the store is a
// Loader, or none when PreloadLogin read them for this login.
func (c *Completer) load(ctx context.Context, orgID, issuer, subject, emailDomain string) (*Records, error) {
	if recs := preloaded(ctx, loadKey{orgID, issuer, subject, emailDomain}); recs != nil {
		return recs, nil
	}
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
