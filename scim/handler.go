package scim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ssokit/ssokit/internal/reqinfo"
	"github.com/ssokit/ssokit/internal/scimtoken"
	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// protocol names SCIM in validation errors and logs.
const protocol sso.Protocol = "scim"

// Defaults and bounds of Config.
const (
	DefaultMaxBodyBytes  = 1 << 20
	DefaultMaxResults    = 100
	MaxMaxResults        = 1000
	DefaultMaxOperations = 1000
	DefaultMaxMembers    = 10000
	DefaultRateLimit     = 100
	contentType          = "application/scim+json"
	maxStartIndex        = 1 << 31
	memberPage           = 1000
)

// Hooks are called after a change has been stored, synchronously, with the
// request context. They must not block for long.
type Hooks struct {
	UserCreated     func(ctx context.Context, u *User)
	UserUpdated     func(ctx context.Context, u *User)
	UserDeactivated func(ctx context.Context, u *User)
	UserReactivated func(ctx context.Context, u *User)
	// GroupChanged reports a created, updated or deleted (deleted == true)
	// group and the users whose membership in it changed.
	GroupChanged func(ctx context.Context, g *Group, changedUsers []string, deleted bool)
}

// Config configures a Handler.
type Config struct {
	// Store keeps SCIM users and groups. Required.
	Store Store
	// Core is the core store: organizations, connections, memberships,
	// SCIM tokens and audit events. Required.
	Core CoreStore
	// Revoker ends a deactivated member's sessions and tokens in the
	// directory's organization. Required, and it must implement
	// sso.OrgSessionRevoker (session.Manager does): a directory acts for
	// one organization, so the member's sessions in their other
	// organizations keep working. New refuses a Revoker without it.
	Revoker sso.SessionRevoker
	// Sync brings a member's live sessions and API tokens in line after a
	// SCIM change of their roles (group membership) or status (active,
	// DELETE); it is called once the change is stored (T-X.10). Nil means
	// Revoker when it also implements sso.MembershipSyncer (session.Manager
	// does). Without a syncer, or when it fails, a member who lost a role
	// has their sessions in the organization revoked instead
	// (RevokeOrgSessions of Revoker).
	Sync sso.MembershipSyncer
	// BaseURL is where the handler is mounted, e.g.
	// https://app.example.com/scim/v2; resource locations derive from it.
	// Required.
	BaseURL *url.URL
	// MaxBodyBytes bounds request bodies. Zero means 1 MiB.
	MaxBodyBytes int64
	// MaxResults caps the page size ("count"). Zero means 100; at most 1000.
	MaxResults int
	// TotalCacheTTL is how long the totalResults of a list with 1000 or
	// more matches is reused instead of counted again, when Store
	// implements Seeker (see "Pagination" in the package documentation).
	// A write through this Handler to the organization ends the reuse at
	// once; writes through other replicas show in totals after at most
	// this long. Zero means 10s; negative means count on every request.
	TotalCacheTTL time.Duration
	// MaxOperations caps the operations of one PATCH. Zero means 1000.
	MaxOperations int
	// MaxMembers caps the member values of one request. Zero means 10000.
	MaxMembers int
	// RateLimit is the number of requests per minute one organization may
	// make. Zero means 100. Ignored when Limiter is set.
	RateLimit int
	// Limiter replaces the in-process per-organization limiter, e.g. with
	// NewStoreLimiter when several replicas share the budget.
	Limiter Limiter
	// ClientRateLimit bounds the failed authentications (a missing,
	// malformed, unknown or expired bearer token) that one client address,
	// as ClientIP reports it, may make per minute in this process. Past it
	// the client's requests are answered 429 before any token lookup until
	// its budget refills, except those whose token authenticated in this
	// process within the hour: an IdP provisions every customer from a few
	// shared addresses, and one organization's revoked token must not stop
	// the others. Zero means 60.
	ClientRateLimit int
	// DisableRateLimit turns rate limiting off, per organization and per
	// client. It MUST only be used when the host limits SCIM traffic
	// itself.
	DisableRateLimit bool
	// UserSchemaExtensions are the URNs of customer-defined User extension
	// schemas to advertise in /Schemas and in the User resource type's
	// schemaExtensions, besides the enterprise extension. Every extension
	// a client sends is stored and returned whether listed here or not.
	UserSchemaExtensions []string
	// Hooks are told about every change.
	Hooks Hooks
	// ClientIP extracts the client address for the audit trail and
	// ClientRateLimit (the host's trusted-proxy rule). Nil means the host
	// part of r.RemoteAddr.
	ClientIP func(*http.Request) string
	// ErrorHandler renders errors. Nil means WriteError (SCIM error JSON).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Logger logs failures at the HTTP edge. Nil means slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// TracerProvider and MeterProvider receive a span per request and the
	// request and rate-limit counters (by operation and status). Nil means
	// the global providers, which cost next to nothing until the host
	// installs an SDK.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// TenantMetrics adds organization IDs to metric attributes. Off by
	// default to keep metric cardinality bounded; spans always carry them.
	TenantMetrics bool
}

// Handler is the SCIM 2.0 service provider for every organization: the
// bearer token selects the organization. Mount it with http.StripPrefix.
type Handler struct {
	cfg     Config
	mux     *http.ServeMux
	limiter Limiter
	clients *clientLimiter
	sync    sso.MembershipSyncer
	revoker sso.OrgSessionRevoker
	locks   keyedLocks
	log     *slog.Logger
	now     func() time.Time
	base    string
	tel     *telemetry.T

	// status keeps the sync status when the store is a StatusStore;
	// touched debounces its token writes (by token ID), limited its
	// records of refused requests (by organization).
	status           StatusStore
	touched, limited debounce
	// failed debounces EventSyncFailed (by organization and window).
	failed debounce
	// events writes user changes with their audit events, when the store
	// can (nil otherwise).
	events EventWriter

	// pages, users and groups serve lists when the store is a Seeker
	// (pages is nil otherwise).
	pages  *pager
	users  source[*User]
	groups source[*Group]
}

// New validates cfg and returns a Handler.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Store == nil:
		return nil, fmt.Errorf("%w: scim: nil Store", sso.ErrInvalidConfig)
	case cfg.Core == nil:
		return nil, fmt.Errorf("%w: scim: nil Core store", sso.ErrInvalidConfig)
	case cfg.Revoker == nil:
		return nil, fmt.Errorf("%w: scim: nil Revoker", sso.ErrInvalidConfig)
	case !isOrgRevoker(cfg.Revoker):
		return nil, fmt.Errorf("%w: scim: the Revoker must implement sso.OrgSessionRevoker, so that a directory "+
			"ends its member's sessions in its own organization only (session.Manager does)", sso.ErrInvalidConfig)
	case cfg.BaseURL == nil || !cfg.BaseURL.IsAbs():
		return nil, fmt.Errorf("%w: scim: BaseURL must be an absolute URL", sso.ErrInvalidConfig)
	case cfg.MaxBodyBytes < 0, cfg.MaxResults < 0, cfg.MaxOperations < 0, cfg.MaxMembers < 0, cfg.RateLimit < 0, cfg.ClientRateLimit < 0:
		return nil, fmt.Errorf("%w: scim: negative limit", sso.ErrInvalidConfig)
	case cfg.MaxResults > MaxMaxResults:
		return nil, fmt.Errorf("%w: scim: MaxResults above %d", sso.ErrInvalidConfig, MaxMaxResults)
	}
	for _, u := range cfg.UserSchemaExtensions {
		if !isCustomURN(u) || validURN(u) != nil {
			return nil, fmt.Errorf("%w: scim: UserSchemaExtensions: %q is not an extension schema URN", sso.ErrInvalidConfig, u)
		}
	}
	cfg.MaxBodyBytes = cmp.Or(cfg.MaxBodyBytes, DefaultMaxBodyBytes)
	cfg.MaxResults = cmp.Or(cfg.MaxResults, DefaultMaxResults)
	cfg.MaxOperations = cmp.Or(cfg.MaxOperations, DefaultMaxOperations)
	cfg.MaxMembers = cmp.Or(cfg.MaxMembers, DefaultMaxMembers)
	cfg.RateLimit = cmp.Or(cfg.RateLimit, DefaultRateLimit)
	h := &Handler{cfg: cfg, log: cfg.Logger, now: cfg.Now, limiter: cfg.Limiter,
		tel: telemetry.New("scim", telemetry.Config{TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider, TenantMetrics: cfg.TenantMetrics})}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.sync = cfg.Sync
	h.revoker = cfg.Revoker.(sso.OrgSessionRevoker)
	if h.sync == nil {
		h.sync, _ = cfg.Revoker.(sso.MembershipSyncer)
	}
	if h.limiter == nil && !cfg.DisableRateLimit {
		ml := NewMemoryLimiter(cfg.RateLimit)
		ml.now = h.now
		h.limiter = ml
	}
	if cfg.DisableRateLimit {
		h.limiter = nil
	} else {
		h.clients = newClientLimiter(cmp.Or(cfg.ClientRateLimit, DefaultClientRateLimit), h.now)
	}
	h.status, _ = cfg.Store.(StatusStore)
	h.events, _ = cfg.Store.(EventWriter)
	if sk, ok := cfg.Store.(Seeker); ok {
		ttl := cmp.Or(cfg.TotalCacheTTL, DefaultTotalCacheTTL)
		h.pages = newPager(ttl, h.now)
		h.users = source[*User]{kind: KindUser, seek: sk.SeekUsersSCIM, count: sk.CountUsersSCIM,
			id: func(u *User) string { return u.ID }, cursor: func(u *User) string { return u.Cursor }}
		h.groups = source[*Group]{kind: KindGroup, seek: sk.SeekGroupsSCIM, count: sk.CountGroupsSCIM,
			id: func(g *Group) string { return g.ID }, cursor: func(g *Group) string { return g.Cursor }}
		// Every write goes through notingStore, so that totals counted
		// before it are not reused.
		h.cfg.Store = notingStore{Store: cfg.Store, pages: h.pages}
	}
	h.base = strings.TrimSuffix(cfg.BaseURL.String(), "/")
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /ServiceProviderConfig", h.serveSPConfig)
	m.HandleFunc("GET /Schemas", h.serveSchemas)
	m.HandleFunc("GET /Schemas/{id}", h.serveSchemas)
	m.HandleFunc("GET /ResourceTypes", h.serveResourceTypes)
	m.HandleFunc("GET /ResourceTypes/{id}", h.serveResourceTypes)
	m.Handle("POST /Users", h.authed(h.createUser))
	m.Handle("GET /Users", h.authed(h.listUsers))
	m.Handle("POST /Users/.search", h.authed(h.searchUsers))
	m.Handle("GET /Users/{id}", h.authed(h.getUser))
	m.Handle("PUT /Users/{id}", h.authed(h.replaceUser))
	m.Handle("PATCH /Users/{id}", h.authed(h.patchUser))
	m.Handle("DELETE /Users/{id}", h.authed(h.deleteUser))
	m.Handle("POST /Groups", h.authed(h.createGroup))
	m.Handle("GET /Groups", h.authed(h.listGroups))
	m.Handle("POST /Groups/.search", h.authed(h.searchGroups))
	m.Handle("GET /Groups/{id}", h.authed(h.getGroup))
	m.Handle("PUT /Groups/{id}", h.authed(h.replaceGroup))
	m.Handle("PATCH /Groups/{id}", h.authed(h.patchGroup))
	m.Handle("DELETE /Groups/{id}", h.authed(h.deleteGroup))
	m.Handle("POST /.search", h.authed(h.searchRoot))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, &Error{Status: http.StatusNotFound, Detail: "no such endpoint"})
	})
	h.mux = m
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w, r, done := h.instrument(w, r)
	defer done()
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	_, pattern := h.mux.Handler(r)
	if pattern == "" || (pattern == "/" && r.URL.Path != "/") {
		// Wrong method on a known path, or unknown path: SCIM JSON, not the
		// mux's text reply.
		if allowed := h.methodNotAllowed(r); allowed {
			h.fail(w, r, &Error{Status: http.StatusMethodNotAllowed, Detail: "method not allowed"})
			return
		}
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) methodNotAllowed(r *http.Request) bool {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, p := h.mux.Handler(r2); p != "" && p != "/" {
			return true
		}
	}
	return false
}

// Error is a SCIM error response (RFC 7644 §3.12). Handlers return it for
// client errors; ErrorHandler receives it.
type Error struct {
	Status   int
	ScimType string
	Detail   string
	// RetryAfter, when positive, is sent as the Retry-After header.
	RetryAfter time.Duration
	// Err is the private cause (logged, never sent).
	Err error
}

// Error returns the status, the scimType and the detail.
func (e *Error) Error() string {
	s := "scim: " + strconv.Itoa(e.Status)
	if e.ScimType != "" {
		s += " " + e.ScimType
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the private cause.
func (e *Error) Unwrap() error { return e.Err }

// AsError maps any error to the SCIM error a client should see: client
// errors keep their status and scimType; internal causes become a
// detail-free 500 (or 503 for sso.ErrUnavailable).
func AsError(err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	var br *badRequest
	if errors.As(err, &br) {
		return &Error{Status: http.StatusBadRequest, ScimType: br.scimType, Detail: br.detail, Err: err}
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return &Error{Status: http.StatusRequestEntityTooLarge, Detail: "request body too large", Err: err}
	case errors.Is(err, ErrInvalidFilter):
		return &Error{Status: http.StatusBadRequest, ScimType: "invalidFilter", Detail: strings.TrimPrefix(err.Error(), "scim: "), Err: err}
	case errors.Is(err, ErrInvalidMember):
		return &Error{Status: http.StatusBadRequest, ScimType: "invalidValue", Detail: "a member is not a user of this organization", Err: err}
	case errors.Is(err, ErrVersionMismatch):
		return &Error{Status: http.StatusPreconditionFailed, Detail: "resource version does not match", Err: err}
	case errors.Is(err, sso.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Detail: "resource not found", Err: err}
	case errors.Is(err, sso.ErrConflict):
		return &Error{Status: http.StatusConflict, ScimType: "uniqueness", Detail: "userName is already taken in this organization", Err: err}
	case errors.Is(err, sso.ErrUnavailable):
		return &Error{Status: http.StatusServiceUnavailable, Detail: "service unavailable, retry later", RetryAfter: 5 * time.Second, Err: err}
	case errors.Is(err, sso.ErrInvalidInput):
		return &Error{Status: http.StatusBadRequest, ScimType: "invalidValue", Detail: "invalid value", Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Detail: "internal error", Err: err}
}

// WriteError writes err as SCIM error JSON with the matching status.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	se := AsError(err)
	w.Header().Set("Content-Type", contentType)
	if se.RetryAfter > 0 {
		secs := int((se.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	if se.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="scim"`)
	}
	body := map[string]any{"schemas": []string{errorSchema}, "status": strconv.Itoa(se.Status)}
	if se.ScimType != "" {
		body["scimType"] = se.ScimType
	}
	if se.Detail != "" {
		body["detail"] = se.Detail
	}
	w.WriteHeader(se.Status)
	_ = json.NewEncoder(w).Encode(body)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	se := AsError(err)
	if se.Status >= 500 {
		h.log.ErrorContext(r.Context(), "scim: request failed", "method", r.Method, "path", r.URL.Path, "status", se.Status, "err", err)
	}
	if h.cfg.ErrorHandler != nil {
		h.cfg.ErrorHandler(w, r, se)
		return
	}
	WriteError(w, r, se)
}

func (h *Handler) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// --- authentication and rate limiting ----------------------------------------

type reqCtx struct {
	org   *sso.Organization
	token *sso.SCIMToken
}

type reqKey struct{}

func from(r *http.Request) *reqCtx { return r.Context().Value(reqKey{}).(*reqCtx) }

var errUnauthorized = &Error{Status: http.StatusUnauthorized, Detail: "missing or invalid bearer token"}

// failAuth answers an error from looking up the bearer token or its
// organization: an unknown one is a 401, anything else fails as itself.
func (h *Handler) failAuth(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, sso.ErrNotFound) {
		err = errUnauthorized
	}
	h.fail(w, r, err)
}

// clientOf returns the request's client address under the ClientIP rule.
func (h *Handler) clientOf(r *http.Request) string {
	if h.cfg.ClientIP != nil {
		return h.cfg.ClientIP(r)
	}
	return reqinfo.RemoteIP(r)
}

// failUnauthenticated is failAuth that charges an authentication failure
// (err wrapping sso.ErrNotFound, or errUnauthorized) of bearer (empty when
// the request had none) to the client.
func (h *Handler) failUnauthenticated(w http.ResponseWriter, r *http.Request, client, bearer string, err error) {
	if h.clients != nil && (errors.Is(err, errUnauthorized) || errors.Is(err, sso.ErrNotFound)) {
		h.clients.failed(client, bearer)
	}
	h.failAuth(w, r, err)
}

func (h *Handler) authed(fn func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		scheme, bearer, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		bearer = strings.TrimSpace(bearer)
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			bearer = ""
		}
		var client string
		if h.clients != nil {
			// A client that keeps failing is refused before its token
			// costs a lookup, unless the token authenticated recently:
			// organizations sharing their IdP's addresses keep working.
			client = h.clientOf(r)
			if blocked, retry := h.clients.blocked(client, bearer); blocked {
				h.rateLimited(ctx, "")
				h.fail(w, r, &Error{Status: http.StatusTooManyRequests, Detail: "too many failed authentications", RetryAfter: retry})
				return
			}
		}
		if bearer == "" {
			h.failUnauthenticated(w, r, client, "", errUnauthorized)
			return
		}
		now := h.now()
		tok, err := scimtoken.Authenticate(ctx, h.cfg.Core, bearer, now)
		if err != nil {
			h.failUnauthenticated(w, r, client, bearer, err)
			return
		}
		org, err := h.cfg.Core.GetOrg(ctx, tok.OrgID)
		if err != nil {
			h.failUnauthenticated(w, r, client, bearer, err)
			return
		}
		if h.clients != nil {
			h.clients.succeeded(bearer)
		}
		telemetry.OpFrom(ctx).SetTenant(org.ID, "")
		// From here on the outcome belongs to org's sync status.
		finish := func(err error) {
			if err != nil {
				h.fail(w, r, err)
			}
			h.noteRequest(ctx, r, org.ID, tok.ID, err)
		}
		if !org.Settings.Features.Has("scim") {
			finish(&Error{Status: http.StatusForbidden, Detail: "SCIM is not enabled for this organization"})
			return
		}
		if h.limiter != nil {
			ok, retry, err := h.limiter.Allow(ctx, org.ID)
			if err != nil {
				finish(err)
				return
			}
			if !ok {
				h.rateLimited(ctx, org.ID)
				finish(&Error{Status: http.StatusTooManyRequests, Detail: "rate limit exceeded", RetryAfter: retry})
				return
			}
		}
		// The token's last use is written back by noteRequest, through
		// StatusStore.TouchSCIMToken, which changes that column only: a
		// whole-record update could undo a concurrent rotation or
		// revocation.
		ctx = context.WithValue(ctx, reqKey{}, &reqCtx{org: org, token: tok})
		ctx = sso.WithAuditInfo(ctx, reqinfo.Audit(r, sso.Actor{Type: sso.ActorSCIM, ID: tok.ID}, h.cfg.ClientIP))
		r = r.WithContext(ctx)
		// NUL never names a resource and cannot reach PostgreSQL.
		if strings.IndexByte(r.URL.Path, 0) >= 0 {
			finish(&Error{Status: http.StatusNotFound, Detail: "resource not found"})
			return
		}
		if strings.Contains(r.URL.RawQuery, "%00") || strings.IndexByte(r.URL.RawQuery, 0) >= 0 {
			finish(invalidValue("query parameters must not contain NUL characters"))
			return
		}
		if name, bad := badQueryParam(r.URL.RawQuery); bad {
			finish(invalidValue("query parameter %q is not valid UTF-8", name))
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
		}
		finish(fn(w, r))
	})
}

// readObject decodes a JSON object body, keeping numbers as json.Number.
// Member names that repeat within one object (compared case-insensitively,
// as SCIM attribute names are) are refused rather than resolved by an
// arbitrary winner, and so are strings holding NUL characters, which
// PostgreSQL cannot store, and strings that are not valid UTF-8 (raw
// invalid bytes or unpaired surrogate escapes), which encoding/json would
// silently turn into U+FFFD: the error names the attribute.
func readObject(r *http.Request) (map[string]any, error) {
	if r.Body == nil {
		return nil, invalidSyntax("empty body")
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, invalidSyntax("unreadable body")
	}
	badText, err := scanJSON(raw)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, invalidSyntax("malformed JSON body")
	}
	if m == nil {
		return nil, invalidSyntax("body must be a JSON object")
	}
	if _, err := d.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, invalidSyntax("trailing data after the JSON object")
	}
	if badText != nil {
		return nil, badText.err(m)
	}
	if hasNUL(m) {
		return nil, invalidValue("strings must not contain NUL characters")
	}
	return m, nil
}

// hasNUL reports whether any string or member name in a decoded JSON value
// contains a NUL character.
func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.IndexByte(x, 0) >= 0
	case map[string]any:
		for k, e := range x {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasNUL(e) {
				return true
			}
		}
	}
	return false
}

// --- list parameters ---------------------------------------------------------

type listParams struct {
	q        Query
	filter   string // the filter as sent, trimmed
	attrs    []string
	excluded []string
	// none is set when no resource can match the filter (a search over
	// every resource type naming attributes of the other type only).
	none bool
}

// parseList reads the parameters of a list or search of resources of
// kind k; root is set for a search over every resource type.
func (h *Handler) parseList(get func(string) (string, bool), k ResourceKind, root bool) (*listParams, error) {
	p := &listParams{q: Query{StartIndex: 1, Count: h.cfg.MaxResults}}
	if f, ok := get("filter"); ok && strings.TrimSpace(f) != "" {
		var (
			e   Expr
			err error
		)
		if root {
			e, p.none, err = parseRootFilter(f, k)
		} else {
			e, err = ParseFilter(f, k)
		}
		if err != nil {
			return nil, err
		}
		p.q.Filter, p.filter = e, strings.TrimSpace(f)
	}
	if s, ok := get("startIndex"); ok && s != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n > maxStartIndex {
			return nil, invalidValue("startIndex must be an integer between 1 and %d", maxStartIndex)
		}
		if n < 1 {
			n = 1
		}
		p.q.StartIndex = int(n)
	}
	if s, ok := get("count"); ok && s != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				n = int64(h.cfg.MaxResults)
			} else {
				return nil, invalidValue("count must be an integer")
			}
		}
		switch {
		case n < 0:
			n = 0
		case n > int64(h.cfg.MaxResults):
			n = int64(h.cfg.MaxResults)
		}
		p.q.Count = int(n)
	}
	by, _ := get("sortBy")
	order, _ := get("sortOrder")
	var err error
	if p.q.Sort, p.q.Descending, err = parseSort(by, order, k); err != nil {
		// A search over every resource type may sort by an attribute of
		// the other type only: it is absent here, so ID order remains.
		if _, _, err2 := parseSort(by, order, otherKind(k)); !root || err2 != nil {
			return nil, err
		}
	}
	if s, ok := get("attributes"); ok {
		p.attrs = splitAttrs(s)
	}
	if s, ok := get("excludedAttributes"); ok {
		p.excluded = splitAttrs(s)
	}
	return p, nil
}

func splitAttrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if isCustomURN(a) {
			out = append(out, strings.ToLower(a))
			continue
		}
		if rest, ext := splitURN(a); !ext {
			a = rest
		} else {
			a = enterpriseSchema
		}
		if i := strings.IndexAny(a, ".["); i > 0 && a != enterpriseSchema {
			a = a[:i]
		}
		out = append(out, strings.ToLower(a))
	}
	return out
}

func queryGetter(r *http.Request) func(string) (string, bool) {
	q := r.URL.Query()
	return func(k string) (string, bool) {
		for key, v := range q {
			if strings.EqualFold(key, k) && len(v) > 0 {
				return v[0], true
			}
		}
		return "", false
	}
}

// readSearch reads a SearchRequest body (RFC 7644 §3.4.3).
func readSearch(r *http.Request) (func(string) (string, bool), error) {
	body, err := readObject(r)
	if err != nil {
		return nil, err
	}
	if s, ok := body["schemas"]; ok {
		if err := checkSchemas(s, searchSchema); err != nil {
			return nil, err
		}
	}
	vals := map[string]string{}
	for k, v := range body {
		lk := strings.ToLower(k)
		switch lk {
		case "schemas":
		case "filter", "sortby", "sortorder":
			s, ok := v.(string)
			if !ok {
				return nil, invalidValue("%s must be a string", k)
			}
			vals[lk] = s
		case "startindex", "count":
			n, ok := v.(json.Number)
			if !ok {
				return nil, invalidValue("%s must be a number", k)
			}
			vals[lk] = n.String()
		case "attributes", "excludedattributes":
			list, ok := v.([]any)
			if !ok {
				return nil, invalidValue("%s must be an array", k)
			}
			var parts []string
			for _, x := range list {
				s, ok := x.(string)
				if !ok {
					return nil, invalidValue("%s must be an array of strings", k)
				}
				parts = append(parts, s)
			}
			vals[lk] = strings.Join(parts, ",")
		default:
			return nil, invalidSyntax("unknown attribute %q in SearchRequest", k)
		}
	}
	return func(k string) (string, bool) { v, ok := vals[strings.ToLower(k)]; return v, ok }, nil
}

// wants reports whether the attribute name is returned under the
// attributes and excludedAttributes parameters.
func wants(attrs, excluded []string, name string) bool {
	return keepAttr(name, attrs, excluded)
}

func listResponse(resources []any, total, start int) map[string]any {
	if resources == nil {
		resources = []any{}
	}
	return map[string]any{
		"schemas":      []string{listSchema},
		"totalResults": total,
		"startIndex":   start,
		"itemsPerPage": len(resources),
		"Resources":    resources,
	}
}

// etag returns the weak ETag of a resource version.
func etag(v int64) string { return `W/"` + strconv.FormatInt(v, 10) + `"` }

// checkIfMatch returns the version demanded by If-Match (0 when absent or
// "*"), or a 412 error when it names no version we could hold.
func checkIfMatch(r *http.Request, current int64) (int64, error) {
	im := strings.TrimSpace(r.Header.Get("If-Match"))
	if im == "" || im == "*" {
		return 0, nil
	}
	for _, part := range strings.Split(im, ",") {
		if strings.TrimSpace(part) == etag(current) {
			return current, nil
		}
	}
	return 0, &Error{Status: http.StatusPreconditionFailed, Detail: "resource version does not match If-Match"}
}
