package sso

import (
	"fmt"
	"unicode/utf8"

	"github.com/ssokit/ssokit/internal/normalize"
)

func checkID(what, id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalidInput, what)
	}
	return checkText(what, id)
}

func checkText(what, s string) error {
	if len(s) > normalize.MaxFieldLength {
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalidInput, what, normalize.MaxFieldLength)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidInput, what)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// Validate checks the fields stores rely on. Stores call it before writing
// and return its error (wrapping ErrInvalidInput) unchanged.
func (o *Organization) Validate() error {
	return firstErr(checkID("organization ID", o.ID), normalize.Slug(o.Slug), checkText("organization name", o.Name),
		o.Settings.Network.Validate())
}

// Validate checks the fields stores rely on.
func (d *Domain) Validate() error {
	if err := checkID("organization ID", d.OrgID); err != nil {
		return err
	}
	n, err := normalize.Domain(d.Name)
	if err != nil {
		return err
	}
	if n != d.Name {
		return fmt.Errorf("%w: domain %q is not normalized", ErrInvalidInput, d.Name)
	}
	switch d.State {
	case DomainPending, DomainVerified, DomainFailed:
	default:
		return fmt.Errorf("%w: unknown domain state %q", ErrInvalidInput, d.State)
	}
	return checkText("domain token", d.Token)
}

// Validate checks the fields stores rely on.
func (c *Connection) Validate() error {
	if err := firstErr(checkID("connection ID", c.ID), checkID("organization ID", c.OrgID), checkText("display name", c.DisplayName)); err != nil {
		return err
	}
	if err := checkProtocol(c.Protocol); err != nil {
		return err
	}
	switch c.Status {
	case ConnectionDraft, ConnectionActive, ConnectionDisabled:
	default:
		return fmt.Errorf("%w: unknown connection status %q", ErrInvalidInput, c.Status)
	}
	return nil
}

// Validate checks the fields stores rely on.
func (u *User) Validate() error {
	return firstErr(checkID("user ID", u.ID), checkText("email", u.Email), checkText("given name", u.GivenName),
		checkText("family name", u.FamilyName), checkText("display name", u.DisplayName))
}

// Validate checks the fields stores rely on.
func (m *Membership) Validate() error {
	if err := firstErr(checkID("organization ID", m.OrgID), checkID("user ID", m.UserID), checkText("external ID", m.ExternalID)); err != nil {
		return err
	}
	switch m.Status {
	case MembershipActive, MembershipSuspended, MembershipDeactivated:
	default:
		return fmt.Errorf("%w: unknown membership status %q", ErrInvalidInput, m.Status)
	}
	for _, r := range m.Roles {
		if err := checkID("role", r); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks the fields stores rely on.
func (i *Identity) Validate() error {
	return firstErr(checkID("identity ID", i.ID), checkID("organization ID", i.OrgID), checkID("issuer", i.Issuer),
		checkID("subject", i.Subject), checkID("user ID", i.UserID), checkText("connection ID", i.ConnectionID))
}

// Validate checks the fields stores rely on.
func (e *Event) Validate() error {
	return firstErr(checkID("event ID", e.ID), checkID("event type", e.Type), checkText("organization ID", e.OrgID))
}

// Validate checks the fields stores rely on.
func (t *SCIMToken) Validate() error {
	return firstErr(checkID("token ID", t.ID), checkID("organization ID", t.OrgID), checkID("token hash", t.Hash))
}
