package oidc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/ssokit/ssokit/internal/egress"
	"github.com/ssokit/ssokit/sso"
)

// Group overage resolution modes of ConnectionConfig.GroupOverage.
const (
	// GroupOverageGraph resolves the groups a Microsoft Entra ID token
	// left out with a Microsoft Graph getMemberObjects call.
	GroupOverageGraph = "graph"
)

// DefaultGraphURL is the Microsoft Graph endpoint of the global cloud.
const DefaultGraphURL = "https://graph.microsoft.com"

// Limits of a Graph group lookup.
const (
	maxGraphBytes  = 1 << 20
	maxGraphGroups = 5000
	docGraph       = "directory (Microsoft Graph)"
)

// ReasonGroupsUnavailable refuses a login whose ID token left its groups
// out (Entra group overage) when the connection resolves them through
// Microsoft Graph and that lookup failed: the login would otherwise get
// roles from an incomplete group list.
const ReasonGroupsUnavailable = "groups_unavailable"

// groupOverage reports whether an Entra ID token says its groups were
// left out: a groups entry in _claim_names (with its _claim_sources), or
// hasgroups true.
func groupOverage(c *idClaims, claims map[string]any) bool {
	if _, ok := c.ClaimNames["groups"]; ok {
		return true
	}
	return claims["hasgroups"] == true
}

// graphURL returns the connection's Graph endpoint without a trailing
// slash.
func graphURL(oc *ConnectionConfig) string {
	if oc.GraphURL != "" {
		return strings.TrimSuffix(oc.GraphURL, "/")
	}
	return DefaultGraphURL
}

// overageGroups resolves the groups an Entra ID token left out when the
// connection asks for it: an app token by client credentials at the
// IdP's token endpoint (scope {graph}/.default), then POST
// {graph}/v1.0/users/{oid}/getMemberObjects. It returns nil, nil when
// there is nothing to resolve.
func (rp *RP) overageGroups(ctx context.Context, conn *sso.Connection, m *metadata, vt *verifiedToken) ([]string, error) {
	oc := ConfigOf(conn)
	if oc.GroupOverage != GroupOverageGraph || !groupOverage(vt.id, vt.claims) {
		return nil, nil
	}
	oid, _ := vt.claims["oid"].(string)
	if oid == "" || len(oid) > 64 || strings.ContainsAny(oid, "/?#%") {
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonGroupsUnavailable, Want: "an oid claim", Got: "none",
			Err: withFix(errors.New("oidc: group overage without the user's object ID"), "the ID token lacks oid: use Entra ID v2.0 tokens with the profile scope")}
	}
	tok, err := rp.graphToken(ctx, conn, m, vt)
	if err != nil {
		return nil, err
	}
	groups, err := rp.memberObjects(ctx, graphURL(oc)+"/v1.0/users/"+url.PathEscape(oid)+"/getMemberObjects", tok)
	if err != nil {
		return nil, upstreamFailure(ReasonGroupsUnavailable, err)
	}
	return groups, nil
}

// graphToken gets an app access token for Graph by client credentials,
// authenticated like the code exchange (client secret or private_key_jwt).
func (rp *RP) graphToken(ctx context.Context, conn *sso.Connection, m *metadata, vt *verifiedToken) (string, error) {
	oc := ConfigOf(conn)
	tokenURL := m.TokenURL
	if strings.Contains(oc.Issuer, TenantPlaceholder) && vt.id.TID != "" {
		// The multi-tenant token endpoint cannot issue app tokens: use the
		// user's (allowed) tenant.
		tokenURL = strings.Replace(tokenURL, "/"+discoveryTenant+"/", "/"+url.PathEscape(vt.id.TID)+"/", 1)
	}
	cc := &clientcredentials.Config{ClientID: oc.ClientID, TokenURL: tokenURL, Scopes: []string{graphURL(oc) + "/.default"},
		AuthStyle: oauth2.AuthStyleInHeader}
	switch oc.AuthMethod {
	case "", "client_secret_basic", "client_secret_post":
		s, err := rp.cfg.Sealer.Open(oc.ClientSecretSealed, []byte(conn.ID))
		if err != nil {
			return "", fmt.Errorf("oidc: open client secret of connection %s: %w", conn.ID, err)
		}
		cc.ClientSecret = string(s)
		if oc.AuthMethod == "client_secret_post" {
			cc.AuthStyle = oauth2.AuthStyleInParams
		}
	case "private_key_jwt":
		a, err := rp.clientAssertion(conn, tokenURL)
		if err != nil {
			return "", err
		}
		cc.AuthStyle = oauth2.AuthStyleInParams
		cc.EndpointParams = url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}
	default:
		return "", fmt.Errorf("%w: oidc: group_overage needs a confidential client", sso.ErrInvalidConfig)
	}
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, rp.client))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			ie := &IdPError{Code: truncate(re.ErrorCode, 128), Description: truncate(re.ErrorDescription, 512)}
			if ie.Code == "" {
				ie.Code = fmt.Sprintf("http_%d", re.Response.StatusCode)
			}
			ve := ie.rejection(ReasonGroupsUnavailable, "an app token for the directory")
			ve.Err = withFix(ie, "grant the application the GroupMember.Read.All application permission (with admin consent) at the IdP")
			return "", ve
		}
		ue := classifyTransport(docToken, tokenURL, err)
		return "", upstreamFailure(ReasonGroupsUnavailable, ue)
	}
	return tok.AccessToken, nil
}

// memberObjects calls getMemberObjects and returns the group IDs.
func (rp *RP) memberObjects(ctx context.Context, rawURL, token string) ([]string, error) {
	if err := rp.checkRawURL(rawURL); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader([]byte(`{"securityEnabledOnly":false}`)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := rp.client.Do(req)
	if err != nil {
		if egress.Refused(err) {
			return nil, fmt.Errorf("%w: oidc: %s: %w", sso.ErrInvalidInput, redactURL(rawURL), err)
		}
		return nil, classifyTransport(docGraph, rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &UpstreamError{Kind: UpstreamStatus, Doc: docGraph, URL: redactURL(rawURL), Status: resp.StatusCode}
	}
	body, err := egress.ReadAll(resp.Body, maxGraphBytes)
	if err != nil {
		return nil, classifyTransport(docGraph, rawURL, err)
	}
	var doc struct {
		Value *[]string `json:"value"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Value == nil || len(*doc.Value) > maxGraphGroups {
		return nil, &UpstreamError{Kind: UpstreamMalformed, Doc: docGraph, URL: redactURL(rawURL),
			Want: "a JSON object with a value array of group IDs", Got: "something else", Err: err}
	}
	return *doc.Value, nil
}
