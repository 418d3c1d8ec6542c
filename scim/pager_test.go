package scim

import (
	"fmt"
	"testing"
	"time"
)

func TestThinMarks(t *testing.T) {
	var marks []string
	for i := 1; i <= 3000; i++ {
		marks = append(marks, fmt.Sprintf("id%05d", i*128)) // the ID at position i*128
	}
	got, every := thin(marks, 128)
	if len(got) > maxMarks || every != 3*128 {
		t.Fatalf("%d marks every %d", len(got), every)
	}
	for i, m := range got {
		if want := fmt.Sprintf("id%05d", (i+1)*every); m != want {
			t.Fatalf("mark %d = %s, want %s", i, m, want)
		}
	}
	if after, rest := seekMark(got, every, 1000); after != got[1] || rest != 1000-2*every {
		t.Fatalf("seekMark: %s %d", after, rest)
	}
	if after, rest := seekMark(got, every, 100); after != "" || rest != 100 {
		t.Fatalf("seekMark before the first mark: %q %d", after, rest)
	}
}

func TestPagerBounds(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newPager(time.Minute, func() time.Time { return now })
	for i := 0; i < 3*maxViews; i++ {
		now = now.Add(time.Millisecond)
		p.ended(viewKey{org: "o", kind: KindUser, filter: fmt.Sprint(i)}, endKey{pos: 100}, "x")
	}
	if len(p.views) > maxViews {
		t.Fatalf("%d views", len(p.views))
	}
	key := viewKey{org: "o", kind: KindUser}
	for i := 0; i < 3*maxEnds; i++ {
		now = now.Add(time.Millisecond)
		p.ended(key, endKey{client: "c", pos: i}, "x")
	}
	if n := len(p.views[key].ends); n > maxEnds {
		t.Fatalf("%d continuations", n)
	}
	// The newest continuations are kept.
	if pl := p.plan(key, "c", 3*maxEnds-1, 10); !pl.continued {
		t.Fatal("the newest continuation was dropped")
	}
	if pl := p.plan(key, "other", 3*maxEnds-1, 10); pl.continued {
		t.Fatal("a continuation crossed to another client")
	}
}

func TestPagerTotals(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newPager(10*time.Second, func() time.Time { return now })
	key := viewKey{org: "o", kind: KindUser}
	pl := p.plan(key, "", 0, 10)
	if pl.total != -1 {
		t.Fatalf("a total before any count: %+v", pl)
	}
	p.counted(key, 5000, pl.gen, 0, nil)
	if pl := p.plan(key, "", 0, 10); pl.total != 5000 {
		t.Fatalf("total not reused: %+v", pl)
	}
	// A write to another organization (another bucket) keeps it, one to
	// this organization ends it.
	other := "p"
	for genBucket(other) == genBucket("o") {
		other += "p"
	}
	p.changed(other)
	if pl := p.plan(key, "", 0, 10); pl.total != 5000 {
		t.Fatalf("total dropped by another organization's write: %+v", pl)
	}
	p.changed("o")
	pl = p.plan(key, "", 0, 10)
	if pl.total != -1 {
		t.Fatalf("total reused after a write: %+v", pl)
	}
	// A count that started before a write does not count as fresh.
	p.changed("o")
	p.counted(key, 5001, pl.gen, 0, nil)
	if pl := p.plan(key, "", 0, 10); pl.total != -1 {
		t.Fatalf("a count older than a write reused: %+v", pl)
	}
	pl = p.plan(key, "", 0, 10)
	p.counted(key, 5002, pl.gen, 0, nil)
	now = now.Add(10 * time.Second)
	if pl := p.plan(key, "", 0, 10); pl.total != -1 {
		t.Fatalf("total reused after the TTL: %+v", pl)
	}
	// Small totals are never reused; a deep page of a large list asks for
	// marks.
	pl = p.plan(key, "", 0, 10)
	p.counted(key, 999, pl.gen, 0, nil)
	if pl := p.plan(key, "", 0, 10); pl.total != -1 {
		t.Fatalf("small total reused: %+v", pl)
	}
	pl = p.plan(key, "", 0, 10)
	p.counted(key, 200000, pl.gen, 0, nil)
	if pl := p.plan(key, "", 150000, 10); pl.total != -1 || pl.every != p.markEvery(200000) {
		t.Fatalf("deep page without marks: %+v", pl)
	}
	p.counted(key, 200000, pl.gen, 1000, []string{"a", "b", "c"})
	if pl := p.plan(key, "", 2500, 10); pl.total != 200000 || pl.after != "b" || pl.skip != 500 {
		t.Fatalf("deep page with marks: %+v", pl)
	}
}
