package portal

import (
	"net/http"

	"github.com/ssokit/ssokit/sso/admin"
)

// The domains page also holds the one rule about email domains at sign-in:
// whether members may sign in through single sign-on with an email outside
// the verified domains. Turning it on weakens security, so it goes through
// a confirmation and the admin API audits it as weakening.
func (p *Portal) domainPolicyRoutes(m *http.ServeMux) {
	m.Handle("POST /domains/policy", p.action(SectionDomains, p.domainPolicySave))
}

// orgSettings reads the organization's view for the domains page.
func (p *Portal) orgSettings(r *http.Request) (*admin.OrgView, error) {
	var v admin.OrgView
	if err := p.call(r, http.MethodGet, "/org", nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

func (p *Portal) domainPolicySave(w http.ResponseWriter, r *http.Request, _ *Session) error {
	allow := r.PostFormValue("allow_unverified_email_domains") == "true"
	cur, err := p.orgSettings(r)
	if err != nil {
		return err
	}
	if allow && !cur.AllowUnverifiedEmailDomains && !p.confirmed(w, r, "Allow sign-in with other email domains?", confirmData{
		Consequence: "Members will be able to sign in through your single sign-on with an email address outside your verified domains.",
		Weakens: []string{"Your identity provider alone decides which email addresses are accepted: an address in a domain " +
			"you do not own could be used to sign in (never one that another organization has verified, and such " +
			"addresses are never used to link accounts)."},
		Action: p.basePath + "/domains/policy", Button: "Allow other email domains", Back: p.basePath + "/domains",
	}) {
		return nil
	}
	req := admin.OrgUpdateRequest{AllowUnverifiedEmailDomains: &allow, Confirm: allow}
	if err := p.call(r, http.MethodPatch, "/org", req, nil); err != nil {
		return p.renderDomains(w, r, statusOf(err), explain(err), "", "")
	}
	p.redirect(w, r, "/domains", "saved")
	return nil
}
