package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/policy"
)

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
	return &EnforcementView{Enforced: org.EnforcesSSO(), EnforcedAt: timePtr(org.Settings.SSOEnforcedAt),
		Ready: err == nil && org.Settings.Features.Has("enforce_sso"), Features: org.Settings.Features}
}

func (h *Handler) getEnforcement(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	httpjson.Write(w, http.StatusOK, h.enforcementView(r.Context(), org))
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
		return inputErr("enabled", "is required (true or false)")
	}
	res, err := h.cfg.Enforcer.SetEnforcement(r.Context(), org.ID, *req.Enabled, policy.Options{RevokeSessions: req.RevokeSessions})
	if err != nil {
		return err
	}
	org, err = h.cfg.Store.GetOrg(r.Context(), org.ID)
	if err != nil {
		return err
	}
	v := h.enforcementView(r.Context(), org)
	v.Revoked = res.Revoked
	httpjson.Write(w, http.StatusOK, v)
	return nil
}
