package admin

import (
	"fmt"
	"net/http"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
)

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
	httpjson.Write(w, http.StatusOK, map[string]any{"sessions": out})
	return nil
}

func (h *Handler) revokeSession(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	if h.cfg.Sessions == nil {
		return fmt.Errorf("admin: sessions: %w", sso.ErrNotFound)
	}
	id := r.PathValue("id")
	// The session manager records the revocation (sso.SessionAdmin).
	if err := h.cfg.Sessions.RevokeSession(r.Context(), org.ID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
