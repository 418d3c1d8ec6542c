package scim_test

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/scim"
)

// fakeClock is a settable Config.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func ids(r *resp) []string {
	var out []string
	for _, x := range r.resources() {
		out = append(out, x["id"].(string))
	}
	return out
}

func num(r *resp, name string) int {
	n, _ := r.body[name].(interface{ Int64() (int64, error) })
	if n == nil {
		return -1
	}
	v, _ := n.Int64()
	return int(v)
}

// TestPagingStableUnderChanges walks the users page by page, as Okta and
// Entra do (startIndex = previous startIndex + itemsPerPage), while users
// before and after the walk's position are deleted and created between
// pages: every user that exists throughout appears exactly once, no user
// appears twice, a user deleted before the walk reached it never appears,
// and totalResults is the current number of matches.
func TestPagingStableUnderChanges(t *testing.T) {
	for _, tc := range []struct{ name, filter string }{{"all", ""}, {"filter", `userName sw "walk"`}} {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, e *env) {
				var all []string
				for i := 0; i < 40; i++ {
					all = append(all, e.createUser(fmt.Sprintf("walk%02d@acme.test", i)))
					if tc.filter != "" && i%3 == 0 {
						e.createUser(fmt.Sprintf("other%02d@acme.test", i)) // never matches
					}
				}
				param := ""
				if tc.filter != "" {
					param = "&filter=" + urlq(tc.filter)
				}
				live := len(all)
				seen := map[string]int{}
				deleted := map[string]bool{} // deleted before the walk saw them
				changed := map[string]bool{} // deleted after being seen, or created during the walk
				start := 1
				for page := 0; ; page++ {
					if page > 40 {
						t.Fatal("the walk does not end")
					}
					r := e.do("GET", fmt.Sprintf("/Users?startIndex=%d&count=7%s", start, param), "").want(t, http.StatusOK)
					if got := r.total(); got != live {
						t.Fatalf("page %d: totalResults %d, want %d", page, got, live)
					}
					got := ids(r)
					if num(r, "itemsPerPage") != len(got) || num(r, "startIndex") != start {
						t.Fatalf("page header: %s", r.raw)
					}
					if len(got) == 0 {
						break
					}
					for _, id := range got {
						seen[id]++
					}
					start += len(got)
					// Between pages: delete a user already seen and one not
					// seen yet, and create one.
					for _, id := range all {
						if seen[id] > 0 && !changed[id] {
							e.do("DELETE", "/Users/"+id, "").want(t, http.StatusNoContent)
							changed[id] = true
							live--
							break
						}
					}
					for i := len(all) - 1; i >= 0; i-- {
						if id := all[i]; seen[id] == 0 && !deleted[id] {
							e.do("DELETE", "/Users/"+id, "").want(t, http.StatusNoContent)
							deleted[id] = true
							live--
							break
						}
					}
					changed[e.createUser(fmt.Sprintf("walk-added-%02d@acme.test", page))] = true
					live++
				}
				for id, n := range seen {
					if n != 1 {
						t.Errorf("%s seen %d times", id, n)
					}
				}
				for _, id := range all {
					switch {
					case deleted[id] && seen[id] != 0:
						t.Errorf("%s was deleted before the walk reached it, and still listed", id)
					case !deleted[id] && !changed[id] && seen[id] != 1:
						t.Errorf("%s, present throughout, seen %d times", id, seen[id])
					}
				}
			})
		})
	}
}

// TestPagingEdges: startIndex beyond the end, count=0, filter with paging
// and the SearchRequest form.
func TestPagingEdges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		for i := 0; i < 9; i++ {
			e.createUser(fmt.Sprintf("edge%d@acme.test", i))
		}
		e.createUser("lonely@other.test")
		for _, c := range []struct {
			path         string
			total, items int
		}{
			{"/Users?startIndex=11&count=5", 10, 0},
			{"/Users?startIndex=2147483648&count=5", 10, 0},
			{"/Users?startIndex=10&count=5", 10, 1},
			{"/Users?count=0", 10, 0},
			{"/Users?startIndex=4&count=0", 10, 0},
			{"/Users?count=0&filter=" + urlq(`userName ew "acme.test"`), 9, 0},
			{"/Users?startIndex=8&count=5&filter=" + urlq(`userName ew "acme.test"`), 9, 2},
			{"/Users?startIndex=10&count=5&filter=" + urlq(`userName ew "acme.test"`), 9, 0},
			{"/Users?filter=" + urlq(`userName eq "nobody@acme.test"`), 0, 0},
			{"/Groups?startIndex=3", 0, 0},
		} {
			r := e.do("GET", c.path, "").want(t, http.StatusOK)
			if r.total() != c.total || len(r.resources()) != c.items || num(r, "itemsPerPage") != c.items {
				t.Errorf("%s: total %d, %d resources, itemsPerPage %d; want %d, %d", c.path, r.total(), len(r.resources()), num(r, "itemsPerPage"), c.total, c.items)
			}
			if list, ok := r.body["Resources"].([]any); !ok || list == nil {
				t.Errorf("%s: Resources is not an array: %s", c.path, r.raw)
			}
		}
		// GET and POST .search walk the same pages.
		var viaGet, viaSearch []string
		for start := 1; start <= 9; start += 4 {
			viaGet = append(viaGet, ids(e.do("GET", fmt.Sprintf("/Users?startIndex=%d&count=4&filter=%s", start, urlq(`userName ew "acme.test"`)), "").want(t, http.StatusOK))...)
			viaSearch = append(viaSearch, ids(e.do("POST", "/Users/.search", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName ew \"acme.test\"","startIndex":%d,"count":4}`, start)).want(t, http.StatusOK))...)
		}
		if len(viaGet) != 9 || !slices.Equal(viaGet, viaSearch) {
			t.Errorf("GET pages %v, .search pages %v", viaGet, viaSearch)
		}
	})
}

// eachBackend runs fn on a fresh env per backend whose handler reads a
// clock of its own and has lowered pager limits: 10 matches make a list
// large, and marks are 4 apart.
func eachBackend(t *testing.T, fn func(t *testing.T, e *env, clock *fakeClock), opts ...envOpt) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			clock := &fakeClock{t: time.Now().UTC()}
			e := newEnvOn(t, b.open(t), append([]envOpt{func(c *scim.Config) { c.Now = clock.now }}, opts...)...)
			scim.SetPagerLimits(e.h, 10, 4)
			fn(t, e, clock)
		})
	}
}

// TestPagingLargeLists runs the paths of large lists (totals reused, deep
// pages seeking from marks) with lowered limits: 10 matches make a list
// large, and marks are 4 apart.
func TestPagingLargeLists(t *testing.T) {
	t.Run("pages", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, e *env, _ *fakeClock) {
			const n = 30
			for i := 0; i < n; i++ {
				e.createUser(fmt.Sprintf("big%02d@acme.test", i))
			}
			for i := 0; i < 12; i++ {
				e.createGroup(fmt.Sprintf("G%02d", i))
			}
			ref := ids(e.do("GET", "/Users?count=100", "").want(t, http.StatusOK))
			if len(ref) != n || !sort.StringsAreSorted(ref) {
				t.Fatalf("reference order: %v", ref)
			}
			check := func(e *env, label string) {
				t.Helper()
				for _, count := range []int{1, 3, 7} {
					for start := n + 1; start >= 1; start -= 2 {
						r := e.do("GET", fmt.Sprintf("/Users?startIndex=%d&count=%d", start, count), "").want(t, http.StatusOK)
						want := ref[min(start-1, n):min(start-1+count, n)]
						if got := ids(r); len(got)+len(want) > 0 && !slices.Equal(got, want) || r.total() != n {
							t.Fatalf("%s: startIndex %d count %d: got %v (total %d), want %v", label, start, count, got, r.total(), want)
						}
					}
				}
				// Groups page the same way.
				var walked []string
				for start := 1; start <= 12; start += 5 {
					walked = append(walked, ids(e.do("GET", fmt.Sprintf("/Groups?startIndex=%d&count=5", start), "").want(t, http.StatusOK))...)
				}
				if len(walked) != 12 || !sort.StringsAreSorted(walked) {
					t.Fatalf("%s: groups %v", label, walked)
				}
			}
			check(e, "first handler")
			// Another replica has no continuations and builds its own marks.
			r := e.replica()
			scim.SetPagerLimits(r.h, 10, 4)
			check(r, "replica")
		})
	})

	t.Run("totals", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, e *env, clock *fakeClock) {
			for i := 0; i < 12; i++ {
				e.createUser(fmt.Sprintf("t%02d@acme.test", i))
			}
			total := func() int { return e.do("GET", "/Users?count=1", "").want(t, http.StatusOK).total() }
			if got := total(); got != 12 {
				t.Fatalf("total %d, want 12", got)
			}
			// A write elsewhere (another replica, or the store directly)
			// shows once the total is older than TotalCacheTTL.
			e.seedUser("user_direct1", map[string]any{"userName": "direct1@acme.test"})
			if got := total(); got != 12 {
				t.Fatalf("total %d right after a write elsewhere, want the reused 12", got)
			}
			clock.add(scim.DefaultTotalCacheTTL + time.Second)
			if got := total(); got != 13 {
				t.Fatalf("total %d after TotalCacheTTL, want 13", got)
			}
			// A write through this Handler shows at once.
			e.createUser("local@acme.test")
			if got := total(); got != 14 {
				t.Fatalf("total %d after a write here, want 14", got)
			}
			// A filter has a total of its own; a small one is exact at once.
			f := "/Users?count=0&filter=" + urlq(`userName sw "t0"`)
			if got := e.do("GET", f, "").want(t, http.StatusOK).total(); got != 10 {
				t.Fatalf("filtered total %d, want 10", got)
			}
			e.seedUser("user_direct2", map[string]any{"userName": "direct2@acme.test"})
			if got := e.do("GET", "/Users?count=0&filter="+urlq(`userName sw "direct"`), "").want(t, http.StatusOK).total(); got != 2 {
				t.Fatalf("small filtered total %d, want 2", got)
			}
		})
	})
	t.Run("totals-uncached", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, e *env, clock *fakeClock) {
			for i := 0; i < 12; i++ {
				e.createUser(fmt.Sprintf("t%02d@acme.test", i))
			}
			e.do("GET", "/Users?count=1", "").want(t, http.StatusOK)
			e.seedUser("user_direct1", map[string]any{"userName": "direct1@acme.test"})
			if got := e.do("GET", "/Users?count=1", "").want(t, http.StatusOK).total(); got != 13 {
				t.Fatalf("total %d with TotalCacheTTL < 0, want 13", got)
			}
		}, func(c *scim.Config) { c.TotalCacheTTL = -1 })
	})
}
