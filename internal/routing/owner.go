package routing

import (
	"context"
	"errors"

	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/sso"
)

// OwnerStore is what OwnsUser reads.
type OwnerStore interface {
	DomainFinder
	ListUserMemberships(ctx context.Context, userID string) ([]*sso.Membership, error)
}

// OwnsUser reports whether organization orgID may change u's global fields
// (email, names): u's current email is in one of orgID's verified domains,
// or, when no organization holds that domain, u belongs to no other
// organization. An organization that may not is one of several that share
// the account: letting it re-address the account would let its admin, its
// IdP or its directory take over the account everywhere (a password reset
// to the new address, say). Login completion and SCIM both ask.
func OwnsUser(ctx context.Context, st OwnerStore, orgID string, u *sso.User) (bool, error) {
	if _, domain, err := normalize.Email(u.Email); err == nil {
		dom, err := Domain(ctx, st, domain)
		switch {
		case err == nil:
			return dom.OrgID == orgID, nil
		case !errors.Is(err, sso.ErrNotFound):
			return false, err
		}
	}
	ms, err := st.ListUserMemberships(ctx, u.ID)
	if err != nil {
		return false, err
	}
	for _, m := range ms {
		if m.OrgID != orgID {
			return false, nil
		}
	}
	return true, nil
}
