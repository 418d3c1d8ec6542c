package admin

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/migrate"
)

// importConnections serves POST /connections/import: a JSON (array or
// {"connections": [...]}) or CSV (text/csv) body of migrate.Row rows for
// the caller's organization. ?dry_run=true answers the plan and writes
// nothing; otherwise a valid plan is applied (201 when it wrote
// something, 200 when every row was unchanged) and a plan with an invalid
// row answers 400 with the plan and writes nothing. Like PATCH
// /connections/{id}, an update that would take the last active, tested
// connection out of service while single sign-on is required stops the
// import there: 409 last_enforced_connection with the plan.
func (h *Handler) importConnections(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	dry := false
	if v := r.URL.Query().Get("dry_run"); v != "" {
		var err error
		if dry, err = strconv.ParseBool(v); err != nil {
			return inputErr("dry_run", "must be true or false")
		}
	}
	var rows []migrate.Row
	var err error
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "text/csv":
		rows, err = migrate.ParseCSV(r.Body)
	case "application/json", "":
		rows, err = migrate.ParseJSON(r.Body)
	default:
		return inputErr("content_type", "send application/json or text/csv")
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return inputErr("body", fmt.Sprintf("larger than %d bytes: split the import", h.cfg.MaxBodyBytes))
	case err != nil:
		return inputErr("body", detail(err))
	case len(rows) == 0:
		return inputErr("body", "no rows to import")
	}
	// Only the protocols the organization may use can be imported.
	cfs := map[sso.Protocol]sso.ConnectionConfigurer{}
	for p, cf := range h.cfg.Configurers {
		if h.cfg.Starters[p] != nil && org.Settings.Features.Allows(p) {
			cfs[p] = cf
		}
	}
	im := &migrate.Importer{Store: h.cfg.Store, Configurers: cfs, Now: h.cfg.Now, Write: h.importWrite}
	plan, err := im.Run(r.Context(), rows, migrate.Options{OrgID: org.ID, DryRun: dry})
	switch {
	case errors.Is(err, migrate.ErrInvalidPlan):
		httpjson.Write(w, http.StatusBadRequest, map[string]any{"error": "invalid_import",
			"message": "some rows are invalid (see each item's issues); nothing was imported", "plan": plan})
		return nil
	case err != nil && plan == nil:
		return err
	}
	written := h.auditImport(r, org, plan)
	if sso.ReasonOf(err) == sso.ReasonLastEnforcedConnection {
		httpjson.Write(w, http.StatusConflict, map[string]any{"error": "last_enforced_connection",
			"message": "single sign-on is required, and this import would turn off the organization's last active, tested connection (new identity provider settings return a connection to draft), so the import stopped there: the rows marked written were saved, the rest were not; activate another tested connection or stop requiring single sign-on, then run the import again",
			"plan":    plan})
		return nil
	}
	if errors.Is(err, sso.ErrConnectionChanged) {
		httpjson.Write(w, http.StatusConflict, map[string]any{"error": "connection_changed",
			"message": "a connection changed while this import was being saved, so the import stopped there: the rows marked written were saved, the rest were not; run the import again, it writes only what still differs",
			"plan":    plan})
		return nil
	}
	if err != nil {
		// A store failure part way: what was written is audited; running
		// the import again completes it.
		return err
	}
	status := http.StatusOK
	if written > 0 {
		status = http.StatusCreated
	}
	httpjson.Write(w, status, plan)
	return nil
}

// importWrite stores one connection of an import with its
// connection.created or connection.updated event in one transaction (see
// Handler.change); an update only over the copy the plan read.
func (h *Handler) importWrite(ctx context.Context, a migrate.Action, c *sso.Connection, prevUpdatedAt time.Time) error {
	typ, write := EventConnectionCreated, func(s Store) error { return s.CreateConnection(ctx, c) }
	if a == migrate.Update {
		typ, write = EventConnectionUpdated, func(s Store) error { return sso.UpdateConnectionIf(ctx, s, c, prevUpdatedAt) }
	}
	return h.change(ctx, write, &sso.Event{OrgID: c.OrgID, Type: typ, Target: sso.Target{Type: "connection", ID: c.ID},
		Details: map[string]string{"protocol": string(c.Protocol), "import": "true"}})
}

// auditImport records the summary of what an import wrote (all of an
// applied plan's creates and updates, or those written before a store
// failure; each connection's own event was stored with it) and returns
// the number of connections written.
func (h *Handler) auditImport(r *http.Request, org *sso.Organization, plan *migrate.Plan) int {
	n := 0
	for _, it := range plan.Items {
		if it.Written {
			n++
		}
	}
	if n > 0 {
		h.audit(r.Context(), &sso.Event{OrgID: org.ID, Type: EventConnectionsImported, Target: sso.Target{Type: "organization", ID: org.ID},
			Details: map[string]string{"created": strconv.Itoa(plan.Counts[migrate.Create]), "updated": strconv.Itoa(plan.Counts[migrate.Update]),
				"unchanged": strconv.Itoa(plan.Counts[migrate.Unchanged]), "complete": strconv.FormatBool(plan.Applied)}})
	}
	return n
}
