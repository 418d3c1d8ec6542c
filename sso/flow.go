package sso

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/http"
	"slices"
	"time"
)

// StartOptions are the per-call options of Starter.StartLogin.
type StartOptions struct {
	// ReturnTo is where the browser goes after a successful login. It must
	// satisfy IsSafeReturnTo; starters drop anything else.
	ReturnTo string
	// LoginHint is passed to the IdP (OIDC login_hint; SAML Subject NameID
	// hint where supported).
	LoginHint string
	// Test marks an admin's test login: the result is recorded on the
	// connection as its LastTest and no session is issued.
	Test bool
	// ForceAuthn asks the IdP to re-authenticate the user.
	ForceAuthn bool
	// RequireMFA asks the IdP for a multi-factor authentication (SAML
	// RequestedAuthnContext, OIDC acr_values, as the connection configures
	// them). The protocol package verifies that what came back says so and
	// refuses the login otherwise.
	RequireMFA bool
	// MaxAge, when positive, asks the IdP for an authentication no older
	// than this (OIDC max_age; SAML ForceAuthn). The protocol package
	// verifies the returned authentication time.
	MaxAge time.Duration
	// StepUp, when set, makes this login the step-up of an existing session
	// (see StepUp): the protocol package keeps it with the login's state
	// and returns it in Login.StepUp. Set RequireMFA and MaxAge with it.
	StepUp *StepUp
}

// Starter begins a login at a connection's IdP by writing a redirect (or an
// auto-submitting form) to w. The saml and oidc packages implement it, so
// discovery routes to them without importing them.
type Starter interface {
	StartLogin(w http.ResponseWriter, r *http.Request, conn *Connection, opts StartOptions) error
}

// Login is a verified SSO login handed to a Completer.
type Login struct {
	Connection *Connection
	Profile    *Profile
	// ReturnTo is the safe relative path the login started with ("" if none).
	ReturnTo string
	// Test marks an admin's test login.
	Test bool
	// LogoutHint is what the protocol package needs to end the user's
	// session at the IdP later: for OIDC the raw ID token, sent as the
	// id_token_hint of an RP-initiated logout. It is a credential of the
	// user's IdP session: the session issuer keeps it sealed and it is
	// never logged.
	LogoutHint string
	// StepUp is the step-up the login was started for (StartOptions.StepUp),
	// nil for an ordinary login.
	StepUp *StepUp
}

// LoginFailure describes a login a protocol package rejected. The Err is
// usually a *ValidationError.
type LoginFailure struct {
	// Connection is nil when the failure happened before the connection was
	// known (e.g. an unknown connection ID).
	Connection *Connection
	Protocol   Protocol
	Test       bool
	Err        error
}

// Completer finishes logins. saml and oidc call Complete with a verified
// Profile, and Fail when they rejected a response, so that the outcome is
// audited and test logins record a diagnostic.
type Completer interface {
	// Complete links or provisions the user, applies role mapping, issues the
	// session and writes the final response (usually a 303 to ReturnTo). When
	// it returns an error it has written nothing and the caller renders the
	// error through its ErrorHandler.
	Complete(w http.ResponseWriter, r *http.Request, login *Login) error
	// Fail records a rejected login. It writes no response.
	Fail(r *http.Request, f *LoginFailure)
}

// LoginPreloader is an optional capability of a Completer. PreloadLogin
// starts reading, in the background, the records completing login will
// read, so that the read overlaps the protocol's own last steps (saml
// consumes the request and records the assertion in the replay cache
// meanwhile). login must carry its verified Profile and Connection. It
// returns the context to complete the login with; Complete uses what was
// read only for a login with the same connection, issuer, subject and
// email, and reads again otherwise. login.Completer implements it.
type LoginPreloader interface {
	PreloadLogin(ctx context.Context, login *Login) context.Context
}

// AuthMethod is how a session was authenticated: a protocol's name for an
// SSO login ("saml", "oidc", ...), or one of the methods below.
type AuthMethod string

// Authentication methods.
const (
	AuthLocal AuthMethod = "local"
	// AuthPassword marks a session authenticated by sso/password. Like
	// AuthLocal it is a local login: break-glass rules apply and its MFA is
	// never IdP-asserted.
	AuthPassword AuthMethod = "password"
	// AuthEmailCode and AuthMagicLink mark sessions authenticated by
	// sso/emailcode: a one-time code typed in, or a link opened, from an
	// email. Like AuthPassword they are local logins.
	AuthEmailCode AuthMethod = "email_code"
	AuthMagicLink AuthMethod = "magic_link"
	// AuthSwitch marks a session that entered its organization by an
	// organization switch: the user authenticated in another organization,
	// so no authentication fact (method, time, MFA) of this organization
	// exists yet. Recent-authentication and MFA checks never count it.
	AuthSwitch AuthMethod = "org_switch"
	// AuthSocial marks a session authenticated by a social provider
	// (Google, Microsoft, GitHub) through sso/social: an account of the
	// person's own, not of the organization's IdP. Like a password it is a
	// local login for SSO enforcement (only break-glass members of an
	// organization that enforces SSO may use it), and the provider's MFA is
	// never counted.
	AuthSocial AuthMethod = "social"
	// AuthPasskey marks a session authenticated by a passkey (a
	// discoverable WebAuthn credential) through sso/passkey. It is a local
	// login: break-glass rules apply.
	AuthPasskey AuthMethod = "passkey"
)

// Local reports whether m is a sign-in at this application (a local
// credential such as a password), as opposed to an IdP's: break-glass
// rules apply to it and no MFA of it is asserted by an IdP.
func (m AuthMethod) Local() bool {
	switch m {
	case AuthLocal, AuthPassword, AuthEmailCode, AuthMagicLink, AuthSocial, AuthPasskey:
		return true
	}
	return false
}

// SessionGrant is what login completion asks a SessionIssuer to issue.
type SessionGrant struct {
	UserID       string
	OrgID        string
	ConnectionID string
	Method       AuthMethod
	Roles        []string
	// MFA is true when the login already included a second factor (an
	// IdP-asserted MFA the organization trusts, or a local TOTP/WebAuthn
	// check); MFAAt is when.
	MFA   bool
	MFAAt time.Time
	// IdPSessionIndex is the SAML SessionIndex or OIDC sid, for logout.
	IdPSessionIndex string
	// IdPSubject is the SAML NameID or OIDC sub the IdP asserted, so an
	// IdP-initiated logout naming it can find the session.
	IdPSubject string
	// IdPLogoutHint is the login's LogoutHint (the raw OIDC ID token), kept
	// sealed with the session for the id_token_hint of an RP-initiated
	// logout. A credential: never logged.
	IdPLogoutHint string
	// ReplacesSession, when set, is the ID of the session a step-up at the
	// IdP (StepUp) replaces: the issuer ends it with the new session's
	// issue and refuses the grant (ErrStepUpSessionGone) when it is already
	// gone, or belongs to another user, organization or connection, so a
	// step-up answer is used once.
	ReplacesSession string
	// NotAfter, when set, caps the session's absolute lifetime (the SAML
	// AuthnStatement SessionNotOnOrAfter).
	NotAfter time.Time
	// Org is the organization as the completer read it for this login; nil
	// means the session manager reads it. A SessionIssuer uses it only when
	// its ID is OrgID.
	Org *Organization
	// Member, when set, is the membership Roles were copied from, as the
	// login read it. The session is written only while the stored
	// membership is still active with those roles (LoginWrites.Member);
	// when it changed meanwhile, a SessionIssuer issues the session with
	// the roles the member holds now, or refuses the login when the
	// membership is no longer active. session.Manager does so when its
	// store is a session.LoginWriter; every login of ssokit sets it.
	Member *Membership
	// Writes, when set, are records the login writes besides the session.
	// A SessionIssuer whose store holds them too may write them in the
	// session's transaction and set Writes.Written; otherwise the caller
	// writes them after the session was issued.
	Writes *LoginWrites
}

// LoginWrites are the records a login writes besides its session: the
// matched identity's last-login update and the login's audit event, ready
// to store (its defaults filled and validated). Writing them with the
// session makes a returning login one commit.
type LoginWrites struct {
	// Identity, when set, is stored as it is (its LastLoginAt and
	// ConnectionID updated by the login).
	Identity *Identity
	// Event, when set, is appended to the audit trail unsealed.
	Event *Event
	// Member, when set, is the membership the session's roles were read
	// from (SessionGrant.Member). The session is written only while the
	// stored membership is still active with the same roles and
	// break-glass flag (a local login into an organization that enforces
	// SSO rests on it), checked under a lock that a suspension or role
	// change of the membership waits for;
	// otherwise nothing is written and the error wraps
	// ErrMembershipChanged. So a suspension or demotion committed during
	// the login either is seen by it or is committed after the session,
	// where its revocation of the member's sessions reaches it.
	Member *Membership
	// Org, when set, is the organization as the login's admission read it
	// (SSO enforcement, sign-in methods, network policy). The session is
	// written only while the stored organization's UpdatedAt is still
	// Org.UpdatedAt; otherwise nothing is written and the error wraps
	// ErrOrgChanged, and the SessionIssuer applies its checks again to the
	// organization as it is now. So enforcement switched on while a
	// password login hashes its password is seen by that login. Every
	// ssokit save of an organization gives it a new UpdatedAt
	// (UpdateOrgIf); a host's own writes must too.
	Org *Organization
	// Evicted, when set, is the audit event of a session the login's
	// session limit ends, without its ID and target ID: the store appends
	// EvictionEvent(id) for each evicted session in the session's
	// transaction. The SessionIssuer sets it.
	Evicted *Event
	// Written is set by the SessionIssuer that wrote them with the session.
	Written bool
}

// EvictionEvent returns w.Evicted for the evicted session sessionID: its
// target is the session and its ID is EvictionEventID(w.Evicted.ID,
// sessionID).
func (w *LoginWrites) EvictionEvent(sessionID string) *Event {
	e := *w.Evicted
	e.Details = maps.Clone(w.Evicted.Details)
	e.ID, e.Target.ID = EvictionEventID(w.Evicted.ID, sessionID), sessionID
	return &e
}

// EvictionEventID is the ID of the eviction event of session sessionID in
// the login whose template event has ID templateID: "evt_" and the first
// 32 hex digits of the SHA-256 of templateID, ":" and sessionID, so that a
// store can derive it inside the statement that evicts (sqlstore on
// PostgreSQL does) and every store names the same events alike.
func EvictionEventID(templateID, sessionID string) string {
	sum := sha256.Sum256([]byte(templateID + ":" + sessionID))
	return "evt_" + hex.EncodeToString(sum[:16])
}

// SameMember reports whether m, a membership as stored now, still grants
// what the login read in w.Member: it is active with the same roles, in the
// same order, and the same break-glass flag. It is true when w.Member is
// nil.
func (w *LoginWrites) SameMember(m *Membership) bool {
	if w.Member == nil {
		return true
	}
	return m != nil && m.OrgID == w.Member.OrgID && m.UserID == w.Member.UserID &&
		m.Status == MembershipActive && slices.Equal(m.Roles, w.Member.Roles) && m.BreakGlass == w.Member.BreakGlass
}

// SameOrg reports whether o, an organization as stored now, is still the
// one the login read in w.Org (the same UpdatedAt). It is true when w.Org
// is nil.
func (w *LoginWrites) SameOrg(o *Organization) bool {
	return w.Org == nil || (o != nil && o.ID == w.Org.ID && o.UpdatedAt.Equal(w.Org.UpdatedAt))
}

// SessionIssuer issues a browser session after a login: it creates a fresh
// session (never reusing one the browser presented) and sets its cookie on
// w. session.Manager implements it.
type SessionIssuer interface {
	IssueSession(w http.ResponseWriter, r *http.Request, g *SessionGrant) error
}

// SessionRevoker ends every session and API token family of a user at once,
// in every organization. It is for actions on the user's global account (a
// password reset, the user's own "sign out everywhere", a platform
// operator's lock); an organization's own action ends only its sessions,
// through OrgSessionRevoker. session.Manager implements it.
type SessionRevoker interface {
	RevokeUser(ctx context.Context, userID string) error
}

// OrgSessionRevoker ends a user's sessions in one organization, with the
// refresh-token families and access tokens bound to them, and leaves the
// user's sessions in other organizations working. It is what an
// organization's own action (its administrators, its SCIM directory, its
// policy) may end. session.Manager implements it; SSO enforcement, SCIM
// deactivation and the admin API call it.
type OrgSessionRevoker interface {
	// RevokeOrgSessions ends userID's sessions in orgID, only those
	// authenticated with one of methods when any are given, audits each
	// as EventSessionRevoked with reason, and returns how many it ended.
	RevokeOrgSessions(ctx context.Context, orgID, userID, reason string, methods ...AuthMethod) (int, error)
}

// IdPLogout names the sessions an IdP asks to end (SAML Single Logout,
// OIDC Back-Channel Logout): the sessions that ConnectionID opened for
// Subject, narrowed to SessionIndexes when any are given. Subject may be
// empty only when SessionIndexes is not (an OIDC logout token with a sid
// and no sub).
type IdPLogout struct {
	OrgID          string
	ConnectionID   string
	Subject        string
	SessionIndexes []string
}

// IdPSessionEnder ends the sessions named by an IdP-initiated logout and
// reports how many it ended. session.Manager implements it; the saml and
// oidc logout endpoints call it.
type IdPSessionEnder interface {
	EndIdPSessions(ctx context.Context, l *IdPLogout) (int, error)
}

// MembershipSyncer brings live sessions and API tokens in line with a
// membership whose roles or status changed, within the bound of a
// deactivation: sessions at once, access tokens within the revocation
// cache bound. Whoever changes a membership (SCIM, the admin API, login
// completion) calls it after the change is stored. session.Manager
// implements it.
type MembershipSyncer interface {
	SyncMembership(ctx context.Context, m *Membership) error
}
