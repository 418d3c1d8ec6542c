// Package memscim implements scim.Store and scim.RateStore in memory, on
// the state of a memstore.Store, for tests, demos and single-process
// development. A SCIM user is written with its core user and membership
// under the Store's one lock.
//
//	ms := memstore.New()
//	h, err := scim.New(scim.Config{Store: memscim.New(ms), Core: ms, ...})
package memscim

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

var (
	_ scim.Store     = (*Store)(nil)
	_ scim.Seeker    = (*Store)(nil)
	_ scim.RateStore = (*Store)(nil)
)

// Store is the SCIM store on a memstore.Store: it shares the Store's
// lock and core records, and every Store that New returns for one memstore.Store
// sees the same records. It is safe for concurrent use.
type Store struct {
	mu     *sync.Mutex
	core   memstate.Core
	scim   *scimData
	status *statusData
	ms     *memstore.Store
}

// New returns the SCIM store on ms.
func New(ms *memstore.Store) *Store {
	st := memstate.Of(ms)
	return &Store{mu: &st.Mu, core: st.Core, scim: memstate.Data[scimData](st), status: memstate.Data[statusData](st), ms: ms}
}

// scimData holds the scim records. Stored users carry their attributes
// encoded (AttributesJSON) next to the map, so that pages are rendered
// without encoding them again.
type scimData struct {
	users      map[string]map[string]*scim.User      // org -> user ID -> user
	userNames  map[string]map[string]string          // org -> live userName key -> user ID
	userOrder  map[string]*idOrder                   // org -> user IDs (deleted ones too)
	liveUsers  map[string]int                        // org -> number of live users
	groups     map[string]map[string]*scim.Group     // org -> group ID -> group
	groupOrder map[string]*idOrder                   // org -> group IDs
	members    map[string]map[string]map[string]bool // org -> group ID -> user IDs
	userGroups map[string]map[string]map[string]bool // org -> user ID -> group IDs
	rates      map[string]rateWindow
}

type rateWindow struct {
	start time.Time
	n     int64
}

func (d *scimData) init() {
	if d.users != nil {
		return
	}
	d.users = map[string]map[string]*scim.User{}
	d.userNames = map[string]map[string]string{}
	d.userOrder = map[string]*idOrder{}
	d.liveUsers = map[string]int{}
	d.groups = map[string]map[string]*scim.Group{}
	d.groupOrder = map[string]*idOrder{}
	d.members = map[string]map[string]map[string]bool{}
	d.userGroups = map[string]map[string]map[string]bool{}
	d.rates = map[string]rateWindow{}
}

// lockSCIM takes the store lock and returns the core and scim records.
func (s *Store) lockSCIM() (memstate.Core, *scimData) {
	s.mu.Lock()
	s.scim.init()
	return s.core, s.scim
}

func inner[V any](m map[string]map[string]V, k string) map[string]V {
	x := m[k]
	if x == nil {
		x = map[string]V{}
		m[k] = x
	}
	return x
}

// checkNewUser fails with a conflict when r's ID or live userName is taken
// in its organization.
func (d *scimData) checkNewUser(r *scim.User) error {
	if _, ok := d.users[r.OrgID][r.ID]; ok {
		return memstate.Conflict("scim user", r.ID)
	}
	if _, ok := d.userNames[r.OrgID][r.UserNameKey()]; ok {
		return memstate.Conflict("scim userName", r.UserName)
	}
	return nil
}

// stored returns the copy of r to store, with its attributes encoded.
func stored(r *scim.User) (*scim.User, error) {
	doc, err := json.Marshal(r.Attributes)
	if err != nil {
		return nil, fmt.Errorf("memstore: scim user %q: %w", r.ID, err)
	}
	c := scim.CloneUser(r)
	c.AttributesJSON = doc
	return c, nil
}

// putUser stores c, the stored form of a new user, and indexes it.
func (d *scimData) putUser(c *scim.User) {
	inner(d.users, c.OrgID)[c.ID] = c
	inner(d.userNames, c.OrgID)[c.UserNameKey()] = c.ID
	order(d.userOrder, c.OrgID).add(c.ID)
	if !c.Deleted {
		d.liveUsers[c.OrgID]++
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// IncrementSCIMRate implements scim.RateStore.
func (s *Store) IncrementSCIMRate(ctx context.Context, key string, window time.Time) (int64, error) {
	_, d := s.lockSCIM()
	defer s.mu.Unlock()
	w := d.rates[key]
	if !w.start.Equal(window) {
		if window.Before(w.start) {
			return w.n, nil
		}
		w = rateWindow{start: window}
	}
	w.n++
	d.rates[key] = w
	return w.n, nil
}
