package portal

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso/admin"
)

// The integrations section lets a customer's IT admin connect their own
// systems: webhook endpoints and SIEM streams that receive the
// organization's events, API clients, and the audiences API clients may
// exchange users' tokens for. Each part shows "not enabled by the
// application" when the host did not turn it on (its admin routes answer
// 404).
func (p *Portal) integrationRoutes(m *http.ServeMux) {
	m.Handle("GET /integrations", p.page(SectionIntegrations, p.integrations))
	m.Handle("POST /integrations/webhooks", p.action(SectionIntegrations, p.hookCreate))
	m.Handle("GET /integrations/webhooks/{id}", p.page(SectionIntegrations, p.hookDetail))
	m.Handle("POST /integrations/webhooks/{id}/enable", p.action(SectionIntegrations, p.hookEnable))
	m.Handle("POST /integrations/webhooks/{id}/disable", p.action(SectionIntegrations, p.hookDisable))
	m.Handle("POST /integrations/webhooks/{id}/rotate", p.action(SectionIntegrations, p.hookRotate))
	m.Handle("POST /integrations/webhooks/{id}/delete", p.action(SectionIntegrations, p.hookDelete))
	m.Handle("POST /integrations/webhooks/{id}/deliveries/{delivery}/redeliver", p.action(SectionIntegrations, p.hookRedeliver))
	m.Handle("POST /integrations/webhooks/{id}/redeliver", p.action(SectionIntegrations, p.hookRedeliverSince))
	p.hookEditRoutes(m)
	p.clientRoutes(m)
}

// integrationNotices are the confirmations of this section (?done=).
var integrationNotices = map[string]string{
	"hook_enabled":    "Endpoint enabled. Events are delivered to it again, starting with the ones that waited.",
	"hook_disabled":   "Endpoint disabled. Events wait for it until you enable it again.",
	"hook_deleted":    "Endpoint deleted. It receives no more events.",
	"hook_saved":      hookSavedNotice,
	"redelivered":     "Delivery queued again. Its new attempt appears in the log below within a minute.",
	"redelivered_all": "Deliveries queued again. Their new attempts appear in the log below within a few minutes.",
	"client_scopes":   "Permissions saved. New tokens of this client carry them.",
	"client_disabled": "API client disabled. Its secret no longer gets tokens.",
	"client_deleted":  "API client deleted.",
	"audiences_saved": "Token exchange audiences saved.",
	"duplicate":       "That form was already submitted once; a secret is shown only once, so it is not shown again.",
}

// renderIntegration renders a page of the section with its notices.
func (p *Portal) renderIntegration(w http.ResponseWriter, r *http.Request, status int, name, title string, pr *problem, data any) {
	pg := &page{Title: title, Section: string(SectionIntegrations), Problem: pr, Data: data,
		Notice: integrationNotices[r.URL.Query().Get("done")]}
	p.render(w, r, status, name, pg)
}

// notEnabled reports whether err is the admin API's 404 for a feature the
// host did not enable.
func notEnabled(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

type hookList struct {
	Endpoints      []*admin.WebhookView `json:"endpoints"`
	HostEventTypes []string             `json:"host_event_types"`
}

// integrationsData gathers the section's overview.
func (p *Portal) integrationsData(r *http.Request) (map[string]any, error) {
	var hooks hookList
	hooksOn := true
	if err := p.call(r, http.MethodGet, "/webhooks", nil, &hooks); notEnabled(err) {
		hooksOn = false
	} else if err != nil {
		return nil, err
	}
	var clients struct {
		Clients []*admin.APIClientView `json:"clients"`
	}
	clientsOn := true
	if err := p.call(r, http.MethodGet, "/api-clients", nil, &clients); notEnabled(err) {
		clientsOn = false
	} else if err != nil {
		return nil, err
	}
	var ex admin.ExchangeView
	if err := p.call(r, http.MethodGet, "/token-exchange", nil, &ex); err != nil {
		return nil, err
	}
	return map[string]any{"HooksOn": hooksOn, "Hooks": hooks.Endpoints, "EventTypes": hooks.HostEventTypes,
		"ClientsOn": clientsOn, "Clients": clients.Clients,
		"Audiences": strings.Join(ex.Audiences, "\n"), "Form": admin.WebhookRequest{}, "Invalid": "", "AudInvalid": false}, nil
}

func (p *Portal) integrations(w http.ResponseWriter, r *http.Request, _ *Session) error {
	return p.renderIntegrations(w, r, http.StatusOK, nil, nil)
}

// renderIntegrations shows the overview; extra adds to its data (a fresh
// secret, the form as typed, an error's field).
func (p *Portal) renderIntegrations(w http.ResponseWriter, r *http.Request, status int, pr *problem, extra map[string]any) error {
	d, err := p.integrationsData(r)
	if err != nil {
		return err
	}
	for k, v := range extra {
		d[k] = v
	}
	p.renderIntegration(w, r, status, "integrations", "Integrations", pr, d)
	return nil
}

// hookRequest reads the create form.
func hookRequest(r *http.Request) (admin.WebhookRequest, error) {
	req := admin.WebhookRequest{Kind: r.PostFormValue("kind"), URL: strings.TrimSpace(r.PostFormValue("url")),
		Description: strings.TrimSpace(r.PostFormValue("description")), EventTypes: r.PostForm["event_types"]}
	if req.EventTypes == nil {
		req.EventTypes = []string{}
	}
	if req.Kind != "webhook" && req.Kind != "siem" {
		return req, fieldErr("kind", "must be a webhook or a SIEM stream")
	}
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"timeout_seconds", &req.TimeoutSeconds}} {
		if s := r.PostFormValue(f.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 32)
			if err != nil {
				return req, fieldErr(f.name, "must be a whole number of seconds")
			}
			*f.dst = n
		}
	}
	if s := r.PostFormValue("batch_size"); s != "" && req.Kind == "siem" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return req, fieldErr("batch_size", "must be a whole number")
		}
		req.BatchSize = n
	}
	return req, nil
}

func (p *Portal) hookCreate(w http.ResponseWriter, r *http.Request, s *Session) error {
	req, err := hookRequest(r)
	form := map[string]any{"Form": req}
	if err != nil {
		pr := explain(err)
		form["Invalid"] = pr.Field
		return p.renderIntegrations(w, r, http.StatusBadRequest, pr, form)
	}
	done, err := p.once(w, r, s)
	if err != nil || done {
		return err
	}
	var v admin.WebhookView
	err = p.call(r, http.MethodPost, "/webhooks", req, &v)
	// The secret is shown once: a repeated submit lands on the list.
	if ferr := p.finishForm(r, s, "/integrations", err); ferr != nil {
		return ferr
	}
	if err != nil {
		if notEnabled(err) {
			return err
		}
		pr := explain(err)
		var ae *apiError
		if errors.As(err, &ae) {
			form["Invalid"] = ae.Field
		}
		return p.renderIntegrations(w, r, statusOf(err), pr, form)
	}
	return p.renderHook(w, r, http.StatusCreated, v.ID, &v, nil)
}

// deliveryFilters are the status choices of the delivery log.
var deliveryFilters = []string{"", "pending", "delivered", "failed", "paused"}

type deliveryPage struct {
	Deliveries []*admin.DeliveryView `json:"deliveries"`
	Next       string                `json:"next"`
}

// renderHook shows endpoint id with its delivery log; fresh carries a
// secret just created or rotated.
func (p *Portal) renderHook(w http.ResponseWriter, r *http.Request, status int, id string, fresh *admin.WebhookView, pr *problem) error {
	return p.renderHookWith(w, r, status, id, fresh, pr, nil)
}

// renderHookWith is renderHook with extra page data (Moved: the URL an
// endpoint just moved away from).
func (p *Portal) renderHookWith(w http.ResponseWriter, r *http.Request, status int, id string, fresh *admin.WebhookView, pr *problem,
	extra map[string]any) error {
	var v admin.WebhookView
	if err := p.call(r, http.MethodGet, "/webhooks/"+urlPath(id), nil, &v); err != nil {
		return err
	}
	q := r.URL.Query()
	st := q.Get("status")
	if r.Method != http.MethodGet || !validFilter(st) {
		st = ""
	}
	lq := url.Values{"limit": {"20"}}
	if st != "" {
		lq.Set("status", st)
	}
	if b := q.Get("before"); b != "" && r.Method == http.MethodGet {
		lq.Set("before", b)
	}
	var dp deliveryPage
	if err := p.call(r, http.MethodGet, "/webhooks/"+urlPath(id)+"/deliveries?"+lq.Encode(), nil, &dp); err != nil {
		return err
	}
	next := ""
	if dp.Next != "" {
		nq := url.Values{"before": {dp.Next}}
		if st != "" {
			nq.Set("status", st)
		}
		next = "?" + nq.Encode()
	}
	data := map[string]any{"V": &v, "Fresh": fresh, "Deliveries": dp.Deliveries, "Next": next, "Status": st,
		"Filters": deliveryFilters, "Paged": lq.Get("before") != "", "Moved": ""}
	for k, x := range extra {
		data[k] = x
	}
	p.renderIntegration(w, r, status, "integration_hook", hookTitle(&v), pr, data)
	return nil
}

func validFilter(s string) bool {
	for _, f := range deliveryFilters {
		if s == f {
			return true
		}
	}
	return false
}

func hookTitle(v *admin.WebhookView) string {
	if v.Kind == "siem" {
		return "SIEM stream " + v.URL
	}
	return "Webhook endpoint " + v.URL
}

func (p *Portal) hookDetail(w http.ResponseWriter, r *http.Request, _ *Session) error {
	return p.renderHook(w, r, http.StatusOK, r.PathValue("id"), nil, nil)
}

func (p *Portal) hookEnable(w http.ResponseWriter, r *http.Request, _ *Session) error {
	return p.hookToggle(w, r, "enable", "hook_enabled")
}

func (p *Portal) hookDisable(w http.ResponseWriter, r *http.Request, _ *Session) error {
	return p.hookToggle(w, r, "disable", "hook_disabled")
}

func (p *Portal) hookToggle(w http.ResponseWriter, r *http.Request, verb, notice string) error {
	id := r.PathValue("id")
	if err := p.call(r, http.MethodPost, "/webhooks/"+urlPath(id)+"/"+verb, nil, nil); err != nil {
		return err
	}
	p.redirect(w, r, "/integrations/webhooks/"+url.PathEscape(id), notice)
	return nil
}

// secretOverlaps are the choices for keeping an old secret working after
// a rotation, in seconds (the admin API allows at most 7 days).
var secretOverlaps = map[string]int64{"0": 0, "3600": 3600, "86400": 86400, "604800": 604800}

func (p *Portal) hookRotate(w http.ResponseWriter, r *http.Request, s *Session) error {
	id := r.PathValue("id")
	sec, ok := secretOverlaps[r.PostFormValue("overlap")]
	if !ok {
		return p.renderHook(w, r, http.StatusBadRequest, id, nil, explain(fieldErr("overlap_seconds", "must be one of the listed choices")))
	}
	done, err := p.once(w, r, s)
	if err != nil || done {
		return err
	}
	var v admin.WebhookView
	err = p.call(r, http.MethodPost, "/webhooks/"+urlPath(id)+"/rotate-secret", admin.RotateWebhookSecretRequest{OverlapSeconds: sec}, &v)
	if ferr := p.finishForm(r, s, "/integrations/webhooks/"+url.PathEscape(id), err); ferr != nil {
		return ferr
	}
	if err != nil {
		return err
	}
	return p.renderHook(w, r, http.StatusOK, id, &v, nil)
}

func (p *Portal) hookDelete(w http.ResponseWriter, r *http.Request, _ *Session) error {
	id := r.PathValue("id")
	var v admin.WebhookView
	if err := p.call(r, http.MethodGet, "/webhooks/"+urlPath(id), nil, &v); err != nil {
		return err
	}
	if !p.confirmed(w, r, "Delete "+hookTitle(&v)+"?", confirmData{
		Consequence: "“" + v.URL + "” stops receiving events now, and its delivery log is deleted with it. Events that were not delivered yet are not sent.",
		Button:      "Delete endpoint", Back: p.basePath + "/integrations/webhooks/" + url.PathEscape(id)}) {
		return nil
	}
	if err := p.call(r, http.MethodDelete, "/webhooks/"+urlPath(id), nil, nil); err != nil {
		return err
	}
	p.redirect(w, r, "/integrations", "hook_deleted")
	return nil
}

func (p *Portal) hookRedeliver(w http.ResponseWriter, r *http.Request, _ *Session) error {
	id, d := r.PathValue("id"), r.PathValue("delivery")
	if err := p.call(r, http.MethodPost, "/webhooks/"+urlPath(id)+"/deliveries/"+urlPath(d)+"/redeliver", nil, nil); err != nil {
		return err
	}
	p.redirect(w, r, "/integrations/webhooks/"+url.PathEscape(id), "redelivered")
	return nil
}

// redeliverWindows are the choices for sending deliveries again, in
// seconds back from now.
var redeliverWindows = map[string]time.Duration{"3600": time.Hour, "86400": 24 * time.Hour, "604800": 7 * 24 * time.Hour}

// hookRedeliverSince sends again every delivery of the endpoint from the
// chosen window, for a receiver that lost what it had accepted.
func (p *Portal) hookRedeliverSince(w http.ResponseWriter, r *http.Request, _ *Session) error {
	id := r.PathValue("id")
	back, ok := redeliverWindows[r.PostFormValue("window")]
	if !ok {
		return p.renderHook(w, r, http.StatusBadRequest, id, nil, explain(fieldErr("window", "must be one of the listed choices")))
	}
	since := p.cfg.Now().Add(-back).UTC().Format(time.RFC3339)
	if err := p.call(r, http.MethodPost, "/webhooks/"+urlPath(id)+"/redeliver", admin.RedeliverSinceRequest{Since: since}, nil); err != nil {
		return err
	}
	p.redirect(w, r, "/integrations/webhooks/"+url.PathEscape(id), "redelivered_all")
	return nil
}
