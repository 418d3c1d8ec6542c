package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/ssokit/ssokit/sso"
)

// maxLogoutHint bounds the logout hint a session keeps (an ID token).
const maxLogoutHint = 16 << 10

// ErrNoLogoutHint reports a session that keeps no IdP logout hint: it was
// not made by an OIDC login, the Manager has no Sealer, or the session
// entered its organization by a switch.
var ErrNoLogoutHint = fmt.Errorf("session: no IdP logout hint: %w", sso.ErrNotFound)

// logoutHintAD binds a sealed hint to the user and connection of the
// session that keeps it, so a sealed value copied to another user's
// session does not open.
func logoutHintAD(s *Session) []byte {
	return []byte("ssokit/session/idp-logout-hint\x00" + s.UserID + "\x00" + s.ConnectionID)
}

// sealLogoutHint seals hint for s; "" when there is none or no Sealer.
func (m *Manager) sealLogoutHint(s *Session, hint string) (string, error) {
	if hint == "" || m.cfg.Sealer == nil {
		return "", nil
	}
	if len(hint) > maxLogoutHint {
		return "", fmt.Errorf("%w: session: IdP logout hint longer than %d bytes", sso.ErrInvalidInput, maxLogoutHint)
	}
	sealed, err := m.cfg.Sealer.Seal([]byte(hint), logoutHintAD(s))
	if err != nil {
		return "", fmt.Errorf("session: seal IdP logout hint: %w", err)
	}
	return sealed, nil
}

// IdPLogoutHint returns what s keeps to end the user's session at the IdP
// that opened it: for an OIDC login the raw ID token, the id_token_hint of
// an RP-initiated logout (oidc.RP.LogoutURL). It returns ErrNoLogoutHint
// when s keeps none, and an error wrapping sso.ErrInvalidInput when the
// sealed value does not open (another key, or moved between sessions).
// The hint is a credential: never log it.
func (m *Manager) IdPLogoutHint(s *Session) (string, error) {
	if s == nil || s.IdPLogoutHint == "" || m.cfg.Sealer == nil {
		return "", ErrNoLogoutHint
	}
	b, err := m.cfg.Sealer.Open(s.IdPLogoutHint, logoutHintAD(s))
	if err != nil {
		if !errors.Is(err, sso.ErrInvalidInput) {
			err = fmt.Errorf("%w: %w", sso.ErrInvalidInput, err)
		}
		return "", fmt.Errorf("session: open IdP logout hint: %w", err)
	}
	return string(b), nil
}

// endReplaced ends the session a step-up replaces (g.ReplacesSession): it
// must still exist, be valid and belong to g's user, organization and
// connection, else the grant is refused with sso.ErrStepUpSessionGone.
// Of two completions of one step-up only the first finds the session.
func (m *Manager) endReplaced(ctx context.Context, g *sso.SessionGrant) error {
	if g.ReplacesSession == "" {
		return nil
	}
	old, err := m.cfg.Store.GetSession(ctx, g.ReplacesSession)
	switch {
	case errors.Is(err, sso.ErrNotFound):
		return sso.ErrStepUpSessionGone
	case err != nil:
		return fmt.Errorf("session: read the session stepping up: %w", err)
	case old.UserID != g.UserID || old.OrgID != g.OrgID || old.ConnectionID != g.ConnectionID || !old.Valid(m.now()):
		return sso.ErrStepUpSessionGone
	}
	if err := m.cfg.Store.DeleteSession(ctx, old.ID); errors.Is(err, sso.ErrNotFound) {
		return sso.ErrStepUpSessionGone
	} else if err != nil {
		return fmt.Errorf("session: end the session stepping up: %w", err)
	}
	m.sessionsChanged(ctx, -1)
	return m.ended(ctx, old, m.now())
}
