package password

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/reqinfo"
	"github.com/ssokit/ssokit/sso"
)

// Audit event types recorded by this package, besides sso's login events.
const (
	EventSignedUp       = "user.signed_up"
	EventEmailVerified  = "user.email_verified"
	EventResetRequested = "password.reset_requested"
	EventPasswordReset  = "password.reset"
	EventPasswordSet    = "password.changed"
)

// requestCtx adds the request's audit information to its context.
func (m *Manager) requestCtx(r *http.Request) context.Context {
	ctx := r.Context()
	ai := sso.AuditInfoFrom(ctx)
	if ai.IP == "" {
		def := reqinfo.Audit(r, sso.Actor{Type: sso.ActorUser}, m.cfg.ClientIP)
		if ai.Actor.Type == "" {
			ai.Actor = def.Actor
		}
		ai.IP, ai.UserAgent = def.IP, def.UserAgent
	}
	return sso.WithAuditInfo(ctx, ai)
}

func emailField(email string) (string, error) {
	addr, _, err := normalize.Email(email)
	if err != nil {
		return "", refuse(ReasonEmailInvalid, "email", "Enter an email address such as jane@example.com.", sso.ErrInvalidInput)
	}
	return addr, nil
}

// SignUp creates an account with an unverified email and sends the
// verification email. When the email already has an account, it sends
// that address a notice instead and returns nil just the same, after the
// same work (the password is hashed either way), so the answer does not
// tell whether the address is registered. Policy refusals name the field
// and the fix. name is the display name (may be empty).
func (m *Manager) SignUp(ctx context.Context, email, pw, name string) error {
	addr, err := emailField(email)
	if err != nil {
		return err
	}
	if err := m.cfg.Policy.Check(pw, addr); err != nil {
		return err
	}
	// Refused before the lookup, so it cannot differ between new and
	// registered addresses (a NUL would fail only the new account's write).
	if !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 || len(name) > 256 {
		return refuse(ReasonNameInvalid, "name", "Use at most 256 printable characters.", sso.ErrInvalidInput)
	}
	h, err := m.hash(pw)
	if err != nil {
		return err
	}
	if _, err := m.cfg.Store.FindCredential(ctx, addr); err == nil {
		return m.mail(ctx, addr, m.existsMessage(addr))
	} else if !errors.Is(err, sso.ErrNotFound) {
		return err
	}
	now := m.now()
	u := &sso.User{ID: opaque.NewID("usr_"), Email: addr, DisplayName: name, CreatedAt: now, UpdatedAt: now}
	if err := m.cfg.Users.CreateUser(ctx, u); err != nil {
		return err
	}
	cred := &Credential{UserID: u.ID, Email: addr, Hash: h, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := m.cfg.Store.CreateCredential(ctx, cred); err != nil {
		_ = m.cfg.Users.DeleteUser(ctx, u.ID)
		if errors.Is(err, sso.ErrConflict) {
			// A concurrent sign-up of the same address won.
			return m.mail(ctx, addr, m.existsMessage(addr))
		}
		return err
	}
	m.audit(ctx, &sso.Event{Type: EventSignedUp, Actor: sso.Actor{Type: sso.ActorUser, ID: u.ID}, Target: sso.Target{Type: "user", ID: u.ID}})
	return m.sendToken(ctx, cred, TokenVerify)
}

// ResendVerification sends a new verification email when email has an
// unverified account, and otherwise a notice (no account, or already
// confirmed): one email either way, and nil, so the answer does not tell
// which.
func (m *Manager) ResendVerification(ctx context.Context, email string) error {
	addr, err := emailField(email)
	if err != nil {
		return err
	}
	cred, err := m.cfg.Store.FindCredential(ctx, addr)
	if errors.Is(err, sso.ErrNotFound) {
		return m.mail(ctx, addr, m.noAccountMessage(addr))
	} else if err != nil {
		return err
	}
	u, err := m.cfg.Users.GetUser(ctx, cred.UserID)
	if err != nil {
		return err
	}
	if u.EmailVerified {
		return m.mail(ctx, addr, m.existsMessage(addr))
	}
	return m.sendToken(ctx, cred, TokenVerify)
}

// VerifyEmail consumes a verification token and marks the user's email
// verified. Refusals: token_invalid (unknown, used or another kind),
// token_expired, token_stale (the address or password changed since).
func (m *Manager) VerifyEmail(ctx context.Context, token string) (*sso.User, error) {
	t, cred, err := m.take(ctx, TokenVerify, token)
	if err != nil {
		return nil, err
	}
	u, err := m.markVerified(ctx, t.UserID, cred.Email)
	if errors.Is(err, errAddressMoved) {
		return nil, refuse(ReasonTokenStale, "token", "Your address changed since this link was sent; ask for a new one.", sso.ErrInvalidInput)
	}
	if err != nil {
		return nil, err
	}
	m.audit(ctx, &sso.Event{Type: EventEmailVerified, Actor: sso.Actor{Type: sso.ActorUser, ID: u.ID}, Target: sso.Target{Type: "user", ID: u.ID}})
	if m.cfg.Joiner != nil {
		if err := m.cfg.Joiner(ctx, u); err != nil {
			m.log.WarnContext(ctx, "password: join after email verification", "user", u.ID, "err", err)
		}
	}
	return u, nil
}

// RequestReset sends a reset link when email has an account, and otherwise
// a notice that there is none; it returns nil in both cases, after the same
// kind of work (one lookup, one email), so the answer does not tell whether
// the address is registered. Earlier reset tokens of the user stop working.
func (m *Manager) RequestReset(ctx context.Context, email string) error {
	addr, err := emailField(email)
	if err != nil {
		return err
	}
	cred, err := m.cfg.Store.FindCredential(ctx, addr)
	if errors.Is(err, sso.ErrNotFound) {
		if err := m.decoyToken(ctx); err != nil {
			return err
		}
		return m.mail(ctx, addr, m.noAccountMessage(addr))
	} else if err != nil {
		return err
	}
	if err := m.cfg.Store.DeleteTokens(ctx, cred.UserID, TokenReset); err != nil {
		return err
	}
	m.audit(ctx, &sso.Event{Type: EventResetRequested, Target: sso.Target{Type: "user", ID: cred.UserID}})
	return m.sendToken(ctx, cred, TokenReset)
}

// ResetPassword consumes a reset token and sets the new password. The
// token is single-use; refusals: token_invalid, token_expired, token_stale
// (the password changed after the token was issued), and the policy's. A
// reset proves the address, so the email becomes verified, and it ends
// every session and refresh family of the user (Config.Revoker).
func (m *Manager) ResetPassword(ctx context.Context, token, pw string) error {
	if err := m.cfg.Policy.Check(pw, ""); err != nil {
		return err
	}
	t, cred, err := m.take(ctx, TokenReset, token)
	if err != nil {
		return err
	}
	if err := m.cfg.Policy.Check(pw, cred.Email); err != nil {
		// Nothing was changed with the token: put it back for the next try.
		_ = m.cfg.Store.CreateToken(ctx, t)
		return err
	}
	if err := m.replace(ctx, cred, pw); err != nil {
		return err
	}
	// The reset link proved the address too; an account moved to another
	// address meanwhile keeps it, unverified.
	if _, err := m.markVerified(ctx, t.UserID, cred.Email); err != nil && !errors.Is(err, errAddressMoved) {
		m.log.WarnContext(ctx, "password: mark the address verified after a reset", "user", t.UserID, "err", err)
	}
	m.audit(ctx, &sso.Event{Type: EventPasswordReset, Actor: sso.Actor{Type: sso.ActorUser, ID: t.UserID}, Target: sso.Target{Type: "user", ID: t.UserID}})
	return nil
}

// ChangePassword checks the user's current password (under the login
// throttle, as a login from ip) and sets the new one, ending every session
// and refresh family of the user. The handler then issues a fresh session
// for the request that made the change.
func (m *Manager) ChangePassword(ctx context.Context, userID, current, next, ip string) error {
	cred, err := m.cfg.Store.GetCredential(ctx, userID)
	if errors.Is(err, sso.ErrNotFound) {
		return errInvalidCredentials
	} else if err != nil {
		return err
	}
	if _, err := m.Authenticate(ctx, cred.Email, current, ip); err != nil && sso.ReasonOf(err) != ReasonEmailNotVerified {
		return err
	}
	if err := m.cfg.Policy.Check(next, cred.Email); err != nil {
		return err
	}
	// Re-read: Authenticate may have upgraded the hash.
	if cred, err = m.cfg.Store.GetCredential(ctx, userID); err != nil {
		return err
	}
	if err := m.replace(ctx, cred, next); err != nil {
		return err
	}
	m.audit(ctx, &sso.Event{Type: EventPasswordSet, Actor: sso.Actor{Type: sso.ActorUser, ID: userID}, Target: sso.Target{Type: "user", ID: userID}})
	return nil
}

// SetPassword gives an existing user a password (for example a break-glass
// admin the host provisions), under the policy. An existing password is
// replaced, which ends the user's sessions. The user's Email is the sign-in
// address; it is not marked verified here.
func (m *Manager) SetPassword(ctx context.Context, u *sso.User, pw string) error {
	addr, err := emailField(u.Email)
	if err != nil {
		return err
	}
	if err := m.cfg.Policy.Check(pw, addr); err != nil {
		return err
	}
	cred, err := m.cfg.Store.GetCredential(ctx, u.ID)
	if err == nil {
		return m.replace(ctx, cred, pw)
	} else if !errors.Is(err, sso.ErrNotFound) {
		return err
	}
	h, err := m.hash(pw)
	if err != nil {
		return err
	}
	now := m.now()
	if err := m.cfg.Store.CreateCredential(ctx, &Credential{UserID: u.ID, Email: addr, Hash: h, Version: 1, CreatedAt: now, UpdatedAt: now}); err != nil {
		return err
	}
	m.audit(ctx, &sso.Event{Type: EventPasswordSet, Target: sso.Target{Type: "user", ID: u.ID}})
	return nil
}

// replace sets a new password on cred (compare-and-swap on the old hash),
// bumps its version so outstanding tokens go stale, deletes the user's
// reset tokens and ends the user's sessions and refresh families.
func (m *Manager) replace(ctx context.Context, cred *Credential, pw string) error {
	h, err := m.hash(pw)
	if err != nil {
		return err
	}
	next := *cred
	next.Hash, next.Version, next.UpdatedAt = h, cred.Version+1, m.now()
	if err := m.cfg.Store.UpdateCredential(ctx, &next, cred.Hash); err != nil {
		return err
	}
	if err := m.cfg.Store.DeleteTokens(ctx, cred.UserID, TokenReset); err != nil {
		return err
	}
	if err := m.cfg.Revoker.RevokeUser(ctx, cred.UserID); err != nil {
		return fmt.Errorf("password: revoke sessions: %w", err)
	}
	m.audit(ctx, &sso.Event{Type: sso.EventSessionRevoked, Target: sso.Target{Type: "user", ID: cred.UserID}, Reason: "password_changed"})
	return nil
}

// take consumes a token of kind and returns it with the current
// credential of its user.
func (m *Manager) take(ctx context.Context, kind TokenKind, bearer string) (*Token, *Credential, error) {
	invalid := refuse(ReasonTokenInvalid, "token", "This link is invalid or was already used; ask for a new one.", sso.ErrInvalidInput)
	if bearer == "" || len(bearer) > 256 {
		return nil, nil, invalid
	}
	t, err := m.cfg.Store.TakeToken(ctx, kind, opaque.Hash(bearer))
	if errors.Is(err, sso.ErrNotFound) {
		return nil, nil, invalid
	} else if err != nil {
		return nil, nil, err
	}
	if !m.now().Before(t.ExpiresAt) {
		return nil, nil, refuse(ReasonTokenExpired, "token", "This link has expired; ask for a new one.", sso.ErrExpired)
	}
	cred, err := m.cfg.Store.GetCredential(ctx, t.UserID)
	if errors.Is(err, sso.ErrNotFound) {
		return nil, nil, invalid
	} else if err != nil {
		return nil, nil, err
	}
	if cred.Version != t.Version || cred.Email != t.Email {
		return nil, nil, refuse(ReasonTokenStale, "token", "Your password or address changed since this link was sent; ask for a new one.", sso.ErrInvalidInput)
	}
	return t, cred, nil
}

// decoyToken does the store writes of a reset request for an address
// without an account, so that a store whose writes take milliseconds
// (PostgreSQL) does not answer an unknown address faster than a
// registered one: it deletes the reset tokens of no user and stores a
// token of no user, which no link carries and no credential matches (a
// use of it would be token_invalid), and which expires and is swept like
// any other.
func (m *Manager) decoyToken(ctx context.Context) error {
	if err := m.cfg.Store.DeleteTokens(ctx, "", TokenReset); err != nil {
		return err
	}
	now := m.now()
	return m.cfg.Store.CreateToken(ctx, &Token{Hash: opaque.Hash(opaque.NewToken(32)), Kind: TokenReset,
		CreatedAt: now, ExpiresAt: now.Add(m.cfg.ResetTTL)})
}

// sendToken stores a new token of kind for cred and emails its link.
func (m *Manager) sendToken(ctx context.Context, cred *Credential, kind TokenKind) error {
	bearer := opaque.NewToken(32)
	now := m.now()
	ttl, base := m.cfg.VerifyTTL, m.cfg.VerifyURL
	if kind == TokenReset {
		ttl, base = m.cfg.ResetTTL, m.cfg.ResetURL
	}
	t := &Token{Hash: opaque.Hash(bearer), Kind: kind, UserID: cred.UserID, Email: cred.Email, Version: cred.Version,
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := m.cfg.Store.CreateToken(ctx, t); err != nil {
		return err
	}
	u := *base
	q := u.Query()
	q.Set("token", bearer)
	u.RawQuery = q.Encode()
	if kind == TokenReset {
		return m.mail(ctx, cred.Email, m.resetMessage(cred.Email, u.String(), ttl))
	}
	return m.mail(ctx, cred.Email, m.verifyMessage(cred.Email, u.String(), ttl))
}

// mail sends msg to addr within MailsPerHour; a send over the limit is
// dropped silently (the caller's answer does not change).
func (m *Manager) mail(ctx context.Context, addr string, msg Message) error {
	ok, err := m.mailAllowed(ctx, addr)
	if err != nil || !ok {
		return err
	}
	if err := m.cfg.Mailer.Send(ctx, msg); err != nil {
		return fmt.Errorf("password: send mail: %w: %w", sso.ErrUnavailable, err)
	}
	return nil
}

func (m *Manager) verifyMessage(to, link string, ttl time.Duration) Message {
	return Message{To: to, Subject: "Confirm your email address for " + m.cfg.AppName,
		Text: fmt.Sprintf("Confirm your email address by opening this link within %s:\n\n%s\n\nIf you did not sign up, ignore this message.\n", human(ttl), link)}
}

func (m *Manager) resetMessage(to, link string, ttl time.Duration) Message {
	return Message{To: to, Subject: "Reset your password for " + m.cfg.AppName,
		Text: fmt.Sprintf("Someone asked to reset the password of this address. To choose a new password, open this link within %s:\n\n%s\n\nThe link works once. If you did not ask for it, ignore this message; your password stays as it is.\n", human(ttl), link)}
}

func (m *Manager) existsMessage(to string) Message {
	return Message{To: to, Subject: "You already have an account for " + m.cfg.AppName,
		Text: "Someone tried to sign up, or asked for a confirmation link, with this address, which already has a confirmed account. If it was you, sign in, or reset your password if you forgot it. Otherwise ignore this message.\n"}
}

func (m *Manager) noAccountMessage(to string) Message {
	return Message{To: to, Subject: "About your request for " + m.cfg.AppName,
		Text: "Someone asked for a password reset or a confirmation link for this address, but no account uses it. If it was you, sign up instead, or try the address you signed up with. Otherwise ignore this message.\n"}
}

func human(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return fmt.Sprintf("%d minutes", d/time.Minute)
}

// errAddressMoved is markVerified's answer for an account no longer at
// the address a link was sent to.
var errAddressMoved = errors.New("password: the account's address changed since the link was sent")

// markVerified marks the address of account userID verified, provided it
// is still email, the address a link proved. It writes only over the
// account as read (sso.UpdateUserIf), so a move of the account to another
// address made meanwhile is neither undone nor marked verified: the
// account is read again and, no longer at email, refused with
// errAddressMoved.
func (m *Manager) markVerified(ctx context.Context, userID, email string) (*sso.User, error) {
	for range 4 {
		u, err := m.cfg.Users.GetUser(ctx, userID)
		if err != nil {
			return nil, err
		}
		if u.Email != email {
			return nil, errAddressMoved
		}
		if u.EmailVerified {
			return u, nil
		}
		next := *u
		next.EmailVerified, next.UpdatedAt = true, sso.NextUpdatedAt(u.UpdatedAt, m.now())
		err = sso.UpdateUserIf(ctx, m.cfg.Users, &next, u.UpdatedAt)
		if err == nil {
			return &next, nil
		}
		if !errors.Is(err, sso.ErrUserChanged) {
			return nil, err
		}
	}
	return nil, sso.UserChanged(userID)
}
