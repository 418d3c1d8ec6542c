package oidc

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/ssokit/ssokit/internal/strictjson"
	"github.com/ssokit/ssokit/sso"
)

// checkRawURL applies the egress policy to an endpoint URL from
// configuration or discovery.
func (rp *RP) checkRawURL(s string) error {
	u, err := url.Parse(strings.ReplaceAll(s, TenantPlaceholder, discoveryTenant))
	if err != nil {
		return fmt.Errorf("%w: oidc: bad URL", sso.ErrInvalidInput)
	}
	return checkURL(u, rp.cfg.AllowPrivateAddresses, rp.cfg.AllowInsecureURLs)
}

var authMethods = []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}

// ConfigureConnection implements sso.ConnectionConfigurer: it decodes input
// as a ConnectionInput and calls Configure.
func (rp *RP) ConfigureConnection(ctx context.Context, c *sso.Connection, input json.RawMessage) (*sso.IdPDetails, error) {
	var in ConnectionInput
	if err := strictjson.Decode(input, &in, "oidc config"); err != nil {
		return nil, err
	}
	return rp.Configure(ctx, c, &in)
}

// Configure validates in,
// fetches the discovery document (whose issuer must equal in.Issuer
// exactly) unless manual endpoints are given, in which case it fetches the
// JWKS once to check it, seals the client secret (associated data: the
// connection ID) or private key, and sets ConfigOf(c). c.ID must be set. An empty
// ClientSecret (or PrivateKeyPEM) keeps the previously sealed one only while
// the credential's recipient stays the same (T-O.20): a changed issuer, a
// changed manual token endpoint or a switch between discovery and manual
// endpoints drops it and requires it again. UserInfo, SigningAlgs and
// AllowedTenantIDs of an existing ConfigOf(c) are kept; an issuer holding
// TenantPlaceholder requires AllowedTenantIDs. A fault of the IdP (status,
// timeout, refused connection, malformed or oversized document, issuer
// mismatch) is a *sso.ValidationError (ReasonDiscoveryFailed,
// ReasonJWKSFailed, ReasonDiscoveryIssuerMismatch) holding an
// *UpstreamError with the upstream status or cause and a fix.
func (rp *RP) Configure(ctx context.Context, c *sso.Connection, in *ConnectionInput) (*sso.IdPDetails, error) {
	if c == nil || in == nil || c.ID == "" {
		return nil, fmt.Errorf("%w: oidc: connection ID and input are required", sso.ErrInvalidInput)
	}
	if c.Protocol != "" && c.Protocol != Protocol {
		return nil, fmt.Errorf("%w: oidc: connection protocol is %q", sso.ErrInvalidInput, c.Protocol)
	}
	prev := ConfigOf(c)
	if prev == nil {
		prev = &ConnectionConfig{}
	}
	method := in.AuthMethod
	if method == "" {
		method = "client_secret_basic"
	}
	redirectURI, hosted, err := rp.checkInput(ctx, c, in, prev, method)
	if err != nil {
		return nil, err
	}
	oc := &ConnectionConfig{
		Issuer:           in.Issuer,
		ClientID:         in.ClientID,
		AuthMethod:       method,
		Scopes:           slices.Clone(in.Scopes),
		UserInfo:         prev.UserInfo,
		SigningAlgs:      slices.Clone(prev.SigningAlgs),
		AllowedTenantIDs: slices.Clone(prev.AllowedTenantIDs),
		HostedDomains:    hosted,
		MFAACRValues:     slices.Clone(in.MFAACRValues),
		// PostLogoutRedirectURI is where the IdP sends the browser after
		// an RP-initiated logout.
		PostLogoutRedirectURI: in.PostLogoutRedirectURI,
		RedirectURI:           redirectURI,
		GroupOverage:          in.GroupOverage,
		GraphURL:              strings.TrimSuffix(in.GraphURL, "/"),
	}
	var m *metadata
	if in.AuthURL != "" {
		m = &metadata{Issuer: in.Issuer, AuthURL: in.AuthURL, TokenURL: in.TokenURL, UserInfoURL: in.UserInfoURL, JWKSURL: in.JWKSURL,
			EndSessionURL: in.EndSessionURL}
		if err := rp.checkEndpoints(m); err != nil {
			return nil, err
		}
		if _, err := rp.fetchJWKS(ctx, m.JWKSURL); err != nil {
			return nil, upstreamFailure(ReasonJWKSFailed, err)
		}
		oc.AuthURL, oc.TokenURL, oc.UserInfoURL, oc.JWKSURL = m.AuthURL, m.TokenURL, m.UserInfoURL, m.JWKSURL
		oc.EndSessionURL = m.EndSessionURL
	} else {
		var err error
		if m, err = rp.discover(ctx, in.Issuer); err != nil {
			return nil, upstreamFailure(ReasonDiscoveryFailed, err)
		}
		if len(m.CodeChallengeMethods) > 0 && !slices.Contains(m.CodeChallengeMethods, "S256") {
			return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonPKCEUnsupported, Want: "S256",
				Got: strings.Join(m.CodeChallengeMethods, " "), Err: sso.ErrInvalidInput}
		}
	}
	if err := rp.sealCredentials(c.ID, method, prev, oc, in); err != nil {
		return nil, err
	}
	c.Protocol = Protocol
	c.Config = oc
	rp.forget(c.ID)
	ep := map[string]string{"authorization_endpoint": m.AuthURL, "token_endpoint": m.TokenURL, "jwks_uri": m.JWKSURL}
	if m.UserInfoURL != "" {
		ep["userinfo_endpoint"] = m.UserInfoURL
	}
	if m.EndSessionURL != "" {
		ep["end_session_endpoint"] = m.EndSessionURL
	}
	return &sso.IdPDetails{Issuer: m.Issuer, Endpoints: ep}, nil
}

// checkInput validates in, beside prev (the configuration it replaces),
// before anything is fetched, and returns the redirect URI and hosted
// domains to store.
func (rp *RP) checkInput(ctx context.Context, c *sso.Connection, in *ConnectionInput, prev *ConnectionConfig, method string) (string, []string, error) {
	switch {
	case in.Issuer == "" || len(in.Issuer) > 1024:
		return "", nil, fmt.Errorf("%w: oidc: issuer is required", sso.ErrInvalidInput)
	case in.ClientID == "" || len(in.ClientID) > 512:
		return "", nil, fmt.Errorf("%w: oidc: client_id is required", sso.ErrInvalidInput)
	case !slices.Contains(authMethods, method):
		return "", nil, fmt.Errorf("%w: oidc: unknown auth method %q", sso.ErrInvalidInput, method)
	case strings.Contains(in.Issuer, TenantPlaceholder) && len(prev.AllowedTenantIDs) == 0:
		return "", nil, fmt.Errorf("%w: oidc: a multi-tenant issuer needs AllowedTenantIDs", sso.ErrInvalidInput)
	}
	if err := rp.checkRawURL(in.Issuer); err != nil {
		return "", nil, err
	}
	for _, s := range in.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return "", nil, fmt.Errorf("%w: oidc: bad scope %q", sso.ErrInvalidInput, s)
		}
	}
	if err := checkACRValues(in.MFAACRValues); err != nil {
		return "", nil, err
	}
	if err := checkPostLogoutRedirectURI(in.PostLogoutRedirectURI); err != nil {
		return "", nil, err
	}
	redirectURI, err := rp.checkRedirectURI(ctx, c, in.RedirectURI)
	if err != nil {
		return "", nil, err
	}
	if err := rp.checkGroupOverage(in, method); err != nil {
		return "", nil, err
	}
	hosted, err := checkHostedDomains(in.Issuer, in.HostedDomains)
	if err != nil {
		return "", nil, err
	}
	for _, a := range prev.SigningAlgs {
		if !isAsymmetricAlg(a) {
			return "", nil, fmt.Errorf("%w: oidc: signing algorithm %q not allowed", sso.ErrInvalidInput, a)
		}
	}
	return redirectURI, hosted, nil
}

// keyThumbprint returns the RFC 7638 SHA-256 thumbprint of pub, used as
// the key ID of private_key_jwt assertions.
func keyThumbprint(pub crypto.PublicKey) (string, error) {
	k, err := jwk.FromRaw(pub)
	if err != nil {
		return "", fmt.Errorf("%w: oidc: public key: %v", sso.ErrInvalidInput, err)
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// forget drops the cached discovery documents and key sets of a connection.
func (rp *RP) forget(connID string) {
	prefix := connID + "\x00"
	rp.cache.mu.Lock()
	defer rp.cache.mu.Unlock()
	for k := range rp.cache.meta {
		if strings.HasPrefix(k, prefix) {
			delete(rp.cache.meta, k)
		}
	}
	for k := range rp.cache.keySets {
		if k.conn == connID {
			delete(rp.cache.keySets, k)
		}
	}
}

// SPDetails implements sso.ConnectionConfigurer: the redirect URI to
// register at the IdP (the connection's own RedirectURI when set), the URL
// that starts a login and, when logout is configured (Config.Sessions or
// Config.OnLogout), the back- and front-channel logout URIs.
func (rp *RP) SPDetails(c *sso.Connection) *sso.SPDetails {
	d := &sso.SPDetails{RedirectURI: rp.redirectURIOf(c), LoginURL: rp.LoginURL(c.ID)}
	if rp.cfg.OnLogout != nil || rp.cfg.Sessions != nil {
		// The logout endpoints answer only when logout is configured.
		d.BackChannelLogoutURI, d.FrontChannelLogoutURI = rp.BackChannelLogoutURI(c.ID), rp.FrontChannelLogoutURI(c.ID)
	}
	return d
}

// PublicJWK returns the public JWK (JSON) of the connection's
// private_key_jwt key, to register at the IdP.
func (rp *RP) PublicJWK(c *sso.Connection) ([]byte, error) {
	if c == nil || ConfigOf(c) == nil || ConfigOf(c).PrivateKeySealed == "" {
		return nil, fmt.Errorf("oidc: connection has no private key: %w", sso.ErrNotFound)
	}
	pemText, err := rp.cfg.Sealer.Open(ConfigOf(c).PrivateKeySealed, privateKeyAD(c.ID))
	if err != nil {
		return nil, fmt.Errorf("oidc: open private key: %w", err)
	}
	key, alg, err := parsePrivateKey(pemText)
	if err != nil {
		return nil, err
	}
	k, err := jwk.FromRaw(key.Public())
	if err != nil {
		return nil, err
	}
	_ = k.Set(jwk.KeyIDKey, ConfigOf(c).PrivateKeyID)
	_ = k.Set(jwk.AlgorithmKey, alg)
	_ = k.Set(jwk.KeyUsageKey, "sig")
	return jsonMarshal(k)
}
