package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/policy"
)

// NetworkView is an organization's IP allowlist.
type NetworkView struct {
	AllowedCIDRs     []string `json:"allowed_cidrs"`
	BreakGlassExempt bool     `json:"break_glass_exempt"`
	// Available reports whether the plan includes the allowlist.
	Available bool `json:"available"`
}

func networkView(org *sso.Organization) *NetworkView {
	v := &NetworkView{AllowedCIDRs: org.Settings.Network.AllowedCIDRs, BreakGlassExempt: org.Settings.Network.BreakGlassExempt,
		Available: org.Settings.Features.Has(sso.FeatureIPAllowlist)}
	if v.AllowedCIDRs == nil {
		v.AllowedCIDRs = []string{}
	}
	return v
}

func (h *Handler) getNetwork(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	httpjson.Write(w, http.StatusOK, networkView(org))
	return nil
}

// SetNetworkRequest is the body of PUT /network-policy. Confirm accepts a
// list that does not include the caller's own address.
type SetNetworkRequest struct {
	AllowedCIDRs     []string `json:"allowed_cidrs"`
	BreakGlassExempt bool     `json:"break_glass_exempt"`
	Confirm          bool     `json:"confirm"`
}

func (h *Handler) setNetwork(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	var req SetNetworkRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	ai := sso.AuditInfoFrom(r.Context())
	_, err := h.cfg.Enforcer.SetNetworkPolicy(r.Context(), org.ID,
		sso.NetworkPolicy{AllowedCIDRs: req.AllowedCIDRs, BreakGlassExempt: req.BreakGlassExempt},
		policy.NetworkOptions{CallerAddr: ai.IP, CallerID: ai.Actor.ID, Confirm: req.Confirm})
	var fe *sso.FieldError
	if errors.As(err, &fe) {
		return &InputError{Field: fe.Field, Problem: fe.Message}
	}
	if err != nil {
		return err
	}
	return h.writeNetwork(r.Context(), w, org.ID)
}

func (h *Handler) writeNetwork(ctx context.Context, w http.ResponseWriter, orgID string) error {
	org, err := h.cfg.Store.GetOrg(ctx, orgID)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, networkView(org))
	return nil
}

// getSCIMStatus answers the directory sync status of the organization:
// users and groups synced, the last request, each token's last use and
// the recent failures (Config.SCIMStatus).
func (h *Handler) getSCIMStatus(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	if h.cfg.SCIMStatus == nil {
		return fmt.Errorf("admin: directory sync status: %w", sso.ErrNotFound)
	}
	v, err := h.cfg.SCIMStatus(r.Context(), org.ID)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, v)
	return nil
}
