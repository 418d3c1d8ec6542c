package sqlscim_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlscim"
)

// stores returns the SCIM store on SQLite and, when configured, PostgreSQL.
func stores() map[string]func(t *testing.T) *sqlscim.Store {
	return map[string]func(t *testing.T) *sqlscim.Store{
		"SQLite": func(t *testing.T) *sqlscim.Store { return sqlscim.New(teststore.SQL(t, sqlstore.SQLite, nil)) },
		"Postgres": func(t *testing.T) *sqlscim.Store {
			st, db := teststore.SQLWithDB(t, sqlstore.Postgres, nil)
			db.SetMaxOpenConns(8)
			return sqlscim.New(st)
		},
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// scimUser returns a new SCIM user id of org1 with its core user and
// membership.
func scimUser(id string) (*sso.User, *sso.Membership, *scim.User) {
	r := &scim.User{OrgID: "org1", ID: id, Attributes: map[string]any{"userName": id + "@x.test", "active": true},
		Version: 1, Created: t0, LastModified: t0}
	r.Derive()
	u := &sso.User{ID: id, CreatedAt: t0, UpdatedAt: t0}
	m := &sso.Membership{OrgID: "org1", UserID: id, Roles: []string{"member"}, Status: sso.MembershipActive,
		Source: sso.SourceSCIM, JoinedAt: t0, UpdatedAt: t0}
	return u, m, r
}

// TestDeletedUserLeavesGroupsRace deletes a user while other writers add
// it to groups, round after round: a deleted user must end up in no group
// (the delete removes it from every group, and an add of a user that is
// not live fails with ErrInvalidMember), whichever commits first.
func TestDeletedUserLeavesGroupsRace(t *testing.T) {
	const rounds, adders = 25, 4
	for name, mk := range stores() {
		t.Run(name, func(t *testing.T) {
			s := mk(t)
			ctx := context.Background()
			for r := range rounds {
				id := fmt.Sprintf("u%d", r)
				u, m, rec := scimUser(id)
				if err := s.CreateUserSCIM(ctx, u, m, rec); err != nil {
					t.Fatal(err)
				}
				groups := make([]string, adders)
				for i := range groups {
					groups[i] = fmt.Sprintf("g%d-%d", r, i)
					g := &scim.Group{OrgID: "org1", ID: groups[i], DisplayName: groups[i], Version: 1, Created: t0, LastModified: t0}
					if err := s.CreateGroupSCIM(ctx, g, nil); err != nil {
						t.Fatal(err)
					}
				}
				del := *rec
				del.Deleted, del.Version = true, 2
				start := make(chan struct{})
				var wg sync.WaitGroup
				errs := make([]error, adders+1)
				for i := range adders {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						g := &scim.Group{OrgID: "org1", ID: groups[i], DisplayName: groups[i], LastModified: t0}
						_, errs[i] = s.UpdateGroupSCIM(ctx, g, 0, []scim.MemberOp{{Kind: scim.MembersAdd, UserIDs: []string{id}}})
					}()
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[adders] = s.UpdateUserSCIM(ctx, &del, 1, nil, nil)
				}()
				close(start)
				wg.Wait()
				if errs[adders] != nil {
					t.Fatalf("round %d: delete: %v", r, errs[adders])
				}
				for i, err := range errs[:adders] {
					if err != nil && !errors.Is(err, scim.ErrInvalidMember) {
						t.Fatalf("round %d: add to %s: %v", r, groups[i], err)
					}
				}
				in, err := s.ListUserGroupsSCIM(ctx, "org1", id)
				if err != nil {
					t.Fatal(err)
				}
				for _, g := range in[id] {
					t.Errorf("round %d: the deleted user %s is a member of %s", r, id, g.ID)
				}
				for _, g := range groups {
					ids, err := s.ListGroupMembersSCIM(ctx, "org1", g, "", 10)
					if err != nil {
						t.Fatal(err)
					}
					if slices.Contains(ids, id) {
						t.Errorf("round %d: group %s lists the deleted user %s", r, g, id)
					}
				}
				if t.Failed() {
					return
				}
			}
		})
	}
}
