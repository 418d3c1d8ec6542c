package sso

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Additional event types recorded by the tenancy components.
const (
	EventDomainRecheckMissed = "domain.recheck_missed"
	EventDomainTransferred   = "domain.transferred"
	EventMemberMoved         = "membership.moved"
	EventIdentityRemapped    = "identity.remapped"
	EventOrgMerged           = "org.merged"
	EventMembershipUpdated   = "membership.updated"
)

// AuditInfo is who is acting in a request, as the audit trail records it.
// Handlers put it in the context with WithAuditInfo; the components record it
// on every event they write.
type AuditInfo struct {
	Actor     Actor
	IP        string
	UserAgent string
}

type auditKey struct{}

// WithAuditInfo returns a copy of ctx carrying ai.
func WithAuditInfo(ctx context.Context, ai AuditInfo) context.Context {
	return context.WithValue(ctx, auditKey{}, ai)
}

// AuditInfoFrom returns the AuditInfo of ctx; the zero value when absent.
func AuditInfoFrom(ctx context.Context) AuditInfo {
	ai, _ := ctx.Value(auditKey{}).(AuditInfo)
	return ai
}

// RemoteIP returns the host part of r.RemoteAddr. It does not trust
// forwarding headers; hosts behind a proxy supply their own ClientIP
// function to the components.
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// AuditorConfig configures an Auditor.
type AuditorConfig struct {
	// Store keeps the events. Required.
	Store EventStore
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// ClientIP extracts the client address from a request. Nil means
	// RemoteIP (no forwarding headers are trusted).
	ClientIP func(*http.Request) string
}

// Auditor writes, queries, exports and verifies the audit trail.
type Auditor struct {
	store    EventStore
	now      func() time.Time
	clientIP func(*http.Request) string
}

// NewAuditor returns an Auditor.
func NewAuditor(cfg AuditorConfig) (*Auditor, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: auditor: nil event store", ErrInvalidConfig)
	}
	a := &Auditor{store: cfg.Store, now: cfg.Now, clientIP: cfg.ClientIP}
	if a.now == nil {
		a.now = time.Now
	}
	if a.clientIP == nil {
		a.clientIP = RemoteIP
	}
	return a, nil
}

// RequestInfo returns the AuditInfo of r: the actor from r's context (when
// a handler set one), and the client IP and user agent from the request.
func (a *Auditor) RequestInfo(r *http.Request, actor Actor) AuditInfo {
	ua := r.UserAgent()
	if len(ua) > 512 {
		ua = ua[:512]
	}
	return AuditInfo{Actor: actor, IP: a.clientIP(r), UserAgent: ua}
}

// Record appends e to its organization's chain. Empty ID, Time, Outcome,
// Actor, IP and UserAgent are filled from the Auditor's clock and ctx's
// AuditInfo.
func (a *Auditor) Record(ctx context.Context, e *Event) error {
	ai := AuditInfoFrom(ctx)
	if e.ID == "" {
		e.ID = NewID("evt_")
	}
	if e.Time.IsZero() {
		e.Time = a.now().UTC()
	}
	if e.Outcome == "" {
		e.Outcome = OutcomeSuccess
	}
	if e.Actor.Type == "" {
		e.Actor = ai.Actor
		if e.Actor.Type == "" {
			e.Actor.Type = ActorSystem
		}
	}
	if e.IP == "" {
		e.IP = ai.IP
	}
	if e.UserAgent == "" {
		e.UserAgent = ai.UserAgent
	}
	if err := e.Validate(); err != nil {
		return err
	}
	if err := a.store.AppendEvent(ctx, e); err != nil {
		return fmt.Errorf("sso: record audit event: %w", err)
	}
	return nil
}

// Query returns one page of events matching q and the cursor for the next
// page (the Seq to pass as AfterSeq), which is zero when there are no more.
func (a *Auditor) Query(ctx context.Context, q EventQuery) ([]*Event, int64, error) {
	if q.OrgID == "" {
		return nil, 0, fmt.Errorf("%w: audit query without organization", ErrInvalidInput)
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
func (a *Auditor) each(ctx context.Context, q EventQuery, fn func(*Event) error) error {
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

// ExportedEvent is the JSON form of an Event in exports and the admin API.
type ExportedEvent struct {
	ID        string            `json:"id"`
	OrgID     string            `json:"org_id"`
	Seq       int64             `json:"seq"`
	Time      time.Time         `json:"time"`
	Type      string            `json:"type"`
	ActorType ActorType         `json:"actor_type"`
	ActorID   string            `json:"actor_id,omitempty"`
	Target    string            `json:"target_type,omitempty"`
	TargetID  string            `json:"target_id,omitempty"`
	Outcome   string            `json:"outcome"`
	Reason    string            `json:"reason,omitempty"`
	IP        string            `json:"ip,omitempty"`
	UserAgent string            `json:"user_agent,omitempty"`
	Details   map[string]string `json:"details,omitempty"`
	PrevHash  string            `json:"prev_hash"`
	Hash      string            `json:"hash"`
}

// Export returns the exported form of e.
func Export(e *Event) ExportedEvent {
	return ExportedEvent{
		ID: e.ID, OrgID: e.OrgID, Seq: e.Seq, Time: e.Time.UTC(), Type: e.Type,
		ActorType: e.Actor.Type, ActorID: e.Actor.ID, Target: e.Target.Type, TargetID: e.Target.ID,
		Outcome: e.Outcome, Reason: e.Reason, IP: e.IP, UserAgent: e.UserAgent, Details: e.Details,
		PrevHash: e.PrevHash, Hash: e.Hash,
	}
}

// ExportJSONLines writes every event matching q (ignoring q.Limit) to w as
// JSON lines.
func (a *Auditor) ExportJSONLines(ctx context.Context, w io.Writer, q EventQuery) error {
	enc := json.NewEncoder(w)
	return a.each(ctx, q, func(e *Event) error { return enc.Encode(Export(e)) })
}

// CSVHeader is the header row of ExportCSV.
var CSVHeader = []string{"seq", "time", "type", "actor_type", "actor_id", "target_type", "target_id",
	"outcome", "reason", "ip", "user_agent", "details", "id", "prev_hash", "hash"}

// ExportCSV writes every event matching q (ignoring q.Limit) to w as CSV
// with a header row. Cells that a spreadsheet would evaluate as a formula
// (starting with =, +, -, @, tab or carriage return) are prefixed with a
// single quote.
func (a *Auditor) ExportCSV(ctx context.Context, w io.Writer, q EventQuery) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	err := a.each(ctx, q, func(e *Event) error {
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

// Verify checks orgID's whole audit chain and returns its head. An edited
// event, or one deleted before the head, yields a *ChainError.
func (a *Auditor) Verify(ctx context.Context, orgID string) (ChainHead, error) {
	var head ChainHead
	var prev *Event
	err := a.each(ctx, EventQuery{OrgID: orgID}, func(e *Event) error {
		batch := []*Event{e}
		if prev != nil {
			batch = []*Event{prev, e}
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
func verifyPair(evs []*Event) error {
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
func (a *Auditor) VerifyAgainst(ctx context.Context, orgID string, want ChainHead) (ChainHead, error) {
	head, err := a.Verify(ctx, orgID)
	if err != nil {
		return head, err
	}
	if head.Seq < want.Seq {
		return head, &ChainError{Seq: head.Seq + 1, Reason: "event missing"}
	}
	if want.Seq > 0 {
		evs, err := a.store.ListEvents(ctx, EventQuery{OrgID: orgID, AfterSeq: want.Seq - 1, Limit: 1})
		if err != nil {
			return head, err
		}
		if len(evs) != 1 || evs[0].Seq != want.Seq || evs[0].Hash != want.Hash {
			return head, &ChainError{Seq: want.Seq, Reason: "saved head mismatch"}
		}
	}
	return head, nil
}

// record writes e through a (when non-nil) and reports nothing: an audit
// failure must not hide the result of the operation it describes, so the
// components log it instead.
func recordQuietly(ctx context.Context, a *Auditor, e *Event, logf func(ctx context.Context, msg string, args ...any)) {
	if a == nil {
		return
	}
	if err := a.Record(ctx, e); err != nil && logf != nil {
		logf(ctx, "sso: audit event not recorded", "type", e.Type, "err", err)
	}
}
