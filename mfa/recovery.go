package mfa

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// Recovery codes are 16 characters of lower-case base32 (80 bits from the
// Manager's random source) shown in four groups: "abcd-efgh-ijkl-mnop".
// With 80 bits a fast hash is safe to store: stores keep the SHA-256 of the
// user ID and the normalized code, never the code.
const (
	recoveryBytes = 10
	recoveryChars = 16
)

var recoveryEnc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// ParseRecoveryCode normalizes a user-typed recovery code: case, spaces and
// dashes are ignored, and exactly 16 base32 characters must remain.
// Anything else is a *sso.ValidationError with reason
// ReasonRecoveryMalformed.
func ParseRecoveryCode(s string) (string, error) {
	if len(s) > 64 {
		return "", invalid(ReasonRecoveryMalformed, errors.New("mfa: recovery code too long"))
	}
	buf := make([]byte, 0, recoveryChars)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == ' ' || c == '\t':
		case c >= 'A' && c <= 'Z':
			buf = append(buf, c+('a'-'A'))
		case c >= 'a' && c <= 'z', c >= '2' && c <= '7':
			buf = append(buf, c)
		default:
			return "", invalid(ReasonRecoveryMalformed, errors.New("mfa: recovery code has a character outside base32"))
		}
	}
	if len(buf) != recoveryChars {
		return "", invalid(ReasonRecoveryMalformed, fmt.Errorf("mfa: recovery code has %d characters, want %d", len(buf), recoveryChars))
	}
	return string(buf), nil
}

func hashRecoveryCode(userID, normalized string) string {
	return opaque.Hash("mfa-recovery\x00" + userID + "\x00" + normalized)
}

func formatRecoveryCode(raw string) string {
	return raw[0:4] + "-" + raw[4:8] + "-" + raw[8:12] + "-" + raw[12:16]
}

// newRecoveryCodes generates RecoveryCodeCount codes, replaces the user's
// set with their hashes and returns the codes for display.
func (m *Manager) newRecoveryCodes(ctx context.Context, p *sso.Principal) ([]string, error) {
	codes, hashes, err := m.generateRecoveryCodes(p)
	if err != nil {
		return nil, err
	}
	if err := m.cfg.Store.ReplaceRecoveryCodes(ctx, p.UserID, hashes, m.now()); err != nil {
		return nil, fmt.Errorf("mfa: store recovery codes: %w", err)
	}
	return codes, nil
}

// generateRecoveryCodes returns RecoveryCodeCount distinct codes for
// display and their hashes for the store.
func (m *Manager) generateRecoveryCodes(p *sso.Principal) (codes, hashes []string, err error) {
	codes = make([]string, 0, RecoveryCodeCount)
	hashes = make([]string, 0, RecoveryCodeCount)
	seen := make(map[string]bool, RecoveryCodeCount)
	for len(codes) < RecoveryCodeCount {
		b := make([]byte, recoveryBytes)
		if _, err := io.ReadFull(m.rand, b); err != nil {
			return nil, nil, fmt.Errorf("mfa: random recovery code: %w", err)
		}
		raw := recoveryEnc.EncodeToString(b)
		if seen[raw] {
			continue
		}
		seen[raw] = true
		codes = append(codes, formatRecoveryCode(raw))
		hashes = append(hashes, hashRecoveryCode(p.UserID, raw))
	}
	return codes, hashes, nil
}

// RegenerateRecoveryCodes replaces p's recovery codes with a new set, which
// it returns to show once; the old codes stop working at once. Like
// Disable, p must be a session that verified an existing factor locally
// within Config.RecentMFA (ErrReverificationRequired otherwise;
// ErrReauthenticationRequired for access tokens), and the user must have
// an active factor.
func (m *Manager) RegenerateRecoveryCodes(ctx context.Context, p *sso.Principal) ([]string, error) {
	if err := m.requireReverification(ctx, p, actionRegenerate, "recovery_codes"); err != nil {
		return nil, err
	}
	enrolled, err := m.enrolled(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	if !enrolled {
		return nil, invalid(ReasonNotEnrolled, nil)
	}
	codes, err := m.newRecoveryCodes(ctx, p)
	if err != nil {
		return nil, err
	}
	m.audit(ctx, p, EventEnrolled, sso.OutcomeSuccess, "", map[string]string{"factor": "recovery_codes"})
	return codes, nil
}

// RecoveryResult is the outcome of a successful recovery code use.
type RecoveryResult struct {
	// Remaining is how many unused codes are left.
	Remaining int `json:"remaining"`
	// ReenrollmentRequired is true when the TOTP factor was removed because
	// Config.RequireReenrollmentAfterRecovery is set.
	ReenrollmentRequired bool `json:"reenrollment_required"`
}

// UseRecoveryCode checks a recovery code as p's second factor and consumes
// it: each code works once, atomically, whatever the concurrency. Failures
// count towards the lockout; every use is audited. A session that must
// step up at its IdP is refused with ErrStepUpAtIdPRequired, its code kept.
func (m *Manager) UseRecoveryCode(ctx context.Context, p *sso.Principal, code string) (_ *RecoveryResult, err error) {
	ctx, span := m.verifySpan(ctx, p, "recovery_code")
	defer func() { endVerify(span, err) }()
	if err := m.requireLocalFactor(ctx, p); err != nil {
		return nil, err
	}
	try, err := m.reserve(ctx, p)
	if err != nil {
		return nil, err
	}
	norm, err := ParseRecoveryCode(code)
	if err != nil {
		return nil, m.failReserved(ctx, p, try, "recovery_code", err)
	}
	err = m.cfg.Store.UseRecoveryCode(ctx, p.UserID, hashRecoveryCode(p.UserID, norm), m.now())
	if errors.Is(err, sso.ErrNotFound) {
		return nil, m.failReserved(ctx, p, try, "recovery_code", invalid(ReasonRecoveryInvalid, nil))
	}
	if err != nil {
		return nil, fmt.Errorf("mfa: use recovery code: %w", err)
	}
	res := &RecoveryResult{}
	if res.Remaining, err = m.cfg.Store.CountRecoveryCodes(ctx, p.UserID); err != nil {
		return nil, fmt.Errorf("mfa: count recovery codes: %w", err)
	}
	if m.cfg.RequireReenrollmentAfterRecovery {
		if err := m.cfg.Store.DeleteTOTP(ctx, p.UserID); err != nil && !errors.Is(err, sso.ErrNotFound) {
			return nil, fmt.Errorf("mfa: remove factor: %w", err)
		}
		res.ReenrollmentRequired = true
	}
	if err := m.cfg.Store.ResetAttempts(ctx, p.UserID); err != nil {
		return nil, fmt.Errorf("mfa: reset attempts: %w", err)
	}
	m.audit(ctx, p, EventRecoveryCodeUsed, sso.OutcomeSuccess, "", map[string]string{
		"remaining": strconv.Itoa(res.Remaining), "reenrollment_required": strconv.FormatBool(res.ReenrollmentRequired),
	})
	return res, nil
}
