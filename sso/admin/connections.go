package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/health"
	"github.com/ssokit/ssokit/sso/login"
)

// ConnectionView is the JSON form of a connection. Sealed secrets are never
// included.
type ConnectionView struct {
	ID          string               `json:"id"`
	Protocol    sso.Protocol         `json:"protocol"`
	Status      sso.ConnectionStatus `json:"status"`
	DisplayName string               `json:"display_name"`
	// Config is the protocol's view of the IdP side (for example
	// saml.ConfigView); in JSON it appears under the protocol's name
	// ("saml", "oidc", ...).
	Config     any             `json:"-"`
	Mapping    MappingView     `json:"attribute_mapping"`
	GroupRoles []GroupRoleView `json:"group_roles"`
	LastTest   *TestView       `json:"last_test,omitempty"`
	LastTestOK *time.Time      `json:"last_test_ok,omitempty"`
	SP         *sso.SPDetails  `json:"sp,omitempty"`
	IdP        *sso.IdPDetails `json:"idp,omitempty"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// MarshalJSON writes v with its protocol configuration under the
// protocol's name.
func (v *ConnectionView) MarshalJSON() ([]byte, error) {
	type plain ConnectionView
	b, err := json.Marshal((*plain)(v))
	if err != nil || v.Config == nil || v.Protocol == "" {
		return b, err
	}
	cfg, err := json.Marshal(v.Config)
	if err != nil {
		return nil, err
	}
	key, _ := json.Marshal(string(v.Protocol))
	out := append(b[:len(b)-1:len(b)-1], ',')
	out = append(append(append(out, key...), ':'), cfg...)
	return append(out, '}'), nil
}

// MappingView is the attribute mapping; empty fields use the protocol's
// defaults.
type MappingView struct {
	Email       string `json:"email"`
	GivenName   string `json:"given_name"`
	FamilyName  string `json:"family_name"`
	DisplayName string `json:"display_name"`
	Groups      string `json:"groups"`
}

// GroupRoleView maps one IdP group to one role.
type GroupRoleView struct {
	Group string `json:"group"`
	Role  string `json:"role"`
}

// TestView is a test login's result.
type TestView struct {
	At     time.Time `json:"at"`
	OK     bool      `json:"ok"`
	Reason string    `json:"reason,omitempty"`
	Detail string    `json:"detail"`
	Email  string    `json:"email,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (h *Handler) view(c *sso.Connection, idp *sso.IdPDetails) *ConnectionView {
	v := &ConnectionView{ID: c.ID, Protocol: c.Protocol, Status: c.Status, DisplayName: c.DisplayName,
		Mapping: MappingView{Email: c.Mapping.Email, GivenName: c.Mapping.GivenName, FamilyName: c.Mapping.FamilyName,
			DisplayName: c.Mapping.DisplayName, Groups: c.Mapping.Groups},
		GroupRoles: []GroupRoleView{}, LastTestOK: timePtr(c.LastTestOK), IdP: idp,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	for _, gr := range c.GroupRoles {
		v.GroupRoles = append(v.GroupRoles, GroupRoleView(gr))
	}
	if t := c.LastTest; t != nil {
		v.LastTest = &TestView{At: t.At, OK: t.OK, Reason: t.Reason, Detail: t.Detail}
		if t.Profile != nil {
			v.LastTest.Email = t.Profile.Email
		}
	}
	if cf := h.cfg.Configurers[c.Protocol]; cf != nil {
		v.SP = cf.SPDetails(c)
		v.Config = cf.ConfigView(c)
	}
	return v
}

// connection returns the organization's connection id, or ErrNotFound
// (recording a cross-tenant attempt when it belongs to another one).
func (h *Handler) connection(ctx context.Context, org *sso.Organization, id string) (*sso.Connection, error) {
	if id == "" || len(id) > 128 {
		return nil, fmt.Errorf("admin: connection: %w", sso.ErrNotFound)
	}
	c, err := h.cfg.Store.GetConnection(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.OrgID != org.ID {
		return nil, h.crossTenant(ctx, org, "connection", id)
	}
	return c, nil
}

func (h *Handler) listConnections(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	conns, err := h.cfg.Store.ListConnections(r.Context(), org.ID)
	if err != nil {
		return err
	}
	out := make([]*ConnectionView, 0, len(conns))
	for _, c := range conns {
		if c.OrgID == org.ID {
			out = append(out, h.view(c, nil))
		}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"connections": out})
	return nil
}

// CreateConnectionRequest is the body of POST /connections.
type CreateConnectionRequest struct {
	Protocol    sso.Protocol `json:"protocol"`
	DisplayName string       `json:"display_name"`
	// Config is the protocol's own settings object (see the protocol
	// package's ConnectionInput). Absent creates a draft without IdP
	// settings, whose SP details the admin copies into the IdP first; a
	// PATCH adds the settings later.
	Config     json.RawMessage `json:"config"`
	Mapping    *MappingView    `json:"attribute_mapping,omitempty"`
	GroupRoles []GroupRoleView `json:"group_roles,omitempty"`
}

func isXML(r *http.Request) bool {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct == "application/samlmetadata+xml" || ct == "application/xml" || ct == "text/xml"
}

func (h *Handler) createConnection(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	var req CreateConnectionRequest
	if isXML(r) {
		// Metadata upload: the body is the IdP's metadata document.
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return fmt.Errorf("%w: request body too large", sso.ErrInvalidInput)
		}
		// It configures the protocol registered as "saml" through its
		// metadata_xml setting.
		cfg, err := json.Marshal(map[string]string{"metadata_xml": string(b)})
		if err != nil {
			return fmt.Errorf("%w: metadata is not text", sso.ErrInvalidInput)
		}
		req.Protocol, req.DisplayName, req.Config = "saml", r.URL.Query().Get("display_name"), cfg
	} else if err := decode(r, &req); err != nil {
		return err
	}
	cf := h.cfg.Configurers[req.Protocol]
	if cf == nil || h.cfg.Starters[req.Protocol] == nil {
		return inputErr("protocol", "must be one of the protocols this server links (for example saml or oidc)")
	}
	if !org.Settings.Features.Allows(req.Protocol) {
		return &sso.ValidationError{Reason: "feature_disabled", Err: sso.ErrAccessDenied}
	}
	if req.DisplayName == "" {
		req.DisplayName = strings.ToUpper(string(req.Protocol)) + " connection"
	}
	if len(req.DisplayName) > 200 {
		return inputErr("display_name", "must be at most 200 bytes")
	}
	now := h.cfg.Now().UTC()
	c := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: org.ID, Protocol: req.Protocol, Status: sso.ConnectionDraft,
		DisplayName: req.DisplayName, CreatedAt: now, UpdatedAt: now}
	if err := applyMapping(c, req.Mapping, req.GroupRoles); err != nil {
		return err
	}
	if len(ownerGroups(c.GroupRoles)) > 0 {
		if err := h.requireOwnerGrant(r.Context(), org); err != nil {
			return err
		}
	}
	var idp *sso.IdPDetails
	if len(req.Config) > 0 && string(req.Config) != "null" {
		var err error
		if idp, err = cf.ConfigureConnection(r.Context(), c, req.Config); err != nil {
			return configureErr(err, req.Config)
		}
	}
	if c.OrgID != org.ID || c.Protocol != req.Protocol || c.Status != sso.ConnectionDraft {
		return fmt.Errorf("admin: configurer changed the connection's identity")
	}
	evs := h.weakened(c, nil, &sso.Event{OrgID: org.ID, Type: EventConnectionCreated, Target: sso.Target{Type: "connection", ID: c.ID},
		Details: map[string]string{"protocol": string(c.Protocol)}})
	if err := h.change(r.Context(), func(s Store) error { return s.CreateConnection(r.Context(), c) }, evs...); err != nil {
		return err
	}
	httpjson.Write(w, http.StatusCreated, h.view(c, idp))
	return nil
}

func applyMapping(c *sso.Connection, m *MappingView, grs []GroupRoleView) error {
	if m != nil {
		for _, f := range []string{m.Email, m.GivenName, m.FamilyName, m.DisplayName, m.Groups} {
			if len(f) > 256 {
				return inputErr("attribute_mapping", "attribute names must be at most 256 bytes")
			}
		}
		c.Mapping = sso.AttributeMapping{Email: m.Email, GivenName: m.GivenName, FamilyName: m.FamilyName,
			DisplayName: m.DisplayName, Groups: m.Groups}
	}
	if grs != nil {
		if len(grs) > 500 {
			return inputErr("group_roles", "at most 500 mappings")
		}
		c.GroupRoles = make([]sso.GroupRole, 0, len(grs))
		for _, gr := range grs {
			if gr.Group == "" || gr.Role == "" || len(gr.Group) > 256 || len(gr.Role) > 64 {
				return inputErr("group_roles", "each mapping needs a group (at most 256 bytes) and a role (at most 64 bytes)")
			}
			c.GroupRoles = append(c.GroupRoles, sso.GroupRole(gr))
		}
	}
	return nil
}

func (h *Handler) getConnection(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	c, err := h.connection(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, h.view(c, nil))
	return nil
}

// HealthReader returns the last federation health check result of a
// connection (Status health.Unknown when it was never checked).
// *health.Checker implements it.
type HealthReader interface {
	Health(ctx context.Context, c *sso.Connection) (*health.Report, error)
}

func (h *Handler) connectionHealth(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	if h.cfg.Health == nil {
		return fmt.Errorf("admin: health checks not configured: %w", sso.ErrNotFound)
	}
	c, err := h.connection(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	res, err := h.cfg.Health.Health(r.Context(), c)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, res)
	return nil
}

// UpdateConnectionRequest is the body of PATCH /connections/{id}. Absent
// fields are left unchanged. A new Config returns an active connection to
// draft: it must be tested and activated again. Config is the protocol's
// whole input: SAML keeps the optional settings it leaves out, while an
// OIDC input that leaves out an optional setting (redirect_uri,
// mfa_acr_values, group_overage, hosted_domains, ...) clears it, so send
// every OIDC setting in use (GET /connections/{id} lists them).
type UpdateConnectionRequest struct {
	DisplayName *string         `json:"display_name,omitempty"`
	Config      json.RawMessage `json:"config,omitempty"`
	Mapping     *MappingView    `json:"attribute_mapping,omitempty"`
	GroupRoles  []GroupRoleView `json:"group_roles,omitempty"`
}

func (h *Handler) updateConnection(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	c, err := h.connection(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	var req UpdateConnectionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.DisplayName != nil && (*req.DisplayName == "" || len(*req.DisplayName) > 200) {
		return inputErr("display_name", "must be 1-200 bytes")
	}
	mayOwn := false
	if req.GroupRoles != nil {
		if mayOwn, err = h.mayGrantOwner(r.Context(), org); err != nil {
			return err
		}
	}
	var idp *sso.IdPDetails
	c, err = h.saveConn(r.Context(), org, c, func(c *sso.Connection) ([]*sso.Event, bool, error) {
		before, owners := c.Config, ownerGroups(c.GroupRoles)
		var err error
		if idp, err = h.applyConnUpdate(r.Context(), org, c, &req); err != nil {
			return nil, false, err
		}
		if !mayOwn && !slices.Equal(owners, ownerGroups(c.GroupRoles)) {
			return nil, false, errOwnerRole
		}
		evs := []*sso.Event{{OrgID: org.ID, Type: EventConnectionUpdated, Target: sso.Target{Type: "connection", ID: c.ID},
			Details: map[string]string{"config_changed": strconv.FormatBool(req.Config != nil)}}}
		if len(req.Config) > 0 {
			evs = h.weakened(c, before, evs...)
		}
		return evs, true, nil
	})
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, h.view(c, idp))
	return nil
}

// applyConnUpdate applies the PATCH request req to c, of org, and returns
// the IdP's details when req carries a new configuration.
func (h *Handler) applyConnUpdate(ctx context.Context, org *sso.Organization, c *sso.Connection, req *UpdateConnectionRequest) (*sso.IdPDetails, error) {
	if req.DisplayName != nil {
		c.DisplayName = *req.DisplayName
	}
	if err := applyMapping(c, req.Mapping, req.GroupRoles); err != nil {
		return nil, err
	}
	if len(req.Config) == 0 {
		return nil, nil
	}
	if c.Status == sso.ConnectionActive {
		if err := sso.CheckLastEnforced(ctx, h.cfg.Store, org, c.ID); err != nil {
			return nil, err
		}
	}
	id, orgID, proto := c.ID, c.OrgID, c.Protocol
	idp, err := h.cfg.Configurers[c.Protocol].ConfigureConnection(ctx, c, req.Config)
	if err != nil {
		return nil, configureErr(err, req.Config)
	}
	if c.ID != id || c.OrgID != orgID || c.Protocol != proto {
		return nil, fmt.Errorf("admin: configurer changed the connection's identity")
	}
	// New IdP trust must be proven again.
	if c.Status == sso.ConnectionActive {
		c.Status = sso.ConnectionDraft
	}
	c.LastTestOK = time.Time{}
	c.LastTest = nil
	return idp, nil
}

func (h *Handler) deleteConnection(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	c, err := h.connection(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	if c.Status == sso.ConnectionActive {
		if err := sso.CheckLastEnforced(r.Context(), h.cfg.Store, org, c.ID); err != nil {
			return err
		}
	}
	if err := h.change(r.Context(), func(s Store) error { return s.DeleteConnection(r.Context(), c.ID) },
		&sso.Event{OrgID: org.ID, Type: EventConnectionDeleted, Target: sso.Target{Type: "connection", ID: c.ID}}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// SecurityWeakener is implemented by a ConnectionConfigurer whose
// configuration has policy switches that lower security when turned on
// (for example saml.SP: allow_idp_initiated, allow_sha1). Weakened returns
// the names of those on in after but not in before (nil: a new
// connection).
type SecurityWeakener interface {
	Weakened(before, after sso.ProtocolConfig) []string
}

// weakened returns evs and, when saving c turns on switches that lower
// its security, EventConnectionSecurityWeakened.
func (h *Handler) weakened(c *sso.Connection, before sso.ProtocolConfig, evs ...*sso.Event) []*sso.Event {
	sw, ok := h.cfg.Configurers[c.Protocol].(SecurityWeakener)
	if !ok {
		return evs
	}
	if weak := sw.Weakened(before, c.Config); len(weak) > 0 {
		evs = append(evs, &sso.Event{OrgID: c.OrgID, Type: EventConnectionSecurityWeakened, Outcome: sso.OutcomeSuccess,
			Target: sso.Target{Type: "connection", ID: c.ID}, Details: map[string]string{"weakened": strings.Join(weak, ",")}})
	}
	return evs
}

func (h *Handler) testConnection(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	c, err := h.connection(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	if !org.Settings.Features.Allows(c.Protocol) {
		return &sso.ValidationError{Reason: "feature_disabled", Err: sso.ErrAccessDenied}
	}
	if c.Config == nil {
		return &sso.ValidationError{Reason: "not_configured", Err: sso.ErrConflict}
	}
	st := h.cfg.Starters[c.Protocol]
	if st == nil {
		return fmt.Errorf("%w: no starter for %s", sso.ErrInvalidInput, c.Protocol)
	}
	opts := sso.StartOptions{Test: true, ForceAuthn: true, ReturnTo: h.cfg.TestReturnTo}
	if err := st.StartLogin(w, r, c, opts); err != nil {
		return fmt.Errorf("admin: start test login: %w", errors.Join(sso.ErrUnavailable, err))
	}
	return nil
}

func (h *Handler) activateConnection(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	c, err := h.connection(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	c, err = h.saveConn(r.Context(), org, c, func(c *sso.Connection) ([]*sso.Event, bool, error) {
		switch {
		case !org.Settings.Features.Allows(c.Protocol):
			return nil, false, &sso.ValidationError{Reason: "feature_disabled", Err: sso.ErrAccessDenied}
		case c.LastTestOK.IsZero() || c.LastTest == nil || !c.LastTest.OK:
			return nil, false, &sso.ValidationError{Reason: "not_tested", Err: sso.ErrConflict}
		case c.Status == sso.ConnectionActive:
			return nil, false, nil
		}
		c.Status = sso.ConnectionActive
		return []*sso.Event{{OrgID: org.ID, Type: EventConnectionActivated, Target: sso.Target{Type: "connection", ID: c.ID}}}, true, nil
	})
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, h.view(c, nil))
	return nil
}

func (h *Handler) disableConnection(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	c, err := h.connection(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	c, err = h.saveConn(r.Context(), org, c, func(c *sso.Connection) ([]*sso.Event, bool, error) {
		if c.Status == sso.ConnectionDisabled {
			return nil, false, nil
		}
		if c.Status == sso.ConnectionActive {
			if err := sso.CheckLastEnforced(r.Context(), h.cfg.Store, org, c.ID); err != nil {
				return nil, false, err
			}
		}
		c.Status = sso.ConnectionDisabled
		return []*sso.Event{{OrgID: org.ID, Type: EventConnectionDisabled, Target: sso.Target{Type: "connection", ID: c.ID}}}, true, nil
	})
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, h.view(c, nil))
	return nil
}

// connAttempts bounds how often saveConn applies a change to a fresh read
// when other changes keep getting there first.
const connAttempts = 4

// saveConn applies change to c, of org, as read, and saves the result with
// the events change returns only while the stored connection is still the
// one read (sso.UpdateConnectionIf). When another change landed meanwhile
// (a disable, a new certificate), it reads the connection again and
// applies change to that copy, whose checks then see the other change: a
// change is never written over a copy that undoes another. change returns
// write false when there is nothing to store. It returns the connection as
// saved, or as last read when nothing was written.
func (h *Handler) saveConn(ctx context.Context, org *sso.Organization, c *sso.Connection,
	change func(c *sso.Connection) (evs []*sso.Event, write bool, err error)) (*sso.Connection, error) {
	for range connAttempts {
		prev := c.UpdatedAt
		evs, write, err := change(c)
		if err != nil || !write {
			return c, err
		}
		c.UpdatedAt = sso.NextUpdatedAt(prev, h.cfg.Now())
		err = h.change(ctx, func(s Store) error { return sso.UpdateConnectionIf(ctx, s, c, prev) }, evs...)
		if !errors.Is(err, sso.ErrConnectionChanged) {
			return c, err
		}
		if c, err = h.connection(ctx, org, c.ID); err != nil {
			return nil, err
		}
	}
	return nil, &Refusal{Reason: "connection_changed", Err: sso.ConnectionChanged(c.ID),
		Message: "the connection kept changing while this change was being saved, so nothing was saved; reload it and try again"}
}

// RemapRequest is the body of POST /connections/{id}/remap-identities.
type RemapRequest struct {
	// FromConnectionID is the connection being replaced.
	FromConnectionID string `json:"from_connection_id"`
	// Subject says what the new IdP will assert as subject: "same" (the old
	// subject, e.g. both IdPs send the same immutable ID) or "email" (the
	// user's verified email, e.g. an email-format NameID).
	Subject string `json:"subject"`
}

func (h *Handler) remapIdentities(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	to, err := h.connection(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	var req RemapRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	from, err := h.connection(r.Context(), org, req.FromConnectionID)
	if err != nil {
		return err
	}
	if from.ID == to.ID {
		return fmt.Errorf("%w: cannot remap a connection onto itself", sso.ErrInvalidInput)
	}
	var subject func(old *sso.Identity, u *sso.User) (string, bool)
	switch req.Subject {
	case "same":
		subject = func(old *sso.Identity, _ *sso.User) (string, bool) { return old.Subject, true }
	case "email":
		subject = func(_ *sso.Identity, u *sso.User) (string, bool) { return u.Email, u.EmailVerified && u.Email != "" }
	default:
		return inputErr("subject", `must be "same" or "email"`)
	}
	n, err := login.RemapIdentities(r.Context(), h.cfg.Store, h.cfg.Auditor, org.ID, from.ID, to.ID, subject)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, map[string]int{"remapped": n})
	return nil
}
