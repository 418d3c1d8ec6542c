package admin

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
)

// MemberRolesRequest is the body of PUT /members/{user}/roles.
type MemberRolesRequest struct {
	Roles []string `json:"roles"`
}

// MemberView is a membership as the admin API shows it.
type MemberView struct {
	UserID     string   `json:"user_id"`
	Roles      []string `json:"roles"`
	Status     string   `json:"status"`
	Source     string   `json:"source"`
	BreakGlass bool     `json:"break_glass"`
}

// maxRoles bounds a member's roles; maxRoleLen one role's length.
const (
	maxRoles   = 32
	maxRoleLen = 64
)

// validRoles checks roles and returns them without duplicates, in order.
func validRoles(roles []string) ([]string, error) {
	if len(roles) == 0 || len(roles) > maxRoles {
		return nil, fmt.Errorf("%w: roles: give 1 to %d roles", sso.ErrInvalidInput, maxRoles)
	}
	out := make([]string, 0, len(roles))
	for _, r := range roles {
		ok := r != "" && len(r) <= maxRoleLen && utf8.ValidString(r) &&
			strings.IndexFunc(r, func(c rune) bool { return unicode.IsControl(c) || unicode.IsSpace(c) || c == ',' }) < 0
		if !ok {
			return nil, fmt.Errorf("%w: roles: %q is not a role name (1 to %d characters, no spaces, commas or control characters)",
				sso.ErrInvalidInput, clip(r, maxRoleLen), maxRoleLen)
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// setMemberRoles answers PUT /members/{user}/roles: it replaces the
// member's roles, audits the change and brings the member's live sessions
// and tokens in line (Config.Sync). While the organization's directory sync
// is on, roles belong to the directory and the request is refused with a
// conflict.
func (h *Handler) setMemberRoles(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	var req MemberRolesRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	roles, err := validRoles(req.Roles)
	if err != nil {
		return err
	}
	user := r.PathValue("user")
	if len(user) > 128 {
		return fmt.Errorf("admin: member: %w", sso.ErrNotFound)
	}
	if org.Settings.DirectorySync {
		return fmt.Errorf("%w: roles: the organization's directory (SCIM) manages roles; change the member's groups there",
			sso.ErrConflict)
	}
	ctx := r.Context()
	m, err := h.cfg.Store.GetMembership(ctx, org.ID, user)
	if err != nil {
		return err
	}
	old := m.Roles
	if !sameRoles(old, roles) {
		m.Roles, m.UpdatedAt = roles, h.cfg.Now().UTC()
		if err := h.change(ctx, func(s Store) error { return s.UpdateMembership(ctx, m) },
			&sso.Event{OrgID: org.ID, Type: sso.EventRolesChanged, Target: sso.Target{Type: "user", ID: m.UserID},
				Details: map[string]string{"from": strings.Join(old, ","), "to": strings.Join(roles, ",")}}); err != nil {
			return err
		}
		if h.cfg.Sync != nil {
			if err := h.cfg.Sync.SyncMembership(ctx, m); err != nil {
				return fmt.Errorf("admin: sync sessions after a role change: %w", err)
			}
		}
	}
	httpjson.Write(w, http.StatusOK, &MemberView{UserID: m.UserID, Roles: m.Roles, Status: string(m.Status),
		Source: string(m.Source), BreakGlass: m.BreakGlass})
	return nil
}

func sameRoles(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, r := range a {
		if !slices.Contains(b, r) {
			return false
		}
	}
	return true
}
