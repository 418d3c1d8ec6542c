// Package localorg picks the organization a sign-in without an IdP
// (password, email code or link, passkey, social) enters: the one the
// person named, or else their only active membership. Each sign-in package
// turns an Outcome into its own refusal.
package localorg

import (
	"context"
	"errors"
	"slices"

	"github.com/ssokit/ssokit/sso"
)

// Outcome says whether Pick found the organization, and why not.
type Outcome int

// The outcomes of Pick.
const (
	// Found: Result.Org and Result.Membership are set.
	Found Outcome = iota
	// NotMember: the named organization does not exist (Result.Org is
	// nil), or the user is not an active member of it (Result.Org is
	// set).
	NotMember
	// NoOrganization: no organization was named and the user has no
	// active membership.
	NoOrganization
	// Ambiguous: no organization was named and the user has several
	// active memberships.
	Ambiguous
)

// Result is what Pick found.
type Result struct {
	Outcome    Outcome
	Org        *sso.Organization
	Membership *sso.Membership
}

// Pick finds the organization for userID: the one whose slug is given, or
// else the user's only active membership. An empty userID is a person
// without an account yet, who is a member of nothing. The error is a store
// failure only; every refusal is an Outcome.
func Pick(ctx context.Context, orgs sso.OrgStore, members sso.MembershipStore, userID, slug string) (Result, error) {
	if slug != "" {
		org, err := orgs.GetOrgBySlug(ctx, slug)
		if errors.Is(err, sso.ErrNotFound) || errors.Is(err, sso.ErrInvalidInput) {
			return Result{Outcome: NotMember}, nil
		} else if err != nil {
			return Result{}, err
		}
		if userID == "" {
			return Result{Outcome: NotMember, Org: org}, nil
		}
		mem, err := members.GetMembership(ctx, org.ID, userID)
		if errors.Is(err, sso.ErrNotFound) || (err == nil && !mem.Active()) {
			return Result{Outcome: NotMember, Org: org}, nil
		} else if err != nil {
			return Result{}, err
		}
		return Result{Outcome: Found, Org: org, Membership: mem}, nil
	}
	if userID == "" {
		return Result{Outcome: NoOrganization}, nil
	}
	ms, err := members.ListUserMemberships(ctx, userID)
	if err != nil {
		return Result{}, err
	}
	ms = slices.DeleteFunc(ms, func(x *sso.Membership) bool { return !x.Active() })
	switch len(ms) {
	case 0:
		return Result{Outcome: NoOrganization}, nil
	case 1:
		org, err := orgs.GetOrg(ctx, ms[0].OrgID)
		if err != nil {
			return Result{}, err
		}
		return Result{Outcome: Found, Org: org, Membership: ms[0]}, nil
	}
	return Result{Outcome: Ambiguous}, nil
}
