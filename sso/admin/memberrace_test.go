package admin_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// memberRaceRounds is how often each member race runs.
const memberRaceRounds = 20

// raceFixtures runs fn on a member fixture of each SQL dialect.
func raceFixtures(t *testing.T, fn func(t *testing.T, f *memberFixture)) {
	t.Helper()
	for name, d := range map[string]sqlstore.Dialect{"sqlite": sqlstore.SQLite, "postgres": sqlstore.Postgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, _ := sqlFixture(t, d)
			fn(t, &memberFixture{fixture: f})
		})
	}
}

// raceOrg creates a fresh organization for one round, with members by
// roles (user ID -> roles).
func (f *memberFixture) raceOrg(round int, members map[string][]string) *sso.Organization {
	f.t.Helper()
	o := &sso.Organization{ID: opaque.NewID("org_"), Slug: fmt.Sprintf("race-%d", round), Name: "race"}
	o.Settings.Features = f.orgA.Settings.Features
	if err := f.st.CreateOrg(ctx, o); err != nil {
		f.t.Fatal(err)
	}
	for id, roles := range members {
		f.addMember(o, fmt.Sprintf("%s_%d", id, round), roles...)
	}
	return o
}

type reply struct {
	code int
	body map[string]any
}

// racing sends the requests at once, released together, and returns the
// replies in order.
func (f *memberFixture) racing(o *sso.Organization, reqs ...[4]string) []reply {
	out := make([]reply, len(reqs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i].code, out[i].body = f.as(o, r[0], r[1], r[2], r[3])
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// activeOwners lists the organization's active owners.
func (f *memberFixture) activeOwners(o *sso.Organization) []string {
	f.t.Helper()
	ms, err := f.st.ListMembers(ctx, o.ID, "", 100)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if m.HasRole("owner") && m.Active() {
			out = append(out, m.UserID)
		}
	}
	return out
}

// TestMemberRolesRaceSuspension: an administrator's role change racing
// another's suspension of the same member keeps both: each writes only
// its field.
func TestMemberRolesRaceSuspension(t *testing.T) {
	t.Parallel()
	raceFixtures(t, func(t *testing.T, f *memberFixture) {
		for round := range memberRaceRounds {
			o := f.raceOrg(round, map[string][]string{"usr_owner": {"owner", "admin"}, "usr_bob": {"member"}})
			owner, bob := fmt.Sprintf("usr_owner_%d", round), fmt.Sprintf("usr_bob_%d", round)
			rs := f.racing(o,
				[4]string{owner, "PUT", "/members/" + bob + "/roles", `{"roles":["admin"]}`},
				[4]string{owner, "PUT", "/members/" + bob + "/status", `{"status":"suspended"}`})
			for i, r := range rs {
				if r.code != http.StatusOK {
					t.Fatalf("round %d: request %d: %d %v", round, i, r.code, r.body)
				}
			}
			m, err := f.st.GetMembership(ctx, o.ID, bob)
			if err != nil {
				t.Fatal(err)
			}
			if m.Status != sso.MembershipSuspended || len(m.Roles) != 1 || m.Roles[0] != "admin" {
				t.Errorf("round %d: status %q roles %v, want suspended [admin]", round, m.Status, m.Roles)
			}
		}
	})
}

// TestLastOwnersDemotionRace: the organization's last two owners demote
// each other at once: one demotion wins, the other is refused (409
// last_owner, or 403 not_owner when its caller had already lost the role),
// and one owner remains.
func TestLastOwnersDemotionRace(t *testing.T) {
	t.Parallel()
	raceFixtures(t, func(t *testing.T, f *memberFixture) {
		for round := range memberRaceRounds {
			o := f.raceOrg(round, map[string][]string{"usr_x": {"owner", "admin"}, "usr_y": {"owner", "admin"}, "usr_z": {"admin"}})
			x, y := fmt.Sprintf("usr_x_%d", round), fmt.Sprintf("usr_y_%d", round)
			rs := f.racing(o,
				[4]string{y, "PUT", "/members/" + x + "/roles", `{"roles":["admin"]}`},
				[4]string{x, "PUT", "/members/" + y + "/roles", `{"roles":["admin"]}`})
			ok := 0
			for i, r := range rs {
				switch {
				case r.code == http.StatusOK:
					ok++
				case r.code == http.StatusConflict && r.body["error"] == "last_owner":
				case r.code == http.StatusForbidden && r.body["error"] == "not_owner":
				default:
					t.Errorf("round %d: demotion %d: %d %v, want 200, 409 last_owner or 403 not_owner", round, i, r.code, r.body)
				}
			}
			if owners := f.activeOwners(o); len(owners) != 1 || ok != 1 {
				t.Errorf("round %d: active owners %v after %d demotions, want one each", round, owners, ok)
			}
		}
	})
}

// TestTransferRaceRemoval: the owner transfers ownership to a member
// while another administrator removes or suspends that member. Whichever
// commits first, the organization keeps an active owner and no suspended
// one.
func TestTransferRaceRemoval(t *testing.T) {
	t.Parallel()
	raceFixtures(t, func(t *testing.T, f *memberFixture) {
		for round := range memberRaceRounds {
			o := f.raceOrg(round, map[string][]string{"usr_x": {"owner", "admin"}, "usr_y": {"admin"}, "usr_z": {"admin"}})
			x, y, z := fmt.Sprintf("usr_x_%d", round), fmt.Sprintf("usr_y_%d", round), fmt.Sprintf("usr_z_%d", round)
			change := [4]string{z, "DELETE", "/members/" + y, ""}
			if round%2 == 1 {
				change = [4]string{z, "PUT", "/members/" + y + "/status", `{"status":"suspended"}`}
			}
			rs := f.racing(o, [4]string{x, "POST", "/ownership", `{"user_id":"` + y + `"}`}, change)
			for i, r := range rs {
				if r.code >= 500 {
					t.Errorf("round %d: request %d: %d %v", round, i, r.code, r.body)
				}
			}
			if owners := f.activeOwners(o); len(owners) != 1 {
				t.Errorf("round %d: active owners %v (transfer %d %v, %s %d %v)", round, owners, rs[0].code, rs[0].body, change[1], rs[1].code, rs[1].body)
			}
			ms, _ := f.st.ListMembers(ctx, o.ID, "", 100)
			for _, m := range ms {
				if m.HasRole("owner") && !m.Active() {
					t.Errorf("round %d: %s is a %s owner", round, m.UserID, m.Status)
				}
			}
		}
	})
}

// TestDoubleTransferRace: the owner transfers ownership to two members at
// once. One transfer wins; the other is refused and takes back its grant,
// so the organization ends with one active owner.
func TestDoubleTransferRace(t *testing.T) {
	t.Parallel()
	raceFixtures(t, func(t *testing.T, f *memberFixture) {
		for round := range memberRaceRounds {
			o := f.raceOrg(round, map[string][]string{"usr_x": {"owner", "admin"}, "usr_y": {"admin"}, "usr_w": {"member"}})
			x, y, w := fmt.Sprintf("usr_x_%d", round), fmt.Sprintf("usr_y_%d", round), fmt.Sprintf("usr_w_%d", round)
			rs := f.racing(o,
				[4]string{x, "POST", "/ownership", `{"user_id":"` + y + `"}`},
				[4]string{x, "POST", "/ownership", `{"user_id":"` + w + `"}`})
			ok := 0
			for i, r := range rs {
				switch {
				case r.code == http.StatusOK:
					ok++
				case r.code != http.StatusForbidden || r.body["error"] != "not_owner":
					t.Errorf("round %d: transfer %d: %d %v, want 200 or 403 not_owner", round, i, r.code, r.body)
				}
			}
			if owners := f.activeOwners(o); len(owners) != 1 || ok != 1 {
				t.Errorf("round %d: active owners %v after %d transfers, want one each", round, owners, ok)
			}
		}
	})
}
