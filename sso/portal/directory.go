package portal

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
)

func (p *Portal) directoryRoutes(m *http.ServeMux) {
	m.Handle("GET /directory", p.page(SectionDirectory, p.directory))
	m.Handle("POST /directory/tokens", p.action(SectionDirectory, p.tokenCreate))
	m.Handle("POST /directory/tokens/{id}/rotate", p.action(SectionDirectory, p.tokenRotate))
	m.Handle("POST /directory/tokens/{id}/revoke", p.action(SectionDirectory, p.tokenRevoke))
}

// scimGuide is the directory sync setup of one identity provider.
type scimGuide struct {
	Name  string
	Steps []string
}

var scimGuides = []scimGuide{
	{Name: "Okta", Steps: []string{
		"Open the SAML app you created for single sign-on, go to the “General” tab and set “Provisioning” to SCIM.",
		"On the “Provisioning” tab › Integration, paste the SCIM base URL as “SCIM connector base URL”, enter “userName” as “Unique identifier field for users”, tick Push New Users, Push Profile Updates and Push Groups, and choose “HTTP Header” authentication with the token below.",
		"Press “Test Connector Configuration”, save, then under “To App” enable Create Users, Update User Attributes and Deactivate Users.",
	}},
	{Name: "Microsoft Entra ID", Steps: []string{
		"Open the enterprise application you created for single sign-on and choose “Provisioning” › Get started, with mode Automatic.",
		"Paste the SCIM base URL as “Tenant URL” and the token as “Secret Token”, press “Test Connection”, and save.",
		"Under “Users and groups” assign who should be synced, then press “Start provisioning”. Entra syncs about every 40 minutes.",
	}},
	{Name: "OneLogin", Steps: []string{
		"Open your SAML app, and on “Configuration” paste the SCIM base URL as “SCIM Base URL” and the token as “SCIM Bearer Token”; press “Enable”.",
		"On the “Provisioning” tab tick “Enable provisioning” and choose what happens when users are deleted or suspended.",
	}},
	{Name: "JumpCloud", Steps: []string{
		"Open your SSO application, go to “Identity Management”, choose SCIM 2.0, paste the SCIM base URL as “Base URL” and the token as “Token Key”.",
		"Press “Test Connection”, then “Activate”, and bind the user groups to sync.",
	}},
	{Name: "Other SCIM 2.0 provider", Steps: []string{
		"In your identity provider's provisioning settings, choose SCIM 2.0 with bearer-token (HTTP header) authentication.",
		"Paste the SCIM base URL and the token below. Users are matched by userName (their email address).",
	}},
}

type tokenRow struct {
	*admin.SCIMTokenView
	StatusText, StatusClass string
}

func (p *Portal) tokenRows(r *http.Request) ([]tokenRow, error) {
	var out struct {
		Tokens []*admin.SCIMTokenView `json:"tokens"`
	}
	if err := p.call(r, http.MethodGet, "/scim-tokens", nil, &out); err != nil {
		return nil, err
	}
	rows := make([]tokenRow, 0, len(out.Tokens))
	now := p.cfg.Now()
	for _, t := range out.Tokens {
		row := tokenRow{SCIMTokenView: t}
		switch {
		case t.RevokedAt != nil:
			row.StatusText, row.StatusClass = "Revoked", "muted"
		case !t.Valid:
			row.StatusText, row.StatusClass = "Expired", "muted"
		case t.ExpiresAt != nil:
			row.StatusText, row.StatusClass = "Old token: stops working "+humanIn(t.ExpiresAt.Sub(now)), "warn"
		default:
			row.StatusText, row.StatusClass = "Current", "ok"
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func humanIn(d time.Duration) string {
	switch {
	case d <= 0:
		return "now"
	case d < time.Hour:
		return fmt.Sprintf("in %d minutes", int(d.Minutes())+1)
	case d < 48*time.Hour:
		return fmt.Sprintf("in %d hours", int(d.Hours()))
	}
	return fmt.Sprintf("in %d days", int(d.Hours()/24))
}

func (p *Portal) directory(w http.ResponseWriter, r *http.Request, s *Session) error {
	return p.renderDirectory(w, r, http.StatusOK, s, nil, "", nil)
}

// renderDirectory renders the directory sync page; fresh is a token just
// created, and replaced the ID of the token it replaces after a rotation.
func (p *Portal) renderDirectory(w http.ResponseWriter, r *http.Request, status int, s *Session, fresh *admin.SCIMTokenView, replaced string, pr *problem) error {
	rows, err := p.tokenRows(r)
	if err != nil {
		return err
	}
	var old *tokenRow
	for i := range rows {
		if replaced != "" && rows[i].ID == replaced {
			old = &rows[i]
		}
	}
	p.render(w, r, status, "directory", &page{Title: "Directory sync", Section: string(SectionDirectory), Problem: pr,
		Data: map[string]any{"Tokens": rows, "Fresh": fresh, "Replaced": old, "Status": p.syncStatusOf(r),
			"BaseURL": p.cfg.SCIMBaseURL(s.OrgID), "Guides": scimGuides}})
	return nil
}

func (p *Portal) tokenCreate(w http.ResponseWriter, r *http.Request, s *Session) error {
	done, err := p.once(w, r, s)
	if err != nil || done {
		return err
	}
	var t admin.SCIMTokenView
	desc := r.PostFormValue("description")
	if err := p.call(r, http.MethodPost, "/scim-tokens", admin.CreateSCIMTokenRequest{Description: desc}, &t); err != nil {
		_ = p.finishForm(r, s, "/directory", err)
		return p.renderDirectory(w, r, statusOf(err), s, nil, "", explain(err))
	}
	// The token is shown once; a repeated submit lands on the list.
	if err := p.cfg.Store.FinishForm(r.Context(), s.ID, r.PostFormValue("form"), "/directory"); err != nil {
		return err
	}
	return p.renderDirectory(w, r, http.StatusCreated, s, &t, "", nil)
}

// overlaps are the choices for keeping an old token working after a
// rotation, in seconds.
var overlaps = map[string]int64{"0": 0, "3600": 3600, "86400": 86400, "604800": 604800}

func (p *Portal) tokenRotate(w http.ResponseWriter, r *http.Request, s *Session) error {
	sec, ok := overlaps[r.PostFormValue("overlap")]
	if !ok {
		return p.renderDirectory(w, r, http.StatusBadRequest, s, nil, "", explain(fieldErr("overlap_seconds", "must be one of the listed choices")))
	}
	done, err := p.once(w, r, s)
	if err != nil || done {
		return err
	}
	id := r.PathValue("id")
	var t admin.SCIMTokenView
	err = p.call(r, http.MethodPost, "/scim-tokens/"+urlPath(id)+"/rotate", admin.RotateSCIMTokenRequest{OverlapSeconds: sec}, &t)
	_ = p.finishForm(r, s, "/directory", err)
	if err != nil {
		return p.renderDirectory(w, r, statusOf(err), s, nil, "", explain(err))
	}
	return p.renderDirectory(w, r, http.StatusCreated, s, &t, id, nil)
}

func (p *Portal) tokenRevoke(w http.ResponseWriter, r *http.Request, _ *Session) error {
	id := r.PathValue("id")
	rows, err := p.tokenRows(r)
	if err != nil {
		return err
	}
	var tok *tokenRow
	for i := range rows {
		if rows[i].ID == id {
			tok = &rows[i]
		}
	}
	if tok == nil {
		return fmt.Errorf("portal: SCIM token: %w", sso.ErrNotFound)
	}
	// The token is named by what the list shows of it, read from the
	// store: never from the form.
	name := tok.Hint + "…"
	if tok.Description != "" {
		name += " (“" + tok.Description + "”)"
	}
	name += ", created " + tok.CreatedAt.UTC().Format("2 Jan 2006 15:04 UTC") + ", " + strings.ToLower(tok.StatusText)
	if !p.confirmed(w, r, "Revoke token "+tok.Hint+"…?", confirmData{
		Consequence: "Your directory stops syncing with token " + name + " at once. Users and groups already synced stay as they are.",
		Button:      "Revoke token " + tok.Hint + "…", Back: p.basePath + "/directory"}) {
		return nil
	}
	if err := p.call(r, http.MethodDelete, "/scim-tokens/"+urlPath(id), nil, nil); err != nil {
		return err
	}
	p.redirect(w, r, "/directory", "token_revoked")
	return nil
}
