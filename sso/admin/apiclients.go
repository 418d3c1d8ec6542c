package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
)

// APIClient is an organization's API client (machine identity) as the
// admin API shows it; its secrets are never stored, only their hashes.
type APIClient struct {
	ID       string
	OrgID    string
	Name     string
	Scopes   []string
	Exchange bool
	// PrevSecretExpiresAt is when the secret a rotation replaced stops
	// working; zero when there is none.
	PrevSecretExpiresAt time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
	DisabledAt          time.Time
}

// ClientInput is what an admin sets on a new API client.
type ClientInput struct {
	Name     string
	Scopes   []string
	Exchange bool
}

// ClientManager manages API clients, each method confined to orgID: a
// client of another organization is reported with sso.ErrNotFound. Bad
// input is an *sso.FieldError. Each change is audited by the manager.
// The composition root adapts session.Manager to it.
type ClientManager interface {
	CreateClient(ctx context.Context, orgID string, in ClientInput) (*APIClient, string, error)
	ListClients(ctx context.Context, orgID string) ([]*APIClient, error)
	SetClientScopes(ctx context.Context, orgID, id string, scopes []string, exchange bool) (*APIClient, error)
	RotateClientSecret(ctx context.Context, orgID, id string, overlap time.Duration) (string, error)
	DisableClient(ctx context.Context, orgID, id string) error
	DeleteClient(ctx context.Context, orgID, id string) error
}

// maxClientOverlap bounds a client secret rotation's overlap (as
// session.MaxClientSecretOverlap does).
const maxClientOverlap = 30 * 24 * time.Hour

// APIClientView describes an API client. Secret is set only in the answer
// that creates it or rotates its secret.
type APIClientView struct {
	ID                  string     `json:"id"`
	Name                string     `json:"name"`
	Scopes              []string   `json:"scopes"`
	Exchange            bool       `json:"exchange"`
	Active              bool       `json:"active"`
	Secret              string     `json:"secret,omitempty"`
	PrevSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
	DisabledAt          *time.Time `json:"disabled_at,omitempty"`
}

func (h *Handler) clientView(c *APIClient, secret string) *APIClientView {
	v := &APIClientView{ID: c.ID, Name: c.Name, Scopes: c.Scopes, Exchange: c.Exchange, Active: c.DisabledAt.IsZero(),
		Secret: secret, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, DisabledAt: timePtr(c.DisabledAt)}
	if h.cfg.Now().Before(c.PrevSecretExpiresAt) {
		v.PrevSecretExpiresAt = timePtr(c.PrevSecretExpiresAt)
	}
	if v.Scopes == nil {
		v.Scopes = []string{}
	}
	return v
}

func (h *Handler) clientManager() (ClientManager, error) {
	if h.cfg.Clients == nil {
		return nil, fmt.Errorf("admin: API clients are not enabled: %w", sso.ErrNotFound)
	}
	return h.cfg.Clients, nil
}

// clientErr maps a ClientManager error: bad input names its field, a
// missing client (or another organization's) is audited and answers 404.
func (h *Handler) clientErr(ctx context.Context, org *sso.Organization, id string, err error) error {
	var fe *sso.FieldError
	switch {
	case errors.As(err, &fe):
		return &InputError{Field: fe.Field, Problem: fe.Message}
	case errors.Is(err, sso.ErrNotFound) && id != "":
		return h.crossTenant(ctx, org, "api_client", id)
	}
	return err
}

// client returns org's client id.
func (h *Handler) client(ctx context.Context, cm ClientManager, org *sso.Organization, id string) (*APIClient, error) {
	cs, err := cm.ListClients(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if c.ID == id && c.OrgID == org.ID {
			return c, nil
		}
	}
	return nil, h.crossTenant(ctx, org, "api_client", id)
}

func (h *Handler) listClients(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	cm, err := h.clientManager()
	if err != nil {
		return err
	}
	cs, err := cm.ListClients(r.Context(), org.ID)
	if err != nil {
		return err
	}
	out := make([]*APIClientView, 0, len(cs))
	for _, c := range cs {
		if c.OrgID == org.ID {
			out = append(out, h.clientView(c, ""))
		}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"clients": out})
	return nil
}

// CreateClientRequest is the body of POST /api-clients.
type CreateClientRequest struct {
	Name     string   `json:"name"`
	Scopes   []string `json:"scopes"`
	Exchange bool     `json:"exchange"`
}

func (h *Handler) createClient(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	cm, err := h.clientManager()
	if err != nil {
		return err
	}
	var req CreateClientRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	c, secret, err := cm.CreateClient(r.Context(), org.ID, ClientInput(req))
	if err != nil {
		return h.clientErr(r.Context(), org, "", err)
	}
	httpjson.Write(w, http.StatusCreated, h.clientView(c, secret))
	return nil
}

// SetClientScopesRequest is the body of PUT /api-clients/{id}/scopes.
type SetClientScopesRequest struct {
	Scopes   []string `json:"scopes"`
	Exchange bool     `json:"exchange"`
}

func (h *Handler) setClientScopes(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	cm, err := h.clientManager()
	if err != nil {
		return err
	}
	var req SetClientScopesRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	c, err := cm.SetClientScopes(r.Context(), org.ID, id, req.Scopes, req.Exchange)
	if err != nil {
		return h.clientErr(r.Context(), org, id, err)
	}
	httpjson.Write(w, http.StatusOK, h.clientView(c, ""))
	return nil
}

// RotateClientSecretRequest is the body of POST /api-clients/{id}/rotate.
type RotateClientSecretRequest struct {
	// OverlapSeconds keeps the old secret working this long (at most 30
	// days).
	OverlapSeconds int64 `json:"overlap_seconds"`
}

func (h *Handler) rotateClientSecret(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	cm, err := h.clientManager()
	if err != nil {
		return err
	}
	var req RotateClientSecretRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.OverlapSeconds < 0 || req.OverlapSeconds > int64(maxClientOverlap/time.Second) {
		return inputErr("overlap_seconds", "must be 0-2592000 (at most 30 days)")
	}
	id := r.PathValue("id")
	secret, err := cm.RotateClientSecret(r.Context(), org.ID, id, time.Duration(req.OverlapSeconds)*time.Second)
	if err != nil {
		return h.clientErr(r.Context(), org, id, err)
	}
	c, err := h.client(r.Context(), cm, org, id)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, h.clientView(c, secret))
	return nil
}

// disableClient revokes the client: it can no longer obtain tokens and
// the tokens it holds stop working.
func (h *Handler) disableClient(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	cm, err := h.clientManager()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := cm.DisableClient(r.Context(), org.ID, id); err != nil {
		return h.clientErr(r.Context(), org, id, err)
	}
	c, err := h.client(r.Context(), cm, org, id)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, h.clientView(c, ""))
	return nil
}

func (h *Handler) deleteClient(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	cm, err := h.clientManager()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := cm.DeleteClient(r.Context(), org.ID, id); err != nil {
		return h.clientErr(r.Context(), org, id, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
