package social

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/ssokit/ssokit/sso"
)

// oidcMeta is a provider's discovery, read once.
type oidcMeta struct {
	provider *oidc.Provider
	issuer   string // the discovery's issuer (a template for multi-tenant)
	token    string
}

// discover returns p's discovery, fetching it on first use. A fetch
// failure is a provider fault and is retried at the next login.
func (m *Manager) discover(ctx context.Context, p *Provider) (*oidcMeta, error) {
	m.mu.Lock()
	md := m.meta[p.Name]
	m.mu.Unlock()
	if md != nil {
		return md, nil
	}
	ctx = oidc.ClientContext(ctx, m.client)
	if p.IssuerTemplate != "" {
		// The discovery names the template, not the URL it was read from.
		ctx = oidc.InsecureIssuerURLContext(ctx, p.IssuerTemplate)
	}
	op, err := oidc.NewProvider(ctx, p.Issuer)
	if err != nil {
		return nil, upstream(p.Name, err)
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := op.Claims(&doc); err != nil {
		return nil, upstream(p.Name, err)
	}
	if p.IssuerTemplate != "" && doc.Issuer != p.IssuerTemplate {
		return nil, upstream(p.Name, fmt.Errorf("social: discovery issuer %q is not the template %q", doc.Issuer, p.IssuerTemplate))
	}
	md = &oidcMeta{provider: op, issuer: doc.Issuer, token: op.Endpoint().TokenURL}
	m.mu.Lock()
	m.meta[p.Name] = md
	m.mu.Unlock()
	return md, nil
}

// authURL returns p's authorization endpoint.
func (m *Manager) authURL(ctx context.Context, p *Provider) (string, error) {
	if p.Kind == KindGitHub {
		return p.AuthURL, nil
	}
	md, err := m.discover(ctx, p)
	if err != nil {
		return "", err
	}
	return md.provider.Endpoint().AuthURL, nil
}

// exchangeErr classifies a failed code exchange: a refusal by the
// provider (an OAuth error such as invalid_grant, or GitHub's
// bad_verification_code in a 200 answer) is an invalid token,
// anything else a provider fault.
func exchangeErr(provider string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && (re.ErrorCode != "" || re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500) {
		return deny(ReasonTokenInvalid, sso.ErrAccessDenied, err)
	}
	return upstream(provider, err)
}

// oidcProfile exchanges the code and verifies the ID token: signature and
// algorithm, audience, expiry, issuer (exact, or the template filled with
// the token's own tid for Microsoft's multi-tenant endpoints, whose tid
// must fit the configured tenant), the flow's nonce and a non-empty
// subject. The RFC 9207 iss parameter, when present, must be that issuer.
func (m *Manager) oidcProfile(ctx context.Context, p *Provider, f *flowState, q url.Values) (*VerifiedAccount, error) {
	md, err := m.discover(ctx, p)
	if err != nil {
		return nil, err
	}
	ctx = oidc.ClientContext(ctx, m.client)
	tok, err := m.oauth2Config(p, md.provider.Endpoint().AuthURL, md.token).Exchange(
		context.WithValue(ctx, oauth2.HTTPClient, m.client), q.Get("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return nil, exchangeErr(p.Name, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, deny(ReasonTokenInvalid, sso.ErrAccessDenied, errors.New("social: no id_token in the token response"))
	}
	v := md.provider.Verifier(&oidc.Config{ClientID: p.ClientID, SkipIssuerCheck: p.IssuerTemplate != "", Now: m.cfg.Now})
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return nil, deny(ReasonTokenInvalid, sso.ErrAccessDenied, err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, deny(ReasonTokenInvalid, sso.ErrAccessDenied, err)
	}
	issuer := md.issuer
	if p.IssuerTemplate != "" {
		if issuer, err = tenantIssuer(p, claims, idt.Issuer); err != nil {
			return nil, err
		}
	}
	if iss := q.Get("iss"); iss != "" && iss != issuer {
		return nil, deny(ReasonIssuerMismatch, sso.ErrAccessDenied, fmt.Errorf("social: iss parameter %q, want %q", iss, issuer))
	}
	switch {
	case idt.Nonce == "" || idt.Nonce != f.Nonce:
		return nil, deny(ReasonTokenInvalid, sso.ErrAccessDenied, errors.New("social: nonce mismatch"))
	case idt.Subject == "" || len(idt.Subject) > 255:
		return nil, deny(ReasonTokenInvalid, sso.ErrAccessDenied, errors.New("social: missing or oversized sub"))
	}
	str := func(k string) string { s, _ := claims[k].(string); return s }
	acct := &VerifiedAccount{Subject: idt.Subject, Email: strings.ToLower(strings.TrimSpace(str("email"))),
		GivenName: str("given_name"), FamilyName: str("family_name"), Name: str("name")}
	acct.EmailVerified = acct.Email != "" && p.EmailVerified != nil && p.EmailVerified(claims)
	acct.EmailVerifiedOnce = p.EmailVerifiedOnce
	return acct, nil
}

// tenantIssuer checks a multi-tenant token: its iss must be the template
// filled with its own tid, and the tid must fit p's tenant and allow list.
// It returns the issuer.
func tenantIssuer(p *Provider, claims map[string]any, iss string) (string, error) {
	tid, _ := claims["tid"].(string)
	if tid == "" || strings.ContainsAny(tid, "/?#{}") {
		return "", deny(ReasonIssuerMismatch, sso.ErrAccessDenied, errors.New("social: no usable tid claim"))
	}
	want := strings.Replace(p.IssuerTemplate, "{tenantid}", tid, 1)
	if iss != want {
		return "", deny(ReasonIssuerMismatch, sso.ErrAccessDenied, fmt.Errorf("social: iss %q, want %q for tid %q", iss, want, tid))
	}
	switch {
	case p.Tenant == TenantConsumers && tid != ConsumersTenantID,
		p.Tenant == TenantOrganizations && tid == ConsumersTenantID,
		len(p.AllowedTenants) > 0 && !slices.Contains(p.AllowedTenants, tid):
		return "", deny(ReasonTenantNotAllowed, sso.ErrAccessDenied, fmt.Errorf("social: tenant %q not admitted", tid))
	}
	return want, nil
}
