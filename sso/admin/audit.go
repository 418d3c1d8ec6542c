package admin

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
)

func parseQuery(r *http.Request, org *sso.Organization) (sso.EventQuery, error) {
	v := r.URL.Query()
	q := sso.EventQuery{OrgID: org.ID, Type: v.Get("type"), ActorID: v.Get("actor")}
	if len(q.Type) > 128 {
		return q, inputErr("type", "must be at most 128 bytes")
	}
	if len(q.ActorID) > 128 {
		return q, inputErr("actor", "must be at most 128 bytes")
	}
	for _, p := range []struct {
		key string
		dst *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if s := v.Get(p.key); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return q, inputErr(p.key, "must be an RFC 3339 time, like 2026-01-31T00:00:00Z")
			}
			*p.dst = t
		}
	}
	for _, p := range []struct {
		key string
		dst *int64
	}{{"after", &q.AfterSeq}} {
		if s := v.Get(p.key); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return q, inputErr(p.key, "must be a non-negative integer")
			}
			*p.dst = n
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return q, inputErr("limit", "must be 1-1000")
		}
		q.Limit = n
	}
	return q, nil
}

func (h *Handler) queryAudit(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	q, err := parseQuery(r, org)
	if err != nil {
		return err
	}
	evs, next, err := h.cfg.Auditor.Query(r.Context(), q)
	if err != nil {
		return err
	}
	out := make([]audit.Entry, 0, len(evs))
	for _, e := range evs {
		out = append(out, audit.Export(e))
	}
	resp := map[string]any{"events": out}
	if next != 0 {
		resp["next_after"] = next
	}
	httpjson.Write(w, http.StatusOK, resp)
	return nil
}

func (h *Handler) exportAudit(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	q, err := parseQuery(r, org)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch format {
	case "", "jsonl":
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Content-Disposition", `attachment; filename="audit.jsonl"`)
		err = h.cfg.Auditor.ExportJSONLines(r.Context(), w, q)
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="audit.csv"`)
		err = h.cfg.Auditor.ExportCSV(r.Context(), w, q)
	default:
		return inputErr("format", "must be jsonl or csv")
	}
	if err != nil {
		// Part of the body may be written; log and stop.
		h.log.ErrorContext(r.Context(), "admin: audit export", "err", err)
	}
	return nil
}

func (h *Handler) verifyAudit(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	head, err := h.cfg.Auditor.Verify(r.Context(), org.ID)
	var ce *audit.ChainError
	if errors.As(err, &ce) {
		httpjson.Write(w, http.StatusOK, map[string]any{"ok": false, "broken_at": ce.Seq, "reason": ce.Reason})
		return nil
	}
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"ok": true, "head": head})
	return nil
}
