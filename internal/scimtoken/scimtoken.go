// Package scimtoken issues, rotates and checks the bearer tokens of SCIM
// directory sync.
package scimtoken

import (
	"context"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// Prefix starts every SCIM bearer token, so secret scanners can
// recognise leaked ones.
const Prefix = "ssokit_scim_"

// Issue creates a SCIM bearer token for orgID, stores only its hash
// and returns the plaintext, which the caller shows once.
func Issue(ctx context.Context, st sso.SCIMTokenStore, orgID, description string, now time.Time) (string, *sso.SCIMToken, error) {
	plain, t, err := New(orgID, description, now)
	if err != nil {
		return "", nil, err
	}
	if err := st.CreateSCIMToken(ctx, t); err != nil {
		return "", nil, err
	}
	return plain, t, nil
}

// New returns a new SCIM bearer token for orgID and the record of its hash,
// without storing it (Issue does both), for a caller that stores it with
// other writes.
func New(orgID, description string, now time.Time) (string, *sso.SCIMToken, error) {
	if orgID == "" {
		return "", nil, fmt.Errorf("%w: empty organization ID", sso.ErrInvalidInput)
	}
	if len(description) > 200 {
		return "", nil, fmt.Errorf("%w: description too long", sso.ErrInvalidInput)
	}
	plain := Prefix + opaque.NewToken(32)
	return plain, &sso.SCIMToken{
		ID:          opaque.NewID("scimtok_"),
		OrgID:       orgID,
		Hash:        opaque.Hash(plain),
		Hint:        plain[:len(Prefix)+4],
		Description: description,
		CreatedAt:   now,
	}, nil
}

// Rotate issues a new token for the old token's organization and
// makes the old one expire after overlap (at once when overlap is zero), so
// an IdP can switch without downtime.
func Rotate(ctx context.Context, st sso.SCIMTokenStore, orgID, oldID string, overlap time.Duration, now time.Time) (string, *sso.SCIMToken, error) {
	toks, err := st.ListSCIMTokens(ctx, orgID)
	if err != nil {
		return "", nil, err
	}
	var old *sso.SCIMToken
	for _, t := range toks {
		if t.ID == oldID {
			old = t
		}
	}
	if old == nil || !old.Valid(now) {
		return "", nil, fmt.Errorf("sso: rotate scim token: %w", sso.ErrNotFound)
	}
	plain, nt, err := Issue(ctx, st, orgID, old.Description, now)
	if err != nil {
		return "", nil, err
	}
	if err := sso.ExpireSCIMToken(ctx, st, old, now.Add(overlap)); err != nil {
		return "", nil, err
	}
	return plain, nt, nil
}

// Authenticate returns the valid token matching the presented
// bearer value. Any failure (unknown, revoked, expired, malformed) yields an
// error wrapping ErrNotFound, so callers answer 401 without telling which.
func Authenticate(ctx context.Context, st sso.SCIMTokenStore, bearer string, now time.Time) (*sso.SCIMToken, error) {
	if len(bearer) < len(Prefix)+16 || len(bearer) > 512 {
		return nil, fmt.Errorf("sso: scim token: %w", sso.ErrNotFound)
	}
	h := opaque.Hash(bearer)
	t, err := st.FindSCIMToken(ctx, h)
	if err != nil {
		return nil, err
	}
	if !opaque.Equal(t.Hash, h) || !t.Valid(now) {
		return nil, fmt.Errorf("sso: scim token: %w", sso.ErrNotFound)
	}
	return t, nil
}
