package invite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/record"
	"github.com/ssokit/ssokit/sso"
)

// Message is one email (sso.MailMessage, the same type as sso/mail's Message).
type Message = sso.MailMessage

// Mailer sends the invitation emails (sso.Mailer); sso/mail's SMTP and
// DevMailer implement it.
type Mailer = sso.Mailer

// Config configures a Manager.
type Config struct {
	// Store keeps invitations, policies and join requests. Required.
	Store Store
	// Users, Orgs, Members and Domains are the core stores. Required.
	Users   sso.UserStore
	Orgs    sso.OrgStore
	Members sso.MembershipStore
	Domains sso.DomainStore
	// Auditor records every invitation, join and decision. Required.
	Auditor sso.EventRecorder
	// Mailer sends invitations. Required.
	Mailer Mailer
	// AcceptURL is the absolute URL of the accept page (the handler's
	// /accept route, or the host's own page); invitations link to it with
	// "?token=...". Required.
	AcceptURL *url.URL
	// LoginURL is where the accept page sends a person to sign in. Empty
	// means "/login".
	LoginURL string
	// AppName names the service in emails and pages. Empty means "the
	// application".
	AppName string
	// TTL is an invitation's lifetime. Zero means 7 days.
	TTL time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger logs audit failures. Nil means slog.Default().
	Logger *slog.Logger
}

// Manager runs invitations and auto-join. It is safe for concurrent use.
type Manager struct {
	cfg Config
	log *slog.Logger
}

// New returns a Manager, reporting every missing field at once.
func New(cfg Config) (*Manager, error) {
	var errs []error
	need := func(ok bool, name string) {
		if !ok {
			errs = append(errs, fmt.Errorf("%w: invite: %s is required", sso.ErrInvalidConfig, name))
		}
	}
	need(cfg.Store != nil, "Store")
	need(cfg.Users != nil, "Users")
	need(cfg.Orgs != nil, "Orgs")
	need(cfg.Members != nil, "Members")
	need(cfg.Domains != nil, "Domains")
	need(cfg.Auditor != nil, "Auditor")
	need(cfg.Mailer != nil, "Mailer")
	need(cfg.AcceptURL != nil && cfg.AcceptURL.IsAbs(), "AcceptURL (absolute)")
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.LoginURL == "" {
		cfg.LoginURL = "/login"
	}
	if cfg.AppName == "" {
		cfg.AppName = "the application"
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 7 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Manager{cfg: cfg, log: cfg.Logger}
	if m.log == nil {
		m.log = slog.Default()
	}
	return m, nil
}

func (m *Manager) now() time.Time { return m.cfg.Now().UTC() }

func (m *Manager) audit(ctx context.Context, e *sso.Event) {
	record.Quietly(ctx, m.cfg.Auditor, e, m.log.ErrorContext)
}

// change runs fn, one write of the invite store, with the audit events evs
// that describe it: in one transaction when the Store is an EventBinder,
// else fn and then each event through Config.Auditor (a failure to record
// is logged, since the change is made).
func (m *Manager) change(ctx context.Context, fn func(s Store) error, evs ...*sso.Event) error {
	return record.Change[Store, Store](ctx, m.cfg.Store, m.cfg.Auditor, m.now(), evs, m.log.ErrorContext, fn)
}

// Invite invites email into orgID with roles (validated by the caller) and
// emails the accept link. An address that is already an active member,
// or has a pending invitation, is refused (already_member,
// already_invited: resend that one instead); of concurrent invitations of
// one address one wins. An expired pending invitation of the address
// becomes StatusExpired.
func (m *Manager) Invite(ctx context.Context, orgID, email string, roles []string) (*Invitation, error) {
	addr, _, err := normalize.Email(email)
	if err != nil {
		return nil, refuse(ReasonEmailInvalid, "email", "give an email address such as jane@example.com", sso.ErrInvalidInput)
	}
	org, err := m.cfg.Orgs.GetOrg(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if mem, err := m.cfg.Members.FindMemberByEmail(ctx, orgID, addr); err == nil && mem.Active() {
		return nil, refuse(ReasonAlreadyMember, "email", "this address is a member already", sso.ErrConflict)
	}
	invited := refuse(ReasonAlreadyInvited, "email", "this address has a pending invitation; resend it instead", sso.ErrConflict)
	// The list answers the common case; the store's uniqueness of a
	// pending invitation per address decides a race.
	list, err := m.cfg.Store.ListInvitations(ctx, orgID)
	if err != nil {
		return nil, err
	}
	now := m.now()
	for _, v := range list {
		if v.Email == addr && v.Status == StatusPending && now.Before(v.ExpiresAt) {
			return nil, invited
		}
	}
	token := opaque.NewToken(32)
	inv := &Invitation{ID: opaque.NewID("inv_"), OrgID: orgID, Email: addr, Roles: slices.Clone(roles), TokenHash: opaque.Hash(token),
		Status: StatusPending, InvitedBy: sso.AuditInfoFrom(ctx).Actor.ID, CreatedAt: now, ExpiresAt: now.Add(m.cfg.TTL), UpdatedAt: now}
	ev := &sso.Event{OrgID: orgID, Type: EventInvited, Target: sso.Target{Type: "invitation", ID: inv.ID},
		Details: map[string]string{"email": addr, "roles": fmt.Sprint(roles)}}
	if err := m.change(ctx, func(s Store) error { return s.CreateInvitation(ctx, inv) }, ev); errors.Is(err, sso.ErrConflict) {
		return nil, invited
	} else if err != nil {
		return nil, err
	}
	return inv, m.mail(ctx, org, inv, token)
}

// Resend gives the pending invitation id a new token and expiry, which
// voids the earlier link, and emails it again.
func (m *Manager) Resend(ctx context.Context, orgID, id string) (*Invitation, error) {
	inv, err := m.pending(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	org, err := m.cfg.Orgs.GetOrg(ctx, orgID)
	if err != nil {
		return nil, err
	}
	token, old, now := opaque.NewToken(32), inv.TokenHash, m.now()
	inv.TokenHash, inv.ExpiresAt, inv.UpdatedAt = opaque.Hash(token), now.Add(m.cfg.TTL), now
	ev := &sso.Event{OrgID: orgID, Type: EventResent, Target: sso.Target{Type: "invitation", ID: inv.ID}}
	if err := m.change(ctx, func(s Store) error { return s.UpdateInvitation(ctx, inv, old) }, ev); err != nil {
		return nil, err
	}
	return inv, m.mail(ctx, org, inv, token)
}

// Revoke voids the pending invitation id.
func (m *Manager) Revoke(ctx context.Context, orgID, id string) (*Invitation, error) {
	inv, err := m.pending(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	old := inv.TokenHash
	inv.Status, inv.TokenHash, inv.UpdatedAt = StatusRevoked, "revoked:"+inv.ID, m.now()
	ev := &sso.Event{OrgID: orgID, Type: EventRevoked, Target: sso.Target{Type: "invitation", ID: inv.ID}}
	if err := m.change(ctx, func(s Store) error { return s.UpdateInvitation(ctx, inv, old) }, ev); err != nil {
		return nil, err
	}
	return inv, nil
}

// List returns the organization's invitations, newest first.
func (m *Manager) List(ctx context.Context, orgID string) ([]*Invitation, error) {
	return m.cfg.Store.ListInvitations(ctx, orgID)
}

// pending returns the invitation id of orgID when it is pending.
func (m *Manager) pending(ctx context.Context, orgID, id string) (*Invitation, error) {
	inv, err := m.cfg.Store.GetInvitation(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if inv.Status != StatusPending {
		return nil, deny(ReasonNotPending, sso.ErrConflict)
	}
	return inv, nil
}

func (m *Manager) mail(ctx context.Context, org *sso.Organization, inv *Invitation, token string) error {
	u := *m.cfg.AcceptURL
	q := u.Query()
	q.Set("token", token)
	u.RawQuery = q.Encode()
	msg := Message{To: inv.Email, Subject: fmt.Sprintf("You are invited to join %s on %s", org.Name, m.cfg.AppName),
		Text: fmt.Sprintf("You are invited to join %s on %s. To accept, open this link before %s:\n\n%s\n\n"+
			"The link works once. If you did not expect this invitation, ignore this message.\n",
			org.Name, m.cfg.AppName, inv.ExpiresAt.Format("2 January 2006 15:04 MST"), u.String())}
	if err := m.cfg.Mailer.Send(ctx, msg); err != nil {
		return fmt.Errorf("invite: send mail: %w: %w", sso.ErrUnavailable, err)
	}
	return nil
}
