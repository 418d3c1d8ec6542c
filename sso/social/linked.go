package social

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
)

// EventUnlinked is the audit event type of a social identity a user
// unlinked from their account.
const EventUnlinked = "social.unlinked"

// ReasonLastMethod refuses to unlink the user's last way to sign in.
const ReasonLastMethod = "last_method"

// Linked returns the social identities linked to the user.
func (m *Manager) Linked(ctx context.Context, userID string) ([]*Identity, error) {
	return m.cfg.Store.ListUserIdentities(ctx, userID)
}

// Unlink removes the identity provider/subject from the user's account. It
// refuses (reason last_method, wrapping sso.ErrConflict) to remove the
// user's last way to sign in unless Config.OtherMethods says they have one
// the store does not hold; an identity of another user is
// sso.ErrNotFound. The check that another way in remains (another
// identity, a passkey, a password in the store's database) and the
// removal are one store operation, serialized per user with passkey
// deletes, so an unlink and a passkey delete racing for a user's last two
// ways in leave one; OtherMethods is asked only when the store refuses.
func (m *Manager) Unlink(ctx context.Context, userID, provider, subject string) error {
	err := m.deleteIdentity(ctx, userID, provider, subject, true)
	if errors.Is(err, sso.ErrConflict) {
		// The user's last identity: it goes only if they have another way in.
		if err = m.otherWayIn(ctx, userID); err == nil {
			err = m.deleteIdentity(ctx, userID, provider, subject, false)
		}
	}
	if err != nil {
		return err
	}
	m.audit(ctx, &sso.Event{Type: EventUnlinked, Actor: sso.Actor{Type: sso.ActorUser, ID: userID},
		Target: sso.Target{Type: "user", ID: userID}, Details: map[string]string{"provider": provider}})
	return nil
}

// deleteIdentity removes the user's identity; one that is not theirs is
// sso.ErrNotFound, and with keepLast their last one is sso.ErrConflict.
func (m *Manager) deleteIdentity(ctx context.Context, userID, provider, subject string, keepLast bool) error {
	err := m.cfg.Store.DeleteIdentity(ctx, userID, provider, subject, keepLast)
	if errors.Is(err, sso.ErrNotFound) {
		return fmt.Errorf("social: linked account: %w", sso.ErrNotFound)
	}
	return err
}

// otherWayIn returns nil when Config.OtherMethods says the user can sign in
// without social identities, and the last_method refusal otherwise.
func (m *Manager) otherWayIn(ctx context.Context, userID string) error {
	if m.cfg.OtherMethods == nil {
		return deny(ReasonLastMethod, sso.ErrConflict, nil)
	}
	other, err := m.cfg.OtherMethods(ctx, userID)
	if err != nil {
		return err
	}
	if !other {
		return deny(ReasonLastMethod, sso.ErrConflict, nil)
	}
	return nil
}

// linkedRoutes adds the signed-in user's routes (session required; the
// DELETE must be same-origin):
//
//	GET    /linked                        {"linked": [{"provider", "email", "created_at", "last_login_at"}]}
//	DELETE /linked/{provider}/{subject}   204; 409 last_method
func (m *Manager) linkedRoutes() {
	m.mux.HandleFunc("GET /linked", func(w http.ResponseWriter, r *http.Request) {
		p, ok := sso.PrincipalFrom(r.Context())
		if !ok || p.Kind != sso.PrincipalSession {
			httpjson.Write(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized", "message": "Sign in first."})
			return
		}
		ids, err := m.Linked(r.Context(), p.UserID)
		if err != nil {
			m.renderError(w, r, err)
			return
		}
		out := []map[string]any{}
		for _, id := range ids {
			out = append(out, map[string]any{"provider": id.Provider, "subject": id.Subject, "email": id.Email,
				"created_at": id.CreatedAt, "last_login_at": id.LastLoginAt})
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"linked": out})
	})
	m.mux.HandleFunc("DELETE /linked/{provider}/{subject}", func(w http.ResponseWriter, r *http.Request) {
		p, ok := sso.PrincipalFrom(r.Context())
		if !ok || p.Kind != sso.PrincipalSession {
			httpjson.Write(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized", "message": "Sign in first."})
			return
		}
		if err := http.NewCrossOriginProtection().Check(r); err != nil {
			httpjson.Write(w, http.StatusForbidden, map[string]string{"error": "cross_origin", "message": "Cross-origin request refused."})
			return
		}
		err := m.Unlink(sso.WithAuditInfo(r.Context(), sso.AuditInfo{Actor: sso.Actor{Type: sso.ActorUser, ID: p.UserID}}), p.UserID, r.PathValue("provider"), r.PathValue("subject"))
		switch {
		case errors.Is(err, sso.ErrNotFound):
			httpjson.Write(w, http.StatusNotFound, map[string]string{"error": "not_found", "message": "No such linked account."})
		case sso.ReasonOf(err) == ReasonLastMethod:
			httpjson.Write(w, http.StatusConflict, map[string]string{"error": ReasonLastMethod,
				"message": "This is your only way to sign in. Add a password or a passkey first, then unlink it."})
		case err != nil:
			m.renderError(w, r, err)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
}
