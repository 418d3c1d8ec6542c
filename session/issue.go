package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// Issue creates a new session for g and sets its cookie on w. Any session
// the request presented is ended first, so a planted session ID never
// survives a login (no fixation). It returns the new session. The session
// policy comes from g.Org when that is the organization g.OrgID (login
// completion passes the one it read), and from Config.Orgs otherwise.
func (m *Manager) Issue(w http.ResponseWriter, r *http.Request, g *sso.SessionGrant) (*Session, error) {
	if g == nil || g.UserID == "" || g.OrgID == "" {
		return nil, fmt.Errorf("%w: session: grant needs a user and an organization", sso.ErrInvalidInput)
	}
	ctx := r.Context()
	org, err := m.admitNetwork(ctx, r, g.OrgID, g.UserID, g.Org, "login")
	if err != nil {
		return nil, err
	}
	if err := m.endPresented(r); err != nil {
		return nil, err
	}
	if err := m.endReplaced(ctx, g); err != nil {
		return nil, err
	}
	now := m.now()
	if !g.NotAfter.IsZero() && !now.Before(g.NotAfter) {
		return nil, fmt.Errorf("%w: session: the IdP's session bound has passed", sso.ErrInvalidInput)
	}
	mfaAt := g.MFAAt
	if mfaAt.After(now) {
		// An IdP dates its own MFA (AuthnInstant, auth_time): a time after
		// the login must not pass for a second factor verified here later.
		mfaAt = now
	}
	s := &Session{
		UserID: g.UserID, OrgID: g.OrgID, ConnectionID: g.ConnectionID, Method: g.Method,
		Roles: slices.Clone(g.Roles), MFA: g.MFA, MFAAt: mfaAt, AuthAt: now,
		IP: truncate(m.clientIP(r), 64), UserAgent: truncate(r.UserAgent(), 512),
		IdPSessionIndex: g.IdPSessionIndex, IdPSubject: g.IdPSubject,
		// create caps the absolute expiry with this bound.
		ExpiresAt: g.NotAfter,
	}
	if s.IdPLogoutHint, err = m.sealLogoutHint(s, g.IdPLogoutHint); err != nil {
		return nil, err
	}
	writes := g.Writes
	if g.Member != nil || (org != nil && org.ID == g.OrgID) {
		if writes == nil {
			writes = &sso.LoginWrites{}
		}
		writes.Member = g.Member
		if org != nil && org.ID == g.OrgID {
			writes.Org = org
		}
	}
	return m.issueGuarded(ctx, w, r, s, org, writes, now)
}

// issueAttempts bounds how often issueGuarded writes a login's session
// when the organization or membership keeps changing under it.
const issueAttempts = 4

// issueGuarded creates s with writes. When the write finds the
// organization saved since the login read it (sso.ErrOrgChanged), it
// applies the login's checks again to the organization as it is now; when
// it finds the membership changed (sso.ErrMembershipChanged), it takes the
// member's current roles (asMemberNow). Either may refuse the login.
func (m *Manager) issueGuarded(ctx context.Context, w http.ResponseWriter, r *http.Request, s *Session, org *sso.Organization,
	writes *sso.LoginWrites, now time.Time) (*Session, error) {
	for range issueAttempts {
		created, err := m.create(ctx, w, s, org, writes, now)
		switch {
		case errors.Is(err, sso.ErrOrgChanged):
			org, err = m.readmit(ctx, r, s, writes)
		case errors.Is(err, sso.ErrMembershipChanged):
			err = m.asMemberNow(ctx, s, org, writes)
		default:
			return created, err
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: session: the organization or membership kept changing during the login", sso.ErrUnavailable)
}

// readmit applies a login's checks to its organization as stored now,
// after the login's write found it saved since the login read it: the
// network policy, and for a local sign-in method SSO enforcement and the
// organization's choice of methods. It returns the organization and
// points writes at it.
func (m *Manager) readmit(ctx context.Context, r *http.Request, s *Session, writes *sso.LoginWrites) (*sso.Organization, error) {
	org, err := m.orgNow(ctx, s.OrgID, sso.ErrOrgChanged)
	if err != nil {
		return nil, err
	}
	if org, err = m.admitNetwork(ctx, r, s.OrgID, s.UserID, org, "login"); err != nil {
		return nil, err
	}
	if err := m.localAdmits(ctx, s, org, writes.Member); err != nil {
		return nil, err
	}
	m.log.InfoContext(ctx, "session: the organization changed during the login; its checks passed again",
		"org_id", s.OrgID, "user_id", s.UserID)
	writes.Org = org
	return org, nil
}

// orgNow reads organization id as stored now, for a login whose write
// failed with cause; without Config.Orgs the login fails with cause.
func (m *Manager) orgNow(ctx context.Context, id string, cause error) (*sso.Organization, error) {
	if m.cfg.Orgs == nil {
		return nil, fmt.Errorf("session: create: %w", cause)
	}
	org, err := m.cfg.Orgs.GetOrg(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("%w: session: read organization: %w", sso.ErrUnavailable, err)
	}
	return org, nil
}

// localAdmits applies SSO enforcement and the organization's choice of
// sign-in methods to s, with mem the membership as the login holds it
// (read when nil). A local login (sso.AuthMethod.Local) into an
// organization that enforces SSO needs an active break-glass member; a
// sign-in method the organization turned off is refused, except a password
// to a break-glass member. A session switched in from another organization
// needs an organization that does not enforce SSO; logins through an IdP
// pass. Logins, re-checks and SwitchOrg all apply these rules here.
func (m *Manager) localAdmits(ctx context.Context, s *Session, org *sso.Organization, mem *sso.Membership) error {
	if s.Method == sso.AuthSwitch && org.EnforcesSSO() {
		// A session switched in from another organization is not a login
		// through this organization's IdP.
		return &sso.ValidationError{Protocol: Protocol, Reason: "sso_required", Err: sso.ErrSSORequired}
	}
	if !s.Method.Local() {
		return nil
	}
	if mem == nil && m.cfg.Memberships != nil {
		cur, err := m.cfg.Memberships.GetMembership(ctx, s.OrgID, s.UserID)
		if err != nil && !errors.Is(err, sso.ErrNotFound) {
			return fmt.Errorf("%w: session: read membership: %w", sso.ErrUnavailable, err)
		}
		mem = cur
	}
	breakGlass := mem != nil && mem.BreakGlass && mem.Active()
	if org.EnforcesSSO() && !breakGlass {
		return &sso.ValidationError{Protocol: Protocol, Reason: "sso_required", Err: sso.ErrSSORequired}
	}
	if slices.Contains(sso.LocalSignInMethods(), s.Method) && org.SignInVerdict(s.Method) != sso.SignInAllowed &&
		!(s.Method == sso.AuthPassword && breakGlass) {
		return &sso.ValidationError{Protocol: Protocol, Reason: "method_disabled", Err: sso.ErrAccessDenied}
	}
	return nil
}

// asMemberNow prepares s for another write after its login's write found
// the membership changed since the login read it
// (sso.ErrMembershipChanged): with the roles the member holds now when the
// membership is still active, or a refusal naming the membership's state,
// or sso_required (method_disabled) when a local login that rested on the
// break-glass flag lost it.
func (m *Manager) asMemberNow(ctx context.Context, s *Session, org *sso.Organization, writes *sso.LoginWrites) error {
	if m.cfg.Memberships == nil {
		return fmt.Errorf("session: create: %w", sso.ErrMembershipChanged)
	}
	cur, err := m.cfg.Memberships.GetMembership(ctx, s.OrgID, s.UserID)
	switch {
	case errors.Is(err, sso.ErrNotFound):
		return &sso.ValidationError{Protocol: Protocol, Reason: ReasonMembershipRemoved, Err: sso.ErrAccessDenied}
	case err != nil:
		return fmt.Errorf("%w: session: read membership: %w", sso.ErrUnavailable, err)
	case !cur.Active():
		return &sso.ValidationError{Protocol: Protocol, Reason: "membership_" + string(cur.Status), Err: sso.ErrAccessDenied}
	}
	if writes.Member.BreakGlass && !cur.BreakGlass {
		if org == nil || org.ID != s.OrgID {
			if org, err = m.orgNow(ctx, s.OrgID, sso.ErrMembershipChanged); err != nil {
				return err
			}
		}
		if err := m.localAdmits(ctx, s, org, cur); err != nil {
			return err
		}
	}
	m.log.InfoContext(ctx, "session: the membership changed during the login; issuing with its current roles",
		"org_id", s.OrgID, "user_id", s.UserID)
	s.Roles, writes.Member = slices.Clone(cur.Roles), cur
	return nil
}

// IssueSession implements sso.SessionIssuer.
func (m *Manager) IssueSession(w http.ResponseWriter, r *http.Request, g *sso.SessionGrant) error {
	_, err := m.Issue(w, r, g)
	return err
}

// create stores s with a fresh ID, token and lifetimes (CreatedAt now,
// keeping s.AuthAt) and sets the cookie. org, when it is s's organization,
// supplies the lifetimes without a read (see policyOf); nil reads it.
// writes, when the store is a LoginWriter, are written in the session's
// transaction and marked Written; otherwise what they guard is confirmed
// once the session is written (confirmWrites).
func (m *Manager) create(ctx context.Context, w http.ResponseWriter, s *Session, org *sso.Organization, writes *sso.LoginWrites, now time.Time) (*Session, error) {
	p, err := m.policyOf(ctx, s.OrgID, org)
	if err != nil {
		return nil, err
	}
	bearer, err := m.newBearer()
	if err != nil {
		return nil, err
	}
	s.ID = opaque.NewID("ses_")
	s.TokenHash = opaque.Hash(bearer)
	s.CreatedAt, s.LastSeenAt = now, now
	if s.AuthAt.IsZero() {
		s.AuthAt = now
	}
	// A re-issued session keeps the absolute deadline of the login it
	// descends from, and never outlives a bound already set on it (the
	// IdP's SessionNotOnOrAfter, or the deadline of the session it
	// replaces).
	exp := s.AuthAt.Add(p.absolute)
	if !s.ExpiresAt.IsZero() && s.ExpiresAt.Before(exp) {
		exp = s.ExpiresAt
	}
	s.ExpiresAt = exp
	s.IdleTimeout = p.idle
	limit := p.maxSessions
	if limit < 0 {
		limit = 0
	}
	if writes != nil && !writes.Written && limit > 0 && m.eventsWithSessions() {
		writes.Evicted = evictionEvent(s, limit, now)
	}
	evicted, err := m.insert(ctx, s, limit, writes)
	if err != nil {
		return nil, fmt.Errorf("session: create: %w", err)
	}
	m.sessionsChanged(ctx, 1-len(evicted))
	for _, e := range evicted {
		m.ended(ctx, e, now)
		if writes == nil || !writes.Written || writes.Evicted == nil {
			ev := evictionEvent(e, limit, now)
			ev.Target.ID = e.ID
			m.audit(ctx, ev)
		}
		if m.cfg.OnSessionEvicted != nil {
			m.cfg.OnSessionEvicted(ctx, e.Info())
		}
	}
	if err := m.confirmWrites(ctx, s, writes); err != nil {
		// No cookie names s: ending it is tidiness, not safety.
		if endErr := m.end(ctx, s); endErr != nil {
			m.log.WarnContext(ctx, "session: could not end a session its login's re-check refused", "session_id", s.ID, "err", endErr)
		}
		return nil, err
	}
	m.setCookie(w, bearer, s.ExpiresAt)
	return s, nil
}

// evictionEvent is the audit event of a session of s's user and
// organization ended by the session limit, without its ID and target ID
// (sso.LoginWrites.Evicted).
func evictionEvent(s *Session, limit int, now time.Time) *sso.Event {
	return &sso.Event{ID: opaque.NewID("evt_"), OrgID: s.OrgID, Time: now, Type: EventLimitExceeded,
		Actor: sso.Actor{Type: sso.ActorSystem}, Target: sso.Target{Type: "session"},
		Outcome: sso.OutcomeSuccess, Reason: "session_limit",
		Details: map[string]string{"user_id": s.UserID, "limit": fmt.Sprint(limit)}}
}

// eventsWithSessions reports whether the audit trail is the session
// store's own, so a LoginWriter can append the events of a login's
// evictions in the session's transaction.
func (m *Manager) eventsWithSessions() bool {
	if _, ok := m.cfg.Store.(LoginWriter); !ok || m.cfg.Events == nil {
		return false
	}
	ev, st := any(sso.BaseEventStore(m.cfg.Events)), any(m.cfg.Store)
	t := reflect.TypeOf(ev)
	return t == reflect.TypeOf(st) && t.Comparable() && ev == st
}

// insert creates s, with writes in the same transaction when the store is a
// LoginWriter.
func (m *Manager) insert(ctx context.Context, s *Session, limit int, writes *sso.LoginWrites) ([]*Session, error) {
	lw, ok := m.cfg.Store.(LoginWriter)
	if writes == nil || writes.Written || !ok {
		return m.cfg.Store.CreateSession(ctx, s, limit)
	}
	evicted, err := lw.CreateLoginSession(ctx, s, limit, writes)
	if err == nil {
		writes.Written = true
	}
	return evicted, err
}

// ended revokes what hangs off a session that was removed from the store:
// its refresh-token families and the access tokens naming it.
func (m *Manager) ended(ctx context.Context, s *Session, now time.Time) error {
	var errs []error
	if m.cfg.Tokens != nil {
		errs = append(errs, m.cfg.Tokens.RevokeSessionTokens(ctx, s.ID, now))
	}
	if m.cfg.Revocations != nil {
		errs = append(errs, m.revoke(ctx, revKey{kind: revSession, id: s.ID}, now))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("session: revoke tokens of session: %w", err)
	}
	return nil
}

// endPresented deletes every valid session a cookie of r names: normally
// one; when cookies were tossed in under the same name, all of them, so a
// logout or login never leaves the legitimate one alive.
func (m *Manager) endPresented(r *http.Request) error {
	for _, v := range m.cookieValues(r) {
		s, err := m.lookup(r.Context(), v)
		if err != nil {
			return err
		}
		if s == nil {
			continue
		}
		if err := m.end(r.Context(), s); err != nil {
			return err
		}
	}
	return nil
}

// end deletes s and revokes its tokens.
func (m *Manager) end(ctx context.Context, s *Session) error {
	if err := m.cfg.Store.DeleteSession(ctx, s.ID); err != nil && !errors.Is(err, sso.ErrNotFound) {
		return fmt.Errorf("session: delete: %w", err)
	} else if err == nil {
		m.sessionsChanged(ctx, -1)
	}
	return m.ended(ctx, s, m.now())
}

func (m *Manager) setCookie(w http.ResponseWriter, value string, expires time.Time) {
	c := &http.Cookie{
		Name: m.cookieName, Value: value, Path: "/", HttpOnly: true,
		Secure: !m.cfg.AllowInsecureCookie, SameSite: http.SameSiteLaxMode,
	}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires.UTC()
	}
	http.SetCookie(w, c)
}

// ClearCookie expires the session cookie on w.
func (m *Manager) ClearCookie(w http.ResponseWriter) { m.setCookie(w, "", time.Time{}) }
