package portal

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
)

func (p *Portal) auditRoutes(m *http.ServeMux) {
	m.Handle("GET /audit", p.page(SectionAudit, p.auditList))
	m.Handle("GET /audit/export", p.page(SectionAudit, p.auditExport))
}

// auditShown is how many events the page shows, newest first.
const auditShown = 200

// auditScanPages bounds how many API pages of 1000 events the page reads to
// find the newest ones.
const auditScanPages = 50

type auditEntry struct {
	Seq       int64             `json:"seq"`
	Time      time.Time         `json:"time"`
	Type      string            `json:"type"`
	ActorType sso.ActorType     `json:"actor_type"`
	ActorID   string            `json:"actor_id"`
	TargetTyp string            `json:"target_type"`
	TargetID  string            `json:"target_id"`
	Outcome   string            `json:"outcome"`
	Reason    string            `json:"reason"`
	IP        string            `json:"ip"`
	Details   map[string]string `json:"details"`
}

// Actor is the readable name of who acted.
func (e *auditEntry) Actor() string {
	switch e.ActorType {
	case ActorSetupLink:
		return "Setup link " + e.ActorID
	case sso.ActorAdmin:
		return "Administrator " + e.ActorID
	case sso.ActorOperator:
		return "Support staff " + e.ActorID
	case sso.ActorIdP:
		return "Identity provider"
	case sso.ActorSCIM:
		return "Directory sync"
	case sso.ActorSystem, "":
		return "Automatic check"
	case sso.ActorUser:
		return "User " + e.ActorID
	}
	return string(e.ActorType) + " " + e.ActorID
}

// DetailText lists the event's details.
func (e *auditEntry) DetailText() string {
	keys := make([]string, 0, len(e.Details))
	for k := range e.Details {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, strings.ReplaceAll(k, "_", " ")+": "+e.Details[k])
	}
	return strings.Join(parts, "; ")
}

// auditFilter is the page's filter form, as typed.
type auditFilter struct {
	Type, Actor, Since, Until string
}

func (f auditFilter) query() (url.Values, error) {
	q := url.Values{}
	if f.Type != "" {
		q.Set("type", f.Type)
	}
	if f.Actor != "" {
		q.Set("actor", f.Actor)
	}
	for _, d := range []struct{ key, val, field string }{{"since", f.Since, "since"}, {"until", f.Until, "until"}} {
		if d.val == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", d.val)
		if err != nil {
			return nil, fieldErr(d.field, "must be a date like 2026-01-31")
		}
		if d.key == "until" {
			t = t.Add(24 * time.Hour)
		}
		q.Set(d.key, t.Format(time.RFC3339))
	}
	return q, nil
}

func (p *Portal) auditList(w http.ResponseWriter, r *http.Request, _ *Session) error {
	v := r.URL.Query()
	f := auditFilter{Type: strings.TrimSpace(v.Get("type")), Actor: strings.TrimSpace(v.Get("actor")),
		Since: v.Get("since"), Until: v.Get("until")}
	q, err := f.query()
	var pr *problem
	var events []*auditEntry
	truncated := false
	if err != nil {
		pr = explain(err)
	} else if events, truncated, err = p.newestEvents(r, q, auditShown, auditScanPages, nil); err != nil {
		return err
	}
	var chain struct {
		OK       bool  `json:"ok"`
		BrokenAt int64 `json:"broken_at"`
		Head     struct {
			Seq int64 `json:"seq"`
		} `json:"head"`
	}
	verified := p.call(r, http.MethodGet, "/audit/verify", nil, &chain) == nil
	sentence := "We could not check the log's integrity right now; reload the page to try again."
	switch {
	case verified && chain.OK:
		sentence = "The log is intact: no event was changed or removed since it was recorded."
	case verified:
		sentence = "Warning: the log was changed after it was recorded, starting at event " + strconv.FormatInt(chain.BrokenAt, 10) + ". Contact support."
	}
	exp := url.Values{}
	if q != nil {
		exp = q
	}
	p.render(w, r, http.StatusOK, "audit", &page{Title: "Audit log", Section: string(SectionAudit), Problem: pr,
		Data: map[string]any{"Events": events, "Filter": f, "Truncated": truncated, "Chain": sentence, "ChainOK": verified && chain.OK,
			"ExportQuery": exp.Encode()}})
	return nil
}

// newestEvents reads the events matching q (and keep, when set) page by
// page, at most pages pages, and returns the newest n, newest first. It
// reports whether it stopped before the end.
func (p *Portal) newestEvents(r *http.Request, q url.Values, n, pages int, keepFn func(*auditEntry) bool) ([]*auditEntry, bool, error) {
	var keep []*auditEntry
	after := int64(0)
	for range pages {
		q.Set("limit", "1000")
		q.Set("after", strconv.FormatInt(after, 10))
		var out struct {
			Events    []*auditEntry `json:"events"`
			NextAfter int64         `json:"next_after"`
		}
		if err := p.call(r, http.MethodGet, "/audit?"+q.Encode(), nil, &out); err != nil {
			return nil, false, err
		}
		for _, e := range out.Events {
			if keepFn == nil || keepFn(e) {
				keep = append(keep, e)
			}
		}
		if len(keep) > n {
			keep = keep[len(keep)-n:]
		}
		if out.NextAfter == 0 {
			slices.Reverse(keep)
			return keep, false, nil
		}
		after = out.NextAfter
	}
	slices.Reverse(keep)
	return keep, true, nil
}

func (p *Portal) auditExport(w http.ResponseWriter, r *http.Request, _ *Session) error {
	v := r.URL.Query()
	q := url.Values{}
	for _, k := range []string{"type", "actor", "since", "until"} {
		if s := v.Get(k); s != "" {
			q.Set(k, s)
		}
	}
	q.Set("format", "csv")
	if v.Get("format") == "jsonl" {
		q.Set("format", "jsonl")
	}
	req := r.Clone(r.Context())
	req.URL.RawQuery = q.Encode()
	p.passThrough(w, req, http.MethodGet, "/audit/export")
	return nil
}

// recentAttempts are a connection's sign-in attempts (test and real) of
// the last 7 days, newest first.
func (p *Portal) recentAttempts(r *http.Request, connID string) ([]*auditEntry, error) {
	var all []*auditEntry
	since := p.cfg.Now().Add(-7 * 24 * time.Hour).UTC().Format(time.RFC3339)
	for _, typ := range []string{sso.EventLoginSucceeded, sso.EventLoginFailed, "connection.tested"} {
		q := url.Values{"type": {typ}, "since": {since}}
		evs, _, err := p.newestEvents(r, q, recentShown, 5, func(e *auditEntry) bool {
			// A failed test is listed once, by its connection.tested event.
			return e.TargetTyp == "connection" && e.TargetID == connID && !(e.Type == sso.EventLoginFailed && e.Details["test"] == "true")
		})
		if err != nil {
			return nil, err
		}
		all = append(all, evs...)
	}
	slices.SortFunc(all, func(a, b *auditEntry) int { return b.Time.Compare(a.Time) })
	if len(all) > recentShown {
		all = all[:recentShown]
	}
	return all, nil
}

// recentShown is how many sign-in attempts a connection's page lists.
const recentShown = 10

// Kind says whether the attempt was a test or a real sign-in.
func (e *auditEntry) Kind() string {
	if e.Type == "connection.tested" {
		return "Test sign-in"
	}
	return "Sign-in"
}
