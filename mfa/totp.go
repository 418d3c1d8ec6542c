package mfa

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"image/png"
	"io"
	"log/slog"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/ssokit/ssokit/internal/mfactx"
	"github.com/ssokit/ssokit/sso"
)

// SecretSize is the TOTP seed length in bytes: 160 bits (RFC 4226 §4 R6).
const SecretSize = 20

// totpParams are the RFC 6238 parameters. Authenticator apps support SHA-1,
// 6 digits and 30 s reliably, so enrolment always uses them; other values
// exist so the Appendix B vectors run through the same code path.
type totpParams struct {
	digits    otp.Digits
	algorithm otp.Algorithm
	period    int64
}

var defaultTOTP = totpParams{digits: otp.DigitsSix, algorithm: otp.AlgorithmSHA1, period: 30}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// codeAt returns the code for secret at time t (pquerna/otp computes it).
func (tp totpParams) codeAt(secret []byte, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(b32.EncodeToString(secret), t, totp.ValidateOpts{
		Period: uint(tp.period), Digits: tp.digits, Algorithm: tp.algorithm,
	})
}

// newHash returns the hash constructor of the TOTP algorithm.
func (tp totpParams) newHash() (func() hash.Hash, error) {
	switch tp.algorithm {
	case otp.AlgorithmSHA1:
		return sha1.New, nil
	case otp.AlgorithmSHA256:
		return sha256.New, nil
	case otp.AlgorithmSHA512:
		return sha512.New, nil
	}
	return nil, fmt.Errorf("mfa: unsupported TOTP algorithm %v", tp.algorithm)
}

// maxDigits bounds the code length: RFC 4226 dynamic truncation yields 31
// bits, at most 10 decimal digits.
const maxDigits = 10

// stateHash is a hash whose state can be saved and restored.
// crypto/sha1, crypto/sha256 and crypto/sha512 implement it.
type stateHash interface {
	hash.Hash
	encoding.BinaryAppender
	encoding.BinaryUnmarshaler
}

// keyedHMAC is HMAC (RFC 2104) with one key schedule for many messages:
// the hash states after absorbing K⊕ipad and K⊕opad are computed once and
// restored for every message. crypto/hmac does the same from its first
// Reset on; this form costs one compression and five allocations less per
// key. The saved states are as secret as the key.
type keyedHMAC struct {
	inner, outer           stateHash
	innerState, outerState []byte
}

func newKeyedHMAC(newHash func() hash.Hash, key []byte) (keyedHMAC, error) {
	inner, ok1 := newHash().(stateHash)
	outer, ok2 := newHash().(stateHash)
	if !ok1 || !ok2 {
		return keyedHMAC{}, errors.New("mfa: hash state cannot be saved")
	}
	bs := inner.BlockSize()
	if len(key) > bs {
		outer.Write(key)
		key = outer.Sum(nil)
		outer.Reset()
	}
	// One buffer for the padded key, then both saved states, then room
	// for a caller's message and MAC (see scratch). A saved state of the
	// SHA-1 and SHA-2 hashes is a 4-byte magic, the chaining value (the
	// digest size here), a block and an 8-byte length; append grows the
	// buffer should one be larger.
	buf := make([]byte, bs, bs+2*(4+inner.Size()+bs+8)+scratchSize)
	pad := buf[:bs]
	copy(pad, key)
	for i := range pad {
		pad[i] ^= 0x36
	}
	inner.Write(pad)
	for i := range pad {
		pad[i] ^= 0x36 ^ 0x5c
	}
	outer.Write(pad)
	clear(pad)
	innerState, err := inner.AppendBinary(buf[bs:bs])
	if err != nil {
		return keyedHMAC{}, err
	}
	outerState, err := outer.AppendBinary(innerState[len(innerState):len(innerState)])
	if err != nil {
		return keyedHMAC{}, err
	}
	return keyedHMAC{inner: inner, outer: outer, innerState: innerState, outerState: outerState}, nil
}

// scratchSize is the room newKeyedHMAC leaves for scratch: an 8-byte
// counter and the largest MAC.
const scratchSize = 8 + sha512.Size

// scratch returns an empty slice with room for scratchSize bytes: the
// rest of newKeyedHMAC's buffer.
func (h *keyedHMAC) scratch() []byte {
	s := h.outerState[len(h.outerState):]
	if cap(s) < scratchSize {
		return make([]byte, 0, scratchSize)
	}
	return s[:0:scratchSize]
}

// sum appends HMAC(key, msg) to dst.
func (h *keyedHMAC) sum(dst, msg []byte) []byte {
	if h.inner.UnmarshalBinary(h.innerState) != nil || h.outer.UnmarshalBinary(h.outerState) != nil {
		panic("mfa: saved hash state does not restore") // it was just saved by the same type
	}
	h.inner.Write(msg)
	n := len(dst)
	dst = h.inner.Sum(dst)
	h.outer.Write(dst[n:])
	return h.outer.Sum(dst[:n])
}

// matchStep checks code against the steps now-1, now and now+1 (RFC 6238
// §5.2: at most one step of skew, server clock only) and returns the step
// it matched. The exact step wins over its neighbours.
//
// It runs in time independent of which step matched, and of whether one
// did: the HMAC key schedule is computed once for the window, every step's
// code is computed and compared with subtle.ConstantTimeCompare, and the
// matched step is selected without branching on the comparisons. Only the
// final accept or reject is a branch. The codes are computed here rather
// than through pquerna/otp (which codeAt uses) so that the window costs one
// key schedule and no allocation per step; the RFC 6238 and oathtool tests
// check that both agree.
func (tp totpParams) matchStep(secret []byte, code string, now time.Time) (int64, bool, error) {
	n := tp.digits.Length()
	if n < 1 || n > maxDigits {
		return 0, false, fmt.Errorf("mfa: unsupported TOTP digit count %d", n)
	}
	if len(code) != n {
		return 0, false, fmt.Errorf("mfa: code has %d digits, want %d", len(code), n)
	}
	newHash, err := tp.newHash()
	if err != nil {
		return 0, false, err
	}
	mac, err := newKeyedHMAC(newHash, secret)
	if err != nil {
		return 0, false, err
	}
	mod := uint64(1)
	for range n {
		mod *= 10
	}
	// One buffer for the counter and every step's MAC.
	buf := mac.scratch()[:8]
	var digits [maxDigits]byte
	step := now.Unix() / tp.period
	matched, found := int64(0), 0
	for _, s := range [3]int64{step, step - 1, step + 1} {
		binary.BigEndian.PutUint64(buf[:8], uint64(s))
		sum := mac.sum(buf[:8], buf[:8])[8:] // the MAC lands after the counter
		// RFC 4226 §5.3 dynamic truncation.
		off := sum[len(sum)-1] & 0x0f
		v := uint64(binary.BigEndian.Uint32(sum[off:off+4])&0x7fffffff) % mod
		for i := n - 1; i >= 0; i-- {
			digits[i] = byte('0' + v%10)
			v /= 10
		}
		eq := subtle.ConstantTimeCompare(digits[:n], []byte(code))
		// take is 1 for the first matching step only; mask selects s then.
		take := eq &^ found
		mask := -int64(take)
		matched = matched&^mask | s&mask
		found |= eq
	}
	return matched, found == 1, nil
}

// ParseCode normalizes a user-typed TOTP code: it drops spaces and
// requires exactly 6 ASCII digits. Anything else is a *sso.ValidationError
// with reason ReasonCodeMalformed.
func ParseCode(s string) (string, error) {
	return parseDigits(s, defaultTOTP.digits.Length())
}

func parseDigits(s string, n int) (string, error) {
	if len(s) > 64 {
		return "", invalid(ReasonCodeMalformed, errors.New("mfa: code too long"))
	}
	var arr [64]byte // len(s) <= 64: the digits stay on the stack
	buf := arr[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
		case c >= '0' && c <= '9':
			buf = append(buf, c)
		default:
			return "", invalid(ReasonCodeMalformed, errors.New("mfa: code has a non-digit"))
		}
	}
	if len(buf) != n {
		return "", invalid(ReasonCodeMalformed, fmt.Errorf("mfa: code has %d digits, want %d", len(buf), n))
	}
	if len(buf) == len(s) {
		return s, nil // no blanks to drop
	}
	return string(buf), nil
}

// Enrollment is a started TOTP enrolment: what the user needs to add the
// account to an authenticator app. It carries the plaintext seed, so show it
// once and never log it; its LogValue redacts the secret-bearing fields.
type Enrollment struct {
	// Secret is the base32 seed (no padding) for manual entry.
	Secret string `json:"secret"`
	// URI is the otpauth:// URI encoded in the QR code.
	URI string `json:"uri"`
	// QRPNG is the QR code as a PNG image.
	QRPNG []byte `json:"-"`
	// QRDataURL is QRPNG as a data: URL for an <img src>.
	QRDataURL string `json:"qr_data_url"`
	// Issuer and Account are what the app will display.
	Issuer  string `json:"issuer"`
	Account string `json:"account"`
	// ID names this enrolment. Send it back with the confirming code
	// (ConfirmTOTPEnrollmentOf, or "enrollment" in POST /totp/confirm): a
	// code of an enrolment a newer one replaced (another tab) is then
	// refused as enrolment_replaced rather than as a wrong code.
	ID string `json:"enrollment"`
}

// String redacts the secret.
func (e Enrollment) String() string {
	return "mfa.Enrollment{" + e.Issuer + ":" + e.Account + ", secret REDACTED}"
}

// GoString redacts the secret from %#v.
func (e Enrollment) GoString() string { return e.String() }

// LogValue implements slog.LogValuer without the seed, URI or QR code.
func (e Enrollment) LogValue() slog.Value {
	return slog.GroupValue(slog.String("issuer", e.Issuer), slog.String("account", e.Account), slog.String("secret", "REDACTED"))
}

// StartTOTPEnrollment begins enrolling a TOTP authenticator for p's user: a
// fresh 160-bit seed from Config.Rand (crypto/rand by default) is sealed and
// stored as a pending factor, replacing an earlier pending one. The factor
// counts only after ConfirmTOTPEnrollment. p must be an interactive
// session. While the user has an active factor, p must have verified one
// locally within Config.RecentMFA (ErrReverificationRequired otherwise; an
// IdP-asserted MFA never counts); a user with an active TOTP factor then
// gets ReasonAlreadyEnrolled (disable it first). The first factor needs a
// login of the session's own within Config.RecentLogin, not an
// organization switch, or a fresh local verification (a recovery code)
// (ErrReauthenticationRequired otherwise, and for access tokens).
func (m *Manager) StartTOTPEnrollment(ctx context.Context, p *sso.Principal) (*Enrollment, error) {
	if err := m.authorizeEnrolment(ctx, p, FactorTOTP); err != nil {
		return nil, err
	}
	u, err := m.cfg.Users.GetUser(ctx, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("mfa: load user: %w", err)
	}
	account := u.Email
	if account == "" {
		account = u.ID
	}
	secret := make([]byte, SecretSize)
	if _, err := io.ReadFull(m.rand, secret); err != nil {
		return nil, fmt.Errorf("mfa: random seed: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: m.cfg.Issuer, AccountName: account, Secret: secret,
		Period: uint(m.totpOpts.period), Digits: m.totpOpts.digits, Algorithm: m.totpOpts.algorithm,
	})
	if err != nil {
		return nil, fmt.Errorf("mfa: otpauth key: %w", err)
	}
	img, err := key.Image(m.cfg.QRSize, m.cfg.QRSize)
	if err != nil {
		return nil, fmt.Errorf("mfa: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("mfa: QR PNG: %w", err)
	}
	sealed, err := m.cfg.Sealer.Seal(secret, []byte(p.UserID))
	if err != nil {
		return nil, fmt.Errorf("mfa: seal seed: %w", err)
	}
	err = m.cfg.Store.PutPendingTOTP(ctx, &TOTPFactor{UserID: p.UserID, Secret: sealed, CreatedAt: m.now()})
	if errors.Is(err, sso.ErrConflict) {
		return nil, invalid(ReasonAlreadyEnrolled, err)
	}
	if err != nil {
		return nil, fmt.Errorf("mfa: store pending factor: %w", err)
	}
	return &Enrollment{
		Secret:    key.Secret(),
		URI:       key.URL(),
		QRPNG:     buf.Bytes(),
		QRDataURL: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()),
		Issuer:    m.cfg.Issuer,
		Account:   account,
		ID:        pendingID(sealed),
	}, nil
}

// pendingID names the pending enrolment whose sealed seed is sealed: a
// digest, which reveals nothing of the seed.
func pendingID(sealed string) string {
	sum := sha256.Sum256([]byte(sealed))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// openSecret unseals the factor's seed, bound to its user.
func (m *Manager) openSecret(f *TOTPFactor) ([]byte, error) {
	secret, err := m.cfg.Sealer.Open(f.Secret, []byte(f.UserID))
	if err != nil {
		return nil, fmt.Errorf("mfa: open seed: %w", err)
	}
	return secret, nil
}

// ConfirmTOTPEnrollment activates p's pending TOTP factor when code is
// valid, and returns a fresh set of recovery codes to show once (nil when
// the user already holds unused codes). The confirming code's step is
// recorded, so the same code cannot then be used to verify. Failures count
// towards the lockout.
//
// Confirming is enrolling: p must pass the rules of StartTOTPEnrollment
// again, now, and the pending enrolment must be one this login started
// under them: created no earlier than p.AuthAt (give or take a minute of
// clock skew) and within the longer of
// Config.RecentMFA and Config.RecentLogin. An older one, or one started
// before this login, is ReasonNoPendingEnrolment (start again).
func (m *Manager) ConfirmTOTPEnrollment(ctx context.Context, p *sso.Principal, code string) ([]string, error) {
	return m.ConfirmTOTPEnrollmentOf(ctx, p, "", code)
}

// ConfirmTOTPEnrollmentOf is ConfirmTOTPEnrollment for the enrolment
// StartTOTPEnrollment named enrollmentID (Enrollment.ID): when a newer
// enrolment replaced it, the code is refused with ReasonEnrolmentReplaced
// before it is checked, and counts as no failure. An empty enrollmentID
// confirms whichever enrolment is pending.
func (m *Manager) ConfirmTOTPEnrollmentOf(ctx context.Context, p *sso.Principal, enrollmentID, code string) ([]string, error) {
	if err := m.authorizeEnrolment(ctx, p, FactorTOTP); err != nil {
		return nil, err
	}
	if _, err := m.checkLock(ctx, p); err != nil {
		return nil, err
	}
	f, err := m.cfg.Store.GetTOTP(ctx, p.UserID)
	switch {
	case errors.Is(err, sso.ErrNotFound):
		return nil, invalid(ReasonNoPendingEnrolment, err)
	case err != nil:
		return nil, fmt.Errorf("mfa: load factor: %w", err)
	case f.Active:
		return nil, invalid(ReasonAlreadyEnrolled, nil)
	case f.CreatedAt.Before(p.AuthAt.Add(-mfactx.MaxClockSkew)) || m.now().Sub(f.CreatedAt) > max(m.cfg.RecentMFA, m.cfg.RecentLogin):
		return nil, invalid(ReasonNoPendingEnrolment, errors.New("mfa: pending enrolment not started by this login or expired"))
	case enrollmentID != "" && enrollmentID != pendingID(f.Secret):
		return nil, invalid(ReasonEnrolmentReplaced, nil)
	}
	try, err := m.reserve(ctx, p)
	if err != nil {
		return nil, err
	}
	code, err = ParseCode(code)
	if err != nil {
		return nil, m.failReserved(ctx, p, try, "totp", err)
	}
	secret, err := m.openSecret(f)
	if err != nil {
		return nil, err
	}
	step, ok, err := m.totpOpts.matchStep(secret, code, m.now())
	if err != nil {
		return nil, fmt.Errorf("mfa: validate: %w", err)
	}
	if !ok {
		return nil, m.failReserved(ctx, p, try, "totp", invalid(ReasonCodeInvalid, nil))
	}
	// Prepare recovery codes before activating, so a failure leaves the
	// enrolment pending rather than active without codes.
	n, err := m.cfg.Store.CountRecoveryCodes(ctx, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("mfa: count recovery codes: %w", err)
	}
	var codes, hashes []string
	if n == 0 {
		if codes, hashes, err = m.generateRecoveryCodes(p); err != nil {
			return nil, err
		}
	}
	if err := m.cfg.Store.ActivateTOTP(ctx, p.UserID, f.Secret, step, m.now()); err != nil {
		if errors.Is(err, sso.ErrConflict) || errors.Is(err, sso.ErrNotFound) {
			// A concurrent confirmation won, or the enrolment was replaced.
			return nil, invalid(ReasonNoPendingEnrolment, err)
		}
		return nil, fmt.Errorf("mfa: activate: %w", err)
	}
	if err := m.succeed(ctx, p, "totp", true); err != nil {
		return nil, err
	}
	m.audit(ctx, p, EventEnrolled, sso.OutcomeSuccess, "", map[string]string{"factor": "totp"})
	if codes == nil {
		return nil, nil
	}
	if err := m.cfg.Store.ReplaceRecoveryCodes(ctx, p.UserID, hashes, m.now()); err != nil {
		return nil, fmt.Errorf("mfa: store recovery codes: %w", err)
	}
	return codes, nil
}

// VerifyTOTP checks a TOTP code as p's second factor. It accepts a code of
// the current step or one step either side, once: the matched step must be
// strictly greater than the last accepted one, enforced by the store's
// compare-and-set, so concurrent submissions of one code have exactly one
// winner. Malformed, wrong and replayed codes count towards the lockout and
// are audited. The caller elevates the session on success (the HTTP
// handlers do). A session that must step up at its IdP is refused with
// ErrStepUpAtIdPRequired.
func (m *Manager) VerifyTOTP(ctx context.Context, p *sso.Principal, code string) (err error) {
	ctx, span := m.verifySpan(ctx, p, "totp")
	defer func() { endVerify(span, err) }()
	if err := m.requireLocalFactor(ctx, p); err != nil {
		return err
	}
	a, err := m.readAttempts(ctx, p)
	if err != nil {
		return err
	}
	f, err := m.cfg.Store.GetTOTP(ctx, p.UserID)
	if errors.Is(err, sso.ErrNotFound) || (err == nil && !f.Active) {
		return invalid(ReasonNotEnrolled, err)
	}
	if err != nil {
		return fmt.Errorf("mfa: load factor: %w", err)
	}
	try, err := m.reserveAfter(ctx, p, a)
	if err != nil {
		return err
	}
	code, err = ParseCode(code)
	if err != nil {
		return m.failReserved(ctx, p, try, "totp", err)
	}
	secret, err := m.openSecret(f)
	if err != nil {
		return err
	}
	now := m.now()
	step, ok, err := m.totpOpts.matchStep(secret, code, now)
	if err != nil {
		return fmt.Errorf("mfa: validate: %w", err)
	}
	if !ok {
		return m.failReserved(ctx, p, try, "totp", invalid(ReasonCodeInvalid, nil))
	}
	advanced, err := m.cfg.Store.AdvanceTOTPStep(ctx, p.UserID, step, now)
	if errors.Is(err, sso.ErrNotFound) {
		return invalid(ReasonNotEnrolled, err) // disabled meanwhile
	}
	if err != nil {
		return fmt.Errorf("mfa: record step: %w", err)
	}
	if !advanced {
		return m.failReserved(ctx, p, try, "totp", invalid(ReasonCodeReplayed, nil))
	}
	return m.succeed(ctx, p, "totp", true)
}
