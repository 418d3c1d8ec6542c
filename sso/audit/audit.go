package audit

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/eventjson"
	"github.com/ssokit/ssokit/internal/reqinfo"
	"github.com/ssokit/ssokit/sso"
)

// Config configures an Auditor.
type Config struct {
	// Store keeps the events. Required.
	Store sso.EventStore
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// ClientIP extracts the client address from a request. Nil means
	// RemoteIP (no forwarding headers are trusted).
	ClientIP func(*http.Request) string
	// SealInterval is how often Run seals the events a store appended
	// unsealed (see EventSealer): the longest an event waits, unprotected
	// by the chain, while no one reads its organization's trail. Zero means
	// 250ms.
	SealInterval time.Duration
	// Logger logs Run's failed sealing passes. Nil means slog.Default().
	Logger *slog.Logger
	// FailureBurst sets when Record announces a burst of failed logins
	// (EventLoginFailureBurst). The zero value detects 20 failures of one
	// organization in 5 minutes.
	FailureBurst FailureBurst
}

// EventSealer is the optional capability of an sso.EventStore that appends
// events unsealed and chains them afterwards, in batches, so that
// concurrent appends in one organization never wait for each other
// (sqlstore does; memstore seals at once). Trail.Run calls SealEvents
// every Config.SealInterval.
type EventSealer interface {
	// SealEvents chains unsealed events into their organizations' chains and
	// returns how many it sealed. It is safe for concurrent use, also by
	// several processes on one database, and a pass that fails or dies
	// midway leaves every event either sealed or still unsealed, never lost
	// and never in a forked chain.
	SealEvents(ctx context.Context) (int, error)
}

// Trail writes, queries, exports and verifies the audit trail.
type Trail struct {
	store    sso.EventStore
	now      func() time.Time
	clientIP func(*http.Request) string
	interval time.Duration
	log      *slog.Logger
	burst    FailureBurst
}

// New returns an Auditor.
func New(cfg Config) (*Trail, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: auditor: nil event store", sso.ErrInvalidConfig)
	}
	if cfg.SealInterval < 0 {
		return nil, fmt.Errorf("%w: auditor: negative SealInterval", sso.ErrInvalidConfig)
	}
	if cfg.FailureBurst.Window < 0 {
		return nil, fmt.Errorf("%w: auditor: negative FailureBurst.Window", sso.ErrInvalidConfig)
	}
	a := &Trail{store: cfg.Store, now: cfg.Now, clientIP: cfg.ClientIP, interval: cfg.SealInterval, log: cfg.Logger,
		burst: cfg.FailureBurst}
	if a.burst.Threshold == 0 {
		a.burst.Threshold = DefaultBurstThreshold
	}
	if a.burst.Window == 0 {
		a.burst.Window = DefaultBurstWindow
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.clientIP == nil {
		a.clientIP = reqinfo.RemoteIP
	}
	if a.interval == 0 {
		a.interval = 250 * time.Millisecond
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	return a, nil
}

// Run seals the store's unsealed events every Config.SealInterval until ctx
// ends, when the store is an EventSealer, and otherwise only waits for ctx.
// It returns ctx.Err(). A failed pass is logged and retried at the next
// tick; ListEvents of a sealing store seals the organization it reads in
// any case, so a stopped sealer delays tamper evidence but hides no event.
// Run it on every replica: sealers share the work safely.
func (a *Trail) Run(ctx context.Context) error {
	s, ok := a.store.(EventSealer)
	if !ok {
		<-ctx.Done()
		return ctx.Err()
	}
	t := time.NewTicker(a.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if _, err := s.SealEvents(ctx); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "audit: sealing events", "err", err)
		}
	}
}

// RequestInfo returns the AuditInfo of r: the actor from r's context (when
// a handler set one), and the client IP and user agent from the request.
func (a *Trail) RequestInfo(r *http.Request, actor sso.Actor) sso.AuditInfo {
	return reqinfo.Audit(r, actor, a.clientIP)
}

// Record appends e to its organization's chain (the store may seal it into
// the chain afterwards; see EventSealer). Empty ID, Time, Outcome, Actor, IP
// and UserAgent are filled from the Auditor's clock and ctx's AuditInfo.
func (a *Trail) Record(ctx context.Context, e *sso.Event) error {
	e.FillDefaults(ctx, a.now())
	if err := e.Validate(); err != nil {
		return err
	}
	if err := a.store.AppendEvent(ctx, e); err != nil {
		return fmt.Errorf("sso: record audit event: %w", err)
	}
	// The failure itself is recorded; a failed burst check is only logged.
	if err := a.noteFailure(ctx, e); err != nil {
		a.log.WarnContext(ctx, "audit: checking for a burst of failed logins", "org_id", e.OrgID, "err", err)
	}
	return nil
}

// Query returns one page of events matching q and the cursor for the next
// page (the Seq to pass as AfterSeq), which is zero when there are no more.
func (a *Trail) Query(ctx context.Context, q sso.EventQuery) ([]*sso.Event, int64, error) {
	if q.OrgID == "" {
		return nil, 0, fmt.Errorf("%w: audit query without organization", sso.ErrInvalidInput)
	}
	limit := q.EffectiveLimit()
	q.Limit = limit
	evs, err := a.store.ListEvents(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(evs) == limit {
		next = evs[len(evs)-1].Seq
	}
	return evs, next, nil
}

// each calls fn for every event matching q, page by page.
func (a *Trail) each(ctx context.Context, q sso.EventQuery, fn func(*sso.Event) error) error {
	q.Limit = 1000
	for {
		evs, next, err := a.Query(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if err := fn(e); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		q.AfterSeq = next
	}
}

// Entry is the JSON form of an Event in exports and the admin API; webhook
// and SIEM payloads use the same form.
type Entry = eventjson.Entry

// Export returns the exported form of e.
func Export(e *sso.Event) Entry { return eventjson.Of(e) }

// ExportJSONLines writes every event matching q (ignoring q.Limit) to w as
// JSON lines.
func (a *Trail) ExportJSONLines(ctx context.Context, w io.Writer, q sso.EventQuery) error {
	enc := json.NewEncoder(w)
	return a.each(ctx, q, func(e *sso.Event) error { return enc.Encode(Export(e)) })
}

// CSVHeader is the header row of ExportCSV.
var CSVHeader = []string{"seq", "time", "type", "actor_type", "actor_id", "target_type", "target_id",
	"outcome", "reason", "ip", "user_agent", "details", "id", "prev_hash", "hash"}

// ExportCSV writes every event matching q (ignoring q.Limit) to w as CSV
// with a header row. Cells that a spreadsheet would evaluate as a formula
// (starting with =, +, -, @, tab or carriage return) are prefixed with a
// single quote.
func (a *Trail) ExportCSV(ctx context.Context, w io.Writer, q sso.EventQuery) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	err := a.each(ctx, q, func(e *sso.Event) error {
		keys := make([]string, 0, len(e.Details))
		for k := range e.Details {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var det strings.Builder
		for i, k := range keys {
			if i > 0 {
				det.WriteByte(';')
			}
			det.WriteString(k + "=" + e.Details[k])
		}
		row := []string{strconv.FormatInt(e.Seq, 10), e.Time.UTC().Format(time.RFC3339Nano), e.Type,
			string(e.Actor.Type), e.Actor.ID, e.Target.Type, e.Target.ID, e.Outcome, e.Reason, e.IP,
			e.UserAgent, det.String(), e.ID, e.PrevHash, e.Hash}
		for i := range row {
			row[i] = CSVSafe(row[i])
		}
		return cw.Write(row)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// CSVSafe neutralises spreadsheet formula injection: a cell starting with
// '=', '+', '-', '@', tab or carriage return gets a leading single quote.
func CSVSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// ChainHead is the last link of an organization's audit chain. A host that
// stores heads elsewhere (a log service, a signed daily digest) can detect
// a truncated chain with VerifyAgainst.
type ChainHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// Verify checks orgID's whole audit chain (every event sealed by the time
// it reads them, which with a sealing store is every event recorded before
// the call) and returns its head. An edited event, or one deleted before the
// head, yields a *ChainError.
func (a *Trail) Verify(ctx context.Context, orgID string) (ChainHead, error) {
	var head ChainHead
	var prev *sso.Event
	err := a.each(ctx, sso.EventQuery{OrgID: orgID}, func(e *sso.Event) error {
		batch := []*sso.Event{e}
		if prev != nil {
			batch = []*sso.Event{prev, e}
		}
		if prev == nil && e.Seq != 1 {
			return &ChainError{Seq: 1, Reason: "event missing"}
		}
		if err := verifyPair(batch); err != nil {
			return err
		}
		prev = e
		head = ChainHead{Seq: e.Seq, Hash: e.Hash}
		return nil
	})
	if err != nil {
		return head, err
	}
	return head, nil
}

// verifyPair checks one link (or the first event) with VerifyChain, which
// expects a chain starting at Seq 1: the predecessor stands in for the
// beginning.
func verifyPair(evs []*sso.Event) error {
	if len(evs) == 1 {
		return VerifyChain(evs)
	}
	prev, e := evs[0], evs[1]
	switch {
	case e.Seq != prev.Seq+1:
		return &ChainError{Seq: prev.Seq + 1, Reason: "event missing"}
	case e.PrevHash != prev.Hash:
		return &ChainError{Seq: e.Seq, Reason: "previous hash mismatch"}
	case e.ComputeHash() != e.Hash:
		return &ChainError{Seq: e.Seq, Reason: "content hash mismatch"}
	}
	return nil
}

// VerifyAgainst verifies orgID's chain like Verify and also that it still
// contains want (a head saved earlier), so deleting the newest events is
// detected too.
func (a *Trail) VerifyAgainst(ctx context.Context, orgID string, want ChainHead) (ChainHead, error) {
	head, err := a.Verify(ctx, orgID)
	if err != nil {
		return head, err
	}
	if head.Seq < want.Seq {
		return head, &ChainError{Seq: head.Seq + 1, Reason: "event missing"}
	}
	if want.Seq > 0 {
		evs, err := a.store.ListEvents(ctx, sso.EventQuery{OrgID: orgID, AfterSeq: want.Seq - 1, Limit: 1})
		if err != nil {
			return head, err
		}
		if len(evs) != 1 || evs[0].Seq != want.Seq || evs[0].Hash != want.Hash {
			return head, &ChainError{Seq: want.Seq, Reason: "saved head mismatch"}
		}
	}
	return head, nil
}
