package passkey

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/ssokit/ssokit/sso"
)

// cleanName bounds and cleans a user-chosen label.
func cleanName(name string) string {
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name))
	if r := []rune(name); len(r) > 64 {
		name = string(r[:64])
	}
	if name == "" {
		name = "Passkey"
	}
	return name
}

// List returns the passkeys of p's user.
func (m *Manager) List(ctx context.Context, p *sso.Principal) ([]Info, error) {
	if p == nil || p.UserID == "" {
		return nil, deny(ReasonUnauthenticated, sso.ErrForbidden, nil)
	}
	cs, err := m.cfg.Store.ListCredentials(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(cs))
	for _, c := range cs {
		out = append(out, info(c))
	}
	return out, nil
}

func decodeID(id string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(b) == 0 || len(b) > 1023 {
		return nil, deny(ReasonUnknown, sso.ErrNotFound, err)
	}
	return b, nil
}

// Rename sets the label of one of p's user's passkeys (id: base64url).
func (m *Manager) Rename(ctx context.Context, p *sso.Principal, id, name string) error {
	if p == nil || p.UserID == "" {
		return deny(ReasonUnauthenticated, sso.ErrForbidden, nil)
	}
	raw, err := decodeID(id)
	if err != nil {
		return err
	}
	if err := m.cfg.Store.RenameCredential(ctx, p.UserID, raw, cleanName(name)); err != nil {
		if errors.Is(err, sso.ErrNotFound) {
			return deny(ReasonUnknown, sso.ErrNotFound, err)
		}
		return err
	}
	m.audit(ctx, &sso.Event{OrgID: p.OrgID, Type: EventRenamed, Actor: sso.Actor{Type: sso.ActorUser, ID: p.UserID},
		Target: sso.Target{Type: "user", ID: p.UserID}, Details: map[string]string{"credential": id}})
	return nil
}

// Delete removes one of p's user's passkeys (id: base64url). A passkey is
// a second factor, so p must be a session that verified one here within
// Config.RecentLogin (a passkey login does; reason
// mfa_reverification_required otherwise). A passkey that is the user's
// last way to sign in is kept: reason last_credential.
// The store decides, in one operation under the lock that every keep-last
// removal of the user's ways in takes, from the ways its database holds
// (another passkey, a linked social identity, a password), so that of a
// passkey delete and an unlink racing for a user's last two ways in, one
// is refused. Only when the store refuses is Config.OtherMethods asked
// about ways it does not hold.
func (m *Manager) Delete(ctx context.Context, p *sso.Principal, id string) error {
	if p == nil || p.UserID == "" {
		return deny(ReasonUnauthenticated, sso.ErrForbidden, nil)
	}
	raw, err := decodeID(id)
	if err != nil {
		return err
	}
	if err := m.secondFactorVerified(ctx, p, EventDeleted); err != nil {
		return err
	}
	switch err := m.deleteCredential(ctx, p.UserID, raw); {
	case errors.Is(err, sso.ErrConflict):
		return deny(ReasonLastCredential, sso.ErrConflict, err)
	case errors.Is(err, sso.ErrNotFound):
		return deny(ReasonUnknown, sso.ErrNotFound, err)
	case err != nil:
		return err
	}
	m.audit(ctx, &sso.Event{OrgID: p.OrgID, Type: EventDeleted, Actor: sso.Actor{Type: sso.ActorUser, ID: p.UserID},
		Target: sso.Target{Type: "user", ID: p.UserID}, Details: map[string]string{"credential": id}})
	return nil
}

// deleteCredential removes the user's passkey raw with the store's
// keep-last rule and, when that refuses it as the last way in, without
// it if Config.OtherMethods vouches for another. The refusal
// (sso.ErrConflict) stands when OtherMethods is nil or says no.
func (m *Manager) deleteCredential(ctx context.Context, userID string, raw []byte) error {
	err := m.cfg.Store.DeleteCredential(ctx, userID, raw, true)
	if !errors.Is(err, sso.ErrConflict) || m.cfg.OtherMethods == nil {
		return err
	}
	other, oerr := m.cfg.OtherMethods(ctx, userID)
	switch {
	case oerr != nil:
		return fmt.Errorf("passkey: other sign-in methods: %w", oerr)
	case !other:
		return err
	}
	return m.cfg.Store.DeleteCredential(ctx, userID, raw, false)
}
