package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/httperr"
	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/internal/record"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/domains"
	"github.com/ssokit/ssokit/sso/invite"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/sso/webhook"
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
	// a member of the organization passes, in order, before its route
	// runs: the same policy as the host's other admin pages. Typically
	// mfa.Manager.Require (the organization's MFA policy) and
	// session.Manager.RequireRecentAuth (a recent login for changes). A
	// middleware that refuses writes its own response. Only operator
	// requests (sso.ActorOperator, authenticated by the host's own
	// credential) do not pass through it: any other actor type does, so a
	// host that attributes its admins to another type than sso.ActorAdmin
	// still applies the policy.
	RequireAdmin []func(http.Handler) http.Handler
	// Configurers turn admin input into connection configuration, one per
	// protocol (the saml and oidc packages provide them). Required.
	Configurers map[sso.Protocol]sso.ConnectionConfigurer
	// Starters begin test logins, one per protocol. Required.
	Starters map[sso.Protocol]sso.Starter
	// Domains manages domain verification. Required.
	Domains *domains.Manager
	// Enforcer switches SSO enforcement. Required.
	Enforcer *policy.Enforcer
	// SCIMStatus returns an organization's directory sync status (the
	// value of scim.Handler.SyncStatus) for GET /scim-status. Nil answers
	// that route 404.
	SCIMStatus func(ctx context.Context, orgID string) (any, error)
	// Auditor records and exports the audit trail. Required.
	Auditor *audit.Trail
	// Sessions lists and revokes sessions. Nil answers the session routes
	// with 404. When it also implements sso.OrgSessionRevoker
	// (session.Manager does), PATCH /org can end the sessions of sign-in
	// methods it turns off ("end_sessions"); otherwise such a request fails
	// with sso.ErrInvalidConfig before it changes anything.
	Sessions sso.SessionAdmin
	// Sync brings a member's live sessions and API tokens in line after
	// PUT /members/{user}/roles. Nil means Sessions, when it implements
	// sso.MembershipSyncer (session.Manager does).
	Sync sso.MembershipSyncer
	// Invites runs invitations, the auto-join policy and join requests
	// (package sso/invite). Nil answers those routes 404.
	Invites *invite.Manager
	// Health reports connections' federation health (*health.Checker
	// implements it). Nil answers GET /connections/{id}/health with 404.
	Health HealthReader
	// Webhooks manages webhook endpoints, SIEM streams and their
	// deliveries. Nil answers the /webhooks routes with 404.
	Webhooks *webhook.Dispatcher
	// Clients manages API clients. Nil answers the /api-clients routes
	// with 404.
	Clients ClientManager
	// MaxBodyBytes bounds request bodies. Zero means 1 MiB.
	MaxBodyBytes int64
	// TestReturnTo is where the admin's browser returns after a test login.
	// Empty means the completer's default.
	TestReturnTo string
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Logger logs internal errors. Nil means slog.Default().
	Logger *slog.Logger
	// ErrorHandler renders errors. Nil writes {"error": reason, "message":
	// text} as httperr.WriteJSON does (never revealing an internal error's
	// text), adding "field" for bad input in a named field and answering an
	// identity provider's fault (unreachable, unusable document) with 502
	// and its cause in "detail".
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// Handler is the admin (onboarding) API: a JSON http.Handler serving
// relative routes; see the package documentation for the list.
type Handler struct {
	cfg     Config
	mux     *http.ServeMux
	log     *slog.Logger
	revoker sso.OrgSessionRevoker // Sessions' organization-scoped revocation, if any
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
	if cfg.TestReturnTo != "" && !returnto.IsSafe(cfg.TestReturnTo) {
		return nil, fmt.Errorf("%w: admin: TestReturnTo must be a relative path", sso.ErrInvalidConfig)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = writeError
	}
	if cfg.Sync == nil {
		cfg.Sync, _ = cfg.Sessions.(sso.MembershipSyncer)
	}
	h := &Handler{cfg: cfg, log: cfg.Logger}
	h.revoker, _ = cfg.Sessions.(sso.OrgSessionRevoker)
	if h.log == nil {
		h.log = slog.Default()
	}
	m := http.NewServeMux()
	route := func(pattern string, fn func(w http.ResponseWriter, r *http.Request, org *sso.Organization) error) {
		m.Handle(pattern, h.wrap(fn))
	}
	route("GET /connections", h.listConnections)
	route("POST /connections", h.createConnection)
	route("POST /connections/import", h.importConnections)
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
	route("GET /mfa-policy", h.getMFAPolicy)
	route("PUT /mfa-policy", h.setMFAPolicy)
	route("GET /scim-tokens", h.listSCIMTokens)
	route("POST /scim-tokens", h.createSCIMToken)
	route("POST /scim-tokens/{id}/rotate", h.rotateSCIMToken)
	route("DELETE /scim-tokens/{id}", h.revokeSCIMToken)
	route("PUT /members/{user}/roles", h.setMemberRoles)
	route("GET /org", h.getOrg)
	route("PATCH /org", h.updateOrg)
	route("GET /members", h.listMembers)
	route("GET /members/{user}", h.getMember)
	route("PUT /members/{user}/status", h.setMemberStatus)
	route("DELETE /members/{user}", h.removeMember)
	route("POST /ownership", h.transferOwnership)
	route("GET /invitations", h.listInvitations)
	route("POST /invitations", h.createInvitation)
	route("POST /invitations/{id}/resend", h.resendInvitation)
	route("DELETE /invitations/{id}", h.revokeInvitation)
	route("GET /auto-join", h.getAutoJoin)
	route("PUT /auto-join", h.setAutoJoin)
	route("GET /join-requests", h.listJoinRequests)
	route("POST /join-requests/{id}/approve", h.approveJoin)
	route("POST /join-requests/{id}/deny", h.denyJoin)
	route("GET /sessions", h.listSessions)
	route("DELETE /sessions/{id}", h.revokeSession)
	route("GET /audit", h.queryAudit)
	route("GET /audit/export", h.exportAudit)
	route("GET /audit/verify", h.verifyAudit)
	route("GET /network-policy", h.getNetwork)
	route("PUT /network-policy", h.setNetwork)
	route("GET /scim-status", h.getSCIMStatus)
	route("GET /webhooks", h.listWebhooks)
	route("POST /webhooks", h.createWebhook)
	route("GET /webhooks/{id}", h.getWebhook)
	route("PATCH /webhooks/{id}", h.updateWebhook)
	route("DELETE /webhooks/{id}", h.deleteWebhook)
	route("POST /webhooks/{id}/enable", h.enableWebhook)
	route("POST /webhooks/{id}/disable", h.disableWebhook)
	route("POST /webhooks/{id}/rotate-secret", h.rotateWebhookSecret)
	route("GET /webhooks/{id}/deliveries", h.listDeliveries)
	route("GET /webhooks/{id}/deliveries/{delivery}", h.getDelivery)
	route("POST /webhooks/{id}/deliveries/{delivery}/redeliver", h.redeliver)
	route("POST /webhooks/{id}/redeliver", h.redeliverSince)
	route("GET /api-clients", h.listClients)
	route("POST /api-clients", h.createClient)
	route("PUT /api-clients/{id}/scopes", h.setClientScopes)
	route("POST /api-clients/{id}/rotate", h.rotateClientSecret)
	route("POST /api-clients/{id}/disable", h.disableClient)
	route("DELETE /api-clients/{id}", h.deleteClient)
	route("GET /token-exchange", h.getExchange)
	route("PUT /token-exchange", h.setExchange)
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
			httpjson.Write(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized", "message": errUnauthorized.Error()})
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
		if actor.Type != sso.ActorOperator {
			for i := len(h.cfg.RequireAdmin) - 1; i >= 0; i-- {
				route = h.cfg.RequireAdmin[i](route)
			}
		}
		route.ServeHTTP(w, r)
	})
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if httperr.Status(err) >= 500 {
		h.log.ErrorContext(r.Context(), "admin: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	h.cfg.ErrorHandler(w, r, err)
}

// change runs fn, an administrator's change, with the events describing
// it: in one transaction when the store is an audit.EventBinder, so the
// change is never stored without its events nor the events without it;
// otherwise fn and then each event (a crash between the two loses them).
// fn must make one write through the store it is given.
func (h *Handler) change(ctx context.Context, fn func(s Store) error, evs ...*sso.Event) error {
	return record.Change[Store, sso.Store](ctx, h.cfg.Store, h.cfg.Auditor, h.cfg.Now(), evs, h.log.ErrorContext, fn)
}

// saveOrg applies change to org and saves the result with the events
// change returns, without undoing a save of another setting made since org
// was read: on such a save change is applied again to the organization as
// it is now (record.Org). It returns the organization as saved.
func (h *Handler) saveOrg(ctx context.Context, org *sso.Organization,
	change func(o *sso.Organization) (evs []*sso.Event, write bool, err error)) (*sso.Organization, error) {
	o, err := record.Org[Store, sso.Store](ctx, h.cfg.Store, h.cfg.Auditor, h.cfg.Now, h.log.ErrorContext, org, change)
	if errors.Is(err, sso.ErrOrgChanged) {
		return nil, &Refusal{Reason: "org_changed", Err: err,
			Message: "the organization's settings kept changing while this change was being saved, so nothing was saved; reload them and try again"}
	}
	return o, err
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
