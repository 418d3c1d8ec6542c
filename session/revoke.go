package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/ssokit/ssokit/sso"
)

// RevokeUser implements sso.SessionRevoker: it ends every session and
// refresh-token family of the user, in every organization, and revokes
// their access tokens (which stop on every replica as soon as the
// RevocationBus delivers the news, and within RevocationCacheTTL without
// one). It is a user-level action: a password reset of the global account,
// the user's own "sign out everywhere", a platform operator's lock. An
// organization's action (its administrators, directory or policy) must use
// RevokeOrgSessions, which leaves the user's other organizations alone.
func (m *Manager) RevokeUser(ctx context.Context, userID string) error {
	now := m.now()
	var errs []error
	if n, err := m.cfg.Store.DeleteUserSessions(ctx, userID); err != nil {
		errs = append(errs, err)
	} else {
		m.sessionsChanged(ctx, -n)
	}
	if m.cfg.Tokens != nil {
		errs = append(errs, m.cfg.Tokens.RevokeUserTokens(ctx, userID, now))
	}
	if m.cfg.Revocations != nil {
		errs = append(errs, m.revoke(ctx, revKey{kind: revUser, id: userID}, now))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("session: revoke user: %w", err)
	}
	return nil
}

// ListUserSessions returns the user's valid sessions, oldest first, for a
// "your devices" page.
func (m *Manager) ListUserSessions(ctx context.Context, userID string) ([]sso.SessionInfo, error) {
	ss, err := m.cfg.Store.ListUserSessions(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("session: list: %w", err)
	}
	now := m.now()
	out := []sso.SessionInfo{}
	for _, s := range ss {
		if s.Valid(now) {
			out = append(out, s.Info())
		}
	}
	return out, nil
}

// RevokeUserSession ends one of the user's own sessions. A session of
// another user is reported as sso.ErrNotFound.
func (m *Manager) RevokeUserSession(ctx context.Context, userID, sessionID string) error {
	s, err := m.cfg.Store.GetSession(ctx, sessionID)
	if err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	if s.UserID != userID {
		return fmt.Errorf("session: revoke: %w", sso.ErrNotFound)
	}
	return m.end(ctx, s)
}

// RevokeOtherSessions ends every session of the user except keepID ("sign
// out other devices"), in every organization: a user-level action the user
// takes for themself. Pass "" to end them all.
func (m *Manager) RevokeOtherSessions(ctx context.Context, userID, keepID string) error {
	ss, err := m.cfg.Store.ListUserSessions(ctx, userID)
	if err != nil {
		return fmt.Errorf("session: list: %w", err)
	}
	var errs []error
	for _, s := range ss {
		if s.ID != keepID {
			errs = append(errs, m.end(ctx, s))
		}
	}
	return errors.Join(errs...)
}

// ListSessions implements sso.SessionAdmin: the valid sessions of userID
// in orgID.
func (m *Manager) ListSessions(ctx context.Context, orgID, userID string) ([]sso.SessionInfo, error) {
	all, err := m.ListUserSessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, s := range all {
		if s.OrgID == orgID {
			out = append(out, s)
		}
	}
	return out, nil
}

// RevokeSession implements sso.SessionAdmin: an administrator of orgID ends
// one session. A session of another organization is sso.ErrNotFound. The
// audit event names the principal in ctx, if any, as the actor.
func (m *Manager) RevokeSession(ctx context.Context, orgID, sessionID string) error {
	s, err := m.cfg.Store.GetSession(ctx, sessionID)
	if err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	if s.OrgID != orgID {
		return fmt.Errorf("session: revoke: %w", sso.ErrNotFound)
	}
	if err := m.end(ctx, s); err != nil {
		return err
	}
	m.audit(ctx, &sso.Event{OrgID: orgID, Type: sso.EventSessionRevoked, Actor: actorFrom(ctx),
		Target: sso.Target{Type: "session", ID: s.ID}, Outcome: sso.OutcomeSuccess, Reason: "admin_revoked",
		Details: map[string]string{"user_id": s.UserID}})
	return nil
}

// ForceLogout ends every session in orgID of userID, with the token
// families of those sessions: an administrator's force-logout within their
// own organization. Sessions the user holds in other organizations are not
// touched.
func (m *Manager) ForceLogout(ctx context.Context, orgID, userID string) error {
	ss, err := m.cfg.Store.ListUserSessions(ctx, userID)
	if err != nil {
		return fmt.Errorf("session: list: %w", err)
	}
	var errs []error
	n := 0
	for _, s := range ss {
		if s.OrgID == orgID {
			errs = append(errs, m.end(ctx, s))
			n++
		}
	}
	m.audit(ctx, &sso.Event{OrgID: orgID, Type: sso.EventSessionRevoked, Actor: actorFrom(ctx),
		Target: sso.Target{Type: "user", ID: userID}, Outcome: sso.OutcomeSuccess, Reason: "force_logout",
		Details: map[string]string{"sessions": fmt.Sprint(n)}})
	return errors.Join(errs...)
}
