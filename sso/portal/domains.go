package portal

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso/admin"
)

func (p *Portal) domainRoutes(m *http.ServeMux) {
	m.Handle("GET /domains", p.page(SectionDomains, p.domainList))
	m.Handle("POST /domains", p.action(SectionDomains, p.domainAdd))
	m.Handle("POST /domains/{name}/verify", p.action(SectionDomains, p.domainVerify))
	m.Handle("POST /domains/{name}/remove", p.action(SectionDomains, p.domainRemove))
	p.domainPolicyRoutes(m)
}

type domainRow struct {
	*admin.DomainView
	StatusText, StatusClass string
	// Last is the latest check in the audit trail (manual or scheduled).
	Last *auditEntry
	// LastText explains Last's result.
	LastText string
}

// lastChecks returns the latest verification result of each of the
// organization's domains in the last 30 days, by domain name.
func (p *Portal) lastChecks(r *http.Request) map[string]*auditEntry {
	since := p.cfg.Now().Add(-30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	out := map[string]*auditEntry{}
	for _, typ := range []string{"domain.verified", "domain.verification_failed", "domain.recheck_missed"} {
		evs, _, err := p.newestEvents(r, url.Values{"type": {typ}, "since": {since}}, 200, 3, func(e *auditEntry) bool { return e.TargetTyp == "domain" })
		if err != nil {
			p.log.WarnContext(r.Context(), "portal: domain checks", "err", err)
			return out
		}
		for _, e := range evs {
			if cur := out[e.TargetID]; cur == nil || e.Time.After(cur.Time) {
				out[e.TargetID] = e
			}
		}
	}
	return out
}

func domainStatus(d *admin.DomainView) (string, string) {
	switch {
	case d.State == "verified" && d.ConsecutiveFailures > 0:
		return "Verified, but the record was missing at the last check", "warn"
	case d.State == "verified":
		return "Verified", "ok"
	case d.State == "failed":
		return "Verification lost: record missing", "bad"
	}
	return "Waiting for the DNS record", "warn"
}

func (p *Portal) domainList(w http.ResponseWriter, r *http.Request, _ *Session) error {
	return p.renderDomains(w, r, http.StatusOK, nil, "", "")
}

func (p *Portal) renderDomains(w http.ResponseWriter, r *http.Request, status int, pr *problem, about, typed string) error {
	var out struct {
		Domains []*admin.DomainView `json:"domains"`
	}
	if err := p.call(r, http.MethodGet, "/domains", nil, &out); err != nil {
		return err
	}
	rows := make([]domainRow, 0, len(out.Domains))
	last := p.lastChecks(r)
	for _, d := range out.Domains {
		t, c := domainStatus(d)
		row := domainRow{DomainView: d, StatusText: t, StatusClass: c, Last: last[d.Name]}
		if e := row.Last; e != nil {
			row.LastText = "Record found and correct."
			if e.Outcome == "failure" {
				row.LastText = "Failed"
				if pr, ok := reasons[e.Reason]; ok {
					row.LastText += ": " + pr.What
				} else if e.Reason != "" {
					row.LastText += " (" + e.Reason + ")."
				}
			}
		}
		rows = append(rows, row)
	}
	org, err := p.orgSettings(r)
	if err != nil {
		return err
	}
	p.render(w, r, status, "domains", &page{Title: "Domains", Section: string(SectionDomains), Problem: pr,
		Data: map[string]any{"Domains": rows, "About": about, "Typed": typed, "Org": org}})
	return nil
}

func (p *Portal) domainAdd(w http.ResponseWriter, r *http.Request, _ *Session) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		return p.renderDomains(w, r, http.StatusBadRequest, explain(fieldErr("name", "is empty: enter your company's email domain, for example example.com")), "", name)
	}
	if err := p.call(r, http.MethodPost, "/domains", admin.AddDomainRequest{Name: name}, nil); err != nil {
		pr := explain(err)
		if pr.Field == "" {
			pr.Field = "name"
		}
		return p.renderDomains(w, r, statusOf(err), pr, "", name)
	}
	p.redirect(w, r, "/domains", "domain_added")
	return nil
}

func (p *Portal) domainVerify(w http.ResponseWriter, r *http.Request, _ *Session) error {
	name := r.PathValue("name")
	if err := p.call(r, http.MethodPost, "/domains/"+urlPath(name)+"/verify", nil, nil); err != nil {
		pr := explain(err)
		pr.What = name + ": " + pr.What
		return p.renderDomains(w, r, statusOf(err), pr, name, "")
	}
	p.redirect(w, r, "/domains", "verified")
	return nil
}

func (p *Portal) domainRemove(w http.ResponseWriter, r *http.Request, _ *Session) error {
	name := r.PathValue("name")
	if !p.confirmed(w, r, "Remove "+name+"?", confirmData{
		Consequence: "Sign-ins with " + name + " addresses will no longer be sent to your single sign-on, and new accounts with this domain will no longer be linked to your organization.",
		Button:      "Remove domain", Back: p.basePath + "/domains"}) {
		return nil
	}
	if err := p.call(r, http.MethodDelete, "/domains/"+urlPath(name), nil, nil); err != nil {
		return err
	}
	p.redirect(w, r, "/domains", "removed")
	return nil
}
