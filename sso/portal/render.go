package portal

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/httperr"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// page is what every template receives.
type page struct {
	Title   string
	Brand   Brand
	Base    string
	Section string
	Nav     []navItem
	CSRF    string
	Actor   string
	// Org is the name of the organization being set up.
	Org     string
	Notice  string
	Problem *problem
	Data    any
}

type navItem struct {
	Label, Href string
	Current     bool
}

var funcs = template.FuncMap{
	"date": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "never"
			}
			return v.UTC().Format("2 Jan 2006 15:04 UTC")
		case *time.Time:
			if v == nil || v.IsZero() {
				return "never"
			}
			return v.UTC().Format("2 Jan 2006 15:04 UTC")
		}
		return ""
	},
	"newForm": func() string { return opaque.NewToken(16) },
	"inc":     func(i int) int { return i + 1 },
	"fieldArgs": func(f inputField, i int, pr *problem, current map[string]any) map[string]any {
		return map[string]any{"F": f, "I": i, "Current": switchValue(current, f.Name),
			"Invalid": pr != nil && pr.Field != "" && (pr.Field == f.Name || pr.Field == "config" && f.Kind != "switch")}
	},
}

func parseTemplates() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("portal: template %s: %w", n, err)
		}
		out[base] = t
	}
	return out, nil
}

// render writes the named page. pg.Base, Brand, Nav and CSRF are filled in
// from the request's session.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, name string, pg *page) {
	pg.Base, pg.Brand = p.basePath, p.cfg.Brand
	if s := sessionFrom(r.Context()); s != nil {
		pg.CSRF = s.CSRF
		pg.Actor = actorLabel(s.Actor)
		pg.Nav = p.nav(s, pg.Section)
		if o, err := p.cfg.Admin.Store.GetOrg(r.Context(), s.OrgID); err == nil {
			pg.Org = o.Name
		}
	}
	if pg.Notice == "" {
		pg.Notice = notices[r.URL.Query().Get("done")]
	}
	var b strings.Builder
	if err := p.tmpl[name].Execute(&b, pg); err != nil {
		p.log.ErrorContext(r.Context(), "portal: render", "page", name, "err", err)
		http.Error(w, "The page could not be shown. Reload it; if that does not help, contact support.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

func (p *Portal) nav(s *Session, current string) []navItem {
	items := []navItem{{Label: "Overview", Href: p.basePath + "/", Current: current == "overview"}}
	labels := map[Section]string{SectionSSO: "Single sign-on", SectionDomains: "Domains",
		SectionDirectory: "Directory sync", SectionAudit: "Audit log", SectionIntegrations: "Integrations"}
	paths := map[Section]string{SectionSSO: "/sso", SectionDomains: "/domains", SectionDirectory: "/directory", SectionAudit: "/audit", SectionIntegrations: "/integrations"}
	for _, sec := range AllSections {
		if s.Allows(sec) && (sec != SectionDirectory || p.cfg.SCIMBaseURL != nil) {
			items = append(items, navItem{Label: labels[sec], Href: p.basePath + paths[sec], Current: current == string(sec)})
		}
	}
	return items
}

func actorLabel(a sso.Actor) string {
	switch a.Type {
	case ActorSetupLink:
		return "Signed in with a setup link"
	case sso.ActorOperator:
		return "Support staff (" + a.ID + ")"
	}
	return "Administrator " + a.ID
}

// renderEnded shows a page for a visitor without a session.
func (p *Portal) renderEnded(w http.ResponseWriter, r *http.Request, status int, what, next string) {
	p.render(w, r, status, "ended", &page{Title: what, Problem: &problem{What: what, Next: next}})
}

// fail shows an error page for err.
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, err error) {
	pr := explain(err)
	status := pr.Status
	if status >= 500 && !errors.Is(err, sso.ErrUnavailable) {
		p.log.ErrorContext(r.Context(), "portal: request failed", "path", r.URL.Path, "err", err)
	}
	p.render(w, r, status, "error", &page{Title: pr.What, Problem: pr})
}

// statusOf is the HTTP status of err.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return httperr.Status(err)
}

// contrastOnWhite returns the WCAG contrast ratio of #rrggbb against white.
func contrastOnWhite(hex string) float64 {
	if len(hex) != 7 {
		return 0
	}
	lum := 0.0
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return 0
		}
		c := float64(v) / 255
		if c <= 0.03928 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		lum += w * c
	}
	return 1.05 / (lum + 0.05)
}
