package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
)

// Audit event types of the organization and member routes.
const (
	// EventOrgUpdated is recorded when an organization's name changed.
	EventOrgUpdated = "org.updated"
	// EventMemberSuspended is recorded when a member was suspended.
	EventMemberSuspended = "membership.suspended"
	// EventMemberReactivated is recorded when a suspended member was made active again.
	EventMemberReactivated = "membership.reactivated"
	// EventMemberRemoved is recorded when a member was removed from the organization.
	EventMemberRemoved = "membership.removed"
	// EventOwnershipTransferred is recorded when the owner handed the organization to another member.
	EventOwnershipTransferred = "org.ownership_transferred"
)

// RoleOwner is the role of an organization's owner: the one member who may
// transfer ownership, and who cannot be suspended or removed before
// handing ownership on (sso.RoleOwner).
const RoleOwner = sso.RoleOwner

// OrgView is an organization as the admin API shows it.
type OrgView struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	// AllowUnverifiedEmailDomains lets members sign in through SSO with
	// an email outside the organization's verified domains.
	AllowUnverifiedEmailDomains bool `json:"allow_unverified_email_domains"`
	// SignInMethods is the administrators' choice of sign-in methods
	// without an IdP (password, passkey, email_code, magic_link, social);
	// null allows every method the plan includes.
	SignInMethods []sso.AuthMethod `json:"sign_in_methods"`
	// PlanSignInMethods are the methods the plan includes: the ones
	// sign_in_methods may name.
	PlanSignInMethods []sso.AuthMethod `json:"plan_sign_in_methods"`
	// AllowedSignInMethods are the methods members may use now: the plan's,
	// narrowed by sign_in_methods.
	AllowedSignInMethods []sso.AuthMethod `json:"allowed_sign_in_methods"`
	// EndedSessions, in the answer of a PATCH with end_sessions, is how
	// many sessions it ended.
	EndedSessions *int `json:"ended_sessions,omitempty"`
}

// OrgUpdateRequest is the body of PATCH /org.
type OrgUpdateRequest struct {
	Name *string `json:"name"`
	// AllowUnverifiedEmailDomains, when set, turns on or off sign-in
	// through SSO with an email outside the organization's verified
	// domains. Turning it on weakens security: it needs Confirm.
	AllowUnverifiedEmailDomains *bool `json:"allow_unverified_email_domains"`
	// SignInMethods, when present, sets the sign-in methods without an
	// IdP that members may use: a non-empty list of names from
	// plan_sign_in_methods (see GET /org), or null for every method the
	// plan includes. A method the plan lacks is refused. Go clients set
	// it to json.RawMessage(`["password","passkey"]`) or
	// json.RawMessage("null"); left nil it is omitted and unchanged.
	SignInMethods json.RawMessage `json:"sign_in_methods,omitempty"`
	// EndSessions, with SignInMethods, also ends the organization's
	// sessions that were signed in with a method members may no longer
	// use (turned off now or before, or outside the plan); a break-glass
	// member keeps their password sessions, as they keep password sign-in.
	// Sessions in other organizations are untouched. False (the default)
	// leaves every session to its expiry. The answer's ended_sessions
	// says how many ended; a failure after the change was stored is an
	// error, and the same request again finishes the job.
	EndSessions bool `json:"end_sessions"`
	// Confirm acknowledges a weakening change.
	Confirm bool `json:"confirm"`
}

// MemberInfo is a member with the user's address and name, as the member
// list shows it.
type MemberInfo struct {
	MemberView
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	DisplayName   string    `json:"display_name"`
	JoinedAt      time.Time `json:"joined_at"`
}

// MemberList is the answer of GET /members.
type MemberList struct {
	Members []*MemberInfo `json:"members"`
	// Next is the cursor of the next page (the "after" parameter), empty
	// on the last.
	Next string `json:"next"`
}

// MemberStatusRequest is the body of PUT /members/{user}/status.
type MemberStatusRequest struct {
	Status string `json:"status"`
}

// OwnershipRequest is the body of POST /ownership.
type OwnershipRequest struct {
	UserID string `json:"user_id"`
}

func orgView(o *sso.Organization) *OrgView {
	return &OrgView{ID: o.ID, Slug: o.Slug, Name: o.Name, CreatedAt: o.CreatedAt,
		AllowUnverifiedEmailDomains: o.Settings.AllowUnverifiedEmailDomains,
		SignInMethods:               o.Settings.SignInMethods, PlanSignInMethods: planSignInMethods(o.Settings.Features),
		AllowedSignInMethods: o.AllowedSignInMethods()}
}

// getOrg answers GET /org.
func (h *Handler) getOrg(w http.ResponseWriter, _ *http.Request, org *sso.Organization) error {
	httpjson.Write(w, http.StatusOK, orgView(org))
	return nil
}

// updateOrg answers PATCH /org: it renames the organization, sets
// whether members may sign in with an email outside its verified domains,
// and chooses the sign-in methods without an IdP members may use within
// the plan. The slug, a part of login URLs, does not change. Turning the
// email switch on weakens security: it needs confirm and is audited as
// weakening. Each changed field is audited. With end_sessions the
// sessions of methods no longer allowed end once the change is stored
// (see OrgUpdateRequest.EndSessions).
func (h *Handler) updateOrg(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	var req OrgUpdateRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Name == nil && req.AllowUnverifiedEmailDomains == nil && req.SignInMethods == nil {
		return &InputError{Field: "name", Problem: "give the new name, allow_unverified_email_domains or sign_in_methods"}
	}
	if err := h.checkEndSessions(&req); err != nil {
		return err
	}
	// The name is checked once; the settings are changed on the
	// organization as saved (see Handler.saveOrg).
	var name string
	if req.Name != nil {
		name = strings.TrimSpace(*req.Name)
		if name == "" || utf8.RuneCountInString(name) > 128 || strings.IndexFunc(name, unicode.IsControl) >= 0 {
			return &InputError{Field: "name", Problem: "use 1 to 128 printable characters"}
		}
	}
	org, err := h.saveOrg(r.Context(), org, func(org *sso.Organization) ([]*sso.Event, bool, error) {
		return orgChanges(org, &req, name)
	})
	if err != nil {
		return err
	}
	return h.writeOrgEnding(w, r, org, req.EndSessions)
}

// orgChanges applies the PATCH /org request req (with name, when set,
// checked) to org and returns the events describing what changed, and
// whether anything did.
func orgChanges(org *sso.Organization, req *OrgUpdateRequest, name string) ([]*sso.Event, bool, error) {
	if req.Name == nil {
		name = org.Name
	}
	allow := org.Settings.AllowUnverifiedEmailDomains
	if req.AllowUnverifiedEmailDomains != nil {
		allow = *req.AllowUnverifiedEmailDomains
	}
	methods := org.Settings.SignInMethods
	if req.SignInMethods != nil {
		var err error
		if methods, err = parseSignInMethods(req.SignInMethods, org.Settings.Features); err != nil {
			return nil, false, err
		}
	}
	weakened := allow && !org.Settings.AllowUnverifiedEmailDomains
	if weakened && !req.Confirm {
		return nil, false, &InputError{Field: "allow_unverified_email_domains", Problem: "this lets members sign in with an email outside " +
			"your verified domains; send confirm: true if you mean it"}
	}
	sameMethods := methodsString(methods) == methodsString(org.Settings.SignInMethods)
	if name == org.Name && allow == org.Settings.AllowUnverifiedEmailDomains && sameMethods {
		return nil, false, nil
	}
	oldName, oldAllow, oldMethods := org.Name, org.Settings.AllowUnverifiedEmailDomains, org.Settings.SignInMethods
	org.Name, org.Settings.AllowUnverifiedEmailDomains, org.Settings.SignInMethods = name, allow, methods
	var evs []*sso.Event
	changed := func(details map[string]string) {
		evs = append(evs, &sso.Event{OrgID: org.ID, Type: EventOrgUpdated, Target: sso.Target{Type: "org", ID: org.ID}, Details: details})
	}
	if name != oldName {
		changed(map[string]string{"field": "name", "from": oldName, "to": name})
	}
	if allow != oldAllow {
		changed(map[string]string{"field": "allow_unverified_email_domains", "from": fmt.Sprint(oldAllow), "to": fmt.Sprint(allow),
			"weakened": fmt.Sprint(weakened)})
	}
	if !sameMethods {
		changed(map[string]string{"field": "sign_in_methods", "from": methodsString(oldMethods), "to": methodsString(methods),
			"end_sessions": fmt.Sprint(req.EndSessions)})
	}
	return evs, true, nil
}

// member returns the membership of the {user} path value in org.
func (h *Handler) member(r *http.Request, org *sso.Organization) (*sso.Membership, error) {
	user := r.PathValue("user")
	if user == "" || len(user) > 128 {
		return nil, fmt.Errorf("admin: member: %w", sso.ErrNotFound)
	}
	return h.cfg.Store.GetMembership(r.Context(), org.ID, user)
}

// memberInfo joins m with its user.
func (h *Handler) memberInfo(r *http.Request, m *sso.Membership) (*MemberInfo, error) {
	u, err := h.cfg.Store.GetUser(r.Context(), m.UserID)
	if err != nil && !errors.Is(err, sso.ErrNotFound) {
		return nil, err
	}
	mi := &MemberInfo{MemberView: MemberView{UserID: m.UserID, Roles: m.Roles, Status: string(m.Status), Source: string(m.Source),
		BreakGlass: m.BreakGlass}, JoinedAt: m.JoinedAt}
	if u != nil {
		mi.Email, mi.EmailVerified, mi.DisplayName = u.Email, u.EmailVerified, u.DisplayName
	}
	return mi, nil
}

// getMember answers GET /members/{user}.
func (h *Handler) getMember(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	m, err := h.member(r, org)
	if err != nil {
		return err
	}
	mi, err := h.memberInfo(r, m)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, mi)
	return nil
}

// Member list bounds: a page holds at most maxMemberPage members, and a
// search reads at most memberScan memberships per request (the cursor
// carries on from there).
const (
	defaultMemberPage = 50
	maxMemberPage     = 200
	memberScan        = 1000
)

// listMembers answers GET /members?after=&limit=&q=&email=: members in
// user ID order, keyset-paginated by "after" (the previous page's
// "next"). "email" finds the member with that exact address through the
// store's email index. "q" keeps members whose address or name contains
// it (case-insensitively); a search reads at most 1000 memberships per
// request, so a page may hold fewer than limit matches with "next" set.
func (h *Handler) listMembers(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	q := r.URL.Query()
	limit := defaultMemberPage
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxMemberPage {
			return &InputError{Field: "limit", Problem: fmt.Sprintf("give a number from 1 to %d", maxMemberPage)}
		}
		limit = n
	}
	after, search, email := q.Get("after"), strings.ToLower(q.Get("q")), q.Get("email")
	if len(after) > 128 || len(search) > 256 || len(email) > 320 {
		return &InputError{Field: "q", Problem: "the query parameters are too long"}
	}
	out := &MemberList{Members: []*MemberInfo{}}
	if email != "" {
		m, err := h.cfg.Store.FindMemberByEmail(r.Context(), org.ID, strings.ToLower(email))
		if err == nil {
			mi, err := h.memberInfo(r, m)
			if err != nil {
				return err
			}
			out.Members = append(out.Members, mi)
		} else if !errors.Is(err, sso.ErrNotFound) {
			return err
		}
		httpjson.Write(w, http.StatusOK, out)
		return nil
	}
	scanned := 0
	for {
		batch := limit + 1
		if search != "" {
			batch = maxMemberPage
		}
		ms, err := h.cfg.Store.ListMembers(r.Context(), org.ID, after, batch)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if len(out.Members) == limit || (search != "" && scanned == memberScan) {
				out.Next = after
				httpjson.Write(w, http.StatusOK, out)
				return nil
			}
			after = m.UserID
			scanned++
			mi, err := h.memberInfo(r, m)
			if err != nil {
				return err
			}
			if search == "" || strings.Contains(strings.ToLower(mi.Email), search) || strings.Contains(strings.ToLower(mi.DisplayName), search) {
				out.Members = append(out.Members, mi)
			}
		}
		if len(ms) < batch {
			httpjson.Write(w, http.StatusOK, out)
			return nil
		}
	}
}
