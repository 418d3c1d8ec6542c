package emailcode

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"time"

	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/sso"
)

// Audit event types recorded by this package, besides sso's login events.
const (
	EventRequested = "email_signin.requested"
	EventSignedUp  = "user.signed_up"
)

// Request is a request for a sign-in email.
type Request struct {
	Email string
	// Org is the slug of the organization to sign in to; may be empty.
	Org string
	// ReturnTo is a same-origin path to go to after signing in.
	ReturnTo string
}

// Start handles a request for a sign-in email: it always answers the same
// way (nil, after the same work, and the same browser cookie), whether or
// not the address has an account, so the answer does not tell. An email
// with a code and a link goes only to an address with a verified account,
// or to one AllowSignUp admits; earlier challenges of the address stop
// working. Requests are limited per address (RequestsPerHour, counted for
// every address alike) and per client address (IPRequestsPerHour); beyond
// them the answer is rate_limited.
func (m *Manager) Start(w http.ResponseWriter, r *http.Request, req Request) error {
	ctx := m.requestCtx(r)
	addr, _, err := normalize.Email(req.Email)
	if err != nil {
		return refuse(ReasonEmailInvalid, "email", "Enter an email address such as jane@example.com.", sso.ErrInvalidInput)
	}
	now := m.now()
	if err := m.limit(ctx, "ec-ip\x00"+m.cfg.ClientIP(r), m.cfg.IPRequestsPerHour, now); err != nil {
		return err
	}
	if err := m.limit(ctx, "ec-addr\x00"+addr, m.cfg.RequestsPerHour, now); err != nil {
		return err
	}
	mailTo := ""
	var userID string
	u, err := m.cfg.Store.FindVerifiedUser(ctx, addr)
	switch {
	case err == nil:
		userID, mailTo = u.ID, addr
	case !errors.Is(err, sso.ErrNotFound):
		return err
	case m.cfg.AllowSignUp != nil && m.cfg.AllowSignUp(ctx, addr):
		mailTo = addr
	}
	if err := m.cfg.Store.DeleteChallenges(ctx, addr); err != nil {
		return err
	}
	code, err := m.newCode()
	if err != nil {
		return err
	}
	id, nonce, link := opaque.NewID("ec_"), opaque.NewToken(32), opaque.NewToken(32)
	c := &Challenge{ID: id, Email: addr, UserID: userID, CodeHash: codeHash(id, code), LinkHash: opaque.Hash(link),
		BrowserHash: opaque.Hash(nonce), Org: req.Org, ReturnTo: returnto.Safe(req.ReturnTo, m.cfg.DefaultReturnTo),
		CreatedAt: now, ExpiresAt: now.Add(m.cfg.TTL)}
	if err := m.cfg.Store.CreateChallenge(ctx, c); err != nil {
		return err
	}
	m.setCookie(w, id+"."+nonce, m.cfg.TTL)
	m.audit(ctx, &sso.Event{Type: EventRequested, Target: sso.Target{Type: "user", ID: userID}})
	if mailTo != "" {
		m.send(ctx, m.signInMessage(mailTo, code, m.linkURL(link)))
	}
	return nil
}

// limit counts one event of key and refuses beyond max per hour. Keys are
// hashed so the store keeps no addresses.
func (m *Manager) limit(ctx context.Context, key string, max int, now time.Time) error {
	return m.limitWithin(ctx, key, max, now, time.Hour)
}

// limitWithin is limit with a window other than an hour.
func (m *Manager) limitWithin(ctx context.Context, key string, max int, now time.Time, window time.Duration) error {
	n, err := m.cfg.Store.Count(ctx, opaque.Hash(key), now, now.Add(-window))
	if err != nil {
		return err
	}
	if n > max {
		return errRateLimited
	}
	return nil
}

// newCode returns a uniformly random code of CodeDigits digits.
func (m *Manager) newCode() (string, error) {
	limit := big.NewInt(1)
	for range m.cfg.CodeDigits {
		limit.Mul(limit, big.NewInt(10))
	}
	n, err := rand.Int(m.cfg.Rand, limit)
	if err != nil {
		return "", fmt.Errorf("emailcode: random code: %w", err)
	}
	return fmt.Sprintf("%0*d", m.cfg.CodeDigits, n), nil
}

// codeHash binds a code to its challenge, so one hash never matches the
// same code of another challenge.
func codeHash(id, code string) string { return opaque.Hash("ec-code\x00" + id + "\x00" + code) }

// linkURL returns the emailed link of token.
func (m *Manager) linkURL(token string) string {
	u := *m.cfg.BaseURL
	u.Path += "/link"
	u.RawQuery = "token=" + token
	return u.String()
}

// setCookie binds the browser to a challenge (value "id.nonce"), or
// clears the binding when maxAge is negative.
func (m *Manager) setCookie(w http.ResponseWriter, value string, ttl time.Duration) {
	c := &http.Cookie{Name: m.cfg.CookieName, Value: value, Path: "/", HttpOnly: true,
		Secure: !m.cfg.AllowInsecureCookie, SameSite: http.SameSiteLaxMode, MaxAge: int(ttl / time.Second)}
	if ttl < 0 {
		c.Value, c.MaxAge = "", -1
	}
	http.SetCookie(w, c)
}

// send hands msg to the Mailer off the request; failures are logged.
func (m *Manager) send(ctx context.Context, msg Message) {
	ctx = context.WithoutCancel(ctx)
	m.mails.Add(1)
	go func() {
		defer m.mails.Done()
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := m.cfg.Mailer.Send(ctx, msg); err != nil {
			m.log.ErrorContext(ctx, "emailcode: send mail failed", "err", err)
		}
	}()
}

func (m *Manager) signInMessage(to, code, link string) Message {
	mins := int(m.cfg.TTL / time.Minute)
	return Message{To: to, Subject: fmt.Sprintf("%s is your sign-in code for %s", code, m.cfg.AppName),
		Text: fmt.Sprintf("Your sign-in code is %s\n\nEnter it in the browser where you asked for it, or open this link:\n\n%s\n\n"+
			"The code and the link work once, within %d minutes. If you did not ask to sign in, ignore this message.\n", code, link, mins)}
}
