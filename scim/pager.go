package scim

import (
	"context"
	"sync"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// The pager serves list pages for a Seeker store; "Pagination" in the
// package documentation states the contract. RFC 7644 §3.4.2.4 pages by
// index (startIndex, count), and Okta and Entra walk a list that way: 1,
// 101, 201, ... OFFSET would read and skip every resource before a deep
// page, and counting on every page would read them all again. Instead:
//
//   - Continuation: after a full page, and after any later page of a
//     walk, the pager remembers the page's last ID under the position the
//     next page starts at. A request for that position continues after the
//     ID (keyset), so page 1000 of a walk costs what page 1 does and,
//     unlike OFFSET, no resource is skipped or repeated when resources
//     before the position are created or deleted between pages.
//   - Marks: a deep page of a large list without a continuation seeks from
//     the nearest of the IDs at every mark-th position (read in the
//     counting pass) and skips fewer than a mark distance.
//   - Totals: a list with fewer than countCacheMin matches is counted on
//     every request. A larger one is counted once and reused for
//     Config.TotalCacheTTL, or until this Handler writes to the
//     organization.
//
// Views (one per organization, resource type and filter text) live in the
// process and are bounded in number and size.
const (
	// countCacheMin is the smallest total that is reused rather than
	// counted again on the next request.
	countCacheMin = 1000
	// DefaultTotalCacheTTL is Config.TotalCacheTTL's default.
	DefaultTotalCacheTTL = 10 * time.Second
	// cursorTTL bounds how long a continuation is remembered; it covers a
	// slow client's pause between pages, rate limiting included.
	cursorTTL = 10 * time.Minute
	// maxViews bounds the views one Handler keeps, maxEnds the
	// continuations of one view.
	maxViews = 256
	maxEnds  = 64
	// minMarkEvery is the smallest distance between marks; maxMarks caps
	// their number, so the distance grows with the total beyond
	// minMarkEvery*maxMarks matches.
	minMarkEvery = 128
	maxMarks     = 1024
	// genBuckets is the number of write generations: a write bumps the
	// bucket of its organization (a hash), so memory stays bounded however
	// many organizations write, and another organization's writes end the
	// reuse of a total only in one case out of genBuckets.
	genBuckets = 4096
)

type viewKey struct {
	org    string
	kind   ResourceKind
	filter string
	sort   SortAttr
	desc   bool
}

// view is what the pager knows about one list.
type view struct {
	total   int       // matches at counted, when countOK
	countOK bool      // total (and marks) may be reused
	counted time.Time // when total was read
	gen     uint64    // the organization's write generation before the count
	every   int       // distance between marks; 0 when there are none
	marks   []string  // marks[i] is the ID at position (i+1)*every
	ends    map[endKey]pageEnd
	used    time.Time
}

// endKey is where a client's next page starts: the number of resources
// before it. Continuations are kept per client (bearer token), so that
// walks of one list by different directories do not cross.
type endKey struct {
	client string
	pos    int
}

// pageEnd is the last resource of a served page, stored under the position
// of the resource after it.
type pageEnd struct {
	id string
	at time.Time
}

// pager keeps the views of one Handler. It is safe for concurrent use.
type pager struct {
	ttl time.Duration // negative: never reuse a total
	now func() time.Time
	// countMin and minEvery are countCacheMin and minMarkEvery (tests
	// lower them).
	countMin, minEvery int

	mu    sync.Mutex
	views map[viewKey]*view
	gens  [genBuckets]uint64
}

func newPager(ttl time.Duration, now func() time.Time) *pager {
	return &pager{ttl: ttl, now: now, countMin: countCacheMin, minEvery: minMarkEvery, views: map[viewKey]*view{}}
}

func genBucket(org string) int {
	h := uint32(2166136261)
	for i := 0; i < len(org); i++ {
		h = (h ^ uint32(org[i])) * 16777619
	}
	return int(h % genBuckets)
}

// changed records a write to a resource of org: totals counted before it
// are not reused.
func (p *pager) changed(org string) {
	p.mu.Lock()
	p.gens[genBucket(org)]++
	p.mu.Unlock()
}

// source is the store side of one resource type.
type source[T any] struct {
	kind  ResourceKind
	seek  func(ctx context.Context, orgID, after string, q Query) ([]T, error)
	count func(ctx context.Context, orgID string, filter Expr, every int) (int, []string, error)
	id    func(T) string
	// cursor is the position of a resource of a sorted page.
	cursor func(T) string
}

// plan is how one request reads its page.
type plan struct {
	total     int // -1: count first
	after     string
	skip      int
	continued bool
	gen       uint64
	every     int // count with marks this far apart
}

func (p *pager) markEvery(total int) int {
	return max(p.minEvery, (total+maxMarks-1)/maxMarks)
}

// servePage returns the page q selects among the resources of orgID that
// match q.Filter (whose text is filter) and their total number, for the
// client (a SCIM token ID).
func servePage[T any](ctx context.Context, p *pager, src source[T], orgID, filter, client string, q Query) ([]T, int, error) {
	key := viewKey{org: orgID, kind: src.kind, filter: filter, sort: q.Sort, desc: q.Descending}
	skip := max(q.StartIndex, 1) - 1
	pl := p.plan(key, client, skip, q.Count)
	pos := src.id
	if q.Sort != "" {
		// Marks are IDs in ID order: a sorted list continues from a
		// page's cursor only.
		pl.every, pos = 0, src.cursor
	}
	if pl.total < 0 {
		total, marks, err := src.count(ctx, orgID, q.Filter, pl.every)
		if err != nil {
			return nil, 0, err
		}
		pl.total = total
		every := pl.every
		marks, every = thin(marks, every)
		if every > 0 && !pl.continued && total >= p.countMin {
			pl.after, pl.skip = seekMark(marks, every, skip)
		}
		p.counted(key, total, pl.gen, every, marks)
	}
	if q.Count <= 0 || (skip >= pl.total && !pl.continued) {
		return nil, pl.total, nil
	}
	items, err := src.seek(ctx, orgID, pl.after, Query{Filter: q.Filter, StartIndex: pl.skip + 1, Count: q.Count, Sort: q.Sort, Descending: q.Descending})
	if err != nil {
		return nil, 0, err
	}
	if n := len(items); q.Sort != "" && n > 0 && pos(items[n-1]) == "" {
		// A Seeker written before sorting existed returns ID order.
		return nil, 0, invalidValue("sortBy is not supported by this service provider's store")
	}
	// Remember where the next page starts: after a full page, or after
	// any page of a walk under way (one that has reached its end may
	// grow). A lookup that fits one page leaves nothing behind.
	if n := len(items); n > 0 && (n == q.Count || skip > 0) {
		p.ended(key, endKey{client: client, pos: skip + n}, pos(items[n-1]))
	}
	return items, pl.total, nil
}

// plan decides, under the lock, where a page that starts after skip
// resources is read from and whether a total is at hand.
func (p *pager) plan(key viewKey, client string, skip, count int) plan {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	gen := p.gens[genBucket(key.org)]
	pl := plan{total: -1, skip: skip, gen: gen}
	v := p.views[key]
	if v == nil {
		if count > 0 && skip >= p.minEvery {
			pl.every = p.minEvery
		}
		return pl
	}
	v.used = now
	if skip > 0 {
		if e, ok := v.ends[endKey{client: client, pos: skip}]; ok && now.Sub(e.at) < cursorTTL {
			pl.after, pl.skip, pl.continued = e.id, 0, true
		}
	}
	fresh := v.countOK && v.gen == gen && p.ttl >= 0 && now.Sub(v.counted) < p.ttl && v.total >= p.countMin
	if fresh {
		pl.total = v.total
	}
	if pl.continued || count <= 0 || skip < p.minEvery || key.sort != "" {
		return pl
	}
	// A deep page without a continuation: seek from a mark when the list
	// is large (a small one is cheap to skip through).
	switch {
	case fresh && v.every > 0:
		pl.after, pl.skip = seekMark(v.marks, v.every, skip)
	case fresh, v.total >= p.countMin:
		pl.total = -1
		pl.every = p.markEvery(v.total)
	}
	return pl
}

// seekMark returns where a page after skip matches starts: after the last
// mark before it, skipping the rest.
func seekMark(marks []string, every, skip int) (after string, rest int) {
	j := min(skip/every, len(marks))
	if j == 0 {
		return "", skip
	}
	return marks[j-1], skip - j*every
}

// counted stores a total read by a request that planned with gen.
func (p *pager) counted(key viewKey, total int, gen uint64, every int, marks []string) {
	if total < p.countMin {
		// Small lists are counted every time; keep only a view that
		// already holds continuations.
		p.mu.Lock()
		if v := p.views[key]; v != nil {
			v.countOK, v.total, v.every, v.marks = false, total, 0, nil
		}
		p.mu.Unlock()
		return
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.view(key, now)
	if every == 0 {
		marks = nil
	}
	v.total, v.countOK, v.counted, v.gen, v.every, v.marks = total, true, now, gen, every, marks
}

// thin keeps at most maxMarks marks, dropping all but every m-th.
func thin(marks []string, every int) ([]string, int) {
	if len(marks) <= maxMarks {
		return marks, every
	}
	m := (len(marks) + maxMarks - 1) / maxMarks
	out := make([]string, 0, len(marks)/m)
	for i := m - 1; i < len(marks); i += m {
		out = append(out, marks[i])
	}
	return out, every * m
}

// ended remembers that the page of a client that starts at pos follows
// id.
func (p *pager) ended(key viewKey, pos endKey, id string) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.view(key, now)
	if v.ends == nil {
		v.ends = map[endKey]pageEnd{}
	}
	if _, ok := v.ends[pos]; !ok && len(v.ends) >= maxEnds {
		var oldest endKey
		at, first := now, true
		for k, e := range v.ends {
			if first || e.at.Before(at) {
				oldest, at, first = k, e.at, false
			}
		}
		delete(v.ends, oldest)
	}
	v.ends[pos] = pageEnd{id: id, at: now}
}

// view returns the view of key, making room for it when it is new. It
// needs p.mu held.
func (p *pager) view(key viewKey, now time.Time) *view {
	v := p.views[key]
	if v != nil {
		v.used = now
		return v
	}
	if len(p.views) >= maxViews {
		var lru viewKey
		var at time.Time
		first := true
		for k, x := range p.views {
			if now.Sub(x.used) >= cursorTTL {
				delete(p.views, k)
				continue
			}
			if first || x.used.Before(at) {
				lru, at, first = k, x.used, false
			}
		}
		if len(p.views) >= maxViews {
			delete(p.views, lru)
		}
	}
	v = &view{used: now}
	p.views[key] = v
	return v
}

// notingStore tells the pager about every write the Handler makes.
type notingStore struct {
	Store
	pages *pager
}

func (s notingStore) CreateUserSCIM(ctx context.Context, u *sso.User, m *sso.Membership, r *User) error {
	defer s.pages.changed(r.OrgID)
	return s.Store.CreateUserSCIM(ctx, u, m, r)
}

func (s notingStore) AdoptUserSCIM(ctx context.Context, u *sso.User, m *sso.Membership, r *User) error {
	defer s.pages.changed(r.OrgID)
	return s.Store.AdoptUserSCIM(ctx, u, m, r)
}

func (s notingStore) UpdateUserSCIM(ctx context.Context, r *User, prevVersion int64, u *sso.User, m *sso.Membership) error {
	defer s.pages.changed(r.OrgID)
	return s.Store.UpdateUserSCIM(ctx, r, prevVersion, u, m)
}

func (s notingStore) CreateGroupSCIM(ctx context.Context, g *Group, members []string) error {
	defer s.pages.changed(g.OrgID)
	return s.Store.CreateGroupSCIM(ctx, g, members)
}

func (s notingStore) UpdateGroupSCIM(ctx context.Context, g *Group, prevVersion int64, ops []MemberOp) ([]string, error) {
	defer s.pages.changed(g.OrgID)
	return s.Store.UpdateGroupSCIM(ctx, g, prevVersion, ops)
}

func (s notingStore) DeleteGroupSCIM(ctx context.Context, orgID, id string, prevVersion int64) ([]string, error) {
	defer s.pages.changed(orgID)
	return s.Store.DeleteGroupSCIM(ctx, orgID, id, prevVersion)
}

// client names the requester for continuations: its SCIM token.
func client(ctx context.Context) string {
	if rc, ok := ctx.Value(reqKey{}).(*reqCtx); ok && rc.token != nil {
		return rc.token.ID
	}
	return ""
}
