package portal

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
)

type spValue struct{ Key, Label, Value string }

type stepView struct {
	Text   string
	Values []spValue
}

type certView struct {
	sso.CertificateInfo
	Warning string
}

type parsedView struct {
	EntityID, Issuer string
	Endpoints        []kv
	Certificates     []certView
}

func (p *Portal) connection(r *http.Request, id string) (*connRow, error) {
	var c connView
	if err := p.call(r, http.MethodGet, "/connections/"+urlPath(id), nil, &c); err != nil {
		return nil, err
	}
	l, cl := statusLabel(&c)
	return &connRow{&c, l, cl}, nil
}

func urlPath(s string) string {
	return strings.NewReplacer("/", "%2F", "?", "%3F", "#", "%23").Replace(s)
}

func (p *Portal) ssoDetail(w http.ResponseWriter, r *http.Request, _ *Session) error {
	c, err := p.connection(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	p.renderDetail(w, r, http.StatusOK, c, nil, nil)
	return nil
}

func (p *Portal) renderDetail(w http.ResponseWriter, r *http.Request, status int, c *connRow, parsed *sso.IdPDetails, pr *problem) {
	g := guideByID(r.FormValue("guide"))
	if g == nil || g.Protocol != c.Protocol {
		g = defaultGuide(c.Protocol)
	}
	sp := map[string]string{}
	if c.SP != nil {
		sp = map[string]string{"entity_id": c.SP.EntityID, "acs_url": c.SP.ACSURL, "metadata_url": c.SP.MetadataURL, "redirect_uri": c.SP.RedirectURI,
			"login_url": c.SP.LoginURL}
	}
	var steps []stepView
	var fields []inputField
	if g != nil {
		for _, st := range g.Steps {
			sv := stepView{Text: st.Text}
			for _, k := range st.Values {
				if sp[k] != "" {
					sv.Values = append(sv.Values, spValue{Key: k, Label: valueLabels[k], Value: sp[k]})
				}
			}
			steps = append(steps, sv)
		}
		fields = g.Fields
	}
	var guideList []*guide
	for i := range guides {
		if guides[i].Protocol == c.Protocol {
			guideList = append(guideList, &guides[i])
		}
	}
	var groups []string
	for _, gr := range c.GroupRoles {
		groups = append(groups, gr.Group+" = "+gr.Role)
	}
	notice := ""
	if parsed != nil {
		notice = "Saved. Check what we read from your identity provider below, then run a test sign-in."
	}
	attempts, err := p.recentAttempts(r, c.ID)
	if err != nil {
		p.log.WarnContext(r.Context(), "portal: recent sign-in attempts", "err", err)
	}
	p.render(w, r, status, "sso_detail", &page{Title: c.DisplayName, Section: string(SectionSSO), Problem: pr, Notice: notice,
		Data: map[string]any{"C": c, "Guide": g, "Guides": guideList, "Steps": steps, "Fields": fields,
			"Parsed": parsedOf(parsed, p.cfg.Now()), "Test": testOf(c), "Attempts": attempts, "GroupRoles": strings.Join(groups, "\n")}})
}

func parsedOf(d *sso.IdPDetails, now time.Time) *parsedView {
	if d == nil {
		return nil
	}
	v := &parsedView{EntityID: d.EntityID, Issuer: d.Issuer}
	for k, e := range d.Endpoints {
		v.Endpoints = append(v.Endpoints, kv{Key: k, Value: e})
	}
	sortKV(v.Endpoints)
	for _, c := range d.Certificates {
		cv := certView{CertificateInfo: c}
		switch {
		case !now.Before(c.NotAfter):
			cv.Warning = "This certificate has expired: sign-ins signed with it will fail. Ask your identity provider for a new one."
		case c.NotAfter.Sub(now) < 30*24*time.Hour:
			cv.Warning = fmt.Sprintf("This certificate expires in %d days. Plan the switch to a new one now.", int(c.NotAfter.Sub(now).Hours()/24))
		case now.Before(c.NotBefore):
			cv.Warning = "This certificate is not valid yet."
		}
		v.Certificates = append(v.Certificates, cv)
	}
	return v
}

func testOf(c *connRow) *testView {
	t := c.LastTest
	if t == nil {
		return nil
	}
	v := &testView{OK: t.OK, At: t.At.UTC().Format("2 Jan 2006 15:04 UTC"), Email: t.Email, Check: t.Reason, Detail: t.Detail}
	if !t.OK {
		if h, ok := testHelp[t.Reason]; ok {
			v.What, v.Fix = h[0], h[1]
		} else {
			v.What, v.Fix = "The test sign-in failed a check.", "The details below name the check with what we expected and what we got."
		}
	}
	return v
}

// configInput builds the protocol's configuration input from the form,
// using only the fields the guide names.
func configInput(r *http.Request, fields []inputField) (json.RawMessage, error) {
	in := map[string]any{}
	seen := map[string]bool{}
	for _, f := range fields {
		if seen[f.Name] {
			continue
		}
		seen[f.Name] = true
		vals := r.PostForm[f.Name]
		switch f.Kind {
		case "textarea":
			if f.Name == "certificates" {
				var certs []string
				for _, v := range vals {
					if v = strings.TrimSpace(v); v != "" {
						certs = append(certs, v)
					}
				}
				if len(certs) > 0 {
					in[f.Name] = certs
				}
				continue
			}
			fallthrough
		case "text", "url", "secret":
			if v := strings.TrimSpace(r.PostFormValue(f.Name)); v != "" {
				in[f.Name] = v
			}
		case "list":
			if v := strings.Fields(r.PostFormValue(f.Name)); len(v) > 0 {
				in[f.Name] = v
			}
		case "switch":
			switch r.PostFormValue(f.Name) {
			case "true":
				in[f.Name] = true
			case "false":
				in[f.Name] = false
			case "":
			default:
				return nil, fieldErr(f.Name, "must be yes or no")
			}
		}
	}
	if len(in) == 0 {
		return nil, fieldErr("config", "is empty: fill in the fields your identity provider gave you")
	}
	return json.Marshal(in)
}

// weakenings lists the switches the form turns to their weaker value from
// the stronger one in use, with what each risks.
func weakenings(r *http.Request, fields []inputField, current map[string]any) (names, risks []string) {
	for _, f := range fields {
		if f.Kind != "switch" || f.Weakens == "" || r.PostFormValue(f.Name) != f.Weakens {
			continue
		}
		if cur, ok := current[f.Name].(bool); ok && fmt.Sprint(cur) == f.Weakens {
			continue // already that way
		}
		names, risks = append(names, f.Name), append(risks, f.Risk)
	}
	return names, risks
}

// switchValue is the value a switch field shows: the one in use.
func switchValue(current map[string]any, name string) string {
	if v, ok := current[name].(bool); ok {
		return fmt.Sprint(v)
	}
	return ""
}

// ssoSetIdP saves the identity provider side and shows what was parsed.
func (p *Portal) ssoSetIdP(w http.ResponseWriter, r *http.Request, s *Session) error {
	c, err := p.connection(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	g := guideByID(r.PostFormValue("guide"))
	if g == nil || g.Protocol != c.Protocol {
		g = defaultGuide(c.Protocol)
	}
	if g == nil {
		return fmt.Errorf("%w: no setup guide for protocol %s", sso.ErrInvalidInput, c.Protocol)
	}
	cfg, err := configInput(r, g.Fields)
	if err == nil {
		cfg, err = withAdvancedInUse(cfg, c)
	}
	if err != nil {
		p.renderDetail(w, r, http.StatusBadRequest, c, nil, explain(err))
		return nil
	}
	weak, risks := weakenings(r, g.Fields, c.Raw)
	if c.Status == sso.ConnectionActive || len(weak) > 0 {
		d := confirmData{Consequence: "Save the new identity provider settings?", Weakens: risks,
			Button: "Save settings", Back: p.basePath + "/connections/" + c.ID}
		if c.Status == sso.ConnectionActive {
			d.Consequence = "This connection is active. Changing its identity provider settings turns it off until a new test sign-in passes and you activate it again; meanwhile people cannot sign in with it."
			d.Button = "Change settings and turn off"
		}
		if len(weak) > 0 {
			d.Button = "Lower security and save"
		}
		if !p.confirmed(w, r, "Change the identity provider settings?", d) {
			return nil
		}
	}
	var out struct {
		IdP *sso.IdPDetails `json:"idp"`
	}
	err = p.call(r, http.MethodPatch, "/connections/"+urlPath(c.ID), admin.UpdateConnectionRequest{Config: cfg}, &out)
	if err != nil {
		p.renderDetail(w, r, statusOf(err), c, nil, explain(err))
		return nil
	}
	// The admin API records the confirmed weakening
	// (EventSecurityWeakened).
	nc, err := p.connection(r, c.ID)
	if err != nil {
		return err
	}
	p.renderDetail(w, r, http.StatusOK, nc, out.IdP, nil)
	return nil
}

// ssoSettings saves the name, attribute mapping and group to role mapping.
func (p *Portal) ssoSettings(w http.ResponseWriter, r *http.Request, _ *Session) error {
	c, err := p.connection(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostFormValue("display_name"))
	req := admin.UpdateConnectionRequest{DisplayName: &name, Mapping: &admin.MappingView{
		Email: strings.TrimSpace(r.PostFormValue("map_email")), GivenName: strings.TrimSpace(r.PostFormValue("map_given_name")),
		FamilyName: strings.TrimSpace(r.PostFormValue("map_family_name")), DisplayName: strings.TrimSpace(r.PostFormValue("map_display_name")),
		Groups: strings.TrimSpace(r.PostFormValue("map_groups"))}, GroupRoles: []admin.GroupRoleView{}}
	if name == "" || len(name) > 200 {
		p.renderDetail(w, r, http.StatusBadRequest, c, nil, explain(fieldErr("display_name", "must be 1 to 200 characters")))
		return nil
	}
	for i, line := range strings.Split(r.PostFormValue("group_roles"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		g, role, ok := strings.Cut(line, "=")
		g, role = strings.TrimSpace(g), strings.TrimSpace(role)
		if !ok || g == "" || role == "" {
			p.renderDetail(w, r, http.StatusBadRequest, c, nil, explain(fieldErr("group_roles",
				fmt.Sprintf("line %d must look like “group name = role”", i+1))))
			return nil
		}
		req.GroupRoles = append(req.GroupRoles, admin.GroupRoleView{Group: g, Role: role})
	}
	if err := p.call(r, http.MethodPatch, "/connections/"+urlPath(c.ID), req, nil); err != nil {
		p.renderDetail(w, r, statusOf(err), c, nil, explain(err))
		return nil
	}
	p.redirect(w, r, "/connections/"+c.ID, "saved")
	return nil
}
