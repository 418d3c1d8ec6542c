package scim

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// groupMembers returns the member IDs of g in order.
func (h *Handler) groupMembers(ctx context.Context, g *Group) ([]string, error) {
	var members []string
	after := ""
	for {
		ids, err := h.cfg.Store.ListGroupMembersSCIM(ctx, g.OrgID, g.ID, after, memberPage)
		if err != nil {
			return nil, err
		}
		members = append(members, ids...)
		if len(ids) < memberPage {
			return members, nil
		}
		after = ids[len(ids)-1]
	}
}

func (h *Handler) writeGroup(ctx context.Context, w http.ResponseWriter, status int, g *Group, attrs, excluded []string) error {
	var members []string
	if wants(attrs, excluded, "members") {
		var err error
		if members, err = h.groupMembers(ctx, g); err != nil {
			return err
		}
	}
	bp := getBuf()
	defer putBuf(bp)
	b := h.appendGroup((*bp)[:0], g, members, attrs, excluded)
	*bp = b
	w.Header().Set("ETag", etag(g.Version))
	if status == http.StatusCreated {
		w.Header().Set("Location", h.location("Groups", g.ID))
	}
	h.writeBody(w, status, b)
	return nil
}

// readGroup reads and validates a Group body and returns its attributes
// and members.
func (h *Handler) readGroup(r *http.Request) (map[string]any, []string, error) {
	body, err := readObject(r)
	if err != nil {
		return nil, nil, err
	}
	var members []string
	for k, v := range body {
		if strings.EqualFold(k, "members") {
			ids, err := memberIDs(v)
			if err != nil {
				return nil, nil, err
			}
			members = ids
		}
	}
	if len(members) > h.cfg.MaxMembers {
		return nil, nil, &badRequest{scimType: "tooMany", detail: "too many members in one request"}
	}
	attrs, err := normalizeGroup(body)
	if err != nil {
		return nil, nil, err
	}
	return attrs, members, nil
}

func applyGroupAttrs(g *Group, attrs map[string]any) {
	g.DisplayName, _ = attrs["displayName"].(string)
	g.ExternalID, _ = attrs["externalId"].(string)
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request) error {
	ctx, rc := r.Context(), from(r)
	attrs, members, err := h.readGroup(r)
	if err != nil {
		return err
	}
	now := h.now().UTC().Truncate(time.Microsecond)
	g := &Group{OrgID: rc.org.ID, ID: opaque.NewID("group_"), Version: 1, Created: now, LastModified: now}
	applyGroupAttrs(g, attrs)
	members = dedupe(members)
	if err := h.cfg.Store.CreateGroupSCIM(ctx, g, members); err != nil {
		return err
	}
	if err := h.afterGroupWrite(ctx, rc.org, g, members, false); err != nil {
		return err
	}
	return h.writeGroup(ctx, w, http.StatusCreated, g, nil, nil)
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request) error {
	ctx, rc := r.Context(), from(r)
	g, err := h.cfg.Store.GetGroupSCIM(ctx, rc.org.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	p, err := h.parseList(queryGetter(r), KindGroup, false)
	if err != nil {
		return err
	}
	return h.writeGroup(ctx, w, http.StatusOK, g, p.attrs, p.excluded)
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) error {
	return h.serveGroupList(w, r, queryGetter(r))
}

func (h *Handler) searchGroups(w http.ResponseWriter, r *http.Request) error {
	get, err := readSearch(r)
	if err != nil {
		return err
	}
	return h.serveGroupList(w, r, get)
}

// serveGroupList answers a list or search request whose parameters get reads.
func (h *Handler) serveGroupList(w http.ResponseWriter, r *http.Request, get func(string) (string, bool)) error {
	p, err := h.parseList(get, KindGroup, false)
	if err != nil {
		return err
	}
	ctx, rc := r.Context(), from(r)
	groups, total, err := h.pageGroups(ctx, rc.org.ID, p)
	if err != nil {
		return err
	}
	withMembers := wants(p.attrs, p.excluded, "members")
	bp := getBuf()
	defer putBuf(bp)
	b := appendListHead((*bp)[:0], total, p.q.StartIndex, len(groups))
	for i, g := range groups {
		var members []string
		if withMembers {
			if members, err = h.groupMembers(ctx, g); err != nil {
				*bp = b
				return err
			}
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = h.appendGroup(b, g, members, p.attrs, p.excluded)
	}
	b = appendListTail(b)
	*bp = b
	h.writeBody(w, http.StatusOK, b)
	return nil
}

// pageGroups is pageUsers for groups.
func (h *Handler) pageGroups(ctx context.Context, orgID string, p *listParams) ([]*Group, int, error) {
	if p.none {
		return nil, 0, nil
	}
	if h.pages == nil {
		return h.cfg.Store.ListGroupsSCIM(ctx, orgID, p.q)
	}
	return servePage(ctx, h.pages, h.groups, orgID, p.filter, client(ctx), p.q)
}

// searchRoot serves POST /.search over Users and then Groups. An attribute
// of one resource type in the filter is absent on the other (see
// parseRootFilter); a filter valid for neither is an invalidFilter error.
func (h *Handler) searchRoot(w http.ResponseWriter, r *http.Request) error {
	ctx, rc := r.Context(), from(r)
	get, err := readSearch(r)
	if err != nil {
		return err
	}
	pu, err := h.parseList(get, KindUser, true)
	if err != nil {
		return err
	}
	pg, err := h.parseList(get, KindGroup, true)
	if err != nil {
		return err
	}
	users, nUsers, err := h.pageUsers(ctx, rc.org.ID, pu)
	if err != nil {
		return err
	}
	// Groups continue the numbering after the users.
	gp := *pg
	gp.q.Count = pu.q.Count - len(users)
	gp.q.StartIndex = max(1, pu.q.StartIndex-nUsers)
	groups, nGroups, err := h.pageGroups(ctx, rc.org.ID, &gp)
	if err != nil {
		return err
	}
	if pu.q.StartIndex+len(users) <= nUsers {
		groups = nil // the page ended inside the users
	}
	bp := getBuf()
	defer putBuf(bp)
	b := appendListHead((*bp)[:0], nUsers+nGroups, pu.q.StartIndex, len(users)+len(groups))
	for i, u := range users {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = h.appendUser(b, u, nil, pu.attrs, pu.excluded); err != nil {
			*bp = b
			return err
		}
	}
	for i, g := range groups {
		if i > 0 || len(users) > 0 {
			b = append(b, ',')
		}
		b = h.appendGroup(b, g, nil, pg.attrs, pg.excluded)
	}
	b = appendListTail(b)
	*bp = b
	h.writeBody(w, http.StatusOK, b)
	return nil
}

func (h *Handler) replaceGroup(w http.ResponseWriter, r *http.Request) error {
	attrs, members, err := h.readGroup(r)
	if err != nil {
		return err
	}
	return h.updateGroup(w, r, func(doc map[string]any) (map[string]any, []MemberOp, error) {
		return attrs, []MemberOp{{Kind: MembersReplace, UserIDs: dedupe(members)}}, nil
	}, true)
}

func (h *Handler) patchGroup(w http.ResponseWriter, r *http.Request) error {
	body, err := readObject(r)
	if err != nil {
		return err
	}
	ops, err := parsePatchBody(body, h.cfg.MaxOperations)
	if err != nil {
		return err
	}
	return h.updateGroup(w, r, func(doc map[string]any) (map[string]any, []MemberOp, error) {
		nd, mops, err := applyGroupPatch(doc, ops, h.cfg.MaxMembers)
		if err != nil {
			return nil, nil, err
		}
		attrs, err := normalizeGroup(nd)
		return attrs, mops, err
	}, false)
}

// updateGroup applies a change to a group, then recomputes the roles of
// the users whose membership (or whose group's name) changed.
func (h *Handler) updateGroup(w http.ResponseWriter, r *http.Request, change func(doc map[string]any) (map[string]any, []MemberOp, error), full bool) error {
	ctx := r.Context()
	g, changed, renamed, err := h.storeGroupChange(r, change)
	if err != nil {
		return err
	}
	if renamed {
		// Every member's roles may depend on the group's name.
		all, err := h.allMembers(ctx, g)
		if err != nil {
			return err
		}
		changed = dedupe(append(changed, all...))
	}
	if err := h.afterGroupWrite(ctx, from(r).org, g, changed, false); err != nil {
		return err
	}
	if !full {
		// PATCH answers 204 (RFC 7644 §3.5.2), sparing a member list that
		// may be large.
		w.Header().Set("ETag", etag(g.Version))
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return h.writeGroup(ctx, w, http.StatusOK, g, nil, nil)
}

// storeGroupChange stores a change to the group named by the request
// path. The store applies member changes as deltas, and the write is a
// compare-and-set on the version, so that a member change never writes
// back a displayName or externalId that a concurrent PATCH has just
// changed. A client that sent If-Match gets 412 when the version moved;
// any other is served by re-reading and re-applying the change (see
// maxUpdateAttempts). It returns the stored group, the users whose
// membership changed, and whether the group was renamed.
func (h *Handler) storeGroupChange(r *http.Request, change func(doc map[string]any) (map[string]any, []MemberOp, error)) (*Group, []string, bool, error) {
	ctx, rc := r.Context(), from(r)
	id := r.PathValue("id")
	unlock, err := h.locks.lock(ctx, groupKey(rc.org.ID, id))
	if err != nil {
		return nil, nil, false, err
	}
	defer unlock()
	for attempt := 1; ; attempt++ {
		old, err := h.cfg.Store.GetGroupSCIM(ctx, rc.org.ID, id)
		if err != nil {
			return nil, nil, false, err
		}
		want, err := checkIfMatch(r, old.Version)
		if err != nil {
			return nil, nil, false, err
		}
		doc := map[string]any{"displayName": old.DisplayName}
		if old.ExternalID != "" {
			doc["externalId"] = old.ExternalID
		}
		attrs, mops, err := change(doc)
		if err != nil {
			return nil, nil, false, err
		}
		g := &Group{OrgID: old.OrgID, ID: old.ID, Created: old.Created, Version: old.Version}
		applyGroupAttrs(g, attrs)
		now := h.now().UTC().Truncate(time.Microsecond)
		if !now.After(old.LastModified) {
			now = old.LastModified.Add(time.Microsecond)
		}
		g.LastModified = now
		changed, err := h.cfg.Store.UpdateGroupSCIM(ctx, g, old.Version, mops)
		if err == nil {
			return g, changed, g.DisplayName != old.DisplayName, nil
		}
		if !errors.Is(err, ErrVersionMismatch) || want != 0 {
			return nil, nil, false, err
		}
		if attempt == maxUpdateAttempts {
			return nil, nil, false, busy(err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return nil, nil, false, err
		}
	}
}

func (h *Handler) allMembers(ctx context.Context, g *Group) ([]string, error) {
	var all []string
	after := ""
	for {
		ids, err := h.cfg.Store.ListGroupMembersSCIM(ctx, g.OrgID, g.ID, after, memberPage)
		if err != nil {
			return nil, err
		}
		all = append(all, ids...)
		if len(ids) < memberPage {
			return all, nil
		}
		after = ids[len(ids)-1]
	}
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	ctx, rc := r.Context(), from(r)
	g, err := h.cfg.Store.GetGroupSCIM(ctx, rc.org.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	want, err := checkIfMatch(r, g.Version)
	if err != nil {
		return err
	}
	// The version If-Match named is checked again in the delete itself.
	members, err := h.cfg.Store.DeleteGroupSCIM(ctx, rc.org.ID, g.ID, want)
	if err != nil {
		return err
	}
	if err := h.afterGroupWrite(ctx, rc.org, g, members, true); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) afterGroupWrite(ctx context.Context, org *sso.Organization, g *Group, changed []string, deleted bool) error {
	details := map[string]string{"members_changed": itoa(len(changed))}
	if deleted {
		details["deleted"] = "true"
	}
	h.record(ctx, EventGroupChanged, "group", g.ID, details)
	if err := h.recomputeRoles(ctx, org, changed); err != nil {
		return err
	}
	if h.cfg.Hooks.GroupChanged != nil {
		gc := *g
		h.cfg.Hooks.GroupChanged(ctx, &gc, slices.Clone(changed), deleted)
	}
	return nil
}
