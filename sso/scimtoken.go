package sso

import (
	"context"
	"fmt"
	"time"
)

// SCIMTokenPrefix starts every SCIM bearer token, so secret scanners can
// recognise leaked ones.
const SCIMTokenPrefix = "ssokit_scim_"

// IssueSCIMToken creates a SCIM bearer token for orgID, stores only its hash
// and returns the plaintext, which the caller shows once.
func IssueSCIMToken(ctx context.Context, st SCIMTokenStore, orgID, description string, now time.Time) (string, *SCIMToken, error) {
	if orgID == "" {
		return "", nil, fmt.Errorf("%w: empty organization ID", ErrInvalidInput)
	}
	if len(description) > 200 {
		return "", nil, fmt.Errorf("%w: description too long", ErrInvalidInput)
	}
	plain := SCIMTokenPrefix + NewToken(32)
	t := &SCIMToken{
		ID:          NewID("scimtok_"),
		OrgID:       orgID,
		Hash:        HashToken(plain),
		Hint:        plain[:len(SCIMTokenPrefix)+4],
		Description: description,
		CreatedAt:   now,
	}
	if err := st.CreateSCIMToken(ctx, t); err != nil {
		return "", nil, err
	}
	return plain, t, nil
}

// RotateSCIMToken issues a new token for the old token's organization and
// makes the old one expire after overlap (at once when overlap is zero), so
// an IdP can switch without downtime.
func RotateSCIMToken(ctx context.Context, st SCIMTokenStore, orgID, oldID string, overlap time.Duration, now time.Time) (string, *SCIMToken, error) {
	toks, err := st.ListSCIMTokens(ctx, orgID)
	if err != nil {
		return "", nil, err
	}
	var old *SCIMToken
	for _, t := range toks {
		if t.ID == oldID {
			old = t
		}
	}
	if old == nil || !old.Valid(now) {
		return "", nil, fmt.Errorf("sso: rotate scim token: %w", ErrNotFound)
	}
	plain, nt, err := IssueSCIMToken(ctx, st, orgID, old.Description, now)
	if err != nil {
		return "", nil, err
	}
	exp := now.Add(overlap)
	if old.ExpiresAt.IsZero() || exp.Before(old.ExpiresAt) {
		old.ExpiresAt = exp
	}
	if err := st.UpdateSCIMToken(ctx, old); err != nil {
		return "", nil, err
	}
	return plain, nt, nil
}

// AuthenticateSCIMToken returns the valid token matching the presented
// bearer value. Any failure (unknown, revoked, expired, malformed) yields an
// error wrapping ErrNotFound, so callers answer 401 without telling which.
func AuthenticateSCIMToken(ctx context.Context, st SCIMTokenStore, bearer string, now time.Time) (*SCIMToken, error) {
	if len(bearer) < len(SCIMTokenPrefix)+16 || len(bearer) > 512 {
		return nil, fmt.Errorf("sso: scim token: %w", ErrNotFound)
	}
	h := HashToken(bearer)
	t, err := st.FindSCIMToken(ctx, h)
	if err != nil {
		return nil, err
	}
	if !EqualHash(t.Hash, h) || !t.Valid(now) {
		return nil, fmt.Errorf("sso: scim token: %w", ErrNotFound)
	}
	return t, nil
}
