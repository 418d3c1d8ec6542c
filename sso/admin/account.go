package admin

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ssokit/ssokit/internal/httperr"
	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
)

// EventOrgCreated is recorded when a user created an organization.
const EventOrgCreated = "org.created"

// AccountConfig configures the Account API.
type AccountConfig struct {
	// Store holds the core records. Required.
	Store Store
	// User returns the signed-in user of the request (the session's
	// user); an error answers 401. Required.
	User func(r *http.Request) (userID string, err error)
	// Auditor records organization creation. Required.
	Auditor *audit.Trail
	// Settings are the settings of a new organization (its plan
	// features, JIT, default role). Zero means the most restrictive.
	Settings sso.OrgSettings
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Logger logs internal errors. Nil means slog.Default().
	Logger *slog.Logger
}

// Account is the JSON API of a signed-in user's own organizations, beside
// the per-organization admin API:
//
//	GET  /orgs                  {"orgs": [{"id", "slug", "name", "roles", "status"}]}  the caller's memberships
//	POST /orgs {"slug", "name"} 201 the new organization; the caller is its owner and admin
//
// Mount it behind the session middleware and the host's CSRF protection.
type Account struct {
	cfg AccountConfig
	mux *http.ServeMux
	log *slog.Logger
}

// NewAccount returns the Account API.
func NewAccount(cfg AccountConfig) (*Account, error) {
	if cfg.Store == nil || cfg.User == nil || cfg.Auditor == nil {
		return nil, fmt.Errorf("%w: admin: Account needs Store, User and Auditor", sso.ErrInvalidConfig)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &Account{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.mux.HandleFunc("GET /orgs", a.wrap(a.listOrgs))
	a.mux.HandleFunc("POST /orgs", a.wrap(a.createOrg))
	a.mux.HandleFunc("/", a.wrap(func(http.ResponseWriter, *http.Request, string) error {
		return fmt.Errorf("admin: no such route: %w", sso.ErrNotFound)
	}))
	return a, nil
}

// ServeHTTP implements http.Handler.
func (a *Account) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

func (a *Account) wrap(fn func(w http.ResponseWriter, r *http.Request, userID string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		userID, err := a.cfg.User(r)
		if err != nil || userID == "" {
			httpjson.Write(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized", "message": "sign in first"})
			return
		}
		r = r.WithContext(sso.WithAuditInfo(r.Context(), a.cfg.Auditor.RequestInfo(r, sso.Actor{Type: sso.ActorUser, ID: userID})))
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := fn(w, r, userID); err != nil {
			if httperr.Status(err) >= 500 {
				a.log.ErrorContext(r.Context(), "admin: account request failed", "path", r.URL.Path, "err", err)
			}
			writeError(w, r, err)
		}
	}
}

// AccountOrg is one of the caller's organizations.
type AccountOrg struct {
	ID     string   `json:"id"`
	Slug   string   `json:"slug"`
	Name   string   `json:"name"`
	Roles  []string `json:"roles"`
	Status string   `json:"status"`
}

func (a *Account) listOrgs(w http.ResponseWriter, r *http.Request, userID string) error {
	ms, err := a.cfg.Store.ListUserMemberships(r.Context(), userID)
	if err != nil {
		return err
	}
	out := make([]*AccountOrg, 0, len(ms))
	for _, m := range ms {
		o, err := a.cfg.Store.GetOrg(r.Context(), m.OrgID)
		if errors.Is(err, sso.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		out = append(out, &AccountOrg{ID: o.ID, Slug: o.Slug, Name: o.Name, Roles: m.Roles, Status: string(m.Status)})
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"orgs": out})
	return nil
}

// OrgCreateRequest is the body of POST /orgs.
type OrgCreateRequest struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

func (a *Account) createOrg(w http.ResponseWriter, r *http.Request, userID string) error {
	var req OrgCreateRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	slug := strings.ToLower(strings.TrimSpace(req.Slug))
	if normalize.Slug(slug) != nil {
		return &InputError{Field: "slug", Problem: "use 1 to 63 lowercase letters, digits and hyphens"}
	}
	name := strings.TrimSpace(req.Name)
	if name == "" || utf8.RuneCountInString(name) > 128 || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return &InputError{Field: "name", Problem: "use 1 to 128 printable characters"}
	}
	ctx, now := r.Context(), a.cfg.Now().UTC()
	o := &sso.Organization{ID: opaque.NewID("org_"), Slug: slug, Name: name, Settings: a.cfg.Settings, CreatedAt: now, UpdatedAt: now}
	if err := a.cfg.Store.CreateOrg(ctx, o); errors.Is(err, sso.ErrConflict) {
		return &Refusal{Reason: "slug_taken", Message: "another organization uses this slug; choose another", Err: sso.ErrConflict}
	} else if err != nil {
		return err
	}
	m := &sso.Membership{OrgID: o.ID, UserID: userID, Roles: []string{RoleOwner, "admin"}, Status: sso.MembershipActive,
		Source: sso.SourceAdmin, JoinedAt: now, UpdatedAt: now}
	if err := a.cfg.Store.CreateMembership(ctx, m); err != nil {
		_ = a.cfg.Store.DeleteOrg(ctx, o.ID)
		return err
	}
	if err := a.cfg.Auditor.Record(ctx, &sso.Event{OrgID: o.ID, Type: EventOrgCreated, Target: sso.Target{Type: "org", ID: o.ID},
		Details: map[string]string{"slug": slug, "owner": userID}}); err != nil {
		a.log.ErrorContext(ctx, "admin: audit event not recorded", "type", EventOrgCreated, "err", err)
	}
	httpjson.Write(w, http.StatusCreated, orgView(o))
	return nil
}
