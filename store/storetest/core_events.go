package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/scimtoken"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/domains"
)

// The EventStore contract lets a store seal an event into its chain inside
// AppendEvent (memstore) or later, in a batch (sqlstore): the suite checks
// chains through ListEvents, which lists sealed events only and must list
// every event appended before it was called, and accepts an appended event
// either sealed as listed or not sealed at all.

// unchained returns copies of evs without the fields sealing sets (Seq,
// PrevHash, Hash), to compare what was appended with what is listed.
func unchained(evs []*sso.Event) []*sso.Event {
	out := make([]*sso.Event, len(evs))
	for i, e := range evs {
		c := *e
		c.Seq, c.PrevHash, c.Hash = 0, "", ""
		out[i] = &c
	}
	return out
}

// sameEvents checks that got (listed) are the appended events want, and
// that each of want is either unsealed (the store seals later) or sealed
// exactly as listed (the store sealed in AppendEvent).
func sameEvents(t *testing.T, what string, got, want []*sso.Event) {
	t.Helper()
	equal(t, what, unchained(got), unchained(want))
	for i, w := range want {
		if i >= len(got) {
			break
		}
		sealedAtAppend := w.Hash != ""
		if !sealedAtAppend && (w.Seq != 0 || w.PrevHash != "") {
			t.Errorf("%s: appended event %s has Seq %d and PrevHash %q but no Hash: half sealed", what, w.ID, w.Seq, w.PrevHash)
		}
		if sealedAtAppend && (w.Seq != got[i].Seq || w.PrevHash != got[i].PrevHash || w.Hash != got[i].Hash) {
			t.Errorf("%s: AppendEvent sealed %s as seq %d hash %s, but it is listed as seq %d hash %s",
				what, w.ID, w.Seq, w.Hash, got[i].Seq, got[i].Hash)
		}
	}
}

// sealer returns s as an audit.EventSealer when it seals in batches.
func sealer(s any) (audit.EventSealer, bool) {
	es, ok := s.(audit.EventSealer)
	return es, ok
}

func runEvent(t *testing.T, newStores newStoresFunc) {
	// appendN appends n events to org's chain, one minute apart.
	appendN := func(t *testing.T, ctx context.Context, s sso.EventStore, org string, n int) []*sso.Event {
		t.Helper()
		var out []*sso.Event
		for i := range n {
			e := newEvent(opaque.NewID(org+"_ev_"), org, sso.EventLoginSucceeded, at(time.Duration(i)*time.Minute))
			ok(t, s.AppendEvent(ctx, e))
			out = append(out, e)
		}
		return out
	}
	list := func(t *testing.T, ctx context.Context, s sso.EventStore, org string) []*sso.Event {
		t.Helper()
		got, err := s.ListEvents(ctx, sso.EventQuery{OrgID: org, Limit: 1000})
		ok(t, err)
		return got
	}
	runCases(t, newStores, func(s Stores) sso.EventStore { return s.Core }, []testCase[sso.EventStore]{
		{"Chain", func(t *testing.T, ctx context.Context, s sso.EventStore) {
			want := appendN(t, ctx, s, "org_1", 3)
			got, err := s.ListEvents(ctx, sso.EventQuery{OrgID: "org_1"})
			ok(t, err)
			sameEvents(t, "ListEvents", got, want)
			for i, e := range got {
				if e.Seq != int64(i+1) {
					t.Errorf("event %d: Seq = %d, want %d", i, e.Seq, i+1)
				}
				if e.Hash == "" || e.Hash != e.ComputeHash() {
					t.Errorf("event %d: Hash %q not set to ComputeHash", i, e.Hash)
				}
				if i > 0 && e.PrevHash != got[i-1].Hash {
					t.Errorf("event %d: PrevHash %q, want %q", i, e.PrevHash, got[i-1].Hash)
				}
			}
			if len(got) > 0 && got[0].PrevHash != "" {
				t.Errorf("first event PrevHash = %q, want empty", got[0].PrevHash)
			}
			if err := audit.VerifyChain(got); err != nil {
				t.Errorf("VerifyChain: %v", err)
			}
			if len(got) > 0 && (got[0].Time.Nanosecond()%1000 != 0 || got[0].Details["a"] != "1") {
				t.Errorf("stored event: time %v, details %v", got[0].Time, got[0].Details)
			}
		}},
		{"SealedWhenListed", func(t *testing.T, ctx context.Context, s sso.EventStore) {
			// Each list seals what was appended before it; later appends
			// extend the chain and never change an earlier seal.
			first := appendN(t, ctx, s, "org_1", 3)
			sealed := list(t, ctx, s, "org_1")
			sameEvents(t, "after 3 appends", sealed, first)
			more := appendN(t, ctx, s, "org_1", 2)
			got := list(t, ctx, s, "org_1")
			sameEvents(t, "after 5 appends", got, append(first, more...))
			if len(got) == 5 {
				equal(t, "earlier seals", got[:3], sealed)
			}
			if err := audit.VerifyChain(got); err != nil {
				t.Errorf("VerifyChain: %v", err)
			}
		}},
		{"SealEvents", func(t *testing.T, ctx context.Context, s sso.EventStore) {
			es, isSealer := sealer(s)
			if !isSealer {
				t.Skip("the store seals in AppendEvent")
			}
			a := appendN(t, ctx, s, "org_1", 3)
			b := appendN(t, ctx, s, "org_2", 2)
			n, err := es.SealEvents(ctx)
			ok(t, err)
			if n != 5 {
				t.Errorf("SealEvents sealed %d events, want 5", n)
			}
			n, err = es.SealEvents(ctx)
			ok(t, err)
			if n != 0 {
				t.Errorf("second SealEvents sealed %d events, want 0", n)
			}
			for org, want := range map[string][]*sso.Event{"org_1": a, "org_2": b} {
				got := list(t, ctx, s, org)
				sameEvents(t, org, got, want)
				if err := audit.VerifyChain(got); err != nil {
					t.Errorf("%s: VerifyChain: %v", org, err)
				}
			}
		}},
		{"ChainsPerOrg", func(t *testing.T, ctx context.Context, s sso.EventStore) {
			appendN(t, ctx, s, "org_1", 2)
			appendN(t, ctx, s, "org_2", 2)
			appendN(t, ctx, s, "org_1", 1)
			for _, org := range []string{"org_1", "org_2"} {
				got := list(t, ctx, s, org)
				if err := audit.VerifyChain(got); err != nil {
					t.Errorf("%s: VerifyChain: %v", org, err)
				}
				for _, e := range got {
					if e.OrgID != org {
						t.Errorf("ListEvents(%s) returned an event of %q", org, e.OrgID)
					}
				}
			}
			if got := list(t, ctx, s, "org_1"); len(got) != 3 {
				t.Errorf("org_1 has %d events, want 3", len(got))
			}
			if got := list(t, ctx, s, "org_2"); len(got) == 0 || got[0].Seq != 1 || got[0].PrevHash != "" {
				t.Errorf("org_2 chain does not start at seq 1 with an empty PrevHash: %+v", got)
			}
			// Events without an organization (operator actions) form their own chain.
			sys := newEvent("sys_1", "", sso.EventCertificateExpiring, at(0))
			ok(t, s.AppendEvent(ctx, sys))
			got := list(t, ctx, s, "")
			if len(got) != 1 || got[0].Seq != 1 || got[0].ID != "sys_1" {
				t.Errorf("global chain: got %d events, want sys_1 at seq 1", len(got))
			}
		}},
		{"TamperDetected", func(t *testing.T, ctx context.Context, s sso.EventStore) {
			appendN(t, ctx, s, "org_1", 4)
			list := func() []*sso.Event {
				got, err := s.ListEvents(ctx, sso.EventQuery{OrgID: "org_1"})
				ok(t, err)
				if len(got) != 4 {
					t.Fatalf("got %d events, want 4", len(got))
				}
				return got
			}
			var ce *audit.ChainError
			edits := map[string]func(es []*sso.Event) []*sso.Event{
				"reason":  func(es []*sso.Event) []*sso.Event { es[1].Reason = "edited"; return es },
				"detail":  func(es []*sso.Event) []*sso.Event { es[1].Details["a"] = "edited"; return es },
				"actor":   func(es []*sso.Event) []*sso.Event { es[1].Actor.ID = "someone-else"; return es },
				"time":    func(es []*sso.Event) []*sso.Event { es[1].Time = es[1].Time.Add(time.Second); return es },
				"removed": func(es []*sso.Event) []*sso.Event { return append(es[:1], es[2:]...) },
				"rehashed": func(es []*sso.Event) []*sso.Event {
					es[1].Outcome = sso.OutcomeFailure
					es[1].Hash = es[1].ComputeHash()
					return es
				},
			}
			for name, edit := range edits {
				want := int64(2)
				if name == "rehashed" {
					want = 3 // the next event's PrevHash no longer matches
				}
				err := audit.VerifyChain(edit(list()))
				if !errors.As(err, &ce) || ce.Seq != want {
					t.Errorf("%s: VerifyChain = %v, want a *ChainError at seq %d", name, err, want)
				}
			}
			if err := audit.VerifyChain(list()); err != nil {
				t.Errorf("stored chain was changed by editing listed copies: %v", err)
			}
		}},
		{"DuplicateID", func(t *testing.T, ctx context.Context, s sso.EventStore) {
			want := appendN(t, ctx, s, "org_1", 2)
			dup := newEvent(want[0].ID, "org_1", sso.EventLoginFailed, at(time.Hour))
			is(t, "duplicate event ID", s.AppendEvent(ctx, dup), sso.ErrConflict)
			got := list(t, ctx, s, "org_1")
			sameEvents(t, "chain after refused append", got, want)
			e := newEvent("ev_3", "org_1", sso.EventLoginFailed, at(time.Hour))
			ok(t, s.AppendEvent(ctx, e))
			got = list(t, ctx, s, "org_1")
			if len(got) != 3 || got[2].ID != "ev_3" || got[2].Seq != 3 {
				t.Errorf("after the refused append, ev_3 is not listed at seq 3: %d events", len(got))
			}
			if err := audit.VerifyChain(got); err != nil {
				t.Errorf("VerifyChain: %v", err)
			}
		}},
		{"InvalidInput", func(t *testing.T, ctx context.Context, s sso.EventStore) {
			appendN(t, ctx, s, "org_1", 1)
			for name, e := range map[string]*sso.Event{
				"empty ID":     newEvent("", "org_1", sso.EventLoginFailed, at(0)),
				"empty type":   newEvent("e2", "org_1", "", at(0)),
				"overlong org": newEvent("e3", long, sso.EventLoginFailed, at(0)),
				"overlong ID":  newEvent(long, "org_1", sso.EventLoginFailed, at(0)),
			} {
				is(t, name, s.AppendEvent(ctx, e), sso.ErrInvalidInput)
			}
			got, err := s.ListEvents(ctx, sso.EventQuery{OrgID: "org_1"})
			ok(t, err)
			if len(got) != 1 {
				t.Errorf("got %d events after invalid appends, want 1", len(got))
			}
		}},
		{"Copies", func(t *testing.T, ctx context.Context, s sso.EventStore) {
			e := newEvent("e1", "org_1", sso.EventLoginSucceeded, at(0))
			ok(t, s.AppendEvent(ctx, e))
			want := *unchained([]*sso.Event{e})[0]
			want.Details = map[string]string{"a": "1", "b": "2"}
			e.Details["a"], e.Reason = "mutated", "mutated"
			got, err := s.ListEvents(ctx, sso.EventQuery{OrgID: "org_1"})
			ok(t, err)
			equal(t, "after mutating input", unchained(got), []*sso.Event{&want})
			sealed := *got[0]
			got[0].Details["b"], got[0].Type, got[0].Hash = "mutated", "mutated", "mutated"
			got, err = s.ListEvents(ctx, sso.EventQuery{OrgID: "org_1"})
			ok(t, err)
			sealed.Details = map[string]string{"a": "1", "b": "2"}
			equal(t, "after mutating output", got, []*sso.Event{&sealed})
		}},
		{"Filters", func(t *testing.T, ctx context.Context, s sso.EventStore) {
			// Stored event times have microsecond precision; so do these.
			at := func(d time.Duration) time.Time { return t0.Add(d).Truncate(time.Microsecond) }
			mk := func(id, typ, actor string, minute int) {
				e := newEvent(id, "org_1", typ, at(time.Duration(minute)*time.Minute))
				e.Actor.ID = actor
				ok(t, s.AppendEvent(ctx, e))
			}
			mk("e1", sso.EventLoginSucceeded, "alice", 0)
			mk("e2", sso.EventLoginFailed, "bob", 10)
			mk("e3", sso.EventLoginSucceeded, "bob", 20)
			mk("e4", domains.EventVerified, "alice", 30)
			mk("e5", sso.EventLoginSucceeded, "alice", 40)
			other := newEvent("x1", "org_2", sso.EventLoginSucceeded, at(0))
			other.Actor.ID = "alice"
			ok(t, s.AppendEvent(ctx, other))
			key := func(e *sso.Event) string { return e.ID }
			for _, tc := range []struct {
				name string
				q    sso.EventQuery
				want []string
			}{
				{"all", sso.EventQuery{OrgID: "org_1"}, []string{"e1", "e2", "e3", "e4", "e5"}},
				{"type", sso.EventQuery{OrgID: "org_1", Type: sso.EventLoginSucceeded}, []string{"e1", "e3", "e5"}},
				{"actor", sso.EventQuery{OrgID: "org_1", ActorID: "bob"}, []string{"e2", "e3"}},
				{"type and actor", sso.EventQuery{OrgID: "org_1", Type: sso.EventLoginSucceeded, ActorID: "alice"}, []string{"e1", "e5"}},
				{"since inclusive", sso.EventQuery{OrgID: "org_1", Since: at(20 * time.Minute)}, []string{"e3", "e4", "e5"}},
				{"until exclusive", sso.EventQuery{OrgID: "org_1", Until: at(20 * time.Minute)}, []string{"e1", "e2"}},
				{"window", sso.EventQuery{OrgID: "org_1", Since: at(5 * time.Minute), Until: at(35 * time.Minute)}, []string{"e2", "e3", "e4"}},
				{"after seq", sso.EventQuery{OrgID: "org_1", AfterSeq: 3}, []string{"e4", "e5"}},
				{"limit", sso.EventQuery{OrgID: "org_1", Limit: 2}, []string{"e1", "e2"}},
				{"page", sso.EventQuery{OrgID: "org_1", AfterSeq: 2, Limit: 2}, []string{"e3", "e4"}},
				{"limit with filter", sso.EventQuery{OrgID: "org_1", ActorID: "alice", Limit: 2}, []string{"e1", "e4"}},
				{"other org", sso.EventQuery{OrgID: "org_2"}, []string{"x1"}},
				{"unknown org", sso.EventQuery{OrgID: "org_3"}, nil},
				{"no match", sso.EventQuery{OrgID: "org_1", Type: "nope"}, nil},
			} {
				got, err := s.ListEvents(ctx, tc.q)
				ok(t, err)
				sameStrings(t, tc.name, ids(got, key), tc.want)
			}
		}},
		{"DefaultLimit", func(t *testing.T, ctx context.Context, s sso.EventStore) {
			n := sso.EventQuery{}.EffectiveLimit() + 3
			appendN(t, ctx, s, "org_1", n)
			got, err := s.ListEvents(ctx, sso.EventQuery{OrgID: "org_1"})
			ok(t, err)
			if len(got) != n-3 {
				t.Errorf("got %d events, want the default limit %d", len(got), n-3)
			}
			got, err = s.ListEvents(ctx, sso.EventQuery{OrgID: "org_1", AfterSeq: int64(n - 3)})
			ok(t, err)
			if len(got) != 3 || got[0].Seq != int64(n-2) {
				t.Errorf("last page: %d events", len(got))
			}
		}},
	})
}

func runSCIMToken(t *testing.T, newStores newStoresFunc) {
	h := func(s string) string { return opaque.Hash(s) }
	runCases(t, newStores, func(s Stores) sso.SCIMTokenStore { return s.Core }, []testCase[sso.SCIMTokenStore]{
		{"RoundTrip", func(t *testing.T, ctx context.Context, s sso.SCIMTokenStore) {
			tok := newToken("tok_1", "org_1", h("a"))
			tok.RevokedAt = at(2 * time.Hour)
			ok(t, s.CreateSCIMToken(ctx, tok))
			got, err := s.FindSCIMToken(ctx, h("a"))
			ok(t, err)
			equal(t, "FindSCIMToken", got, tok)
			list, err := s.ListSCIMTokens(ctx, "org_1")
			ok(t, err)
			equal(t, "ListSCIMTokens", list, []*sso.SCIMToken{tok})
		}},
		{"NotFound", func(t *testing.T, ctx context.Context, s sso.SCIMTokenStore) {
			_, err := s.FindSCIMToken(ctx, h("nope"))
			is(t, "FindSCIMToken", err, sso.ErrNotFound)
			is(t, "UpdateSCIMToken", s.UpdateSCIMToken(ctx, newToken("nope", "org_1", h("x"))), sso.ErrNotFound)
			is(t, "DeleteSCIMToken", s.DeleteSCIMToken(ctx, "nope"), sso.ErrNotFound)
			_, err = s.FindSCIMToken(ctx, h("x"))
			is(t, "FindSCIMToken after update of absent", err, sso.ErrNotFound)
		}},
		{"Duplicates", func(t *testing.T, ctx context.Context, s sso.SCIMTokenStore) {
			tok := newToken("tok_1", "org_1", h("a"))
			ok(t, s.CreateSCIMToken(ctx, tok))
			is(t, "duplicate ID", s.CreateSCIMToken(ctx, newToken("tok_1", "org_2", h("b"))), sso.ErrConflict)
			is(t, "duplicate hash", s.CreateSCIMToken(ctx, newToken("tok_2", "org_2", h("a"))), sso.ErrConflict)
			_, err := s.FindSCIMToken(ctx, h("b"))
			is(t, "refused token", err, sso.ErrNotFound)
			got, err := s.FindSCIMToken(ctx, h("a"))
			ok(t, err)
			equal(t, "original", got, tok)
			list, err := s.ListSCIMTokens(ctx, "org_2")
			ok(t, err)
			if len(list) != 0 {
				t.Errorf("org_2 has %d tokens, want 0", len(list))
			}
		}},
		{"Update", func(t *testing.T, ctx context.Context, s sso.SCIMTokenStore) {
			ok(t, s.CreateSCIMToken(ctx, newToken("tok_1", "org_1", h("a"))))
			ok(t, s.CreateSCIMToken(ctx, newToken("tok_2", "org_1", h("b"))))
			tok := newToken("tok_1", "org_1", h("a"))
			tok.RevokedAt, tok.LastUsedAt, tok.ExpiresAt, tok.Description = at(time.Hour), at(30*time.Minute), time.Time{}, "rotated"
			ok(t, s.UpdateSCIMToken(ctx, tok))
			got, err := s.FindSCIMToken(ctx, h("a"))
			ok(t, err)
			equal(t, "updated", got, tok)
			if got.Valid(at(2 * time.Hour)) {
				t.Error("revoked token is valid")
			}
			clash := newToken("tok_1", "org_1", h("b"))
			is(t, "update onto another token's hash", s.UpdateSCIMToken(ctx, clash), sso.ErrConflict)
			got, err = s.FindSCIMToken(ctx, h("b"))
			ok(t, err)
			if got.ID != "tok_2" {
				t.Errorf("hash b now finds %q, want tok_2", got.ID)
			}
		}},
		{"Delete", func(t *testing.T, ctx context.Context, s sso.SCIMTokenStore) {
			ok(t, s.CreateSCIMToken(ctx, newToken("tok_1", "org_1", h("a"))))
			ok(t, s.DeleteSCIMToken(ctx, "tok_1"))
			_, err := s.FindSCIMToken(ctx, h("a"))
			is(t, "after delete", err, sso.ErrNotFound)
			is(t, "second delete", s.DeleteSCIMToken(ctx, "tok_1"), sso.ErrNotFound)
			ok(t, s.CreateSCIMToken(ctx, newToken("tok_2", "org_1", h("a"))))
		}},
		{"InvalidInput", func(t *testing.T, ctx context.Context, s sso.SCIMTokenStore) {
			ok(t, s.CreateSCIMToken(ctx, newToken("tok_ok", "org_1", h("ok"))))
			for name, tok := range map[string]*sso.SCIMToken{
				"empty ID":      newToken("", "org_1", h("a")),
				"empty org":     newToken("tok_ok", "", h("a")),
				"empty hash":    newToken("tok_ok", "org_1", ""),
				"overlong hash": newToken("tok_ok", "org_1", long),
			} {
				is(t, "UpdateSCIMToken "+name, s.UpdateSCIMToken(ctx, tok), sso.ErrInvalidInput)
				if tok.ID == "tok_ok" {
					tok.ID = "tok_new"
				}
				is(t, "CreateSCIMToken "+name, s.CreateSCIMToken(ctx, tok), sso.ErrInvalidInput)
			}
			list, err := s.ListSCIMTokens(ctx, "org_1")
			ok(t, err)
			equal(t, "after invalid writes", list, []*sso.SCIMToken{newToken("tok_ok", "org_1", h("ok"))})
		}},
		{"Copies", func(t *testing.T, ctx context.Context, s sso.SCIMTokenStore) {
			tok := newToken("tok_1", "org_1", h("a"))
			ok(t, s.CreateSCIMToken(ctx, tok))
			tok.OrgID = "org_evil"
			got, err := s.FindSCIMToken(ctx, h("a"))
			ok(t, err)
			equal(t, "after mutating input", got, newToken("tok_1", "org_1", h("a")))
			got.RevokedAt = at(0)
			got, err = s.FindSCIMToken(ctx, h("a"))
			ok(t, err)
			equal(t, "after mutating output", got, newToken("tok_1", "org_1", h("a")))
		}},
		{"ListNewestFirst", func(t *testing.T, ctx context.Context, s sso.SCIMTokenStore) {
			mk := func(id, org string, created time.Time) {
				tok := newToken(id, org, h(id))
				tok.CreatedAt = created
				ok(t, s.CreateSCIMToken(ctx, tok))
			}
			mk("tok_a", "org_1", at(time.Hour))
			mk("tok_b", "org_1", at(3*time.Hour))
			mk("tok_c", "org_1", at(2*time.Hour))
			mk("tok_x", "org_2", at(5*time.Hour))
			list, err := s.ListSCIMTokens(ctx, "org_1")
			ok(t, err)
			sameStrings(t, "order", ids(list, func(t *sso.SCIMToken) string { return t.ID }), []string{"tok_b", "tok_c", "tok_a"})
		}},
		{"IssueRotateAuthenticate", func(t *testing.T, ctx context.Context, s sso.SCIMTokenStore) {
			now := at(0)
			plain, tok, err := scimtoken.Issue(ctx, s, "org_1", "Okta", now)
			ok(t, err)
			got, err := scimtoken.Authenticate(ctx, s, plain, now)
			ok(t, err)
			if got.ID != tok.ID || got.OrgID != "org_1" {
				t.Errorf("authenticated token %q of %q, want %q of org_1", got.ID, got.OrgID, tok.ID)
			}
			_, err = scimtoken.Authenticate(ctx, s, plain+"x", now)
			is(t, "wrong token", err, sso.ErrNotFound)
			plain2, _, err := scimtoken.Rotate(ctx, s, "org_1", tok.ID, time.Hour, now)
			ok(t, err)
			_, err = scimtoken.Authenticate(ctx, s, plain, now.Add(30*time.Minute))
			ok(t, err)
			_, err = scimtoken.Authenticate(ctx, s, plain, now.Add(2*time.Hour))
			is(t, "old token after overlap", err, sso.ErrNotFound)
			_, err = scimtoken.Authenticate(ctx, s, plain2, now.Add(2*time.Hour))
			ok(t, err)
		}},
	})
}
