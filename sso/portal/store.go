package portal

import (
	"context"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Section is a part of the portal a setup link may open.
type Section string

// Sections of the portal.
const (
	SectionSSO       Section = "sso"
	SectionDirectory Section = "directory_sync"
	SectionDomains   Section = "domains"
	SectionAudit     Section = "audit"
	// SectionIntegrations holds webhook endpoints, SIEM streams, API
	// clients and token exchange audiences.
	SectionIntegrations Section = "integrations"
)

// AllSections lists every section, in navigation order.
var AllSections = []Section{SectionSSO, SectionDomains, SectionDirectory, SectionAudit, SectionIntegrations}

// ActorSetupLink is the audit actor type of a customer IT admin who came in
// through a setup link; the actor ID is the link's ID.
const ActorSetupLink sso.ActorType = "setup_link"

// SetupLink is a signed, expiring invitation to the portal for one
// organization. Only the hash of its token is stored.
type SetupLink struct {
	ID        string
	OrgID     string
	Hash      string
	Sections  []Section
	CreatedBy sso.Actor
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is when the link started its (single) portal session.
	UsedAt    time.Time
	RevokedAt time.Time
}

// Session is a portal session: who is in, for which organization and which
// sections. Only the hash of its cookie value is stored.
type Session struct {
	ID    string
	Hash  string
	OrgID string
	Actor sso.Actor
	// LinkID is the setup link that started the session; empty for a
	// session of the host's own admin authentication.
	LinkID   string
	Sections []Section
	// CSRF is the synchronizer token every state-changing form carries.
	CSRF       string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end of the session, whatever its activity.
	ExpiresAt time.Time
}

// Allows reports whether the session may open section s.
func (s *Session) Allows(sec Section) bool {
	for _, x := range s.Sections {
		if x == sec {
			return true
		}
	}
	return false
}

// Store keeps setup links, portal sessions and used form tokens. Missing
// records yield errors wrapping sso.ErrNotFound. Methods are safe for
// concurrent use; records passed in are not retained and records returned
// are copies.
type Store interface {
	CreateLink(ctx context.Context, l *SetupLink) error
	GetLink(ctx context.Context, id string) (*SetupLink, error)
	// ListLinks returns the organization's links, newest first.
	ListLinks(ctx context.Context, orgID string) ([]*SetupLink, error)
	// UseLink atomically marks the link with token hash hash used at now
	// and returns it. A link already used fails with sso.ErrConflict, an
	// expired or revoked one with sso.ErrExpired; neither is changed.
	UseLink(ctx context.Context, hash string, now time.Time) (*SetupLink, error)
	// RevokeLink sets the link's RevokedAt (once); it fails with
	// sso.ErrNotFound for a link of another organization. The sessions the
	// link started end at their next request, when the portal sees the
	// revocation (and tells their user why).
	RevokeLink(ctx context.Context, orgID, id string, now time.Time) error

	CreateSession(ctx context.Context, s *Session) error
	// GetSession returns the session whose cookie hash is hash.
	GetSession(ctx context.Context, hash string) (*Session, error)
	// TouchSession sets the session's LastSeenAt.
	TouchSession(ctx context.Context, id string, at time.Time) error
	DeleteSession(ctx context.Context, id string) error

	// ClaimForm records that the session submitted the form token. It
	// reports first=false, with the location the first submission stored
	// through FinishForm (or "" while it runs), when it was claimed before,
	// unless that location is FormRetry: then the claim is taken again
	// (location "" once more) and first is true. Of concurrent calls
	// exactly one is first.
	ClaimForm(ctx context.Context, sessionID, token string) (first bool, location string, err error)
	// FinishForm stores where the first submission of token led, or
	// FormRetry when it was refused and may be sent again.
	FinishForm(ctx context.Context, sessionID, token, location string) error
}

// FormRetry is the location FinishForm stores for a submission the admin
// API refused, which did nothing: ClaimForm then lets the same form token
// be claimed again, so a person who goes back and sends the form again
// gets it done instead of "already submitted".
const FormRetry = "retry:"
