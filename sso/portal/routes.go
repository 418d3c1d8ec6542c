package portal

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"sort"

	"github.com/ssokit/ssokit/sso"
)

type handlerFunc func(w http.ResponseWriter, r *http.Request, s *Session) error

func (p *Portal) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /brand.css", p.brandCSS)
	m.HandleFunc("GET /start/{token}", p.startPage)
	m.HandleFunc("POST /start", p.start)
	m.Handle("POST /logout", p.action("", p.logout))
	m.Handle("GET /{$}", p.page("", p.overview))
	p.ssoRoutes(m)
	p.importRoutes(m)
	p.networkRoutes(m)
	p.signInMethodRoutes(m)
	p.mfaRoutes(m)
	p.domainRoutes(m)
	p.directoryRoutes(m)
	p.auditRoutes(m)
	p.integrationRoutes(m)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p.fail(w, r, fmt.Errorf("portal: no such page: %w", sso.ErrNotFound))
	})
	p.mux = m
}

func (p *Portal) brandCSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	// Accent was checked against ^#[0-9a-fA-F]{6}$ in New.
	_, _ = fmt.Fprintf(w, ":root{--accent:%s}\n", p.cfg.Brand.Accent)
}

// page serves a GET page of section (every session may see "").
func (p *Portal) page(sec Section, fn handlerFunc) http.Handler {
	return p.guard(sec, false, fn)
}

// action serves a state-changing POST of section: it also checks the
// form's synchronizer token.
func (p *Portal) action(sec Section, fn handlerFunc) http.Handler {
	return p.guard(sec, true, fn)
}

func (p *Portal) guard(sec Section, write bool, fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := p.session(w, r)
		if err != nil {
			p.noSession(w, r, err)
			return
		}
		ctx := withSession(r.Context(), s)
		if p.cfg.Admin.Auditor != nil {
			ctx = sso.WithAuditInfo(ctx, p.cfg.Admin.Auditor.RequestInfo(r, s.Actor))
		}
		r = r.WithContext(ctx)
		if sec != "" && (!s.Allows(sec) || (sec == SectionDirectory && p.cfg.SCIMBaseURL == nil)) {
			p.render(w, r, http.StatusForbidden, "error", &page{Title: "This section is not part of your access",
				Problem: &problem{What: "Your access does not include this section.",
					Next: "Use the sections in the menu above, or ask the person who invited you for a link that includes it."}})
			return
		}
		if write {
			r.Body = http.MaxBytesReader(w, r.Body, 2<<20)
			if err := r.ParseForm(); err != nil {
				p.fail(w, r, fieldErr("form", "is too large or malformed"))
				return
			}
			if err := checkCSRF(r, s); err != nil {
				p.render(w, r, http.StatusForbidden, "error", &page{Title: "This form has expired",
					Problem: &problem{What: "We could not confirm that this form came from this page.",
						Next: "Go back, reload the page, and submit the form again."}})
				return
			}
		}
		if err := fn(w, r, s); err != nil {
			p.fail(w, r, err)
		}
	})
}

func (p *Portal) noSession(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errLinkRevoked):
		p.renderEnded(w, r, http.StatusUnauthorized, "Your access was withdrawn",
			"The setup link you used was revoked. Ask the person who sent it for a new link if you still need access.")
	case errors.Is(err, errSessionExpired):
		p.renderEnded(w, r, http.StatusUnauthorized, "Your session has ended",
			"For your security, sessions end after a period without activity. Ask for a new setup link, or sign in to the application again.")
	case errors.Is(err, errNoSession):
		next := "Open the setup link you received, or sign in to the application as an administrator."
		p.renderEnded(w, r, http.StatusUnauthorized, "Please sign in first", next)
	default:
		p.fail(w, r, err)
	}
}

func (p *Portal) logout(w http.ResponseWriter, r *http.Request, s *Session) error {
	if err := p.cfg.Store.DeleteSession(r.Context(), s.ID); err != nil {
		return err
	}
	p.setCookie(w, "", -1)
	p.render(w, r.WithContext(withSession(r.Context(), nil)), http.StatusOK, "ended",
		&page{Title: "You are signed out", Problem: nil})
	return nil
}

// redirect sends the browser to path under the portal with ?done=notice.
func (p *Portal) redirect(w http.ResponseWriter, r *http.Request, path, notice string) {
	u := p.basePath + path
	if notice != "" {
		u += "?done=" + url.QueryEscape(notice)
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// confirmField is a form field carried through a confirmation page.
type confirmField struct{ Name, Value string }

type confirmData struct {
	Consequence string
	Weakens     []string
	Action      string
	Button      string
	Back        string
	Fields      []confirmField
}

// confirmed reports whether the form was sent from the confirmation page;
// when not, it shows that page, carrying the form's fields.
func (p *Portal) confirmed(w http.ResponseWriter, r *http.Request, title string, d confirmData) bool {
	if r.PostFormValue("confirmed") == "yes" {
		return true
	}
	keys := make([]string, 0, len(r.PostForm))
	for k := range r.PostForm {
		if k != "csrf" && k != "confirmed" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range r.PostForm[k] {
			d.Fields = append(d.Fields, confirmField{k, v})
		}
	}
	d.Action = p.basePath + r.URL.Path
	p.render(w, r, http.StatusOK, "confirm", &page{Title: title, Data: d})
	return false
}
