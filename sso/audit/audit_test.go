package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
)

var ctx = ssoenv.Ctx

func TestAuditorRecordAndQuery(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	o := e.Org("acme", nil)
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "203.0.113.9:1234"
	r.Header.Set("User-Agent", "ua/1")
	adminActor := sso.Actor{Type: sso.ActorAdmin, ID: "usr_admin"}
	actx := sso.WithAuditInfo(ctx, e.Aud.RequestInfo(r, adminActor))
	for i := 0; i < 25; i++ {
		typ := sso.EventRolesChanged
		if i%5 == 0 {
			typ = sso.EventSessionRevoked
		}
		if err := e.Aud.Record(actx, &sso.Event{OrgID: o.ID, Type: typ}); err != nil {
			t.Fatal(err)
		}
		e.Advance(time.Minute)
	}
	op := sso.WithAuditInfo(ctx, sso.AuditInfo{Actor: sso.Actor{Type: sso.ActorOperator, ID: "staff-7"}})
	if err := e.Aud.Record(op, &sso.Event{OrgID: o.ID, Type: sso.EventCrossTenantDenied}); err != nil {
		t.Fatal(err)
	}
	first, next, err := e.Aud.Query(ctx, sso.EventQuery{OrgID: o.ID, Limit: 10})
	if err != nil || len(first) != 10 || next != first[9].Seq {
		t.Fatalf("page 1: %d events, next %d, %v", len(first), next, err)
	}
	if ev := first[0]; ev.Actor != adminActor || ev.IP != "203.0.113.9" || ev.UserAgent != "ua/1" || ev.Outcome != sso.OutcomeSuccess || ev.ID == "" {
		t.Fatalf("got %+v", ev)
	}
	var all []*sso.Event
	q := sso.EventQuery{OrgID: o.ID, Limit: 10}
	for {
		page, next, err := e.Aud.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == 0 {
			break
		}
		q.AfterSeq = next
	}
	if len(all) != 26 {
		t.Fatalf("paged %d events, want 26", len(all))
	}
	byType, _, _ := e.Aud.Query(ctx, sso.EventQuery{OrgID: o.ID, Type: sso.EventSessionRevoked})
	if len(byType) != 5 {
		t.Fatalf("got %d domain events", len(byType))
	}
	byActor, _, _ := e.Aud.Query(ctx, sso.EventQuery{OrgID: o.ID, ActorID: "staff-7"})
	if len(byActor) != 1 || byActor[0].Actor.Type != sso.ActorOperator {
		t.Fatalf("operator event: %+v", byActor)
	}
	start := all[0].Time
	window, _, _ := e.Aud.Query(ctx, sso.EventQuery{OrgID: o.ID, Since: start.Add(5 * time.Minute), Until: start.Add(10 * time.Minute)})
	if len(window) != 5 {
		t.Fatalf("time window: %d events", len(window))
	}
	if _, _, err := e.Aud.Query(ctx, sso.EventQuery{}); !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("query without org: %v", err)
	}
	// Other orgs see nothing.
	if evs, _, _ := e.Aud.Query(ctx, sso.EventQuery{OrgID: "org_other"}); len(evs) != 0 {
		t.Fatal("leak")
	}
}

func TestAuditExports(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	o := e.Org("acme", nil)
	evil := "=HYPERLINK(\"https://evil.example\",\"click\")"
	for _, ua := range []string{evil, "+cmd", "-2+3", "@SUM(A1)", "\tx", "plain, \"quoted\"\nnewline"} {
		if err := e.Aud.Record(ctx, &sso.Event{OrgID: o.ID, Type: sso.EventLoginFailed, UserAgent: ua,
			Outcome: sso.OutcomeFailure, Reason: "signature_invalid", Details: map[string]string{"k": ua}}); err != nil {
			t.Fatal(err)
		}
	}
	var jb bytes.Buffer
	if err := e.Aud.ExportJSONLines(ctx, &jb, sso.EventQuery{OrgID: o.ID}); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&jb)
	n := 0
	for sc.Scan() {
		var ev audit.Entry
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		n++
		if ev.Seq != int64(n) || ev.Hash == "" || ev.Reason != "signature_invalid" {
			t.Fatalf("got %+v", ev)
		}
	}
	if n != 6 {
		t.Fatalf("got %d lines", n)
	}
	var cb bytes.Buffer
	if err := e.Aud.ExportCSV(ctx, &cb, sso.EventQuery{OrgID: o.ID}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cb).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 7 || strings.Join(rows[0], ",") != strings.Join(audit.CSVHeader, ",") {
		t.Fatalf("got %d rows, header %v", len(rows), rows[0])
	}
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Fatalf("formula cell %q", cell)
			}
		}
	}
	if rows[1][10] != "'"+evil {
		t.Fatalf("got %q", rows[1][10])
	}
	if audit.CSVSafe("2026-01-01") != "2026-01-01" || audit.CSVSafe("-1") != "'-1" {
		t.Fatal("CSVSafe")
	}
}

// tamperStore wraps an EventStore and alters what ListEvents returns, as
// an attacker with database access would.
type tamperStore struct {
	sso.EventStore
	edit func([]*sso.Event) []*sso.Event
}

func (s *tamperStore) ListEvents(ctx context.Context, q sso.EventQuery) ([]*sso.Event, error) {
	evs, err := s.EventStore.ListEvents(ctx, sso.EventQuery{OrgID: q.OrgID, Limit: 1000})
	if err != nil {
		return nil, err
	}
	evs = s.edit(evs)
	var out []*sso.Event
	for _, e := range evs {
		if e.Seq > q.AfterSeq && q.Matches(e) && len(out) < q.EffectiveLimit() {
			out = append(out, e)
		}
	}
	return out, nil
}

func TestAuditVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	o := e.Org("acme", nil)
	for i := 0; i < 5; i++ {
		if err := e.Aud.Record(ctx, &sso.Event{OrgID: o.ID, Type: sso.EventLoginSucceeded, Details: map[string]string{"i": fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	head, err := e.Aud.Verify(ctx, o.ID)
	if err != nil || head.Seq != 5 {
		t.Fatalf("clean chain: %v %v", head, err)
	}
	tests := []struct {
		name string
		edit func([]*sso.Event) []*sso.Event
		seq  int64
	}{
		{"EditedOutcome", func(evs []*sso.Event) []*sso.Event { evs[2].Outcome = sso.OutcomeFailure; return evs }, 3},
		{"EditedDetail", func(evs []*sso.Event) []*sso.Event { evs[1].Details["i"] = "x"; return evs }, 2},
		{"EditedActor", func(evs []*sso.Event) []*sso.Event {
			evs[0].Actor = sso.Actor{Type: sso.ActorOperator, ID: "x"}
			return evs
		}, 1},
		{"Deleted", func(evs []*sso.Event) []*sso.Event { return append(evs[:2:2], evs[3:]...) }, 3},
		{"DeletedFirst", func(evs []*sso.Event) []*sso.Event { return evs[1:] }, 1},
		{"RehashedEdit", func(evs []*sso.Event) []*sso.Event {
			evs[3].Reason = "forged"
			evs[3].Hash = evs[3].ComputeHash()
			return evs
		}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := audit.New(audit.Config{Store: &tamperStore{EventStore: e.St, edit: tc.edit}})
			_, err := a.Verify(ctx, o.ID)
			var ce *audit.ChainError
			if !errors.As(err, &ce) || ce.Seq != tc.seq {
				t.Fatalf("got %v, want chain break at %d", err, tc.seq)
			}
		})
	}
	t.Run("TruncatedTail", func(t *testing.T) {
		a, _ := audit.New(audit.Config{Store: &tamperStore{EventStore: e.St, edit: func(evs []*sso.Event) []*sso.Event { return evs[:3] }}})
		if _, err := a.Verify(ctx, o.ID); err != nil {
			t.Fatalf("a truncated tail alone verifies: %v", err)
		}
		var ce *audit.ChainError
		if _, err := a.VerifyAgainst(ctx, o.ID, head); !errors.As(err, &ce) {
			t.Fatalf("VerifyAgainst saved head: got %v", err)
		}
		if _, err := e.Aud.VerifyAgainst(ctx, o.ID, head); err != nil {
			t.Fatalf("untampered: %v", err)
		}
	})
}

func TestNewAuditorConfig(t *testing.T) {
	t.Parallel()
	if _, err := audit.New(audit.Config{}); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Fatalf("got %v", err)
	}
}

func BenchmarkAuditRecord(b *testing.B) {
	e := ssoenv.New(b)
	o := e.Org("acme", nil)
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Aud.Record(ctx, &sso.Event{OrgID: o.ID, Type: sso.EventLoginSucceeded}); err != nil {
			b.Fatal(err)
		}
	}
}
