package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/ssokit/ssokit/internal/clientlimit"
	"github.com/ssokit/ssokit/internal/httperr"
	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/internal/reqinfo"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/internal/routing"
	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// Store is what Discovery needs from storage.
type Store interface {
	sso.OrgStore
	sso.DomainStore
	sso.ConnectionStore
}

// ConnectionChoice is one entry of the chooser shown when an organization
// has several active connections.
type ConnectionChoice struct {
	ID          string       `json:"id"`
	DisplayName string       `json:"display_name"`
	Protocol    sso.Protocol `json:"protocol"`
	// URL starts the login at this connection.
	URL string `json:"url"`
}

// Config configures home-realm discovery.
type Config struct {
	// Store finds domains, organizations and connections. Required.
	Store Store
	// Starters begin logins, one per protocol (the saml and oidc packages
	// provide them). Required; a connection whose protocol has no starter is
	// not offered.
	Starters map[sso.Protocol]sso.Starter
	// BaseURL is where the discovery handler is mounted; chooser links are
	// built from it. Required.
	BaseURL *url.URL
	// LocalLoginURL is the host's own (password) login page. Every email
	// that does not route to SSO — unknown, unverified or public mail
	// domains, organizations without an active connection — is redirected
	// there with login_hint and return_to, in the same shape. Required.
	LocalLoginURL string
	// LocalMethods are the sign-in methods without an IdP the host offers
	// on its local login page (sso.LocalSignInMethods names them). When
	// set, every redirect to LocalLoginURL carries a "methods" parameter
	// (comma-separated) telling the page which to show: for an email in an
	// organization's verified domain, or an organization named by slug,
	// that routes to no IdP, the ones of these that organization allows
	// (sso.Organization.AllowedSignInMethods, which may be none); for any
	// other email, all of these. It depends on the domain and the
	// organization only, never on whether an account exists, so it tells
	// no more than the SSO routing does: that a domain belongs to an
	// organization which narrowed its methods. The sign-in packages refuse
	// a method the organization does not allow whatever the page showed.
	// Nil adds no parameter.
	LocalMethods []sso.AuthMethod
	// DefaultReturnTo is used when return_to is missing or unsafe. Empty
	// means "/".
	DefaultReturnTo string
	// ResolveOrg, when set, identifies the organization from the request
	// itself (for example from a subdomain) and returns its slug. It is
	// consulted before the email's domain.
	ResolveOrg func(r *http.Request) (slug string, ok bool)
	// Chooser renders the choice between several connections. Nil means a
	// JSON document {"organization": ..., "connections": [...]}.
	Chooser func(w http.ResponseWriter, r *http.Request, org *sso.Organization, choices []ConnectionChoice)
	// RateLimit is the sustained number of discovery requests per second
	// per client IP. Zero means 1; Burst zero means 10. MaxClients bounds
	// the remembered clients (memory); zero means 10000.
	RateLimit  rate.Limit
	Burst      int
	MaxClients int
	// ClientIP extracts the client address. Nil means RemoteIP.
	ClientIP func(*http.Request) string
	// ErrorHandler renders errors. Nil means a JSON error document with the
	// status matching the error.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Logger logs starter failures. Nil means slog.Default().
	Logger *slog.Logger
	// TracerProvider and MeterProvider receive a span per discovery request
	// and the rate-limit rejection count. Nil means the global providers
	// (no-ops until the host installs an SDK).
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// TenantMetrics adds organization and connection IDs to metric
	// attributes. Off by default to keep metric cardinality bounded.
	TenantMetrics bool
}

// Handler is the home-realm discovery handler: it takes an email (or an
// organization slug) and sends the browser to the right IdP, or to the
// host's local login when SSO does not apply. It serves, relative to its
// mount point:
//
//	POST /login                  email (form field or JSON) and return_to
//	GET  /login?email=...        the same as a link
//	GET  /login/{org}            by organization slug
//	GET  /login/{org}/{conn}     a connection picked in the chooser
type Handler struct {
	cfg     Config
	mux     *http.ServeMux
	limiter *clientlimit.Buckets
	log     *slog.Logger
	tel     *telemetry.T
}

// New returns a Discovery handler.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Store == nil:
		return nil, fmt.Errorf("%w: discovery: nil store", sso.ErrInvalidConfig)
	case len(cfg.Starters) == 0:
		return nil, fmt.Errorf("%w: discovery: no starters", sso.ErrInvalidConfig)
	case cfg.BaseURL == nil || !cfg.BaseURL.IsAbs():
		return nil, fmt.Errorf("%w: discovery: BaseURL must be absolute", sso.ErrInvalidConfig)
	case cfg.LocalLoginURL == "":
		return nil, fmt.Errorf("%w: discovery: empty LocalLoginURL", sso.ErrInvalidConfig)
	}
	for _, m := range cfg.LocalMethods {
		if !slices.Contains(sso.LocalSignInMethods(), m) {
			return nil, fmt.Errorf("%w: discovery: LocalMethods: %q is no local sign-in method", sso.ErrInvalidConfig, m)
		}
	}
	if _, err := url.Parse(cfg.LocalLoginURL); err != nil {
		return nil, fmt.Errorf("%w: discovery: LocalLoginURL: %v", sso.ErrInvalidConfig, err)
	}
	if cfg.DefaultReturnTo == "" {
		cfg.DefaultReturnTo = "/"
	}
	if !returnto.IsSafe(cfg.DefaultReturnTo) {
		return nil, fmt.Errorf("%w: discovery: DefaultReturnTo must be a relative path", sso.ErrInvalidConfig)
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 1
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 10
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 10000
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = reqinfo.RemoteIP
	}
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = httperr.WriteJSON
	}
	d := &Handler{cfg: cfg, log: cfg.Logger,
		limiter: clientlimit.New(cfg.RateLimit, cfg.Burst, cfg.MaxClients)}
	if d.log == nil {
		d.log = slog.Default()
	}
	d.tel = telemetry.New("sso", telemetry.Config{TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider, TenantMetrics: cfg.TenantMetrics})
	d.mux = http.NewServeMux()
	d.mux.HandleFunc("POST /login", d.ServeLogin)
	d.mux.HandleFunc("GET /login", d.ServeLogin)
	d.mux.HandleFunc("GET /login/{org}", d.ServeOrgLogin)
	d.mux.HandleFunc("GET /login/{org}/{connection}", d.ServeOrgLogin)
	return d, nil
}

// ServeHTTP implements http.Handler.
func (d *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { d.mux.ServeHTTP(w, r) }

// maxDiscoveryBody bounds a discovery request body.
const maxDiscoveryBody = 8 << 10

type discoveryInput struct {
	Email    string `json:"email"`
	ReturnTo string `json:"return_to"`
}

func wantsJSON(r *http.Request) bool {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct == "application/json" || strings.Contains(r.Header.Get("Accept"), "application/json")
}

// ServeLogin is the email entry point (POST form or JSON, or GET with
// ?email=).
func (d *Handler) ServeLogin(w http.ResponseWriter, r *http.Request) {
	r = d.startSpan(r)
	defer d.endSpan(r)
	if !d.limiter.Allow(d.cfg.ClientIP(r)) {
		d.rateLimited(w, r)
		return
	}
	var in discoveryInput
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxDiscoveryBody)
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct == "application/json" {
			dec := json.NewDecoder(r.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				err = fmt.Errorf("%w: malformed JSON body", sso.ErrInvalidInput)
				spanFail(r, err)
				d.cfg.ErrorHandler(w, r, err)
				return
			}
		} else {
			if err := r.ParseForm(); err != nil {
				err = fmt.Errorf("%w: malformed form body", sso.ErrInvalidInput)
				spanFail(r, err)
				d.cfg.ErrorHandler(w, r, err)
				return
			}
			in.Email, in.ReturnTo = r.PostForm.Get("email"), r.PostForm.Get("return_to")
		}
	} else {
		q := r.URL.Query()
		in.Email, in.ReturnTo = q.Get("email"), q.Get("return_to")
	}
	returnTo := returnto.Safe(in.ReturnTo, d.cfg.DefaultReturnTo)
	if len(in.Email) > normalize.MaxEmailLength {
		in.Email = ""
	}
	hint := strings.TrimSpace(in.Email)
	if d.cfg.ResolveOrg != nil {
		if slug, ok := d.cfg.ResolveOrg(r); ok {
			d.routeOrg(w, r, slug, "", hint, returnTo)
			return
		}
	}
	org, err := d.orgForEmail(r.Context(), hint)
	if err != nil {
		// Do the connection lookup a routed email would do, so that the
		// response time does not tell unknown domains from known ones.
		_, _ = d.cfg.Store.ListConnections(r.Context(), "")
		d.fallback(w, r, nil, hint, returnTo, err)
		return
	}
	d.route(w, r, org, "", hint, returnTo)
}

// ServeOrgLogin starts a login for the organization named by its slug
// (path value "org"), optionally at one connection (path value
// "connection").
func (d *Handler) ServeOrgLogin(w http.ResponseWriter, r *http.Request) {
	r = d.startSpan(r)
	defer d.endSpan(r)
	if !d.limiter.Allow(d.cfg.ClientIP(r)) {
		d.rateLimited(w, r)
		return
	}
	q := r.URL.Query()
	hint := q.Get("login_hint")
	if len(hint) > normalize.MaxEmailLength {
		hint = ""
	}
	d.routeOrg(w, r, r.PathValue("org"), r.PathValue("connection"), hint, returnto.Safe(q.Get("return_to"), d.cfg.DefaultReturnTo))
}

func (d *Handler) routeOrg(w http.ResponseWriter, r *http.Request, slug, connID, hint, returnTo string) {
	if normalize.Slug(slug) != nil {
		d.fallback(w, r, nil, hint, returnTo, fmt.Errorf("%w: invalid slug", sso.ErrNotFound))
		return
	}
	org, err := d.cfg.Store.GetOrgBySlug(r.Context(), slug)
	if err != nil {
		d.fallback(w, r, nil, hint, returnTo, err)
		return
	}
	d.route(w, r, org, connID, hint, returnTo)
}

// orgForEmail finds the organization whose verified domain matches email.
func (d *Handler) orgForEmail(ctx context.Context, email string) (*sso.Organization, error) {
	_, domain, err := normalize.Email(email)
	if err != nil {
		return nil, err
	}
	if normalize.IsPublicMailDomain(domain) || normalize.IsPublicSuffix(domain) {
		return nil, fmt.Errorf("sso: public mail domain: %w", sso.ErrNotFound)
	}
	dom, err := routing.Domain(ctx, d.cfg.Store, domain)
	if err != nil {
		return nil, err
	}
	return d.cfg.Store.GetOrg(ctx, dom.OrgID)
}

// MFAAtLogin reports whether an SSO login into org asks the IdP for MFA
// (sso.StartOptions.RequireMFA): the organization requires MFA (with the
// plan's "enforce_mfa"), trusts its IdP's MFA and has it asked at the IdP
// (sso.MFAPolicy.StepUpAtIdP), so members need no local factor. The
// protocol package refuses an answer that does not prove it.
func MFAAtLogin(org *sso.Organization) bool {
	p := org.Settings.MFA
	return p.Required && org.Settings.Features.Has("enforce_mfa") && p.TrustIdPMFA && p.StepUpAtIdP
}

// Connections returns the organization's connections that may route
// logins: active, allowed by the plan, and with a registered starter.
func (d *Handler) Connections(ctx context.Context, org *sso.Organization) ([]*sso.Connection, error) {
	conns, err := d.cfg.Store.ListConnections(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	var out []*sso.Connection
	for _, c := range conns {
		if c.OrgID == org.ID && c.Status == sso.ConnectionActive && org.Settings.Features.Allows(c.Protocol) && d.cfg.Starters[c.Protocol] != nil {
			out = append(out, c)
		}
	}
	return out, nil
}

func (d *Handler) route(w http.ResponseWriter, r *http.Request, org *sso.Organization, connID, hint, returnTo string) {
	conns, err := d.Connections(r.Context(), org)
	if err != nil {
		d.fallback(w, r, nil, hint, returnTo, err)
		return
	}
	if connID != "" {
		var picked []*sso.Connection
		for _, c := range conns {
			if c.ID == connID {
				picked = append(picked, c)
			}
		}
		conns = picked
	}
	switch len(conns) {
	case 0:
		spanResult(r, "local", org, nil, nil)
		d.fallback(w, r, org, hint, returnTo, fmt.Errorf("sso: no active connection: %w", sso.ErrNotFound))
	case 1:
		spanResult(r, "sso", org, conns[0], nil)
		d.start(w, r, conns[0], hint, returnTo, MFAAtLogin(org))
	default:
		spanResult(r, "chooser", org, nil, nil)
		choices := make([]ConnectionChoice, len(conns))
		for i, c := range conns {
			u := d.cfg.BaseURL.JoinPath("login", org.Slug, c.ID)
			q := url.Values{"return_to": {returnTo}}
			if hint != "" {
				q.Set("login_hint", hint)
			}
			u.RawQuery = q.Encode()
			choices[i] = ConnectionChoice{ID: c.ID, DisplayName: c.DisplayName, Protocol: c.Protocol, URL: u.String()}
		}
		if d.cfg.Chooser != nil {
			d.cfg.Chooser(w, r, org, choices)
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]any{
			"organization": map[string]string{"slug": org.Slug, "name": org.Name},
			"connections":  choices,
		})
	}
}

// start runs the connection's starter. For JSON clients a redirect written
// by the starter becomes {"redirect_url": ...} (its cookies are kept).
func (d *Handler) start(w http.ResponseWriter, r *http.Request, c *sso.Connection, hint, returnTo string, requireMFA bool) {
	st := d.cfg.Starters[c.Protocol]
	opts := sso.StartOptions{ReturnTo: returnTo, LoginHint: hint, RequireMFA: requireMFA}
	if !wantsJSON(r) {
		if err := st.StartLogin(w, r, c, opts); err != nil {
			spanFail(r, err)
			d.log.ErrorContext(r.Context(), "sso: discovery: start login", "connection", c.ID, "err", err)
			d.cfg.ErrorHandler(w, r, fmt.Errorf("sso: start login: %w", sso.ErrUnavailable))
		}
		return
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	if err := st.StartLogin(rec, r, c, opts); err != nil {
		spanFail(r, err)
		d.log.ErrorContext(r.Context(), "sso: discovery: start login", "connection", c.ID, "err", err)
		d.cfg.ErrorHandler(w, r, fmt.Errorf("sso: start login: %w", sso.ErrUnavailable))
		return
	}
	for k, v := range rec.header {
		if k != "Location" && k != "Content-Length" && k != "Content-Type" {
			w.Header()[k] = v
		}
	}
	if loc := rec.header.Get("Location"); loc != "" && rec.status >= 300 && rec.status < 400 {
		httpjson.Write(w, http.StatusOK, map[string]string{"redirect_url": loc})
		return
	}
	w.Header().Set("Content-Type", rec.header.Get("Content-Type"))
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

// recorder captures a starter's response for JSON clients.
type recorder struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = status, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	if r.body.Len()+len(b) > 1<<20 {
		return 0, errors.New("sso: starter response too large")
	}
	return r.body.Write(b)
}

// LocalLoginURL returns the host's local login URL carrying login_hint and
// return_to (and, with Config.LocalMethods, every local method as
// "methods"): the answer for an email that does not route to SSO and
// belongs to no organization.
func (d *Handler) LocalLoginURL(hint, returnTo string) string {
	return d.LocalLoginURLFor(nil, hint, returnTo)
}

// LocalLoginURLFor is LocalLoginURL for a sign-in into org (nil: no
// organization known): with Config.LocalMethods, "methods" lists the ones
// org allows.
func (d *Handler) LocalLoginURLFor(org *sso.Organization, hint, returnTo string) string {
	u, _ := url.Parse(d.cfg.LocalLoginURL)
	q := u.Query()
	q.Del("login_hint")
	q.Del("return_to")
	q.Del("methods")
	if hint != "" {
		q.Set("login_hint", hint)
	}
	q.Set("return_to", returnTo)
	if d.cfg.LocalMethods != nil {
		q.Set("methods", strings.Join(d.localMethods(org), ","))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// localMethods are the Config.LocalMethods org allows (all of them when
// org is nil), in the order the host listed them.
func (d *Handler) localMethods(org *sso.Organization) []string {
	out := []string{}
	for _, m := range d.cfg.LocalMethods {
		if org == nil || org.SignInVerdict(m) == sso.SignInAllowed {
			out = append(out, string(m))
		}
	}
	return out
}

// fallback answers every non-SSO outcome identically, whatever the cause
// (no tenant enumeration), except for the methods an organization without
// an IdP allows (Config.LocalMethods). Only store outages are
// distinguished (503).
func (d *Handler) fallback(w http.ResponseWriter, r *http.Request, org *sso.Organization, hint, returnTo string, cause error) {
	if errors.Is(cause, sso.ErrUnavailable) {
		spanFail(r, cause)
		d.cfg.ErrorHandler(w, r, cause)
		return
	}
	spanResult(r, "local", nil, nil, cause)
	loc := d.LocalLoginURLFor(org, hint, returnTo)
	if wantsJSON(r) {
		httpjson.Write(w, http.StatusOK, map[string]string{"redirect_url": loc})
		return
	}
	http.Redirect(w, r, loc, http.StatusSeeOther)
}

// startSpan starts the discovery span and returns r carrying it.
func (d *Handler) startSpan(r *http.Request) *http.Request {
	ctx, span := d.tel.Start(r.Context(), "sso.discovery")
	if !span.IsRecording() {
		return r.WithContext(ctx)
	}
	return r.WithContext(withSpanState(ctx))
}

// endSpan ends the discovery span; an outcome not marked failed is a
// success (routing to the local login is a successful discovery too).
func (d *Handler) endSpan(r *http.Request) {
	span := trace.SpanFromContext(r.Context())
	if span.IsRecording() && !spanFailed(r.Context()) {
		span.SetAttributes(telemetry.KeyOutcome.String("success"))
	}
	span.End()
}

func (d *Handler) rateLimited(w http.ResponseWriter, r *http.Request) {
	err := fmt.Errorf("sso: discovery: %w", sso.ErrRateLimited)
	spanFail(r, err)
	d.tel.RateLimited.Add(r.Context(), 1, metric.WithAttributes(telemetry.KeyComponent.String("discovery")))
	d.cfg.ErrorHandler(w, r, err)
}
