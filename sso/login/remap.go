package login

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/record"
	"github.com/ssokit/ssokit/sso"
)

// RemapStore is what RemapIdentities needs from storage.
type RemapStore interface {
	sso.ConnectionStore
	sso.UserStore
	sso.MembershipStore
	sso.IdentityStore
}

// RemapIdentities prepares a move from one IdP to another (e.g. Okta to
// Entra) within orgID: for every identity of the connection fromID it
// creates an identity at connection to with the subject subject returns
// (ok false skips the user), so the first login through the new IdP finds
// the existing user instead of provisioning a duplicate. The old
// identities are kept until the old connection is deleted. It returns how
// many identities it created; existing ones are left alone.
func RemapIdentities(ctx context.Context, st RemapStore, a sso.EventRecorder, orgID, fromID, toID string, subject func(old *sso.Identity, u *sso.User) (string, bool)) (int, error) {
	from, err := st.GetConnection(ctx, fromID)
	if err != nil {
		return 0, err
	}
	to, err := st.GetConnection(ctx, toID)
	if err != nil {
		return 0, err
	}
	if from.OrgID != orgID || to.OrgID != orgID {
		return 0, fmt.Errorf("sso: remap identities: %w", sso.ErrNotFound)
	}
	issuer := to.Issuer()
	if issuer == "" {
		return 0, fmt.Errorf("%w: connection %s has no issuer yet", sso.ErrInvalidInput, toID)
	}
	n, after := 0, ""
	for {
		ms, err := st.ListMembers(ctx, orgID, after, 200)
		if err != nil {
			return n, err
		}
		for _, m := range ms {
			ids, err := st.ListUserIdentities(ctx, m.UserID)
			if err != nil {
				return n, err
			}
			u, err := st.GetUser(ctx, m.UserID)
			if err != nil {
				return n, err
			}
			for _, old := range ids {
				if old.OrgID != orgID || old.ConnectionID != fromID {
					continue
				}
				sub, ok := subject(old, u)
				if !ok || sub == "" {
					continue
				}
				id := &sso.Identity{ID: opaque.NewID("idn_"), OrgID: orgID, ConnectionID: toID, Issuer: issuer, Subject: sub,
					UserID: u.ID, CreatedAt: time.Now().UTC()}
				if err := st.CreateIdentity(ctx, id); err != nil {
					if errors.Is(err, sso.ErrConflict) {
						continue
					}
					return n, err
				}
				n++
				record.Quietly(ctx, a, &sso.Event{OrgID: orgID, Type: EventIdentityRemapped, Target: sso.Target{Type: "user", ID: u.ID},
					Details: map[string]string{"from_connection": fromID, "to_connection": toID}}, slog.Default().ErrorContext)
			}
		}
		if len(ms) < 200 {
			return n, nil
		}
		after = ms[len(ms)-1].UserID
	}
}
