package ssotest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// SCIM schema URNs used in requests.
const (
	SCIMUserSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	SCIMGroupSchema      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SCIMEnterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SCIMPatchOpSchema    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SCIMListSchema       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
)

// SCIMDialect selects whose request shapes a [SCIMClient] replays.
type SCIMDialect int

// The SCIM dialects.
const (
	// Okta sends lower-case ops, JSON booleans, path-less "replace" with a
	// value map to (de)activate, PUT for profile updates, and removes group
	// members with a value filter path (Okta "SCIM 2.0 Protocol Reference").
	Okta SCIMDialect = iota + 1
	// Entra (Microsoft Entra ID) sends capitalised ops ("Replace", "Add",
	// "Remove"), booleans as the strings "True"/"False", filtered value
	// paths such as emails[type eq "work"].value, the manager as a bare
	// string, and members add/remove with value lists (Microsoft "Known
	// issues and resolutions with SCIM 2.0 protocol compliance").
	Entra
)

// String returns "okta" or "entra".
func (d SCIMDialect) String() string {
	switch d {
	case Okta:
		return "okta"
	case Entra:
		return "entra"
	}
	return fmt.Sprintf("SCIMDialect(%d)", int(d))
}

// SCIMClient replays an IdP's provisioning requests against a SCIM 2.0
// service provider. It is safe for concurrent use.
type SCIMClient struct {
	// BaseURL is the SCIM base, for example "https://app.test/scim/v2".
	BaseURL string
	// Token is sent as "Authorization: Bearer <Token>".
	Token string
	// Dialect selects the request shapes. Zero means Okta.
	Dialect SCIMDialect
	// HTTPClient sends the requests. Zero means http.DefaultClient.
	HTTPClient *http.Client
}

// NewSCIMClient returns a client for baseURL authenticating with token.
func NewSCIMClient(baseURL, token string, d SCIMDialect) *SCIMClient {
	return &SCIMClient{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, Dialect: d}
}

// SCIMUser is the profile a client provisions.
type SCIMUser struct {
	// UserName is the SCIM userName (usually the email). Required.
	UserName string
	// Email is the work email. Zero means UserName.
	Email string
	// GivenName and FamilyName are sent as name.givenName/familyName.
	GivenName, FamilyName string
	// ExternalID is the IdP's ID for the user. Zero means one derived from
	// UserName.
	ExternalID string
}

// SCIMMember is a group member reference.
type SCIMMember struct {
	// ID is the member's SCIM id at the service provider.
	ID string
	// Display is the member's display value (Okta sends the userName).
	Display string
}

// SCIMResponse is a recorded exchange.
type SCIMResponse struct {
	// Method and Path are those of the request (Path relative to BaseURL,
	// with the query).
	Method, Path string
	// Request is the JSON body sent, if any.
	Request []byte
	// StatusCode, Header and Body are those of the response.
	StatusCode int
	// Header is the response header.
	Header http.Header
	// Body is the response body (at most 8 MiB).
	Body []byte
}

// JSON decodes the response body into a map.
func (r *SCIMResponse) JSON() (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		return nil, fmt.Errorf("ssotest: scim response is not a JSON object: %w", err)
	}
	return m, nil
}

// ID returns the "id" of the resource in the body, or of the first
// resource of a list response; "" when there is none.
func (r *SCIMResponse) ID() string {
	m, err := r.JSON()
	if err != nil {
		return ""
	}
	if id, ok := m["id"].(string); ok {
		return id
	}
	if res, ok := m["Resources"].([]any); ok && len(res) > 0 {
		if first, ok := res[0].(map[string]any); ok {
			if id, ok := first["id"].(string); ok {
				return id
			}
		}
	}
	return ""
}

// TotalResults returns totalResults of a list response, or -1.
func (r *SCIMResponse) TotalResults() int {
	m, err := r.JSON()
	if err != nil {
		return -1
	}
	if n, ok := m["totalResults"].(float64); ok {
		return int(n)
	}
	return -1
}

func (c *SCIMClient) dialect() SCIMDialect {
	if c.Dialect == Entra {
		return Entra
	}
	return Okta
}

// op returns the operation name in the dialect's case.
func (c *SCIMClient) op(name string) string {
	if c.dialect() == Entra {
		return strings.ToUpper(name[:1]) + name[1:]
	}
	return name
}

// Do sends one request; body, if not nil, is JSON-encoded. A non-2xx status
// is not an error: inspect StatusCode.
func (c *SCIMClient) Do(ctx context.Context, method, path string, body any) (*SCIMResponse, error) {
	var reqBody []byte
	if body != nil {
		var err error
		if reqBody, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("ssotest: scim: encode body: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, bytes.NewReader(reqBody))
	if err != nil {
		return nil, fmt.Errorf("ssotest: scim: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/scim+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	req.Header.Set("User-Agent", "ssotest-scim-replay/"+c.dialect().String())
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ssotest: scim: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("ssotest: scim: read response: %w", err)
	}
	return &SCIMResponse{Method: method, Path: path, Request: reqBody, StatusCode: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// FindUser sends GET /Users?filter=userName eq "<userName>" (Okta adds
// startIndex=1&count=100).
func (c *SCIMClient) FindUser(ctx context.Context, userName string) (*SCIMResponse, error) {
	q := "filter=" + url.QueryEscape(`userName eq "`+scimQuote(userName)+`"`)
	if c.dialect() == Okta {
		q += "&startIndex=1&count=100"
	}
	return c.Do(ctx, http.MethodGet, "/Users?"+q, nil)
}

// scimQuote escapes a string for a SCIM filter literal.
func scimQuote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

func (u SCIMUser) email() string {
	if u.Email != "" {
		return u.Email
	}
	return u.UserName
}

func (u SCIMUser) externalID() string {
	if u.ExternalID != "" {
		return u.ExternalID
	}
	return "ext-" + strings.NewReplacer("@", "-at-", ".", "-").Replace(strings.ToLower(u.UserName))
}

// userBody is the resource body the dialect sends on create (and Okta on
// PUT).
func (c *SCIMClient) userBody(u SCIMUser, active bool) map[string]any {
	email := []map[string]any{{"primary": true, "value": u.email(), "type": "work"}}
	if c.dialect() == Entra {
		return map[string]any{
			"schemas":    []string{SCIMUserSchema, SCIMEnterpriseSchema},
			"externalId": u.externalID(),
			"userName":   u.UserName,
			"active":     active,
			"emails":     email,
			"meta":       map[string]any{"resourceType": "User"},
			"name": map[string]any{
				"formatted":  strings.TrimSpace(u.GivenName + " " + u.FamilyName),
				"familyName": u.FamilyName,
				"givenName":  u.GivenName,
			},
			"roles": []any{},
		}
	}
	return map[string]any{
		"schemas":     []string{SCIMUserSchema},
		"userName":    u.UserName,
		"name":        map[string]any{"givenName": u.GivenName, "familyName": u.FamilyName},
		"emails":      email,
		"displayName": strings.TrimSpace(u.GivenName + " " + u.FamilyName),
		"locale":      "en-US",
		"externalId":  u.externalID(),
		"groups":      []any{},
		"active":      active,
	}
}

// ErrSCIMUserExists reports that CreateUser found the user already
// provisioned and did not POST.
var ErrSCIMUserExists = errors.New("ssotest: scim user already exists")

// CreateUser provisions u the way the dialect does: first
// GET /Users?filter=userName eq "...", then, if no user matched,
// POST /Users. When a user matched it returns the lookup response and
// [ErrSCIMUserExists].
func (c *SCIMClient) CreateUser(ctx context.Context, u SCIMUser) (*SCIMResponse, error) {
	if u.UserName == "" {
		return nil, fmt.Errorf("ssotest: scim: user without userName")
	}
	found, err := c.FindUser(ctx, u.UserName)
	if err != nil {
		return nil, err
	}
	if found.StatusCode == http.StatusOK && found.TotalResults() > 0 {
		return found, ErrSCIMUserExists
	}
	return c.Do(ctx, http.MethodPost, "/Users", c.userBody(u, true))
}

func patch(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{SCIMPatchOpSchema}, "Operations": ops}
}

// UpdateUser sends a profile update: Okta replaces the whole resource with
// PUT /Users/{id}; Entra PATCHes single attributes with "Replace" ops and
// paths such as emails[type eq "work"].value and name.familyName.
func (c *SCIMClient) UpdateUser(ctx context.Context, id string, u SCIMUser) (*SCIMResponse, error) {
	if c.dialect() == Okta {
		body := c.userBody(u, true)
		body["id"] = id
		delete(body, "groups")
		return c.Do(ctx, http.MethodPut, "/Users/"+url.PathEscape(id), body)
	}
	return c.Do(ctx, http.MethodPatch, "/Users/"+url.PathEscape(id), patch(
		map[string]any{"op": "Replace", "path": `emails[type eq "work"].value`, "value": u.email()},
		map[string]any{"op": "Replace", "path": "name.givenName", "value": u.GivenName},
		map[string]any{"op": "Replace", "path": "name.familyName", "value": u.FamilyName},
		map[string]any{"op": "Replace", "path": "userName", "value": u.UserName},
	))
}

// ReplaceAttributes sends a path-less replace whose value maps attribute
// names to values (for example {"displayName": "A", "name.givenName": "B"}),
// with the dialect's op case.
func (c *SCIMClient) ReplaceAttributes(ctx context.Context, id string, values map[string]any) (*SCIMResponse, error) {
	return c.Do(ctx, http.MethodPatch, "/Users/"+url.PathEscape(id), patch(map[string]any{"op": c.op("replace"), "value": values}))
}

// SetActive (de)activates a user: Okta sends
// {"op":"replace","value":{"active":false}}, Entra sends
// {"op":"Replace","path":"active","value":"False"}.
func (c *SCIMClient) SetActive(ctx context.Context, id string, active bool) (*SCIMResponse, error) {
	var op map[string]any
	if c.dialect() == Entra {
		v := "False"
		if active {
			v = "True"
		}
		op = map[string]any{"op": "Replace", "path": "active", "value": v}
	} else {
		op = map[string]any{"op": "replace", "value": map[string]any{"active": active}}
	}
	return c.Do(ctx, http.MethodPatch, "/Users/"+url.PathEscape(id), patch(op))
}

// DeactivateUser is SetActive(ctx, id, false).
func (c *SCIMClient) DeactivateUser(ctx context.Context, id string) (*SCIMResponse, error) {
	return c.SetActive(ctx, id, false)
}

// SetManager sets the enterprise manager the Entra way: an "Add" op whose
// value is the manager's id as a bare string (Okta uses the same shape with
// a lower-case op).
func (c *SCIMClient) SetManager(ctx context.Context, id, managerID string) (*SCIMResponse, error) {
	return c.Do(ctx, http.MethodPatch, "/Users/"+url.PathEscape(id), patch(map[string]any{
		"op": c.op("add"), "path": SCIMEnterpriseSchema + ":manager", "value": managerID,
	}))
}

// DeleteUser sends DELETE /Users/{id}.
func (c *SCIMClient) DeleteUser(ctx context.Context, id string) (*SCIMResponse, error) {
	return c.Do(ctx, http.MethodDelete, "/Users/"+url.PathEscape(id), nil)
}

// CreateGroup creates a group: Okta POSTs {displayName, members: []};
// Entra first looks the group up by displayName (excluding members), then
// POSTs {externalId, displayName, meta}.
func (c *SCIMClient) CreateGroup(ctx context.Context, displayName string) (*SCIMResponse, error) {
	if c.dialect() == Entra {
		q := "filter=" + url.QueryEscape(`displayName eq "`+scimQuote(displayName)+`"`) + "&excludedAttributes=members"
		if _, err := c.Do(ctx, http.MethodGet, "/Groups?"+q, nil); err != nil {
			return nil, err
		}
		return c.Do(ctx, http.MethodPost, "/Groups", map[string]any{
			"schemas":     []string{SCIMGroupSchema},
			"externalId":  "ext-" + strings.ToLower(strings.ReplaceAll(displayName, " ", "-")),
			"displayName": displayName,
			"meta":        map[string]any{"resourceType": "Group"},
		})
	}
	return c.Do(ctx, http.MethodPost, "/Groups", map[string]any{
		"schemas":     []string{SCIMGroupSchema},
		"displayName": displayName,
		"members":     []any{},
	})
}

// RenameGroup changes a group's displayName: Okta with a path-less replace
// {"id","displayName"}, Entra with a "Replace" of path displayName.
func (c *SCIMClient) RenameGroup(ctx context.Context, id, displayName string) (*SCIMResponse, error) {
	var op map[string]any
	if c.dialect() == Entra {
		op = map[string]any{"op": "Replace", "path": "displayName", "value": displayName}
	} else {
		op = map[string]any{"op": "replace", "value": map[string]any{"id": id, "displayName": displayName}}
	}
	return c.Do(ctx, http.MethodPatch, "/Groups/"+url.PathEscape(id), patch(op))
}

// AddGroupMembers adds members with an "add"/"Add" op of path members.
func (c *SCIMClient) AddGroupMembers(ctx context.Context, groupID string, members ...SCIMMember) (*SCIMResponse, error) {
	vals := make([]map[string]any, 0, len(members))
	for _, m := range members {
		v := map[string]any{"value": m.ID}
		if c.dialect() == Okta && m.Display != "" {
			v["display"] = m.Display
		}
		vals = append(vals, v)
	}
	return c.Do(ctx, http.MethodPatch, "/Groups/"+url.PathEscape(groupID), patch(map[string]any{"op": c.op("add"), "path": "members", "value": vals}))
}

// RemoveGroupMembers removes members: Okta with one op per member and a
// path members[value eq "id"], Entra with one "Remove" op of path members
// and a value list.
func (c *SCIMClient) RemoveGroupMembers(ctx context.Context, groupID string, memberIDs ...string) (*SCIMResponse, error) {
	var ops []map[string]any
	if c.dialect() == Entra {
		vals := make([]map[string]any, 0, len(memberIDs))
		for _, id := range memberIDs {
			vals = append(vals, map[string]any{"value": id})
		}
		ops = append(ops, map[string]any{"op": "Remove", "path": "members", "value": vals})
	} else {
		for _, id := range memberIDs {
			ops = append(ops, map[string]any{"op": "remove", "path": `members[value eq "` + scimQuote(id) + `"]`})
		}
	}
	return c.Do(ctx, http.MethodPatch, "/Groups/"+url.PathEscape(groupID), patch(ops...))
}
