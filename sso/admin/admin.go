package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Store is what the admin API needs from storage: the whole core.
type Store interface {
	sso.Store
}

// Config configures the admin API.
type Config struct {
	// Store holds the core records. Required.
	Store Store
	// Authorize authenticates the request and returns the organization the
	// caller administers and who the caller is (an ActorAdmin for a tenant
	// admin, an ActorOperator for the host's staff acting for a tenant). An
	// error wrapping sso.ErrForbidden answers 403; any other error 401.
	// Every route is confined to the returned organization: records of
	// other organizations answer 404. Required.
	Authorize func(r *http.Request) (orgID string, actor sso.Actor, err error)
	// RequireAdmin is middleware that every request Authorize attributes to
	// a tenant admin (sso.ActorAdmin) passes, in order, before its route
	// runs: the same policy as the host's other admin pages. Typically
	// mfa.Manager.Require (the organization's MFA policy) and
	// session.Manager.RequireRecentAuth (a recent login for changes). A
	// middleware that refuses writes its own response. Operator requests
	// (sso.ActorOperator, authenticated by the host's own credential) do not
	// pass through it.
	RequireAdmin []func(http.Handler) http.Handler
	// Configurers turn admin input into connection configuration, one per
	// protocol (the saml and oidc packages provide them). Required.
	Configurers map[sso.Protocol]sso.ConnectionConfigurer
	// Starters begin test logins, one per protocol. Required.
	Starters map[sso.Protocol]sso.Starter
	// Domains manages domain verification. Required.
	Domains *sso.Domains
	// Enforcer switches SSO enforcement. Required.
	Enforcer *sso.Enforcer
	// Auditor records and exports the audit trail. Required.
	Auditor *sso.Auditor
	// Sessions lists and revokes sessions. Nil answers the session routes
	// with 404.
	Sessions sso.SessionAdmin
	// Sync brings a member's live sessions and API tokens in line after
	// PUT /members/{user}/roles. Nil means Sessions, when it implements
	// sso.MembershipSyncer (session.Manager does).
	Sync sso.MembershipSyncer
	// Health reports connections' federation health (*sso.HealthChecker
	// implements it). Nil answers GET /connections/{id}/health with 404.
	Health HealthReader
	// MaxBodyBytes bounds request bodies. Zero means 1 MiB.
	MaxBodyBytes int64
	// TestReturnTo is where the admin's browser returns after a test login.
	// Empty means the completer's default.
	TestReturnTo string
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Logger logs internal errors. Nil means slog.Default().
	Logger *slog.Logger
	// ErrorHandler renders errors. Nil means sso.WriteJSONError, which
	// never reveals an internal error's text.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// Handler is the admin (onboarding) API: a JSON http.Handler serving
// relative routes; see the package documentation for the list.
type Handler struct {
	cfg Config
	mux *http.ServeMux
	log *slog.Logger
}

// New returns the admin API handler.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Store == nil:
		return nil, fmt.Errorf("%w: admin: nil store", sso.ErrInvalidConfig)
	case cfg.Authorize == nil:
		return nil, fmt.Errorf("%w: admin: nil Authorize", sso.ErrInvalidConfig)
	case len(cfg.Configurers) == 0 || len(cfg.Starters) == 0:
		return nil, fmt.Errorf("%w: admin: configurers and starters are required", sso.ErrInvalidConfig)
	case cfg.Domains == nil || cfg.Enforcer == nil || cfg.Auditor == nil:
		return nil, fmt.Errorf("%w: admin: Domains, Enforcer and Auditor are required", sso.ErrInvalidConfig)
	}
	if cfg.TestReturnTo != "" && !sso.IsSafeReturnTo(cfg.TestReturnTo) {
		return nil, fmt.Errorf("%w: admin: TestReturnTo must be a relative path", sso.ErrInvalidConfig)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = sso.WriteJSONError
	}
	if cfg.Sync == nil {
		cfg.Sync, _ = cfg.Sessions.(sso.MembershipSyncer)
	}
	h := &Handler{cfg: cfg, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.Default()
	}
	m := http.NewServeMux()
	route := func(pattern string, fn func(w http.ResponseWriter, r *http.Request, org *sso.Organization) error) {
		m.Handle(pattern, h.wrap(fn))
	}
	route("GET /connections", h.listConnections)
	route("POST /connections", h.createConnection)
	route("GET /connections/{id}", h.getConnection)
	route("PATCH /connections/{id}", h.updateConnection)
	route("DELETE /connections/{id}", h.deleteConnection)
	route("POST /connections/{id}/test", h.testConnection)
	route("POST /connections/{id}/activate", h.activateConnection)
	route("POST /connections/{id}/disable", h.disableConnection)
	route("POST /connections/{id}/remap-identities", h.remapIdentities)
	route("GET /connections/{id}/health", h.connectionHealth)
	route("GET /domains", h.listDomains)
	route("POST /domains", h.addDomain)
	route("GET /domains/{name}", h.getDomain)
	route("POST /domains/{name}/verify", h.verifyDomain)
	route("DELETE /domains/{name}", h.removeDomain)
	route("GET /enforcement", h.getEnforcement)
	route("PUT /enforcement", h.setEnforcement)
	route("GET /scim-tokens", h.listSCIMTokens)
	route("POST /scim-tokens", h.createSCIMToken)
	route("POST /scim-tokens/{id}/rotate", h.rotateSCIMToken)
	route("DELETE /scim-tokens/{id}", h.revokeSCIMToken)
	route("PUT /members/{user}/roles", h.setMemberRoles)
	route("GET /sessions", h.listSessions)
	route("DELETE /sessions/{id}", h.revokeSession)
	route("GET /audit", h.queryAudit)
	route("GET /audit/export", h.exportAudit)
	route("GET /audit/verify", h.verifyAudit)
	m.Handle("/", h.wrap(func(http.ResponseWriter, *http.Request, *sso.Organization) error {
		return fmt.Errorf("admin: no such route: %w", sso.ErrNotFound)
	}))
	h.mux = m
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// errUnauthorized answers 401.
var errUnauthorized = errors.New("admin: unauthorized")

func (h *Handler) wrap(fn func(w http.ResponseWriter, r *http.Request, org *sso.Organization) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		orgID, actor, err := h.cfg.Authorize(r)
		if err != nil || orgID == "" {
			if errors.Is(err, sso.ErrForbidden) {
				h.cfg.ErrorHandler(w, r, fmt.Errorf("admin: %w", sso.ErrForbidden))
				return
			}
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized", "message": errUnauthorized.Error()})
			return
		}
		if actor.Type == "" {
			actor.Type = sso.ActorAdmin
		}
		ctx := sso.WithAuditInfo(r.Context(), h.cfg.Auditor.RequestInfo(r, actor))
		r = r.WithContext(ctx)
		// NUL never names a record and cannot reach PostgreSQL.
		if strings.IndexByte(r.URL.Path, 0) >= 0 {
			h.fail(w, r, fmt.Errorf("admin: %w", sso.ErrNotFound))
			return
		}
		if strings.Contains(r.URL.RawQuery, "%00") {
			h.fail(w, r, fmt.Errorf("%w: query parameters must not contain NUL characters", sso.ErrInvalidInput))
			return
		}
		org, err := h.cfg.Store.GetOrg(ctx, orgID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
		var route http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := fn(w, r, org); err != nil {
				h.fail(w, r, err)
			}
		})
		if actor.Type == sso.ActorAdmin {
			for i := len(h.cfg.RequireAdmin) - 1; i >= 0; i-- {
				route = h.cfg.RequireAdmin[i](route)
			}
		}
		route.ServeHTTP(w, r)
	})
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if sso.HTTPStatus(err) >= 500 {
		h.log.ErrorContext(r.Context(), "admin: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	h.cfg.ErrorHandler(w, r, err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads one JSON object into v: unknown fields, trailing data and
// oversized bodies are refused with ErrInvalidInput.
func decode(r *http.Request, v any) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "" && ct != "application/json" {
		return fmt.Errorf("%w: content type must be application/json", sso.ErrInvalidInput)
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("%w: request body too large", sso.ErrInvalidInput)
		}
		return fmt.Errorf("%w: unreadable body", sso.ErrInvalidInput)
	}
	if err := checkJSONShape(raw); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: malformed JSON: %s", sso.ErrInvalidInput, jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after JSON object", sso.ErrInvalidInput)
	}
	return nil
}

// checkJSONShape refuses what encoding/json would otherwise accept
// silently: a body that is not an object (null would decode as an empty
// request), a member named twice in one object (encoding/json matches names
// case-insensitively and keeps the last), and NUL characters in strings,
// which PostgreSQL cannot store. Malformed JSON is left to the decoder.
func checkJSONShape(raw []byte) error {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 {
		return fmt.Errorf("%w: malformed JSON: empty body", sso.ErrInvalidInput)
	}
	if trimmed[0] != '{' {
		return fmt.Errorf("%w: malformed JSON: body must be an object", sso.ErrInvalidInput)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	type frame struct {
		obj, expKey bool
		keys        map[string]bool
	}
	var stack []*frame
	for {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := t.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top != nil && top.obj {
					top.expKey = true
				}
				stack = append(stack, &frame{obj: d == '{', expKey: true, keys: map[string]bool{}})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if s, ok := t.(string); ok && strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("%w: strings must not contain NUL characters", sso.ErrInvalidInput)
		}
		if top == nil || !top.obj {
			continue
		}
		if top.expKey {
			k := strings.ToLower(t.(string))
			if top.keys[k] {
				return fmt.Errorf("%w: malformed JSON: a field appears more than once", sso.ErrInvalidInput)
			}
			top.keys[k] = true
			top.expKey = false
			continue
		}
		top.expKey = true
	}
}

// jsonProblem describes a decode error without echoing input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "syntax error at offset " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		return "wrong type for field " + te.Field
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field"
	case errors.Is(err, io.EOF):
		return "empty body"
	}
	return "invalid JSON"
}

func (h *Handler) audit(ctx context.Context, e *sso.Event) {
	if err := h.cfg.Auditor.Record(ctx, e); err != nil {
		h.log.ErrorContext(ctx, "admin: audit event not recorded", "type", e.Type, "err", err)
	}
}

// crossTenant records an attempt to reach a record of another organization
// and returns the ErrNotFound the caller sees.
func (h *Handler) crossTenant(ctx context.Context, org *sso.Organization, kind, id string) error {
	h.audit(ctx, &sso.Event{OrgID: org.ID, Type: sso.EventCrossTenantDenied, Outcome: sso.OutcomeFailure,
		Reason: "cross_tenant", Target: sso.Target{Type: kind, ID: clip(id, 128)}})
	return fmt.Errorf("admin: %s: %w", kind, sso.ErrNotFound)
}

func clip(s string, n int) string {
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "")
	}
	return s
}

// --- connections -------------------------------------------------------------

// ConnectionView is the JSON form of a connection. Sealed secrets are never
// included.
type ConnectionView struct {
	ID          string               `json:"id"`
	Protocol    sso.Protocol         `json:"protocol"`
	Status      sso.ConnectionStatus `json:"status"`
	DisplayName string               `json:"display_name"`
	SAML        *SAMLView            `json:"saml,omitempty"`
	OIDC        *OIDCView            `json:"oidc,omitempty"`
	Mapping     MappingView          `json:"attribute_mapping"`
	GroupRoles  []GroupRoleView      `json:"group_roles"`
	LastTest    *TestView            `json:"last_test,omitempty"`
	LastTestOK  *time.Time           `json:"last_test_ok,omitempty"`
	SP          *sso.SPDetails       `json:"sp,omitempty"`
	IdP         *sso.IdPDetails      `json:"idp,omitempty"`
	CreatedAt   time.Time            `json:"created_at"`
	UpdatedAt   time.Time            `json:"updated_at"`
}

// SAMLView shows a SAML connection's IdP side.
type SAMLView struct {
	IdPEntityID       string     `json:"idp_entity_id"`
	SSOURL            string     `json:"sso_url"`
	SSOBinding        string     `json:"sso_binding,omitempty"`
	SLOURL            string     `json:"slo_url,omitempty"`
	Certificates      int        `json:"certificates"`
	MetadataURL       string     `json:"metadata_url,omitempty"`
	MetadataFetchedAt *time.Time `json:"metadata_fetched_at,omitempty"`
	AllowIdPInitiated bool       `json:"allow_idp_initiated"`
	AllowSHA1         bool       `json:"allow_sha1"`
}

// OIDCView shows an OIDC connection's IdP side.
type OIDCView struct {
	Issuer           string   `json:"issuer"`
	AuthURL          string   `json:"authorization_endpoint,omitempty"`
	TokenURL         string   `json:"token_endpoint,omitempty"`
	UserInfoURL      string   `json:"userinfo_endpoint,omitempty"`
	JWKSURL          string   `json:"jwks_uri,omitempty"`
	ClientID         string   `json:"client_id"`
	ClientSecretSet  bool     `json:"client_secret_set"`
	AuthMethod       string   `json:"auth_method,omitempty"`
	Scopes           []string `json:"scopes,omitempty"`
	AllowedTenantIDs []string `json:"allowed_tenant_ids,omitempty"`
}

// MappingView is the attribute mapping; empty fields use the protocol's
// defaults.
type MappingView struct {
	Email       string `json:"email"`
	GivenName   string `json:"given_name"`
	FamilyName  string `json:"family_name"`
	DisplayName string `json:"display_name"`
	Groups      string `json:"groups"`
}

// GroupRoleView maps one IdP group to one role.
type GroupRoleView struct {
	Group string `json:"group"`
	Role  string `json:"role"`
}

// TestView is a test login's result.
type TestView struct {
	At     time.Time `json:"at"`
	OK     bool      `json:"ok"`
	Reason string    `json:"reason,omitempty"`
	Detail string    `json:"detail"`
	Email  string    `json:"email,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (h *Handler) view(c *sso.Connection, idp *sso.IdPDetails) *ConnectionView {
	v := &ConnectionView{ID: c.ID, Protocol: c.Protocol, Status: c.Status, DisplayName: c.DisplayName,
		Mapping: MappingView{Email: c.Mapping.Email, GivenName: c.Mapping.GivenName, FamilyName: c.Mapping.FamilyName,
			DisplayName: c.Mapping.DisplayName, Groups: c.Mapping.Groups},
		GroupRoles: []GroupRoleView{}, LastTestOK: timePtr(c.LastTestOK), IdP: idp,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	for _, gr := range c.GroupRoles {
		v.GroupRoles = append(v.GroupRoles, GroupRoleView(gr))
	}
	if s := c.SAML; s != nil {
		v.SAML = &SAMLView{IdPEntityID: s.IdPEntityID, SSOURL: s.SSOURL, SSOBinding: s.SSOBinding, SLOURL: s.SLOURL,
			Certificates: len(s.Certificates), MetadataURL: s.MetadataURL, MetadataFetchedAt: timePtr(s.MetadataFetchedAt),
			AllowIdPInitiated: s.AllowIdPInitiated, AllowSHA1: s.AllowSHA1}
	}
	if o := c.OIDC; o != nil {
		v.OIDC = &OIDCView{Issuer: o.Issuer, AuthURL: o.AuthURL, TokenURL: o.TokenURL, UserInfoURL: o.UserInfoURL,
			JWKSURL: o.JWKSURL, ClientID: o.ClientID, ClientSecretSet: o.ClientSecretSealed != "", AuthMethod: o.AuthMethod,
			Scopes: o.Scopes, AllowedTenantIDs: o.AllowedTenantIDs}
	}
	if t := c.LastTest; t != nil {
		v.LastTest = &TestView{At: t.At, OK: t.OK, Reason: t.Reason, Detail: t.Detail}
		if t.Profile != nil {
			v.LastTest.Email = t.Profile.Email
		}
	}
	if cf := h.cfg.Configurers[c.Protocol]; cf != nil {
		v.SP = cf.SPDetails(c)
	}
	return v
}

// connection returns the organization's connection id, or ErrNotFound
// (recording a cross-tenant attempt when it belongs to another one).
func (h *Handler) connection(ctx context.Context, org *sso.Organization, id string) (*sso.Connection, error) {
	if id == "" || len(id) > 128 {
		return nil, fmt.Errorf("admin: connection: %w", sso.ErrNotFound)
	}
	c, err := h.cfg.Store.GetConnection(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.OrgID != org.ID {
		return nil, h.crossTenant(ctx, org, "connection", id)
	}
	return c, nil
}

func (h *Handler) listConnections(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	conns, err := h.cfg.Store.ListConnections(r.Context(), org.ID)
	if err != nil {
		return err
	}
	out := make([]*ConnectionView, 0, len(conns))
	for _, c := range conns {
		if c.OrgID == org.ID {
			out = append(out, h.view(c, nil))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"connections": out})
	return nil
}

// CreateConnectionRequest is the body of POST /connections.
type CreateConnectionRequest struct {
	Protocol    sso.Protocol        `json:"protocol"`
	DisplayName string              `json:"display_name"`
	Config      sso.ConnectionInput `json:"config"`
	Mapping     *MappingView        `json:"attribute_mapping,omitempty"`
	GroupRoles  []GroupRoleView     `json:"group_roles,omitempty"`
}

func isXML(r *http.Request) bool {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct == "application/samlmetadata+xml" || ct == "application/xml" || ct == "text/xml"
}

func (h *Handler) createConnection(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	var req CreateConnectionRequest
	if isXML(r) {
		// Metadata upload: the body is the IdP's metadata document.
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return fmt.Errorf("%w: request body too large", sso.ErrInvalidInput)
		}
		req.Protocol, req.DisplayName, req.Config.MetadataXML = sso.ProtocolSAML, r.URL.Query().Get("display_name"), string(b)
	} else if err := decode(r, &req); err != nil {
		return err
	}
	cf := h.cfg.Configurers[req.Protocol]
	if cf == nil || h.cfg.Starters[req.Protocol] == nil {
		return fmt.Errorf("%w: unsupported protocol %q", sso.ErrInvalidInput, clip(string(req.Protocol), 16))
	}
	if !org.Settings.Features.Allows(req.Protocol) {
		return &sso.ValidationError{Reason: "feature_disabled", Err: sso.ErrAccessDenied}
	}
	if req.DisplayName == "" {
		req.DisplayName = strings.ToUpper(string(req.Protocol)) + " connection"
	}
	if len(req.DisplayName) > 200 {
		return fmt.Errorf("%w: display name too long", sso.ErrInvalidInput)
	}
	now := h.cfg.Now().UTC()
	c := &sso.Connection{ID: sso.NewID("conn_"), OrgID: org.ID, Protocol: req.Protocol, Status: sso.ConnectionDraft,
		DisplayName: req.DisplayName, CreatedAt: now, UpdatedAt: now}
	if err := applyMapping(c, req.Mapping, req.GroupRoles); err != nil {
		return err
	}
	idp, err := cf.ConfigureConnection(r.Context(), c, &req.Config)
	if err != nil {
		return err
	}
	if c.OrgID != org.ID || c.Protocol != req.Protocol || c.Status != sso.ConnectionDraft {
		return fmt.Errorf("admin: configurer changed the connection's identity")
	}
	if err := h.cfg.Store.CreateConnection(r.Context(), c); err != nil {
		return err
	}
	h.audit(r.Context(), &sso.Event{OrgID: org.ID, Type: sso.EventConnectionCreated, Target: sso.Target{Type: "connection", ID: c.ID},
		Details: map[string]string{"protocol": string(c.Protocol)}})
	writeJSON(w, http.StatusCreated, h.view(c, idp))
	return nil
}

func applyMapping(c *sso.Connection, m *MappingView, grs []GroupRoleView) error {
	if m != nil {
		for _, f := range []string{m.Email, m.GivenName, m.FamilyName, m.DisplayName, m.Groups} {
			if len(f) > 256 {
				return fmt.Errorf("%w: attribute name too long", sso.ErrInvalidInput)
			}
		}
		c.Mapping = sso.AttributeMapping{Email: m.Email, GivenName: m.GivenName, FamilyName: m.FamilyName,
			DisplayName: m.DisplayName, Groups: m.Groups}
	}
	if grs != nil {
		if len(grs) > 500 {
			return fmt.Errorf("%w: too many group mappings", sso.ErrInvalidInput)
		}
		c.GroupRoles = make([]sso.GroupRole, 0, len(grs))
		for _, gr := range grs {
			if gr.Group == "" || gr.Role == "" || len(gr.Group) > 256 || len(gr.Role) > 64 {
				return fmt.Errorf("%w: group mappings need a group and a role", sso.ErrInvalidInput)
			}
			c.GroupRoles = append(c.GroupRoles, sso.GroupRole(gr))
		}
	}
	return nil
}

func (h *Handler) getConnection(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	c, err := h.connection(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.view(c, nil))
	return nil
}

// HealthReader returns the last federation health check result of a
// connection (Status sso.HealthUnknown when it was never checked).
// *sso.HealthChecker implements it.
type HealthReader interface {
	Health(ctx context.Context, c *sso.Connection) (*sso.ConnectionHealth, error)
}

func (h *Handler) connectionHealth(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	if h.cfg.Health == nil {
		return fmt.Errorf("admin: health checks not configured: %w", sso.ErrNotFound)
	}
	c, err := h.connection(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	res, err := h.cfg.Health.Health(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// UpdateConnectionRequest is the body of PATCH /connections/{id}. Absent
// fields are left unchanged. A new Config returns an active connection to
// draft: it must be tested and activated again.
type UpdateConnectionRequest struct {
	DisplayName *string              `json:"display_name,omitempty"`
	Config      *sso.ConnectionInput `json:"config,omitempty"`
	Mapping     *MappingView         `json:"attribute_mapping,omitempty"`
	GroupRoles  []GroupRoleView      `json:"group_roles,omitempty"`
}

func (h *Handler) updateConnection(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	c, err := h.connection(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	var req UpdateConnectionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.DisplayName != nil {
		if *req.DisplayName == "" || len(*req.DisplayName) > 200 {
			return fmt.Errorf("%w: display name must be 1-200 bytes", sso.ErrInvalidInput)
		}
		c.DisplayName = *req.DisplayName
	}
	if err := applyMapping(c, req.Mapping, req.GroupRoles); err != nil {
		return err
	}
	var idp *sso.IdPDetails
	if req.Config != nil {
		if c.Status == sso.ConnectionActive && sso.Enforced(org) && !h.otherReady(r.Context(), org, c.ID) {
			return &sso.ValidationError{Reason: "last_enforced_connection", Err: sso.ErrConflict}
		}
		id, orgID, proto := c.ID, c.OrgID, c.Protocol
		if idp, err = h.cfg.Configurers[c.Protocol].ConfigureConnection(r.Context(), c, req.Config); err != nil {
			return err
		}
		if c.ID != id || c.OrgID != orgID || c.Protocol != proto {
			return fmt.Errorf("admin: configurer changed the connection's identity")
		}
		// New IdP trust must be proven again.
		if c.Status == sso.ConnectionActive {
			c.Status = sso.ConnectionDraft
		}
		c.LastTestOK = time.Time{}
		c.LastTest = nil
	}
	c.UpdatedAt = h.cfg.Now().UTC()
	if err := h.cfg.Store.UpdateConnection(r.Context(), c); err != nil {
		return err
	}
	h.audit(r.Context(), &sso.Event{OrgID: org.ID, Type: sso.EventConnectionUpdated, Target: sso.Target{Type: "connection", ID: c.ID},
		Details: map[string]string{"config_changed": strconv.FormatBool(req.Config != nil)}})
	writeJSON(w, http.StatusOK, h.view(c, idp))
	return nil
}

func (h *Handler) deleteConnection(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	c, err := h.connection(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	if c.Status == sso.ConnectionActive && sso.Enforced(org) && !h.otherReady(r.Context(), org, c.ID) {
		return &sso.ValidationError{Reason: "last_enforced_connection", Err: sso.ErrConflict}
	}
	if err := h.cfg.Store.DeleteConnection(r.Context(), c.ID); err != nil {
		return err
	}
	h.audit(r.Context(), &sso.Event{OrgID: org.ID, Type: sso.EventConnectionDeleted, Target: sso.Target{Type: "connection", ID: c.ID}})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// otherReady reports whether org has an active, tested connection other
// than id.
func (h *Handler) otherReady(ctx context.Context, org *sso.Organization, id string) bool {
	conns, err := h.cfg.Store.ListConnections(ctx, org.ID)
	if err != nil {
		return false
	}
	for _, c := range conns {
		if c.ID != id && c.Status == sso.ConnectionActive && !c.LastTestOK.IsZero() && org.Settings.Features.Allows(c.Protocol) {
			return true
		}
	}
	return false
}

func (h *Handler) testConnection(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	c, err := h.connection(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	if !org.Settings.Features.Allows(c.Protocol) {
		return &sso.ValidationError{Reason: "feature_disabled", Err: sso.ErrAccessDenied}
	}
	st := h.cfg.Starters[c.Protocol]
	if st == nil {
		return fmt.Errorf("%w: no starter for %s", sso.ErrInvalidInput, c.Protocol)
	}
	opts := sso.StartOptions{Test: true, ForceAuthn: true, ReturnTo: h.cfg.TestReturnTo}
	if err := st.StartLogin(w, r, c, opts); err != nil {
		return fmt.Errorf("admin: start test login: %w", errors.Join(sso.ErrUnavailable, err))
	}
	return nil
}

func (h *Handler) activateConnection(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	c, err := h.connection(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	switch {
	case !org.Settings.Features.Allows(c.Protocol):
		return &sso.ValidationError{Reason: "feature_disabled", Err: sso.ErrAccessDenied}
	case c.LastTestOK.IsZero() || c.LastTest == nil || !c.LastTest.OK:
		return &sso.ValidationError{Reason: "not_tested", Err: sso.ErrConflict}
	}
	if c.Status != sso.ConnectionActive {
		c.Status = sso.ConnectionActive
		c.UpdatedAt = h.cfg.Now().UTC()
		if err := h.cfg.Store.UpdateConnection(r.Context(), c); err != nil {
			return err
		}
		h.audit(r.Context(), &sso.Event{OrgID: org.ID, Type: sso.EventConnectionActivated, Target: sso.Target{Type: "connection", ID: c.ID}})
	}
	writeJSON(w, http.StatusOK, h.view(c, nil))
	return nil
}

func (h *Handler) disableConnection(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	c, err := h.connection(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	if c.Status == sso.ConnectionActive && sso.Enforced(org) && !h.otherReady(r.Context(), org, c.ID) {
		return &sso.ValidationError{Reason: "last_enforced_connection", Err: sso.ErrConflict}
	}
	if c.Status != sso.ConnectionDisabled {
		c.Status = sso.ConnectionDisabled
		c.UpdatedAt = h.cfg.Now().UTC()
		if err := h.cfg.Store.UpdateConnection(r.Context(), c); err != nil {
			return err
		}
		h.audit(r.Context(), &sso.Event{OrgID: org.ID, Type: sso.EventConnectionDisabled, Target: sso.Target{Type: "connection", ID: c.ID}})
	}
	writeJSON(w, http.StatusOK, h.view(c, nil))
	return nil
}

// RemapRequest is the body of POST /connections/{id}/remap-identities.
type RemapRequest struct {
	// FromConnectionID is the connection being replaced.
	FromConnectionID string `json:"from_connection_id"`
	// Subject says what the new IdP will assert as subject: "same" (the old
	// subject, e.g. both IdPs send the same immutable ID) or "email" (the
	// user's verified email, e.g. an email-format NameID).
	Subject string `json:"subject"`
}

func (h *Handler) remapIdentities(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	to, err := h.connection(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	var req RemapRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	from, err := h.connection(r.Context(), org, req.FromConnectionID)
	if err != nil {
		return err
	}
	if from.ID == to.ID {
		return fmt.Errorf("%w: cannot remap a connection onto itself", sso.ErrInvalidInput)
	}
	var subject func(old *sso.Identity, u *sso.User) (string, bool)
	switch req.Subject {
	case "same":
		subject = func(old *sso.Identity, _ *sso.User) (string, bool) { return old.Subject, true }
	case "email":
		subject = func(_ *sso.Identity, u *sso.User) (string, bool) { return u.Email, u.EmailVerified && u.Email != "" }
	default:
		return fmt.Errorf("%w: subject must be \"same\" or \"email\"", sso.ErrInvalidInput)
	}
	n, err := sso.RemapIdentities(r.Context(), h.cfg.Store, h.cfg.Auditor, org.ID, from.ID, to.ID, subject)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"remapped": n})
	return nil
}

// --- domains -----------------------------------------------------------------

// DomainView is the JSON form of a domain with the DNS record to publish.
type DomainView struct {
	Name                string          `json:"name"`
	State               sso.DomainState `json:"state"`
	Record              RecordView      `json:"record"`
	VerifiedAt          *time.Time      `json:"verified_at,omitempty"`
	LastCheckedAt       *time.Time      `json:"last_checked_at,omitempty"`
	ConsecutiveFailures int             `json:"consecutive_failures"`
	CreatedAt           time.Time       `json:"created_at"`
}

// RecordView is the DNS TXT record proving control of a domain.
type RecordView struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

func (h *Handler) domainView(d *sso.Domain) *DomainView {
	name, value := h.cfg.Domains.Record(d)
	return &DomainView{Name: d.Name, State: d.State, Record: RecordView{Type: "TXT", Name: name, Value: value},
		VerifiedAt: timePtr(d.VerifiedAt), LastCheckedAt: timePtr(d.LastCheckedAt),
		ConsecutiveFailures: d.ConsecutiveFailures, CreatedAt: d.CreatedAt}
}

func (h *Handler) listDomains(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	ds, err := h.cfg.Domains.List(r.Context(), org.ID)
	if err != nil {
		return err
	}
	out := make([]*DomainView, 0, len(ds))
	for _, d := range ds {
		out = append(out, h.domainView(d))
	}
	writeJSON(w, http.StatusOK, map[string]any{"domains": out})
	return nil
}

// AddDomainRequest is the body of POST /domains.
type AddDomainRequest struct {
	Name string `json:"name"`
}

func (h *Handler) addDomain(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	var req AddDomainRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	d, err := h.cfg.Domains.Add(r.Context(), org.ID, req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, h.domainView(d))
	return nil
}

// domainMiss audits a request for a domain that another organization has
// verified (its name is public, so this is the one case worth telling
// from a typo) and returns err unchanged: the caller sees the same 404.
func (h *Handler) domainMiss(ctx context.Context, org *sso.Organization, name string, err error) error {
	if !errors.Is(err, sso.ErrNotFound) {
		return err
	}
	if n, nerr := sso.NormalizeDomain(name); nerr == nil {
		if d, ferr := h.cfg.Store.FindVerifiedDomain(ctx, n); ferr == nil && d.OrgID != org.ID {
			_ = h.crossTenant(ctx, org, "domain", n)
		}
	}
	return err
}

func (h *Handler) getDomain(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	d, err := h.cfg.Domains.Get(r.Context(), org.ID, r.PathValue("name"))
	if err != nil {
		return h.domainMiss(r.Context(), org, r.PathValue("name"), err)
	}
	writeJSON(w, http.StatusOK, h.domainView(d))
	return nil
}

func (h *Handler) verifyDomain(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	d, err := h.cfg.Domains.Verify(r.Context(), org.ID, r.PathValue("name"))
	if err != nil {
		return h.domainMiss(r.Context(), org, r.PathValue("name"), err)
	}
	writeJSON(w, http.StatusOK, h.domainView(d))
	return nil
}

func (h *Handler) removeDomain(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	if err := h.cfg.Domains.Remove(r.Context(), org.ID, r.PathValue("name")); err != nil {
		return h.domainMiss(r.Context(), org, r.PathValue("name"), err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- enforcement -------------------------------------------------------------

// EnforcementView is the organization's enforcement state.
type EnforcementView struct {
	Enforced   bool         `json:"enforced"`
	EnforcedAt *time.Time   `json:"enforced_at,omitempty"`
	Ready      bool         `json:"ready"`
	Features   sso.Features `json:"features"`
	Revoked    int          `json:"revoked,omitempty"`
}

func (h *Handler) enforcementView(ctx context.Context, org *sso.Organization) *EnforcementView {
	_, err := h.cfg.Enforcer.ReadyConnection(ctx, org)
	return &EnforcementView{Enforced: sso.Enforced(org), EnforcedAt: timePtr(org.Settings.SSOEnforcedAt),
		Ready: err == nil && org.Settings.Features.EnforceSSO, Features: org.Settings.Features}
}

func (h *Handler) getEnforcement(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	writeJSON(w, http.StatusOK, h.enforcementView(r.Context(), org))
	return nil
}

// SetEnforcementRequest is the body of PUT /enforcement.
type SetEnforcementRequest struct {
	Enabled        *bool `json:"enabled"`
	RevokeSessions bool  `json:"revoke_sessions"`
}

func (h *Handler) setEnforcement(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	var req SetEnforcementRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Enabled == nil {
		return fmt.Errorf("%w: enabled is required", sso.ErrInvalidInput)
	}
	res, err := h.cfg.Enforcer.SetEnforcement(r.Context(), org.ID, *req.Enabled, sso.EnforceOptions{RevokeSessions: req.RevokeSessions})
	if err != nil {
		return err
	}
	org, err = h.cfg.Store.GetOrg(r.Context(), org.ID)
	if err != nil {
		return err
	}
	v := h.enforcementView(r.Context(), org)
	v.Revoked = res.Revoked
	writeJSON(w, http.StatusOK, v)
	return nil
}

// --- SCIM tokens -------------------------------------------------------------

// SCIMTokenView describes a SCIM token; Token is set only in the response
// that creates it.
type SCIMTokenView struct {
	ID          string     `json:"id"`
	Token       string     `json:"token,omitempty"`
	Hint        string     `json:"hint"`
	Description string     `json:"description,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
	Valid       bool       `json:"valid"`
}

func (h *Handler) tokenView(t *sso.SCIMToken, plain string) *SCIMTokenView {
	return &SCIMTokenView{ID: t.ID, Token: plain, Hint: t.Hint, Description: t.Description, CreatedAt: t.CreatedAt,
		ExpiresAt: timePtr(t.ExpiresAt), RevokedAt: timePtr(t.RevokedAt), LastUsedAt: timePtr(t.LastUsedAt),
		Valid: t.Valid(h.cfg.Now())}
}

func scimAllowed(org *sso.Organization) error {
	if !org.Settings.Features.SCIM {
		return &sso.ValidationError{Reason: "feature_disabled", Err: sso.ErrAccessDenied}
	}
	return nil
}

func (h *Handler) scimToken(ctx context.Context, org *sso.Organization, id string) (*sso.SCIMToken, error) {
	toks, err := h.cfg.Store.ListSCIMTokens(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	for _, t := range toks {
		if t.ID == id && t.OrgID == org.ID {
			return t, nil
		}
	}
	// Token IDs are random: an ID that is not this organization's is
	// another organization's or a guess; either is worth an audit event.
	return nil, h.crossTenant(ctx, org, "scim_token", id)
}

func (h *Handler) listSCIMTokens(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	toks, err := h.cfg.Store.ListSCIMTokens(r.Context(), org.ID)
	if err != nil {
		return err
	}
	out := make([]*SCIMTokenView, 0, len(toks))
	for _, t := range toks {
		if t.OrgID == org.ID {
			out = append(out, h.tokenView(t, ""))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
	return nil
}

// CreateSCIMTokenRequest is the body of POST /scim-tokens.
type CreateSCIMTokenRequest struct {
	Description string `json:"description"`
}

func (h *Handler) createSCIMToken(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	if err := scimAllowed(org); err != nil {
		return err
	}
	var req CreateSCIMTokenRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	plain, t, err := sso.IssueSCIMToken(r.Context(), h.cfg.Store, org.ID, req.Description, h.cfg.Now().UTC())
	if err != nil {
		return err
	}
	h.audit(r.Context(), &sso.Event{OrgID: org.ID, Type: sso.EventSCIMTokenCreated, Target: sso.Target{Type: "scim_token", ID: t.ID}})
	// Issuing a SCIM token makes the directory the source of truth for
	// membership: from now on JIT login may update members but not create
	// them, so a user the directory deprovisioned cannot come back by
	// signing in.
	if !org.Settings.DirectorySync {
		org.Settings.DirectorySync = true
		org.UpdatedAt = h.cfg.Now().UTC()
		if err := h.cfg.Store.UpdateOrg(r.Context(), org); err != nil {
			return err
		}
		h.audit(r.Context(), &sso.Event{OrgID: org.ID, Type: sso.EventDirectorySyncEnabled, Target: sso.Target{Type: "organization", ID: org.ID}})
	}
	writeJSON(w, http.StatusCreated, h.tokenView(t, plain))
	return nil
}

// RotateSCIMTokenRequest is the body of POST /scim-tokens/{id}/rotate.
type RotateSCIMTokenRequest struct {
	// OverlapSeconds keeps the old token valid this long (at most 7 days).
	OverlapSeconds int64 `json:"overlap_seconds"`
}

func (h *Handler) rotateSCIMToken(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	if err := scimAllowed(org); err != nil {
		return err
	}
	var req RotateSCIMTokenRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.OverlapSeconds < 0 || req.OverlapSeconds > 7*24*3600 {
		return fmt.Errorf("%w: overlap_seconds must be 0-604800", sso.ErrInvalidInput)
	}
	old, err := h.scimToken(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	plain, t, err := sso.RotateSCIMToken(r.Context(), h.cfg.Store, org.ID, old.ID, time.Duration(req.OverlapSeconds)*time.Second, h.cfg.Now().UTC())
	if err != nil {
		return err
	}
	h.audit(r.Context(), &sso.Event{OrgID: org.ID, Type: sso.EventSCIMTokenCreated, Target: sso.Target{Type: "scim_token", ID: t.ID},
		Details: map[string]string{"rotated_from": old.ID}})
	writeJSON(w, http.StatusCreated, h.tokenView(t, plain))
	return nil
}

func (h *Handler) revokeSCIMToken(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	t, err := h.scimToken(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	if t.RevokedAt.IsZero() {
		t.RevokedAt = h.cfg.Now().UTC()
		if err := h.cfg.Store.UpdateSCIMToken(r.Context(), t); err != nil {
			return err
		}
		h.audit(r.Context(), &sso.Event{OrgID: org.ID, Type: sso.EventSCIMTokenRevoked, Target: sso.Target{Type: "scim_token", ID: t.ID}})
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- sessions ------------------------------------------------------------------

func (h *Handler) listSessions(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	if h.cfg.Sessions == nil {
		return fmt.Errorf("admin: sessions: %w", sso.ErrNotFound)
	}
	user := r.URL.Query().Get("user_id")
	if len(user) > 128 {
		return fmt.Errorf("%w: user_id too long", sso.ErrInvalidInput)
	}
	ss, err := h.cfg.Sessions.ListSessions(r.Context(), org.ID, user)
	if err != nil {
		return err
	}
	out := make([]sso.SessionInfo, 0, len(ss))
	for _, s := range ss {
		if s.OrgID == org.ID {
			out = append(out, s)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
	return nil
}

func (h *Handler) revokeSession(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	if h.cfg.Sessions == nil {
		return fmt.Errorf("admin: sessions: %w", sso.ErrNotFound)
	}
	id := r.PathValue("id")
	if err := h.cfg.Sessions.RevokeSession(r.Context(), org.ID, id); err != nil {
		return err
	}
	h.audit(r.Context(), &sso.Event{OrgID: org.ID, Type: sso.EventSessionRevoked, Target: sso.Target{Type: "session", ID: clip(id, 128)},
		Reason: "admin_revoked"})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- audit ---------------------------------------------------------------------

func parseQuery(r *http.Request, org *sso.Organization) (sso.EventQuery, error) {
	v := r.URL.Query()
	q := sso.EventQuery{OrgID: org.ID, Type: v.Get("type"), ActorID: v.Get("actor")}
	if len(q.Type) > 128 || len(q.ActorID) > 128 {
		return q, fmt.Errorf("%w: filter too long", sso.ErrInvalidInput)
	}
	for _, p := range []struct {
		key string
		dst *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if s := v.Get(p.key); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return q, fmt.Errorf("%w: %s must be RFC 3339", sso.ErrInvalidInput, p.key)
			}
			*p.dst = t
		}
	}
	for _, p := range []struct {
		key string
		dst *int64
	}{{"after", &q.AfterSeq}} {
		if s := v.Get(p.key); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return q, fmt.Errorf("%w: %s must be a non-negative integer", sso.ErrInvalidInput, p.key)
			}
			*p.dst = n
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return q, fmt.Errorf("%w: limit must be 1-1000", sso.ErrInvalidInput)
		}
		q.Limit = n
	}
	return q, nil
}

func (h *Handler) queryAudit(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	q, err := parseQuery(r, org)
	if err != nil {
		return err
	}
	evs, next, err := h.cfg.Auditor.Query(r.Context(), q)
	if err != nil {
		return err
	}
	out := make([]sso.ExportedEvent, 0, len(evs))
	for _, e := range evs {
		out = append(out, sso.Export(e))
	}
	resp := map[string]any{"events": out}
	if next != 0 {
		resp["next_after"] = next
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (h *Handler) exportAudit(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	q, err := parseQuery(r, org)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch format {
	case "", "jsonl":
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Content-Disposition", `attachment; filename="audit.jsonl"`)
		err = h.cfg.Auditor.ExportJSONLines(r.Context(), w, q)
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="audit.csv"`)
		err = h.cfg.Auditor.ExportCSV(r.Context(), w, q)
	default:
		return fmt.Errorf("%w: format must be jsonl or csv", sso.ErrInvalidInput)
	}
	if err != nil {
		// Part of the body may be written; log and stop.
		h.log.ErrorContext(r.Context(), "admin: audit export", "err", err)
	}
	return nil
}

func (h *Handler) verifyAudit(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	head, err := h.cfg.Auditor.Verify(r.Context(), org.ID)
	var ce *sso.ChainError
	if errors.As(err, &ce) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "broken_at": ce.Seq, "reason": ce.Reason})
		return nil
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "head": head})
	return nil
}
