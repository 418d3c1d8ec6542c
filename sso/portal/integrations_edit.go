package portal

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ssokit/ssokit/sso/admin"
)

// The edit page of a webhook endpoint or SIEM stream changes its URL,
// description, events and limits through PATCH /webhooks/{id}, with the
// admin API's checks (the guarded egress policy, URL and event type
// validation). A new URL is a new receiver: the endpoint gets a new
// signing secret, shown once on the page the save answers, and the old
// secret stops working at once.
func (p *Portal) hookEditRoutes(m *http.ServeMux) {
	m.Handle("GET /integrations/webhooks/{id}/edit", p.page(SectionIntegrations, p.hookEdit))
	m.Handle("POST /integrations/webhooks/{id}/edit", p.action(SectionIntegrations, p.hookSave))
}

// hookSavedNotice confirms a save that kept the URL (?done=hook_saved).
const hookSavedNotice = "Endpoint saved. The next events are sent with the new settings."

// hookEditData is the edit page's data: the endpoint, the values in the
// form (as typed after an error), the event types to pick from and the
// field at fault.
type hookEditData struct {
	V          *admin.WebhookView
	Form       admin.WebhookRequest
	EventTypes []string
	Picked     map[string]bool
	Invalid    string
}

func (p *Portal) hookEdit(w http.ResponseWriter, r *http.Request, _ *Session) error {
	v, types, err := p.hookAndTypes(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	form := admin.WebhookRequest{Kind: v.Kind, URL: v.URL, Description: v.Description, EventTypes: v.EventTypes,
		TimeoutSeconds: v.TimeoutSeconds, BatchSize: v.BatchSize}
	p.renderHookEdit(w, r, http.StatusOK, v, types, form, nil)
	return nil
}

// hookAndTypes reads endpoint id and the event types an endpoint may pick
// (the host's, plus any the endpoint already has).
func (p *Portal) hookAndTypes(r *http.Request, id string) (*admin.WebhookView, []string, error) {
	var v admin.WebhookView
	if err := p.call(r, http.MethodGet, "/webhooks/"+urlPath(id), nil, &v); err != nil {
		return nil, nil, err
	}
	var list hookList
	if err := p.call(r, http.MethodGet, "/webhooks", nil, &list); err != nil {
		return nil, nil, err
	}
	types := append([]string(nil), list.HostEventTypes...)
	for _, t := range v.EventTypes {
		if !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	return &v, types, nil
}

// trimmed is the form value name without surrounding space.
func trimmed(r *http.Request, name string) string { return strings.TrimSpace(r.PostFormValue(name)) }

func (p *Portal) renderHookEdit(w http.ResponseWriter, r *http.Request, status int, v *admin.WebhookView, types []string,
	form admin.WebhookRequest, pr *problem) {
	d := &hookEditData{V: v, Form: form, EventTypes: types, Picked: map[string]bool{}}
	for _, t := range form.EventTypes {
		d.Picked[t] = true
	}
	if pr != nil {
		d.Invalid = pr.Field
	}
	p.renderIntegration(w, r, status, "integration_hook_edit", "Edit "+hookTitle(v), pr, d)
}

// hookEditRequest reads the edit form of an endpoint of kind.
func hookEditRequest(r *http.Request, kind string) (admin.WebhookRequest, error) {
	req := admin.WebhookRequest{Kind: kind, URL: trimmed(r, "url"), Description: trimmed(r, "description"),
		EventTypes: r.PostForm["event_types"]}
	if req.EventTypes == nil {
		req.EventTypes = []string{}
	}
	if s := trimmed(r, "timeout_seconds"); s != "" {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return req, fieldErr("timeout_seconds", "must be a whole number of seconds")
		}
		req.TimeoutSeconds = n
	}
	if s := trimmed(r, "batch_size"); s != "" && kind == "siem" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return req, fieldErr("batch_size", "must be a whole number")
		}
		req.BatchSize = n
	}
	return req, nil
}

func (p *Portal) hookSave(w http.ResponseWriter, r *http.Request, s *Session) error {
	id := r.PathValue("id")
	v, types, err := p.hookAndTypes(r, id)
	if err != nil {
		return err
	}
	req, err := hookEditRequest(r, v.Kind)
	if err != nil {
		p.renderHookEdit(w, r, http.StatusBadRequest, v, types, req, explain(err))
		return nil
	}
	done, err := p.once(w, r, s)
	if err != nil || done {
		return err
	}
	var saved admin.WebhookView
	err = p.call(r, http.MethodPatch, "/webhooks/"+urlPath(id), req, &saved)
	// A new URL's secret is shown once: a repeated submit lands on the
	// endpoint's page.
	if ferr := p.finishForm(r, s, "/integrations/webhooks/"+url.PathEscape(id), err); ferr != nil {
		return ferr
	}
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
		pr := explain(err)
		pr.Field = ae.Field
		p.renderHookEdit(w, r, http.StatusBadRequest, v, types, req, pr)
		return nil
	}
	if err != nil {
		return err
	}
	if saved.Secret == "" {
		p.redirect(w, r, "/integrations/webhooks/"+url.PathEscape(id), "hook_saved")
		return nil
	}
	return p.renderHookWith(w, r, http.StatusOK, id, &saved, nil, map[string]any{"Moved": v.URL})
}
