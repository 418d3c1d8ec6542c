package portal

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
)

// testCookie remembers which connection a test sign-in started for, so the
// browser comes back to that connection's page.
const testCookie = "ssokit_portal_test"

func (p *Portal) ssoRoutes(m *http.ServeMux) {
	m.Handle("GET /sso", p.page(SectionSSO, p.ssoList))
	m.Handle("GET /sso/new/{guide}", p.page(SectionSSO, p.ssoNew))
	m.Handle("POST /sso/new/{guide}", p.action(SectionSSO, p.ssoCreate))
	m.Handle("GET /sso/tested", p.page(SectionSSO, p.ssoTested))
	m.Handle("GET /connections/{id}", p.page(SectionSSO, p.ssoDetail))
	m.Handle("POST /connections/{id}/idp", p.action(SectionSSO, p.ssoSetIdP))
	m.Handle("POST /connections/{id}/settings", p.action(SectionSSO, p.ssoSettings))
	m.Handle("GET /connections/{id}/advanced", p.page(SectionSSO, p.ssoAdvanced))
	m.Handle("POST /connections/{id}/advanced", p.action(SectionSSO, p.ssoSaveAdvanced))
	m.Handle("POST /connections/{id}/test", p.action(SectionSSO, p.ssoTest))
	m.Handle("POST /connections/{id}/activate", p.action(SectionSSO, p.ssoActivate))
	m.Handle("POST /connections/{id}/disable", p.action(SectionSSO, p.ssoDisable))
	m.Handle("POST /connections/{id}/delete", p.action(SectionSSO, p.ssoDelete))
	m.Handle("POST /sso/enforcement", p.action(SectionSSO, p.ssoEnforce))
}

// connView is admin.ConnectionView as the portal reads it back, with the
// protocol's configuration view kept as generic fields.
type connView struct {
	admin.ConnectionView
	Settings []kv
	// Raw is the protocol's configuration view as decoded JSON.
	Raw map[string]any
}

type kv struct{ Key, Value string }

func (c *connView) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &c.ConnectionView); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	var cfg map[string]any
	if raw, ok := all[string(c.Protocol)]; ok && json.Unmarshal(raw, &cfg) == nil {
		c.Settings, c.Raw = settingsList(cfg), cfg
	}
	return nil
}

// settingsList shows a protocol's configuration view as labelled values.
func settingsList(cfg map[string]any) []kv {
	var out []kv
	for k, v := range cfg {
		var s string
		switch x := v.(type) {
		case nil:
			continue
		case bool:
			s = map[bool]string{true: "Yes", false: "No"}[x]
		case string:
			if x == "" {
				continue
			}
			if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
				s = t.UTC().Format("2 Jan 2006 15:04 UTC")
			} else {
				s = x
			}
		case float64:
			s = fmt.Sprint(x)
		case []any:
			parts := make([]string, 0, len(x))
			for _, e := range x {
				parts = append(parts, fmt.Sprint(e))
			}
			s = strings.Join(parts, " ")
		default:
			b, _ := json.Marshal(x)
			s = string(b)
		}
		out = append(out, kv{Key: settingLabel(k), Value: s})
	}
	sortKV(out)
	return out
}

func settingLabel(k string) string {
	if l, ok := map[string]string{"idp_entity_id": "Identity provider entity ID", "sso_url": "Single sign-on URL",
		"sso_binding": "Sign-in binding", "slo_url": "Sign-out URL", "certificates": "Trusted certificates",
		"metadata_url": "Metadata URL", "metadata_fetched_at": "Metadata last downloaded",
		"allow_idp_initiated": "Sign-in started from the identity provider allowed", "allow_sha1": "SHA-1 signatures allowed",
		"issuer": "Issuer", "client_id": "Client ID", "client_secret_set": "Client secret stored",
		"scopes": "Scopes", "auth_method": "Client authentication", "authorization_endpoint": "Authorization endpoint",
		"token_endpoint": "Token endpoint", "userinfo_endpoint": "User info endpoint", "jwks_uri": "Signing keys URL",
		"allowed_tenant_ids": "Allowed tenant IDs", "hosted_domains": "Google Workspace domains"}[k]; ok {
		return l
	}
	return strings.ReplaceAll(k, "_", " ")
}

func sortKV(s []kv) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Key < s[j-1].Key; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// statusLabel says what a connection's state means for its users.
func statusLabel(c *connView) (label, class string) {
	switch {
	case c.Status == sso.ConnectionActive:
		return "Active", "ok"
	case c.Status == sso.ConnectionDisabled:
		return "Turned off", "muted"
	case c.Settings == nil:
		return "Needs identity provider details", "warn"
	case c.LastTest != nil && !c.LastTest.OK:
		return "Test failed", "bad"
	case c.LastTestOK != nil:
		return "Tested, ready to activate", "ok"
	}
	return "Needs a test sign-in", "warn"
}

type connRow struct {
	*connView
	StatusText, StatusClass string
}

func (p *Portal) connections(r *http.Request) ([]connRow, error) {
	var out struct {
		Connections []*connView `json:"connections"`
	}
	if err := p.call(r, http.MethodGet, "/connections", nil, &out); err != nil {
		return nil, err
	}
	rows := make([]connRow, 0, len(out.Connections))
	for _, c := range out.Connections {
		l, cl := statusLabel(c)
		rows = append(rows, connRow{c, l, cl})
	}
	return rows, nil
}

func (p *Portal) ssoList(w http.ResponseWriter, r *http.Request, _ *Session) error {
	rows, err := p.connections(r)
	if err != nil {
		return err
	}
	var enf admin.EnforcementView
	if err := p.call(r, http.MethodGet, "/enforcement", nil, &enf); err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "sso", &page{Title: "Single sign-on", Section: string(SectionSSO),
		Data: map[string]any{"Connections": rows, "Guides": guides, "Enforcement": enf}})
	return nil
}

func (p *Portal) ssoNew(w http.ResponseWriter, r *http.Request, _ *Session) error {
	g := guideByID(r.PathValue("guide"))
	if g == nil {
		return fmt.Errorf("portal: guide: %w", sso.ErrNotFound)
	}
	p.render(w, r, http.StatusOK, "sso_new", &page{Title: "Connect " + g.Name, Section: string(SectionSSO),
		Data: map[string]any{"Guide": g, "Name": g.Name}})
	return nil
}

// ssoCreate creates a draft connection for the guide; the form's
// idempotency token makes a double submit lead to the same connection.
func (p *Portal) ssoCreate(w http.ResponseWriter, r *http.Request, s *Session) error {
	g := guideByID(r.PathValue("guide"))
	if g == nil {
		return fmt.Errorf("portal: guide: %w", sso.ErrNotFound)
	}
	name := strings.TrimSpace(r.PostFormValue("display_name"))
	if name == "" || len(name) > 200 {
		p.render(w, r, http.StatusBadRequest, "sso_new", &page{Title: "Connect " + g.Name, Section: string(SectionSSO),
			Problem: explain(fieldErr("display_name", "must be 1 to 200 characters")),
			Data:    map[string]any{"Guide": g, "Name": name}})
		return nil
	}
	done, err := p.once(w, r, s)
	if err != nil || done {
		return err
	}
	var c connView
	err = p.call(r, http.MethodPost, "/connections", admin.CreateConnectionRequest{Protocol: g.Protocol, DisplayName: name}, &c)
	if err != nil {
		_ = p.finishForm(r, s, "/sso", err)
		return err
	}
	loc := "/connections/" + c.ID + "?guide=" + g.ID
	if err := p.cfg.Store.FinishForm(r.Context(), s.ID, r.PostFormValue("form"), loc); err != nil {
		return err
	}
	http.Redirect(w, r, p.basePath+loc+"&done=created", http.StatusSeeOther)
	return nil
}

// finishForm records where the submission of r's form led, so that a
// repeated submit lands there. When the admin API refused the request
// (err an *apiError below 500: nothing was done) it records FormRetry
// instead, so that sending the form again, after going back or
// correcting it, runs it again rather than answering that it was already
// submitted.
func (p *Portal) finishForm(r *http.Request, s *Session, loc string, err error) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status < http.StatusInternalServerError {
		loc = FormRetry
	}
	return p.cfg.Store.FinishForm(r.Context(), s.ID, r.PostFormValue("form"), loc)
}

// once claims the form's idempotency token. When it was claimed before it
// redirects to where the first submission led and reports done.
func (p *Portal) once(w http.ResponseWriter, r *http.Request, s *Session) (bool, error) {
	tok := r.PostFormValue("form")
	if len(tok) < 16 || len(tok) > 64 {
		return false, fieldErr("form", "is missing its submission token; reload the page and try again")
	}
	first, loc, err := p.cfg.Store.ClaimForm(r.Context(), s.ID, tok)
	if err != nil || first {
		return false, err
	}
	if loc == "" {
		loc = "/sso"
	}
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	http.Redirect(w, r, p.basePath+loc+sep+"done=duplicate", http.StatusSeeOther)
	return true, nil
}
