package admin

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/internal/scimtoken"
	"github.com/ssokit/ssokit/sso"
)

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
	// Status tells tokens apart: "current" (valid, no end date), "old"
	// (the token a rotation replaced, valid until ExpiresAt), "expired" or
	// "revoked".
	Status string `json:"status"`
	// RotatedFrom is, in the answer of a rotation, the ID of the token it
	// replaced.
	RotatedFrom string `json:"rotated_from,omitempty"`
}

func (h *Handler) tokenView(t *sso.SCIMToken, plain string) *SCIMTokenView {
	now := h.cfg.Now()
	v := &SCIMTokenView{ID: t.ID, Token: plain, Hint: t.Hint, Description: t.Description, CreatedAt: t.CreatedAt,
		ExpiresAt: timePtr(t.ExpiresAt), RevokedAt: timePtr(t.RevokedAt), LastUsedAt: timePtr(t.LastUsedAt),
		Valid: t.Valid(now), Status: "current"}
	switch {
	case !t.RevokedAt.IsZero():
		v.Status = "revoked"
	case !v.Valid:
		v.Status = "expired"
	case !t.ExpiresAt.IsZero():
		v.Status = "old"
	}
	return v
}

func scimAllowed(org *sso.Organization) error {
	if !org.Settings.Features.Has("scim") {
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
	httpjson.Write(w, http.StatusOK, map[string]any{"tokens": out})
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
	plain, t, err := scimtoken.New(org.ID, req.Description, h.cfg.Now().UTC())
	if err != nil {
		return err
	}
	if err := h.change(r.Context(), func(s Store) error { return s.CreateSCIMToken(r.Context(), t) },
		&sso.Event{OrgID: org.ID, Type: EventSCIMTokenCreated, Target: sso.Target{Type: "scim_token", ID: t.ID}}); err != nil {
		return err
	}
	// Issuing a SCIM token makes the directory the source of truth for
	// membership: from now on JIT login may update members but not create
	// them, so a user the directory deprovisioned cannot come back by
	// signing in.
	if _, err := h.saveOrg(r.Context(), org, func(org *sso.Organization) ([]*sso.Event, bool, error) {
		if org.Settings.DirectorySync {
			return nil, false, nil
		}
		org.Settings.DirectorySync = true
		return []*sso.Event{{OrgID: org.ID, Type: EventDirectorySyncEnabled, Target: sso.Target{Type: "organization", ID: org.ID}}}, true, nil
	}); err != nil {
		return err
	}
	httpjson.Write(w, http.StatusCreated, h.tokenView(t, plain))
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
		return inputErr("overlap_seconds", "must be 0-604800 (at most 7 days)")
	}
	old, err := h.scimToken(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	now := h.cfg.Now().UTC()
	if !old.Valid(now) {
		return fmt.Errorf("admin: rotate scim token: %w", sso.ErrNotFound)
	}
	plain, t, err := scimtoken.New(org.ID, old.Description, now)
	if err != nil {
		return err
	}
	if err := h.change(r.Context(), func(s Store) error { return s.CreateSCIMToken(r.Context(), t) },
		&sso.Event{OrgID: org.ID, Type: EventSCIMTokenCreated, Target: sso.Target{Type: "scim_token", ID: t.ID},
			Details: map[string]string{"rotated_from": old.ID}}); err != nil {
		return err
	}
	// The new token works from now on; the old one's shorter life needs no
	// event of its own (the creation names it).
	if err := sso.ExpireSCIMToken(r.Context(), h.cfg.Store, old, now.Add(time.Duration(req.OverlapSeconds)*time.Second)); err != nil {
		return err
	}
	v := h.tokenView(t, plain)
	v.RotatedFrom = old.ID
	httpjson.Write(w, http.StatusCreated, v)
	return nil
}

func (h *Handler) revokeSCIMToken(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	t, err := h.scimToken(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	if t.RevokedAt.IsZero() {
		t.RevokedAt = h.cfg.Now().UTC()
		if err := h.change(r.Context(), func(s Store) error { return s.UpdateSCIMToken(r.Context(), t) },
			&sso.Event{OrgID: org.ID, Type: EventSCIMTokenRevoked, Target: sso.Target{Type: "scim_token", ID: t.ID}}); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
