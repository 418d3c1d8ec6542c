package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ssokit/ssokit/sso/migrate"
)

// maxImportBytes bounds the pasted rows (the admin API's own limit applies
// too).
const maxImportBytes = 1 << 20

// importFormat says whether pasted rows are JSON or CSV: JSON starts with
// "[" or "{", anything else is read as CSV with a header line.
func importFormat(rows string) (contentType, label string) {
	if t := strings.TrimSpace(rows); strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{") {
		return "application/json", "JSON"
	}
	return "text/csv", "CSV"
}

// callImport sends rows to the admin API's import as the session of r.
// An invalid plan is returned with its *apiError.
func (p *Portal) callImport(r *http.Request, rows string, dryRun bool) (*migrate.Plan, error) {
	ct, _ := importFormat(rows)
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost,
		"/connections/import?dry_run="+strconv.FormatBool(dryRun), strings.NewReader(rows))
	if err != nil {
		return nil, fmt.Errorf("portal: import request: %w", err)
	}
	req.RemoteAddr = r.RemoteAddr
	req.Header.Set("Content-Type", ct)
	if ua := r.Header.Get("User-Agent"); ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	rec := &recorder{header: http.Header{}}
	p.api.ServeHTTP(rec, req)
	if rec.status >= 400 {
		var body struct {
			apiError
			Plan *migrate.Plan `json:"plan"`
		}
		_ = json.Unmarshal(rec.body.Bytes(), &body)
		e := body.apiError
		e.Status = rec.status
		return body.Plan, &e
	}
	var plan migrate.Plan
	if err := json.NewDecoder(bytes.NewReader(rec.body.Bytes())).Decode(&plan); err != nil {
		return nil, fmt.Errorf("portal: decode import plan: %w", err)
	}
	return &plan, nil
}

// importRow is a plan item as the page shows it.
type importRow struct {
	migrate.Item
	ActionText, ActionClass string
}

var importActions = map[migrate.Action][2]string{
	migrate.Create:    {"Will be created", "ok"},
	migrate.Update:    {"Will be updated", "warn"},
	migrate.Unchanged: {"Unchanged", "muted"},
	migrate.Invalid:   {"Invalid: fix and check again", "bad"},
}

func importRows(plan *migrate.Plan, applied bool) []importRow {
	var out []importRow
	for _, it := range plan.Items {
		a := importActions[it.Action]
		if applied && it.Written {
			a[0] = map[migrate.Action]string{migrate.Create: "Created", migrate.Update: "Updated"}[it.Action]
		}
		out = append(out, importRow{Item: it, ActionText: a[0], ActionClass: a[1]})
	}
	return out
}

func (p *Portal) importRoutes(m *http.ServeMux) {
	m.Handle("GET /sso/import", p.page(SectionSSO, p.importForm))
	m.Handle("POST /sso/import/plan", p.action(SectionSSO, p.importPlan))
	m.Handle("POST /sso/import/apply", p.action(SectionSSO, p.importApply))
}

func (p *Portal) renderImport(w http.ResponseWriter, r *http.Request, status int, rows string, plan *migrate.Plan, applied bool, pr *problem, notice string) {
	_, format := importFormat(rows)
	data := map[string]any{"Rows": rows, "Format": format}
	if plan != nil {
		data["Plan"] = importRows(plan, applied)
		counts := map[string]int{}
		for _, a := range []migrate.Action{migrate.Create, migrate.Update, migrate.Unchanged, migrate.Invalid} {
			counts[string(a)] = plan.Counts[a]
		}
		data["Counts"] = counts
		data["Applied"] = applied
		data["CanApply"] = !applied && plan.Valid() && plan.Counts[migrate.Create]+plan.Counts[migrate.Update] > 0
	}
	p.render(w, r, status, "sso_import", &page{Title: "Import connections", Section: string(SectionSSO), Problem: pr, Notice: notice, Data: data})
}

func (p *Portal) importForm(w http.ResponseWriter, r *http.Request, _ *Session) error {
	p.renderImport(w, r, http.StatusOK, "", nil, false, nil, "")
	return nil
}

// importRowsOf reads the pasted rows from the form.
func importRowsOf(r *http.Request) (string, error) {
	rows := r.PostFormValue("rows")
	switch {
	case strings.TrimSpace(rows) == "":
		return "", fieldErr("rows", "is empty: paste the rows, or choose a file")
	case len(rows) > maxImportBytes:
		return "", fieldErr("rows", fmt.Sprintf("are larger than %d bytes: split the import", maxImportBytes))
	}
	return rows, nil
}

// importPlan shows what the import would do, writing nothing.
func (p *Portal) importPlan(w http.ResponseWriter, r *http.Request, _ *Session) error {
	rows, err := importRowsOf(r)
	if err != nil {
		p.renderImport(w, r, http.StatusBadRequest, rows, nil, false, explain(err), "")
		return nil
	}
	plan, err := p.callImport(r, rows, true)
	if err != nil {
		p.renderImport(w, r, statusOf(err), rows, plan, false, importProblem(err), "")
		return nil
	}
	p.renderImport(w, r, http.StatusOK, rows, plan, false, nil, "")
	return nil
}

// importApply writes the import after a confirmation; the admin API plans
// it again, so a change since the check is caught.
func (p *Portal) importApply(w http.ResponseWriter, r *http.Request, s *Session) error {
	rows, err := importRowsOf(r)
	if err != nil {
		p.renderImport(w, r, http.StatusBadRequest, rows, nil, false, explain(err), "")
		return nil
	}
	plan, err := p.callImport(r, rows, true)
	if err != nil {
		p.renderImport(w, r, statusOf(err), rows, plan, false, importProblem(err), "")
		return nil
	}
	d := confirmData{Consequence: fmt.Sprintf("Create %d and update %d connections of your organization?",
		plan.Counts[migrate.Create], plan.Counts[migrate.Update]), Button: "Import connections", Back: p.basePath + "/sso/import"}
	if plan.Counts[migrate.Update] > 0 {
		d.Consequence += " An active connection whose identity provider settings change is turned off until a new test sign-in passes."
	}
	if !p.confirmed(w, r, "Import the connections?", d) {
		return nil
	}
	done, err := p.once(w, r, s)
	if err != nil || done {
		return err
	}
	plan, err = p.callImport(r, rows, false)
	_ = p.finishForm(r, s, "/sso", err)
	if err != nil {
		p.renderImport(w, r, statusOf(err), rows, plan, false, importProblem(err), "")
		return nil
	}
	p.renderImport(w, r, http.StatusOK, rows, plan, true, nil, fmt.Sprintf(
		"Imported: %d created, %d updated, %d unchanged. Next: run a test sign-in for each new or changed connection, then activate it.",
		plan.Counts[migrate.Create], plan.Counts[migrate.Update], plan.Counts[migrate.Unchanged]))
	return nil
}

// importProblem explains a refused import.
func importProblem(err error) *problem {
	var ae *apiError
	if errors.As(err, &ae) && ae.Reason == "invalid_import" {
		return &problem{Status: ae.Status, What: "Some rows are invalid, so nothing can be imported yet.",
			Next: "The table names each row's problem and the field at fault. Correct the rows and check again.", Field: "rows"}
	}
	pr := explain(err)
	if pr.Field == "body" || pr.Field == "content_type" {
		pr.Field = "rows"
		pr.What = "The rows could not be read."
		pr.Next = "Paste JSON (an array of rows, or {\"connections\": [...]}) or CSV with a header line, then check again."
	}
	return pr
}
