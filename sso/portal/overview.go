package portal

import (
	"net/http"
	"strconv"

	"github.com/ssokit/ssokit/sso/admin"
)

// item is one line of the overview checklist.
type item struct {
	Done       bool
	Text, Next string
	Href, Link string
}

func (p *Portal) overview(w http.ResponseWriter, r *http.Request, s *Session) error {
	var items []item
	if s.Allows(SectionDomains) {
		var ds struct {
			Domains []*admin.DomainView `json:"domains"`
		}
		if err := p.call(r, http.MethodGet, "/domains", nil, &ds); err != nil {
			return err
		}
		n := 0
		for _, d := range ds.Domains {
			if d.State == "verified" {
				n++
			}
		}
		it := item{Done: n > 0, Href: p.basePath + "/domains", Link: "Domains"}
		if n > 0 {
			it.Text = plural(n, "verified domain", "verified domains")
		} else {
			it.Text, it.Next = "No verified domain yet", "Add your email domain and publish one DNS record."
		}
		items = append(items, it)
	}
	if s.Allows(SectionSSO) {
		rows, err := p.connections(r)
		if err != nil {
			return err
		}
		var active, tested int
		for _, c := range rows {
			if c.Status == "active" {
				active++
			} else if c.LastTestOK != nil {
				tested++
			}
		}
		it := item{Done: active > 0, Href: p.basePath + "/sso", Link: "Single sign-on"}
		switch {
		case active > 0:
			it.Text = plural(active, "active connection", "active connections")
		case tested > 0:
			it.Text, it.Next = "A connection passed its test", "Activate it so people can sign in with it."
		case len(rows) > 0:
			it.Text, it.Next = "A connection is being set up", "Finish the steps and run a test sign-in."
		default:
			it.Text, it.Next = "No single sign-on connection yet", "Choose your identity provider and follow the steps."
		}
		items = append(items, it)
		var enf admin.EnforcementView
		if err := p.call(r, http.MethodGet, "/enforcement", nil, &enf); err != nil {
			return err
		}
		eit := item{Done: enf.Enforced, Href: p.basePath + "/sso#h-enf", Link: "Require single sign-on"}
		if enf.Enforced {
			eit.Text = "Single sign-on is required for everyone"
		} else {
			eit.Text, eit.Next = "Single sign-on is optional", "When a connection works, you can require it for everyone."
		}
		items = append(items, eit)
	}
	if s.Allows(SectionDirectory) && p.cfg.SCIMBaseURL != nil {
		rows, err := p.tokenRows(r)
		if err != nil {
			return err
		}
		it := item{Href: p.basePath + "/directory", Link: "Directory sync"}
		for _, t := range rows {
			if t.Valid {
				it.Done = true
			}
		}
		if it.Done {
			it.Text = "Directory sync has a working token"
		} else {
			it.Text, it.Next = "Directory sync is not set up", "Optional: create a token so your identity provider keeps users up to date."
		}
		items = append(items, it)
	}
	p.render(w, r, http.StatusOK, "overview", &page{Title: "Overview", Section: "overview", Data: items})
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
