package oidc

import (
	"bytes"
	"encoding/json"

	"github.com/ssokit/ssokit/internal/protoconfig"
	"github.com/ssokit/ssokit/sso"
)

// Protocol is the name of OpenID Connect connections.
const Protocol sso.Protocol = "oidc"

// configVersion is the schema version of ConnectionConfig documents.
const configVersion = 1

func init() { protoconfig.Register[ConnectionConfig](Protocol, configVersion) }

// ConnectionConfig is the IdP side of an OIDC connection: the document
// stored as the connection's Config (see sso.RegisterProtocol).
type ConnectionConfig struct {
	// Issuer is the exact issuer identifier. With discovery, the discovered
	// issuer must equal it.
	Issuer string
	// Manual endpoints for IdPs without discovery. When AuthURL is empty the
	// endpoints come from discovery.
	AuthURL     string
	TokenURL    string
	UserInfoURL string
	JWKSURL     string
	// ClientID is the client registered at the IdP.
	ClientID string
	// ClientSecretSealed is the client secret sealed with a Sealer; it is
	// never stored in clear.
	ClientSecretSealed string
	// AuthMethod is the token endpoint authentication: "client_secret_basic"
	// (default), "client_secret_post", "private_key_jwt" or "none".
	AuthMethod string
	// PrivateKeySealed is the PEM private key for private_key_jwt, sealed;
	// PrivateKeyID is its key ID.
	PrivateKeySealed string
	PrivateKeyID     string
	// Scopes requested; empty means "openid email profile".
	Scopes []string
	// UserInfo is "auto" (default), "always" or "never".
	UserInfo string
	// SigningAlgs restricts the ID token algorithms; empty means the IdP's
	// advertised asymmetric algorithms (never "none" or HMAC).
	SigningAlgs []string
	// AllowedTenantIDs, for multi-tenant issuers such as
	// https://login.microsoftonline.com/{tenantid}/v2.0, lists the accepted
	// tenant IDs.
	AllowedTenantIDs []string
	// HostedDomains, for Google (issuer https://accounts.google.com, which
	// every Google account shares), lists the Google Workspace domains
	// whose accounts may sign in: the ID token's hd claim must be one of
	// them. Empty admits any Workspace account. A personal Google account
	// carries no hd and is refused either way: it may hold a work address
	// its owner no longer controls.
	HostedDomains []string
	// MFAACRValues are the acr_values sent when a login requires MFA
	// (sso.StartOptions.RequireMFA); an acr among them counts as MFA. Empty
	// means DefaultMFAACRValues.
	MFAACRValues []string
	// EndSessionURL is the IdP's end_session_endpoint for manual endpoints
	// (with discovery it comes from the discovery document).
	EndSessionURL string
	// PostLogoutRedirectURI is where the IdP sends the browser after an
	// RP-initiated logout; it must be registered at the IdP. Empty means
	// the IdP's own signed-out page.
	PostLogoutRedirectURI string
	// RedirectURI, when set, replaces the connection's default redirect
	// URI (RP.RedirectURI) in the authorization and token requests: the one
	// already registered at the IdP, e.g. when moving from another vendor.
	// The host routes its path to the RP's handler.
	RedirectURI string
	// GroupOverage, when GroupOverageGraph, resolves the groups a
	// Microsoft Entra ID token leaves out (_claim_names groups, or
	// hasgroups) with Microsoft Graph getMemberObjects and an app token
	// from client credentials; a failed lookup refuses the login
	// (ReasonGroupsUnavailable). Empty keeps the token's groups.
	GroupOverage string
	// GraphURL is the Graph endpoint; empty means DefaultGraphURL.
	GraphURL string
}

// IdPIssuer implements sso.ProtocolConfig: the OpenID provider's issuer.
func (c *ConnectionConfig) IdPIssuer() string { return c.Issuer }

// Version implements sso.ProtocolConfig.
func (c *ConnectionConfig) Version() int { return configVersion }

// ConfigOf returns c's OIDC configuration, or nil when c is not an OIDC
// connection or has none yet.
func ConfigOf(c *sso.Connection) *ConnectionConfig { return protoconfig.Of[*ConnectionConfig](c) }

// ConnectionInput is what an admin supplies to configure an OIDC
// connection: the issuer (with discovery) or the manual endpoints, and the
// client's credentials.
type ConnectionInput struct {
	Issuer       string   `json:"issuer,omitempty"`
	ClientID     string   `json:"client_id,omitempty"`
	ClientSecret string   `json:"client_secret,omitempty"`
	AuthMethod   string   `json:"auth_method,omitempty"`
	AuthURL      string   `json:"authorization_endpoint,omitempty"`
	TokenURL     string   `json:"token_endpoint,omitempty"`
	UserInfoURL  string   `json:"userinfo_endpoint,omitempty"`
	JWKSURL      string   `json:"jwks_uri,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
	// PrivateKeyPEM is the client's private key for private_key_jwt.
	PrivateKeyPEM string `json:"private_key_pem,omitempty"`
	// MFAACRValues are the acr_values that ask this IdP for MFA; empty
	// means DefaultMFAACRValues.
	MFAACRValues []string `json:"mfa_acr_values,omitempty"`
	// HostedDomains sets ConnectionConfig.HostedDomains (Google only).
	HostedDomains []string `json:"hosted_domains,omitempty"`
	// EndSessionURL is the end_session_endpoint of manual endpoints.
	EndSessionURL string `json:"end_session_endpoint,omitempty"`
	// PostLogoutRedirectURI is where the IdP returns the browser after an
	// RP-initiated logout (https, or http on a loopback host).
	PostLogoutRedirectURI string `json:"post_logout_redirect_uri,omitempty"`
	// RedirectURI replaces the default redirect URI (https, or http on a
	// loopback host; unique among the organization's connections).
	RedirectURI string `json:"redirect_uri,omitempty"`
	// GroupOverage is "graph" to resolve Entra group overage with
	// Microsoft Graph, or empty.
	GroupOverage string `json:"group_overage,omitempty"`
	// GraphURL is the Graph endpoint of a national cloud; empty means
	// DefaultGraphURL.
	GraphURL string `json:"graph_url,omitempty"`
}

// ConfigView is the admin API's view of an OIDC connection's IdP side;
// sealed secrets are never included.
type ConfigView struct {
	Issuer           string   `json:"issuer"`
	AuthURL          string   `json:"authorization_endpoint,omitempty"`
	TokenURL         string   `json:"token_endpoint,omitempty"`
	UserInfoURL      string   `json:"userinfo_endpoint,omitempty"`
	JWKSURL          string   `json:"jwks_uri,omitempty"`
	ClientID         string   `json:"client_id"`
	ClientSecretSet  bool     `json:"client_secret_set"`
	AuthMethod       string   `json:"auth_method,omitempty"`
	Scopes           []string `json:"scopes,omitempty"`
	AllowedTenantIDs []string `json:"allowed_tenant_ids,omitempty"`
	HostedDomains    []string `json:"hosted_domains,omitempty"`
	MFAACRValues     []string `json:"mfa_acr_values,omitempty"`
	EndSessionURL    string   `json:"end_session_endpoint,omitempty"`
	// PostLogoutRedirectURI is the configured post_logout_redirect_uri.
	PostLogoutRedirectURI string `json:"post_logout_redirect_uri,omitempty"`
	// RedirectURI is the configured redirect URI replacing the default.
	RedirectURI string `json:"redirect_uri,omitempty"`
	// GroupOverage and GraphURL are the group overage settings.
	GroupOverage string `json:"group_overage,omitempty"`
	GraphURL     string `json:"graph_url,omitempty"`
	// Warnings name settings that weaken security, each with the fix.
	Warnings []string `json:"warnings,omitempty"`
}

// ConfigView implements sso.ConnectionConfigurer; nil when c has no OIDC
// configuration.
func (rp *RP) ConfigView(c *sso.Connection) any {
	o := ConfigOf(c)
	if o == nil {
		return nil
	}
	return &ConfigView{Issuer: o.Issuer, AuthURL: o.AuthURL, TokenURL: o.TokenURL, UserInfoURL: o.UserInfoURL,
		JWKSURL: o.JWKSURL, ClientID: o.ClientID, ClientSecretSet: o.ClientSecretSealed != "", AuthMethod: o.AuthMethod,
		Scopes: o.Scopes, AllowedTenantIDs: o.AllowedTenantIDs, HostedDomains: o.HostedDomains, MFAACRValues: o.MFAACRValues,
		EndSessionURL:         o.EndSessionURL,
		PostLogoutRedirectURI: o.PostLogoutRedirectURI, RedirectURI: o.RedirectURI,
		GroupOverage: o.GroupOverage, GraphURL: o.GraphURL, Warnings: configWarnings(o)}
}

// SameConfig reports whether a and b are the same OIDC setup of c: equal
// once their sealed client secret and private key are opened (sealing
// uses a fresh nonce each time). An import uses it to tell an unchanged
// connection from an updated one.
func (rp *RP) SameConfig(c *sso.Connection, a, b sso.ProtocolConfig) bool {
	x, okA := a.(*ConnectionConfig)
	y, okB := b.(*ConnectionConfig)
	if !okA || !okB || x == nil || y == nil {
		return a == nil && b == nil
	}
	open := func(sealed string, ad []byte) (string, bool) {
		if sealed == "" {
			return "", true
		}
		p, err := rp.cfg.Sealer.Open(sealed, ad)
		return string(p), err == nil
	}
	sx, ok1 := open(x.ClientSecretSealed, []byte(c.ID))
	sy, ok2 := open(y.ClientSecretSealed, []byte(c.ID))
	kx, ok3 := open(x.PrivateKeySealed, privateKeyAD(c.ID))
	ky, ok4 := open(y.PrivateKeySealed, privateKeyAD(c.ID))
	if !ok1 || !ok2 || !ok3 || !ok4 || sx != sy || kx != ky {
		return false
	}
	cx, cy := *x, *y
	cx.ClientSecretSealed, cy.ClientSecretSealed = "", ""
	cx.PrivateKeySealed, cy.PrivateKeySealed = "", ""
	jx, errX := json.Marshal(&cx)
	jy, errY := json.Marshal(&cy)
	return errX == nil && errY == nil && bytes.Equal(jx, jy)
}
