package scim_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/scim"
)

// sortedUser is what TestSortBy knows of a user it created.
type sortedUser struct {
	id                                    string
	userName, display, family, email, ext string
	created                               time.Time
}

// want returns the IDs of users in the order RFC 7644 §3.4.2.3 asks for:
// by the value (compared as the attribute's case rules say), users
// without one last when ascending, the ID breaking ties; descending is
// the reverse.
func wantOrder(users []sortedUser, key func(u sortedUser) string, desc bool) []string {
	us := slices.Clone(users)
	slices.SortFunc(us, func(a, b sortedUser) int {
		ka, kb := key(a), key(b)
		switch {
		case ka == "" && kb != "":
			return 1
		case ka != "" && kb == "":
			return -1
		case ka != kb:
			return strings.Compare(ka, kb)
		}
		return strings.Compare(a.id, b.id)
	})
	var out []string
	for _, u := range us {
		out = append(out, u.id)
	}
	if desc {
		slices.Reverse(out)
	}
	return out
}

// TestSortBy: sortBy and sortOrder on every supported user attribute, in
// one page and walked page by page (keyset continuations), through GET
// and POST .search, with absent values last (ascending) or first
// (descending); groups by displayName; unsupported values refused.
func TestSortBy(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			clock := &fakeClock{t: time.Now().UTC().Truncate(time.Second)}
			e := newEnvOn(t, b.open(t), func(c *scim.Config) { c.Now = clock.now })
			specs := []struct{ userName, display, family, email, ext string }{
				{"Carol@x.test", "carol", "Zed", "c2@x.test", "E-3"},
				{"alice@x.test", "", "adams", "A1@x.test", ""},
				{"Bob@x.test", "Bob", "", "b@x.test", "e-1"},
				{"dave@x.test", "Alice", "Adams", "", "E-2"},
				{"erin@x.test", "bob", "young", "z@x.test", ""},
			}
			var users []sortedUser
			for _, s := range specs {
				clock.add(time.Second)
				body := `{"userName":` + q(s.userName)
				if s.display != "" {
					body += `,"displayName":` + q(s.display)
				}
				if s.family != "" {
					body += `,"name":{"familyName":` + q(s.family) + `}`
				}
				if s.email != "" {
					// The primary email is not the first one.
					body += `,"emails":[{"value":"first-` + s.email + `"},{"value":` + q(s.email) + `,"primary":true}]`
				}
				if s.ext != "" {
					body += `,"externalId":` + q(s.ext)
				}
				id := e.do("POST", "/Users", body+`}`).want(t, http.StatusCreated).str("id")
				users = append(users, sortedUser{id, s.userName, s.display, s.family, s.email, s.ext, clock.now()})
			}
			// A later change moves the first user to the end by lastModified.
			clock.add(time.Second)
			e.do("PATCH", "/Users/"+users[0].id, patchOps(`{"op":"replace","path":"title","value":"x"}`)).want(t, http.StatusOK)
			modified := map[string]time.Time{}
			for _, u := range users {
				modified[u.id] = u.created
			}
			modified[users[0].id] = clock.now()

			lower := strings.ToLower
			ts := func(t time.Time) string { return t.Format("20060102150405.000000") }
			keys := map[string]func(u sortedUser) string{
				"userName":          func(u sortedUser) string { return lower(u.userName) },
				"displayName":       func(u sortedUser) string { return lower(u.display) },
				"name.familyName":   func(u sortedUser) string { return lower(u.family) },
				"emails.value":      func(u sortedUser) string { return lower(u.email) },
				"externalId":        func(u sortedUser) string { return u.ext },
				"meta.created":      func(u sortedUser) string { return ts(u.created) },
				"meta.lastModified": func(u sortedUser) string { return ts(modified[u.id]) },
				"urn:ietf:params:scim:schemas:core:2.0:User:userName": func(u sortedUser) string { return lower(u.userName) },
			}
			for by, key := range keys {
				for _, order := range []string{"", "ascending", "descending"} {
					want := wantOrder(users, key, order == "descending")
					r := e.do("GET", "/Users?sortBy="+urlq(by)+"&sortOrder="+order, "").want(t, http.StatusOK)
					if got := ids(r); !slices.Equal(got, want) {
						t.Errorf("sortBy=%s sortOrder=%s: got %v, want %v", by, order, got, want)
					}
					// A walk of pages of 2 continues by key and sees the same order.
					var walked []string
					for start := 1; start <= len(users); start += 2 {
						p := e.do("GET", "/Users?count=2&startIndex="+itoa(start)+"&sortBy="+urlq(by)+"&sortOrder="+order, "").want(t, http.StatusOK)
						if p.total() != len(users) {
							t.Fatalf("totalResults %d", p.total())
						}
						walked = append(walked, ids(p)...)
					}
					if !slices.Equal(walked, want) {
						t.Errorf("walk sortBy=%s sortOrder=%s: got %v, want %v", by, order, walked, want)
					}
				}
			}
			// With a filter, through .search.
			r := e.do("POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName ew \"x.test\" and not (userName sw \"e\")","sortBy":"displayName","sortOrder":"descending"}`).want(t, http.StatusOK)
			var rest []sortedUser
			for _, u := range users {
				if !strings.HasPrefix(u.userName, "e") {
					rest = append(rest, u)
				}
			}
			if got, want := ids(r), wantOrder(rest, keys["displayName"], true); !slices.Equal(got, want) {
				t.Errorf(".search sorted: got %v, want %v", got, want)
			}
			// A user created during a walk, sorting before the page reached,
			// neither shifts nor repeats the rest of the walk.
			first := e.do("GET", "/Users?count=2&startIndex=1&sortBy=userName", "").want(t, http.StatusOK)
			e.createUser("aaron@x.test")
			second := e.do("GET", "/Users?count=2&startIndex=3&sortBy=userName", "").want(t, http.StatusOK)
			want := wantOrder(users, keys["userName"], false)
			if got := append(ids(first), ids(second)...); !slices.Equal(got, want[:4]) {
				t.Errorf("walk across a create: got %v, want %v", got, want[:4])
			}

			g1, g2, g3 := e.createGroup("beta"), e.createGroup("Alpha"), e.createGroup("gamma")
			gr := e.do("GET", "/Groups?sortBy=displayName&sortOrder=descending", "").want(t, http.StatusOK)
			if got := ids(gr); !slices.Equal(got, []string{g3, g1, g2}) {
				t.Errorf("groups by displayName descending: %v", got)
			}
			for _, bad := range []string{
				"/Users?sortBy=password", "/Users?sortBy=emails.type", "/Users?sortBy=userName&sortOrder=up",
				"/Groups?sortBy=userName", "/Groups?sortBy=members",
			} {
				e.do("GET", bad, "").wantErr(t, http.StatusBadRequest, "invalidValue")
			}
			sp := e.do("GET", "/ServiceProviderConfig", "").want(t, http.StatusOK)
			if s, _ := sp.body["sort"].(map[string]any); s["supported"] != true {
				t.Errorf("sort.supported = %v", sp.body["sort"])
			}
		})
	}
}

// cursorlessStore is a Seeker that predates sorting: it sets no Cursor.
type cursorlessStore struct{ coreAndSCIM }

func (s cursorlessStore) SeekUsersSCIM(ctx context.Context, orgID, after string, q scim.Query) ([]*scim.User, error) {
	us, err := s.coreAndSCIM.SeekUsersSCIM(ctx, orgID, after, q)
	for _, u := range us {
		u.Cursor = ""
	}
	return us, err
}

// TestSortByUnsupportedSeeker: a store whose Seeker does not sort gets a
// client error for sortBy, never a list in the wrong order.
func TestSortByUnsupportedSeeker(t *testing.T) {
	t.Parallel()
	e := newEnvOn(t, cursorlessStore{newMem().(coreAndSCIM)})
	e.createUser("a@x.test")
	e.do("GET", "/Users?sortBy=userName", "").wantErr(t, http.StatusBadRequest, "invalidValue")
	e.do("GET", "/Users", "").want(t, http.StatusOK)
}
