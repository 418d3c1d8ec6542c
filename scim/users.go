package scim

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/routing"
	"github.com/ssokit/ssokit/sso"
)

func (h *Handler) location(kind, id string) string { return h.base + "/" + kind + "/" + id }

func (h *Handler) writeUser(ctx context.Context, w http.ResponseWriter, status int, u *User, attrs, excluded []string) error {
	var groups []*Group
	if wants(attrs, excluded, "groups") {
		byUser, err := h.cfg.Store.ListUserGroupsSCIM(ctx, u.OrgID, u.ID)
		if err != nil {
			return err
		}
		groups = byUser[u.ID]
	}
	bp := getBuf()
	defer putBuf(bp)
	b, err := h.appendUser((*bp)[:0], u, groups, attrs, excluded)
	*bp = b
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(u.Version))
	if status == http.StatusCreated {
		w.Header().Set("Location", h.location("Users", u.ID))
	}
	h.writeBody(w, status, b)
	return nil
}

// coreUser builds the sso.User of a SCIM user.
func coreUserOf(u *User, created time.Time) *sso.User {
	email := strings.ToLower(strings.TrimSpace(u.PrimaryEmail()))
	if email == "" && strings.Contains(u.UserName, "@") {
		email = strings.ToLower(strings.TrimSpace(u.UserName))
	}
	// Stored in the form login completion looks members up by (IDN domain
	// as punycode, no trailing dot), so SSO links to this user.
	if addr, _, err := normalize.Email(email); err == nil {
		email = addr
	}
	return &sso.User{
		ID: u.ID, Email: email, GivenName: u.GivenName, FamilyName: u.FamilyName,
		DisplayName: u.DisplayName, CreatedAt: created, UpdatedAt: u.LastModified,
	}
}

// readUser reads a User body and returns its normalized attributes.
func readUser(r *http.Request) (map[string]any, error) {
	body, err := readObject(r)
	if err != nil {
		return nil, err
	}
	return normalizeUser(body)
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) error {
	ctx, rc := r.Context(), from(r)
	attrs, err := readUser(r)
	if err != nil {
		return err
	}
	now := h.now().UTC().Truncate(time.Microsecond)
	u := &User{OrgID: rc.org.ID, ID: opaque.NewID("user_"), Attributes: attrs, Version: 1, Created: now, LastModified: now}
	u.Derive()
	roles, err := h.rolesFor(ctx, rc.org, nil)
	if err != nil {
		return err
	}
	status := sso.MembershipActive
	if !u.Active {
		status = sso.MembershipDeactivated
	}
	m := &sso.Membership{
		OrgID: rc.org.ID, UserID: u.ID, Roles: roles, Status: status, Source: sso.SourceSCIM,
		ExternalID: u.ExternalID, JoinedAt: now, UpdatedAt: now,
	}
	cu := coreUserOf(u, now)
	if err := cu.Validate(); err != nil {
		return invalidValue("user attributes out of range")
	}
	if cu.EmailVerified, err = h.emailVerified(ctx, rc.org, cu.Email, nil); err != nil {
		return err
	}
	ad, err := h.adoptMember(ctx, rc.org, cu, m, u)
	if err != nil {
		return err
	}
	created := map[string]string{"active": boolStr(u.Active), "adopted": boolStr(ad.adopted)}
	if ad.adopted {
		h.record(ctx, EventUserCreated, "user", u.ID, created)
	} else if err := h.storeNewUser(ctx, cu, m, u, h.newEvent(ctx, EventUserCreated, "user", u.ID, created)); err != nil {
		return err
	}
	if ad.refused != "" {
		// T-M.10: an account whose email was never verified (say a JIT
		// account made through an IdP that sent an unverified address) may
		// be an attacker's pre-registration; the directory's person gets
		// an account of their own and the other one gets nothing.
		h.log.WarnContext(ctx, "scim: a member with the same email was not adopted: email never verified",
			"org_id", rc.org.ID, "user_id", u.ID, "existing_user_id", ad.refused)
		h.record(ctx, EventAdoptionRefused, "user", u.ID, map[string]string{"existing_user_id": ad.refused, "reason": "email_unverified"})
	}
	if ad.adopted && ad.prevStatus != m.Status {
		h.syncStatus(ctx, m)
	}
	if ad.adopted && !u.Active {
		// An adopted member may have live sessions: a directory that pushes
		// them as inactive cuts them off at once.
		if err := h.endOrgSessions(ctx, rc.org.ID, u.ID, "scim_deactivation"); err != nil {
			h.record(ctx, sso.EventSessionRevoked, "user", u.ID, map[string]string{"cause": "scim_deactivation"}, sso.OutcomeFailure)
			return &Error{Status: http.StatusServiceUnavailable, Detail: "user created inactive but session revocation failed, retry", RetryAfter: time.Second, Err: err}
		}
	}
	if h.cfg.Hooks.UserCreated != nil {
		h.cfg.Hooks.UserCreated(ctx, CloneUser(u))
	}
	return h.writeUser(ctx, w, http.StatusCreated, u, nil, nil)
}

// EventAdoptionRefused is the audit event of a SCIM create that found a
// member of the organization with the same email whose email was never
// verified, and so created a separate user instead of adopting that
// member (T-M.10). Its target is the new user; Details["existing_user_id"]
// names the member left alone.
const EventAdoptionRefused = "scim.adoption_refused"

// emailVerified reports whether a SCIM user's email counts as verified:
// its domain is verified by, and routes to, this organization (the rule of
// routing.Domain), since the organization's directory is the authority
// for its own domains. An address in any other domain is unverified. cur
// is the stored core user (nil on create): an unchanged address keeps a
// verification it already had, a changed one is evaluated afresh.
func (h *Handler) emailVerified(ctx context.Context, org *sso.Organization, email string, cur *sso.User) (bool, error) {
	if email == "" {
		return false, nil
	}
	if cur != nil && cur.EmailVerified && cur.Email == email {
		return true, nil
	}
	_, domain, err := normalize.Email(email)
	if err != nil {
		return false, nil
	}
	dom, err := h.cfg.Core.FindVerifiedDomain(ctx, domain)
	switch {
	case errors.Is(err, sso.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return dom.Routable() && dom.OrgID == org.ID, nil
}

// accountOf returns the core user a directory write stores for nu: the
// account with the directory's email and names when org owns it
// (routing.OwnsUser), or nil, leaving the account as it is, when it is
// shared with an organization that owns it. The directory's own record
// keeps what it sent either way.
func (h *Handler) accountOf(ctx context.Context, org *sso.Organization, nu *User, cur *sso.User) (*sso.User, error) {
	cu := coreUserOf(nu, cur.CreatedAt)
	if err := cu.Validate(); err != nil {
		return nil, invalidValue("user attributes out of range")
	}
	owns, err := routing.OwnsUser(ctx, h.cfg.Core, org.ID, cur)
	if err != nil {
		return nil, err
	}
	if !owns {
		if cu.Email != cur.Email || cu.GivenName != cur.GivenName || cu.FamilyName != cur.FamilyName || cu.DisplayName != cur.DisplayName {
			h.warnShared(ctx, org.ID, cur.ID)
		}
		return nil, nil
	}
	if cu.EmailVerified, err = h.emailVerified(ctx, org, cu.Email, cur); err != nil {
		return nil, err
	}
	return cu, nil
}

// warnShared logs a directory change of a shared account's email or names
// that was not applied.
func (h *Handler) warnShared(ctx context.Context, orgID, userID string) {
	h.log.WarnContext(ctx, "scim: the email and names of a shared account stay as they are: another organization owns it",
		"org_id", orgID, "user_id", userID)
}

// adoption is what adoptMember did.
type adoption struct {
	adopted    bool
	prevStatus sso.MembershipStatus // the adopted member's status before
	// refused is the user ID of a member with the same email that was
	// not adopted because its email was never verified.
	refused string
}

// adoptMember links a SCIM create to an existing member of the organization
// with the same email who has no SCIM record yet (typically a user who
// signed in through JIT before the directory was connected), instead of
// creating a second user that the member's IdP identity would not point
// at: deprovisioning through SCIM must reach the account people actually
// sign in with. It rewrites u, cu and m for the member, keeping their user
// ID, roles, break-glass flag, join time and a suspension, and reports
// whether it stored them. A member whose SCIM record was deleted is
// revived the same way.
//
// A member whose email was never verified is never adopted (T-M.10): the
// address may have been claimed by someone else before the person the
// directory describes arrived. The caller then creates a separate user.
// An adopted account that another organization owns keeps its email and
// names (accountOf).
func (h *Handler) adoptMember(ctx context.Context, org *sso.Organization, cu *sso.User, m *sso.Membership, u *User) (adoption, error) {
	if cu.Email == "" {
		return adoption{}, nil
	}
	mem, err := h.cfg.Core.FindMemberByEmail(ctx, org.ID, cu.Email)
	if errors.Is(err, sso.ErrNotFound) {
		return adoption{}, nil
	}
	if err != nil {
		return adoption{}, err
	}
	prev, err := h.cfg.Store.GetUserSCIM(ctx, org.ID, mem.UserID)
	switch {
	case err == nil && !prev.Deleted:
		// Already a live directory user: a new, separate record is what
		// the directory asked for.
		return adoption{}, nil
	case err != nil && !errors.Is(err, sso.ErrNotFound):
		return adoption{}, err
	}
	existing, err := h.cfg.Core.GetUser(ctx, mem.UserID)
	if err != nil {
		return adoption{}, err
	}
	if prev == nil && !existing.EmailVerified {
		return adoption{refused: existing.ID}, nil
	}
	owns, err := routing.OwnsUser(ctx, h.cfg.Core, org.ID, existing)
	if err != nil {
		return adoption{}, err
	}
	if !owns {
		// A shared account keeps its email and names (accountOf).
		h.warnShared(ctx, org.ID, existing.ID)
		*cu = *existing
	}
	u.ID, cu.ID, m.UserID = mem.UserID, mem.UserID, mem.UserID
	cu.CreatedAt = existing.CreatedAt
	cu.EmailVerified = cu.EmailVerified || existing.EmailVerified
	m.Roles, m.BreakGlass, m.JoinedAt = mem.Roles, mem.BreakGlass, mem.JoinedAt
	if mem.Status == sso.MembershipSuspended {
		// An administrator's suspension outlives directory writes here as
		// in updateUser: only an administrator lifts it.
		m.Status = sso.MembershipSuspended
	}
	ad := adoption{adopted: true, prevStatus: mem.Status}
	if prev != nil {
		// The directory deleted this person and now creates them again:
		// revive the record, so their IdP identity keeps pointing at it.
		u.Version, u.Created = prev.Version+1, prev.Created
		if err := h.cfg.Store.UpdateUserSCIM(ctx, u, prev.Version, cu, m); err != nil {
			return adoption{}, err
		}
		return ad, nil
	}
	if err := h.cfg.Store.AdoptUserSCIM(ctx, cu, m, u); err != nil {
		return adoption{}, err
	}
	return ad, nil
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (h *Handler) loadUser(ctx context.Context, orgID, id string) (*User, error) {
	u, err := h.cfg.Store.GetUserSCIM(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if u.Deleted || u.OrgID != orgID {
		return nil, sso.ErrNotFound
	}
	return u, nil
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request) error {
	ctx, rc := r.Context(), from(r)
	u, err := h.loadUser(ctx, rc.org.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	p, err := h.parseList(queryGetter(r), KindUser, false)
	if err != nil {
		return err
	}
	return h.writeUser(ctx, w, http.StatusOK, u, p.attrs, p.excluded)
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) error {
	return h.serveUserList(w, r, queryGetter(r))
}

func (h *Handler) searchUsers(w http.ResponseWriter, r *http.Request) error {
	get, err := readSearch(r)
	if err != nil {
		return err
	}
	return h.serveUserList(w, r, get)
}

// serveUserList answers a list or search request whose parameters get reads.
func (h *Handler) serveUserList(w http.ResponseWriter, r *http.Request, get func(string) (string, bool)) error {
	p, err := h.parseList(get, KindUser, false)
	if err != nil {
		return err
	}
	ctx, rc := r.Context(), from(r)
	users, total, err := h.pageUsers(ctx, rc.org.ID, p)
	if err != nil {
		return err
	}
	var byUser map[string][]*Group
	if wants(p.attrs, p.excluded, "groups") && len(users) > 0 {
		ids := make([]string, len(users))
		for i, u := range users {
			ids[i] = u.ID
		}
		if byUser, err = h.cfg.Store.ListUserGroupsSCIM(ctx, rc.org.ID, ids...); err != nil {
			return err
		}
	}
	bp := getBuf()
	defer putBuf(bp)
	b := appendListHead((*bp)[:0], total, p.q.StartIndex, len(users))
	for i, u := range users {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = h.appendUser(b, u, byUser[u.ID], p.attrs, p.excluded); err != nil {
			*bp = b
			return err
		}
	}
	b = appendListTail(b)
	*bp = b
	h.writeBody(w, http.StatusOK, b)
	return nil
}

// pageUsers returns the page of users p selects and the total number of
// matches: through the pager when the store is a Seeker.
func (h *Handler) pageUsers(ctx context.Context, orgID string, p *listParams) ([]*User, int, error) {
	if p.none {
		return nil, 0, nil
	}
	if h.pages == nil {
		return h.cfg.Store.ListUsersSCIM(ctx, orgID, p.q)
	}
	return servePage(ctx, h.pages, h.users, orgID, p.filter, client(ctx), p.q)
}

func (h *Handler) replaceUser(w http.ResponseWriter, r *http.Request) error {
	attrs, err := readUser(r)
	if err != nil {
		return err
	}
	return h.updateUser(w, r, func(old *User) (map[string]any, bool, error) { return CloneAttributes(attrs), false, nil })
}

func (h *Handler) patchUser(w http.ResponseWriter, r *http.Request) error {
	body, err := readObject(r)
	if err != nil {
		return err
	}
	ops, err := parsePatchBody(body, h.cfg.MaxOperations)
	if err != nil {
		return err
	}
	return h.updateUser(w, r, func(old *User) (map[string]any, bool, error) {
		doc, err := applyUserPatch(old.Attributes, ops)
		if err != nil {
			return nil, false, err
		}
		n, err := normalizeUser(doc)
		return n, false, err
	})
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) error {
	err := h.updateUser(w, r, func(old *User) (map[string]any, bool, error) {
		doc := CloneAttributes(old.Attributes)
		doc["active"] = false
		return doc, true, nil
	})
	return err
}

// updateUser runs a read-modify-write of one user: change computes the new
// attributes from the stored user (and whether this is a DELETE). The
// write is a compare-and-set on the version; a client that sent If-Match
// gets 412 when it fails, any other is served by re-reading and re-applying
// the change (see maxUpdateAttempts). Deactivation ends the user's
// sessions in the organization before the response is sent.
func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request, change func(old *User) (map[string]any, bool, error)) error {
	ctx, rc := r.Context(), from(r)
	id := r.PathValue("id")
	unlock, err := h.locks.lock(ctx, userKey(rc.org.ID, id))
	if err != nil {
		return err
	}
	defer unlock()
	var (
		old, nu    *User
		m          *sso.Membership
		prevStatus sso.MembershipStatus
		deleted    bool
	)
	for attempt := 1; ; attempt++ {
		old, err = h.loadUser(ctx, rc.org.ID, id)
		if err != nil {
			return err
		}
		want, err := checkIfMatch(r, old.Version)
		if err != nil {
			return err
		}
		attrs, del, err := change(old)
		if err != nil {
			return err
		}
		deleted = del
		now := h.now().UTC().Truncate(time.Microsecond)
		if !now.After(old.LastModified) {
			now = old.LastModified.Add(time.Microsecond)
		}
		nu = &User{OrgID: old.OrgID, ID: old.ID, Attributes: attrs, Deleted: del, Version: old.Version + 1, Created: old.Created, LastModified: now}
		nu.Derive()
		if m, err = h.cfg.Core.GetMembership(ctx, old.OrgID, old.ID); err != nil {
			return err
		}
		prevStatus = m.Status
		m.ExternalID = nu.ExternalID
		switch {
		case !nu.Active && m.Status == sso.MembershipActive:
			m.Status = sso.MembershipDeactivated
		case nu.Active && m.Status == sso.MembershipDeactivated:
			m.Status = sso.MembershipActive
		}
		m.UpdatedAt = now
		cur, err := h.cfg.Core.GetUser(ctx, old.ID)
		if err != nil {
			return err
		}
		cu, err := h.accountOf(ctx, rc.org, nu, cur)
		if err != nil {
			return err
		}
		err = h.storeUserChange(ctx, nu, old.Version, cu, m, h.userEvents(ctx, old, nu))
		if err == nil {
			break
		}
		if !errors.Is(err, ErrVersionMismatch) || want != 0 {
			return err
		}
		if attempt == maxUpdateAttempts {
			return busy(err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
	synced := false
	if deleted {
		// The store took the user out of every group: their roles follow.
		nm, err := h.recomputeUser(ctx, rc.org, id)
		if err != nil {
			return err
		}
		if nm != nil {
			m, synced = nm, true
		}
	}
	if !synced && m.Status != prevStatus {
		h.syncStatus(ctx, m)
	}
	if err := h.afterUserWrite(ctx, old, nu); err != nil {
		return err
	}
	if deleted {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return h.writeUser(ctx, w, http.StatusOK, nu, nil, nil)
}

// busy is the answer to a write without If-Match that lost the
// compare-and-set every time.
func busy(cause error) error {
	e := *errBusy
	e.Err = cause
	return &e
}

// userEvents returns the audit events of the change from old to nu, to be
// written with it.
func (h *Handler) userEvents(ctx context.Context, old, nu *User) []*sso.Event {
	var evs []*sso.Event
	add := func(typ string, details map[string]string) {
		if e := h.newEvent(ctx, typ, "user", nu.ID, details); e != nil {
			evs = append(evs, e)
		}
	}
	deleted := nu.Deleted && !old.Deleted
	switch {
	case old.Active && !nu.Active:
		add(EventUserDeactivated, map[string]string{"deleted": boolStr(nu.Deleted)})
	case !old.Active && nu.Active:
		add(EventUserReactivated, nil)
	case deleted:
		// Deleting an inactive user: the deletion event says it.
	default:
		details := map[string]string{}
		if nu.Deleted {
			details["deleted"] = "true"
		}
		if !strings.EqualFold(old.UserName, nu.UserName) {
			details["userName_changed"] = "true"
		}
		add(EventUserUpdated, details)
	}
	if deleted {
		add(EventUserDeleted, nil)
	}
	return evs
}

// afterUserWrite runs the host's hooks and revokes sessions on
// deactivation (the change's events were written with it). Revocation
// runs for every write that leaves the user inactive, so a client retrying
// a deactivation whose revocation failed gets it done.
func (h *Handler) afterUserWrite(ctx context.Context, old, nu *User) error {
	hk := h.cfg.Hooks
	switch {
	case old.Active && !nu.Active:
		if hk.UserDeactivated != nil {
			hk.UserDeactivated(ctx, CloneUser(nu))
		}
	case !old.Active && nu.Active:
		if hk.UserReactivated != nil {
			hk.UserReactivated(ctx, CloneUser(nu))
		}
	default:
		if hk.UserUpdated != nil {
			hk.UserUpdated(ctx, CloneUser(nu))
		}
	}
	if !nu.Active {
		// The client may disconnect; endOrgSessions still finishes.
		if err := h.endOrgSessions(ctx, nu.OrgID, nu.ID, "scim_deactivation"); err != nil {
			h.record(ctx, sso.EventSessionRevoked, "user", nu.ID, map[string]string{"cause": "scim_deactivation"}, sso.OutcomeFailure)
			return &Error{Status: http.StatusServiceUnavailable, Detail: "user deactivated but session revocation failed, retry", RetryAfter: time.Second, Err: err}
		}
	}
	return nil
}

// record appends an audit event; a failure is logged, not returned, since
// the change itself is already stored.
func (h *Handler) record(ctx context.Context, typ, targetType, targetID string, details map[string]string, outcome ...string) {
	if e := h.newEvent(ctx, typ, targetType, targetID, details, outcome...); e != nil {
		h.appendEvents(ctx, e)
	}
}

// newEvent returns a complete, valid audit event of the request's
// organization, or nil (logged) when it is not valid.
func (h *Handler) newEvent(ctx context.Context, typ, targetType, targetID string, details map[string]string, outcome ...string) *sso.Event {
	e := &sso.Event{OrgID: from2(ctx), Type: typ, Target: sso.Target{Type: targetType, ID: targetID}, Details: details}
	if len(outcome) > 0 {
		e.Outcome = outcome[0]
	}
	if len(e.Details) == 0 {
		e.Details = nil
	}
	e.FillDefaults(ctx, h.now())
	if err := e.Validate(); err != nil {
		h.log.ErrorContext(ctx, "scim: audit event invalid", "type", typ, "err", err)
		return nil
	}
	return e
}

// appendEvents appends events after the change they describe; a failure
// is logged.
func (h *Handler) appendEvents(ctx context.Context, evs ...*sso.Event) {
	for _, e := range evs {
		if err := h.cfg.Core.AppendEvent(ctx, e); err != nil {
			h.log.ErrorContext(ctx, "scim: audit event failed", "type", e.Type, "err", err)
		}
	}
}

// storeNewUser stores a new user with its creation event: in one transaction
// when the store is an EventWriter.
func (h *Handler) storeNewUser(ctx context.Context, cu *sso.User, m *sso.Membership, u *User, ev *sso.Event) error {
	evs := nonNil(ev)
	if h.events == nil {
		if err := h.cfg.Store.CreateUserSCIM(ctx, cu, m, u); err != nil {
			return err
		}
		h.appendEvents(ctx, evs...)
		return nil
	}
	if h.pages != nil {
		defer h.pages.changed(u.OrgID)
	}
	return h.events.CreateUserSCIMEvents(ctx, cu, m, u, evs)
}

// storeUserChange stores a changed user with the change's events: in one
// transaction when the store is an EventWriter.
func (h *Handler) storeUserChange(ctx context.Context, nu *User, prevVersion int64, cu *sso.User, m *sso.Membership, evs []*sso.Event) error {
	if h.events == nil {
		if err := h.cfg.Store.UpdateUserSCIM(ctx, nu, prevVersion, cu, m); err != nil {
			return err
		}
		h.appendEvents(ctx, evs...)
		return nil
	}
	if h.pages != nil {
		defer h.pages.changed(nu.OrgID)
	}
	return h.events.UpdateUserSCIMEvents(ctx, nu, prevVersion, cu, m, evs)
}

func nonNil(e *sso.Event) []*sso.Event {
	if e == nil {
		return nil
	}
	return []*sso.Event{e}
}

func from2(ctx context.Context) string {
	if rc, ok := ctx.Value(reqKey{}).(*reqCtx); ok {
		return rc.org.ID
	}
	return ""
}
