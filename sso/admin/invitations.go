package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/invite"
)

// InvitationRequest is the body of POST /invitations.
type InvitationRequest struct {
	Email string   `json:"email"`
	Roles []string `json:"roles"`
}

// InvitationView is an invitation as the admin API shows it (never its
// token).
type InvitationView struct {
	ID         string    `json:"id"`
	Email      string    `json:"email"`
	Roles      []string  `json:"roles"`
	Status     string    `json:"status"`
	InvitedBy  string    `json:"invited_by"`
	AcceptedBy string    `json:"accepted_by,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// AutoJoinRequest is the body of PUT /auto-join.
type AutoJoinRequest struct {
	Mode string `json:"mode"`
	Role string `json:"role"`
}

func invitationView(v *invite.Invitation) *InvitationView {
	return &InvitationView{ID: v.ID, Email: v.Email, Roles: v.Roles, Status: string(v.Status), InvitedBy: v.InvitedBy,
		AcceptedBy: v.AcceptedBy, CreatedAt: v.CreatedAt, ExpiresAt: v.ExpiresAt}
}

// invites returns the invitation manager, or a 404 when none is wired.
func (h *Handler) invites() (*invite.Manager, error) {
	if h.cfg.Invites == nil {
		return nil, fmt.Errorf("admin: invitations are not enabled: %w", sso.ErrNotFound)
	}
	return h.cfg.Invites, nil
}

// inviteErr turns an invite refusal into the API's shapes: bad input names
// its field, other refusals keep their reason and say what to do.
func inviteErr(err error) error {
	var ve *sso.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	var fe *invite.FieldError
	msg := ve.Reason
	if errors.As(err, &fe) {
		if errors.Is(err, sso.ErrInvalidInput) {
			return &InputError{Field: fe.Field, Problem: fe.Fix}
		}
		msg = fe.Fix
	}
	switch ve.Reason {
	case invite.ReasonNotPending:
		msg = "the invitation or request was already accepted, revoked or decided"
	}
	return &Refusal{Reason: ve.Reason, Message: msg, Err: ve.Err}
}

func (h *Handler) listInvitations(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	im, err := h.invites()
	if err != nil {
		return err
	}
	list, err := im.List(r.Context(), org.ID)
	if err != nil {
		return err
	}
	out := make([]*InvitationView, 0, len(list))
	for _, v := range list {
		out = append(out, invitationView(v))
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"invitations": out})
	return nil
}

func (h *Handler) createInvitation(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	im, err := h.invites()
	if err != nil {
		return err
	}
	var req InvitationRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	roles, err := validRoles(req.Roles)
	if err != nil {
		return &InputError{Field: "roles", Problem: fmt.Sprintf("give 1 to %d role names without spaces or commas", maxRoles)}
	}
	if slices.Contains(roles, RoleOwner) {
		if err := h.requireOwnerGrant(r.Context(), org); err != nil {
			return err
		}
	}
	v, err := im.Invite(r.Context(), org.ID, req.Email, roles)
	if err != nil {
		return inviteErr(err)
	}
	httpjson.Write(w, http.StatusCreated, invitationView(v))
	return nil
}

func (h *Handler) resendInvitation(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	return h.changeInvitation(w, r, org, (*invite.Manager).Resend)
}

func (h *Handler) revokeInvitation(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	return h.changeInvitation(w, r, org, (*invite.Manager).Revoke)
}

func (h *Handler) changeInvitation(w http.ResponseWriter, r *http.Request, org *sso.Organization,
	op func(*invite.Manager, context.Context, string, string) (*invite.Invitation, error)) error {
	im, err := h.invites()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if len(id) > 128 {
		return fmt.Errorf("admin: invitation: %w", sso.ErrNotFound)
	}
	v, err := op(im, r.Context(), org.ID, id)
	if errors.Is(err, sso.ErrNotFound) {
		return h.crossTenant(r.Context(), org, "invitation", id)
	} else if err != nil {
		return inviteErr(err)
	}
	httpjson.Write(w, http.StatusOK, invitationView(v))
	return nil
}

func (h *Handler) getAutoJoin(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	im, err := h.invites()
	if err != nil {
		return err
	}
	p, err := im.Policy(r.Context(), org.ID)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, map[string]string{"mode": string(p.Mode), "role": p.Role})
	return nil
}

func (h *Handler) setAutoJoin(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	im, err := h.invites()
	if err != nil {
		return err
	}
	var req AutoJoinRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Role != "" {
		if _, err := validRoles([]string{req.Role}); err != nil {
			return &InputError{Field: "role", Problem: "give one role name without spaces or commas"}
		}
		if req.Role == RoleOwner {
			return &InputError{Field: "role", Problem: "the owner role is never given automatically: invite the person, then an owner can make them owner"}
		}
	}
	p, err := im.SetPolicy(r.Context(), org.ID, invite.Mode(req.Mode), req.Role)
	if err != nil {
		return inviteErr(err)
	}
	httpjson.Write(w, http.StatusOK, map[string]string{"mode": string(p.Mode), "role": p.Role})
	return nil
}

func (h *Handler) listJoinRequests(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	im, err := h.invites()
	if err != nil {
		return err
	}
	status := invite.Status(r.URL.Query().Get("status"))
	switch status {
	case "", invite.StatusPending, invite.StatusApproved, invite.StatusDenied:
	default:
		return &InputError{Field: "status", Problem: `give "pending", "approved" or "denied"`}
	}
	list, err := im.JoinRequests(r.Context(), org.ID, status)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(list))
	for _, jr := range list {
		out = append(out, map[string]any{"id": jr.ID, "user_id": jr.UserID, "email": jr.Email, "role": jr.Role,
			"status": jr.Status, "decided_by": jr.DecidedBy, "created_at": jr.CreatedAt})
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"join_requests": out})
	return nil
}

func (h *Handler) approveJoin(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	return h.decideJoin(w, r, org, true)
}

func (h *Handler) denyJoin(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	return h.decideJoin(w, r, org, false)
}

func (h *Handler) decideJoin(w http.ResponseWriter, r *http.Request, org *sso.Organization, approve bool) error {
	im, err := h.invites()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if len(id) > 128 {
		return fmt.Errorf("admin: join request: %w", sso.ErrNotFound)
	}
	jr, err := im.Decide(r.Context(), org.ID, id, approve)
	if errors.Is(err, sso.ErrNotFound) {
		return h.crossTenant(r.Context(), org, "join_request", id)
	} else if err != nil {
		return inviteErr(err)
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"id": jr.ID, "user_id": jr.UserID, "status": jr.Status, "role": jr.Role})
	return nil
}
