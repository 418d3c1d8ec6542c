package ssotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Server is an [IdP] running on a loopback httptest server.
type Server struct {
	*IdP
	// HTTP is the underlying server; its URL is the IdP's BaseURL.
	HTTP *httptest.Server
}

// NewServer starts an IdP with [DefaultUsers] on 127.0.0.1 and closes it
// when the test ends. Register SPs and clients on the returned server.
func NewServer(t testing.TB) *Server {
	t.Helper()
	return NewServerWith(t, Config{})
}

// NewServerWith is [NewServer] with a configuration; cfg.BaseURL is
// ignored and set to the server's URL.
func NewServerWith(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := StartServer(cfg)
	if err != nil {
		t.Fatalf("ssotest: start IdP: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// StartServer starts an IdP on a loopback httptest server outside a test
// (for example in a demo). cfg.BaseURL is ignored and set to the server's
// URL. Call Close when done.
func StartServer(cfg Config) (*Server, error) {
	var (
		mu  sync.RWMutex
		idp *IdP
	)
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.RLock()
		h := idp
		mu.RUnlock()
		if h == nil {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))
	// Bind to loopback whatever httptest's -httptest.serve flag says.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		if l, err = net.Listen("tcp6", "[::1]:0"); err != nil {
			return nil, fmt.Errorf("ssotest: listen on loopback: %w", err)
		}
	}
	hs.Listener.Close()
	hs.Listener = l
	hs.Start()
	u, err := url.Parse(hs.URL)
	if err != nil {
		hs.Close()
		return nil, fmt.Errorf("ssotest: server URL: %w", err)
	}
	cfg.BaseURL = u
	i, err := NewIdP(cfg)
	if err != nil {
		hs.Close()
		return nil, err
	}
	mu.Lock()
	idp = i
	mu.Unlock()
	return &Server{IdP: i, HTTP: hs}, nil
}

// Close shuts the server down.
func (s *Server) Close() { s.HTTP.Close() }

// URL returns the server's base URL.
func (s *Server) URL() string { return s.HTTP.URL }

// Browser follows a login end to end the way a browser would: redirects,
// cookies, the IdP's login page (picking User) and auto-submitting SAML
// forms (SAMLRequest or SAMLResponse). It does not run JavaScript.
type Browser struct {
	// Client is the HTTP client. Its Jar keeps cookies across steps; it
	// must follow redirects (the default).
	Client *http.Client
	// User is the email to pick on the IdP's login page. Zero means the
	// first user offered.
	User string
	// MaxSteps bounds the form submissions. Zero means 10.
	MaxSteps int
	// Visited lists the method and URL of every request made, for
	// diagnostics.
	Visited []string
}

// NewBrowser returns a Browser with a fresh cookie jar.
func NewBrowser() *Browser {
	jar, _ := cookiejar.New(nil) // New never fails with nil options
	b := &Browser{}
	b.Client = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 20 {
			return errors.New("ssotest: too many redirects")
		}
		b.Visited = append(b.Visited, req.Method+" "+req.URL.String())
		return nil
	}}
	return b
}

// ErrNoLogin reports a page the Browser cannot continue from.
var ErrNoLogin = errors.New("ssotest: login did not complete")

// Login GETs startURL (typically the SP's login URL) and follows the flow
// until a page that is neither the IdP's login page nor an auto-submitting
// SAML form. It returns that final response with its body fully read and
// replaced, so the caller may read it.
func (b *Browser) Login(ctx context.Context, startURL string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, startURL, nil)
	if err != nil {
		return nil, fmt.Errorf("ssotest: %w", err)
	}
	return b.Do(req)
}

// LoginByEmail starts an email-first login the way the sign-in form does:
// it POSTs email and returnTo to loginURL (the discovery handler's POST
// /login, e.g. https://app.example/sso/login) as a same-origin form, sets
// User to email when it is empty, and follows the flow like
// [Browser.Login].
func (b *Browser) LoginByEmail(ctx context.Context, loginURL, email, returnTo string) (*http.Response, error) {
	u, err := url.Parse(loginURL)
	if err != nil {
		return nil, fmt.Errorf("ssotest: %w", err)
	}
	form := url.Values{"email": {email}, "return_to": {returnTo}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, loginURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("ssotest: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", u.Scheme+"://"+u.Host)
	if b.User == "" {
		b.User = email
	}
	return b.Do(req)
}

// Do sends req and follows the flow like [Browser.Login].
func (b *Browser) Do(req *http.Request) (*http.Response, error) {
	max := b.MaxSteps
	if max <= 0 {
		max = 10
	}
	for step := 0; ; step++ {
		b.Visited = append(b.Visited, req.Method+" "+req.URL.String())
		resp, err := b.Client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("ssotest: browser: %w", err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("ssotest: browser: read body: %w", err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			return resp, nil
		}
		next, ok, err := b.nextForm(resp.Request.URL, body)
		if err != nil {
			return resp, err
		}
		if !ok {
			return resp, nil
		}
		if step >= max {
			return resp, fmt.Errorf("%w: more than %d form submissions", ErrNoLogin, max)
		}
		next = next.WithContext(req.Context())
		req = next
	}
}

type form struct {
	id, action, method string
	fields             url.Values
	buttons            []url.Values
}

func parseForms(body []byte) []form {
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return nil
	}
	var forms []form
	var cur *form
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := func(k string) string {
				for _, a := range n.Attr {
					if a.Key == k {
						return a.Val
					}
				}
				return ""
			}
			switch n.DataAtom {
			case atom.Form:
				forms = append(forms, form{id: attr("id"), action: attr("action"), method: strings.ToUpper(attr("method")), fields: url.Values{}})
				cur = &forms[len(forms)-1]
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
				cur = nil
				return
			case atom.Input:
				if cur != nil && attr("name") != "" && (attr("type") == "hidden" || attr("type") == "" || attr("type") == "text") {
					cur.fields.Add(attr("name"), attr("value"))
				}
			case atom.Button:
				if cur != nil && attr("name") != "" {
					cur.buttons = append(cur.buttons, url.Values{attr("name"): {attr("value")}})
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return forms
}

// nextForm returns the request that submits the page's login or SAML form.
func (b *Browser) nextForm(base *url.URL, body []byte) (*http.Request, bool, error) {
	for _, f := range parseForms(body) {
		vals := f.fields
		switch {
		case f.id == "ssotest-login":
			var pick url.Values
			for _, btn := range f.buttons {
				if b.User == "" || strings.EqualFold(btn.Get("user"), b.User) {
					pick = btn
					break
				}
			}
			if pick == nil {
				return nil, false, fmt.Errorf("%w: user %q is not offered on the IdP's login page", ErrNoLogin, b.User)
			}
			for k, v := range pick {
				vals[k] = v
			}
		case vals.Has("SAMLResponse") || vals.Has("SAMLRequest"):
		default:
			continue
		}
		action, err := base.Parse(f.action)
		if err != nil {
			return nil, false, fmt.Errorf("%w: bad form action: %w", ErrNoLogin, err)
		}
		method := f.method
		if method == "" {
			method = http.MethodGet
		}
		var req *http.Request
		if method == http.MethodPost {
			req, err = http.NewRequest(http.MethodPost, action.String(), strings.NewReader(vals.Encode()))
			if err == nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				// Browsers send an Origin with cross-site form posts.
				req.Header.Set("Origin", base.Scheme+"://"+base.Host)
			}
		} else {
			action.RawQuery = vals.Encode()
			req, err = http.NewRequest(http.MethodGet, action.String(), nil)
		}
		if err != nil {
			return nil, false, fmt.Errorf("%w: %w", ErrNoLogin, err)
		}
		return req, true, nil
	}
	return nil, false, nil
}
