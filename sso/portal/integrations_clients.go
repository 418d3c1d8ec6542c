package portal

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
)

func (p *Portal) clientRoutes(m *http.ServeMux) {
	m.Handle("POST /integrations/clients", p.action(SectionIntegrations, p.clientCreate))
	m.Handle("POST /integrations/clients/{id}/scopes", p.action(SectionIntegrations, p.clientScopes))
	m.Handle("POST /integrations/clients/{id}/rotate", p.action(SectionIntegrations, p.clientRotate))
	m.Handle("POST /integrations/clients/{id}/disable", p.action(SectionIntegrations, p.clientDisable))
	m.Handle("POST /integrations/clients/{id}/delete", p.action(SectionIntegrations, p.clientDelete))
	m.Handle("POST /integrations/exchange", p.action(SectionIntegrations, p.exchangeSave))
}

// words splits a list typed one entry per line (spaces and commas
// separate too), keeping the order.
func words(s string) []string {
	out := []string{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ' ' || r == '\t' }) {
		out = append(out, f)
	}
	return out
}

func (p *Portal) clientCreate(w http.ResponseWriter, r *http.Request, s *Session) error {
	req := admin.CreateClientRequest{Name: strings.TrimSpace(r.PostFormValue("name")), Scopes: words(r.PostFormValue("scopes")),
		Exchange: r.PostFormValue("exchange") == "true"}
	done, err := p.once(w, r, s)
	if err != nil || done {
		return err
	}
	var v admin.APIClientView
	err = p.call(r, http.MethodPost, "/api-clients", req, &v)
	if ferr := p.finishForm(r, s, "/integrations", err); ferr != nil {
		return ferr
	}
	if err != nil {
		if notEnabled(err) {
			return err
		}
		return p.renderIntegrations(w, r, statusOf(err), explain(err), map[string]any{"ClientForm": req})
	}
	return p.renderIntegrations(w, r, http.StatusCreated, nil, map[string]any{"FreshClient": &v})
}

func (p *Portal) clientScopes(w http.ResponseWriter, r *http.Request, _ *Session) error {
	id := r.PathValue("id")
	req := admin.SetClientScopesRequest{Scopes: words(r.PostFormValue("scopes")), Exchange: r.PostFormValue("exchange") == "true"}
	if err := p.call(r, http.MethodPut, "/api-clients/"+urlPath(id)+"/scopes", req, nil); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
			return p.renderIntegrations(w, r, http.StatusBadRequest, explain(err), nil)
		}
		return err
	}
	p.redirect(w, r, "/integrations", "client_scopes")
	return nil
}

// clientOverlaps are the choices for keeping an API client's old secret
// working after a rotation, in seconds (the admin API allows 30 days).
var clientOverlaps = map[string]int64{"0": 0, "3600": 3600, "86400": 86400, "604800": 604800}

func (p *Portal) clientRotate(w http.ResponseWriter, r *http.Request, s *Session) error {
	sec, ok := clientOverlaps[r.PostFormValue("overlap")]
	if !ok {
		return p.renderIntegrations(w, r, http.StatusBadRequest, explain(fieldErr("overlap_seconds", "must be one of the listed choices")), nil)
	}
	done, err := p.once(w, r, s)
	if err != nil || done {
		return err
	}
	id := r.PathValue("id")
	var v admin.APIClientView
	err = p.call(r, http.MethodPost, "/api-clients/"+urlPath(id)+"/rotate", admin.RotateClientSecretRequest{OverlapSeconds: sec}, &v)
	if ferr := p.finishForm(r, s, "/integrations", err); ferr != nil {
		return ferr
	}
	if err != nil {
		return err
	}
	return p.renderIntegrations(w, r, http.StatusOK, nil, map[string]any{"FreshClient": &v})
}

// clientNamed reads org's client id from the list (there is no GET of one).
func (p *Portal) clientNamed(r *http.Request, id string) (*admin.APIClientView, error) {
	var out struct {
		Clients []*admin.APIClientView `json:"clients"`
	}
	if err := p.call(r, http.MethodGet, "/api-clients", nil, &out); err != nil {
		return nil, err
	}
	for _, c := range out.Clients {
		if c.ID == id {
			return c, nil
		}
	}
	return nil, fmt.Errorf("portal: API client %q: %w", id, sso.ErrNotFound)
}

func (p *Portal) clientDisable(w http.ResponseWriter, r *http.Request, _ *Session) error {
	return p.clientEnd(w, r, "disable", http.MethodPost, "/disable", "client_disabled",
		"“%s” can no longer get tokens, and the tokens it holds stop working. This cannot be undone: create a new client to connect again.", "Disable client")
}

func (p *Portal) clientDelete(w http.ResponseWriter, r *http.Request, _ *Session) error {
	return p.clientEnd(w, r, "delete", http.MethodDelete, "", "client_deleted",
		"“%s” is deleted with its secret: whatever uses it can no longer get tokens.", "Delete client")
}

func (p *Portal) clientEnd(w http.ResponseWriter, r *http.Request, verb, method, suffix, notice, consequence, button string) error {
	id := r.PathValue("id")
	c, err := p.clientNamed(r, id)
	if err != nil {
		return err
	}
	if !p.confirmed(w, r, strings.ToUpper(verb[:1])+verb[1:]+" API client “"+c.Name+"”?", confirmData{
		Consequence: fmt.Sprintf(consequence, c.Name), Button: button, Back: p.basePath + "/integrations"}) {
		return nil
	}
	if err := p.call(r, method, "/api-clients/"+urlPath(id)+suffix, nil, nil); err != nil {
		return err
	}
	p.redirect(w, r, "/integrations", notice)
	return nil
}

func (p *Portal) exchangeSave(w http.ResponseWriter, r *http.Request, _ *Session) error {
	list := r.PostFormValue("audiences")
	auds := words(list)
	err := p.call(r, http.MethodPut, "/token-exchange", admin.SetExchangeRequest{Audiences: auds}, nil)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
		pr := explain(err)
		pr.What = "The audiences could not be saved: " + ae.Message + "."
		if i, ok := indexIn(ae.Field, "audiences["); ok && i < len(auds) {
			pr.What = fmt.Sprintf("Entry %d, “%s”, %s.", i+1, auds[i], ae.Message)
		}
		pr.Next = "Correct the list and save again. Nothing was changed."
		return p.renderIntegrations(w, r, http.StatusBadRequest, pr, map[string]any{"Audiences": list, "AudInvalid": true})
	}
	if err != nil {
		return err
	}
	p.redirect(w, r, "/integrations", "audiences_saved")
	return nil
}

// indexIn reads i from a field named prefix+"i]".
func indexIn(field, prefix string) (int, bool) {
	s, ok := strings.CutPrefix(field, prefix)
	if !ok {
		return 0, false
	}
	var i int
	_, err := fmt.Sscanf(strings.TrimSuffix(s, "]"), "%d", &i)
	return i, err == nil
}
