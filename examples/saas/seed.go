package main

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/invite"
	"github.com/ssokit/ssokit/sso/ssotest"
)

// demoPassword is the local password of the seeded break-glass admins. The
// demo keeps no other local passwords.
const demoPassword = "ssokit-demo"

// demoOIDCSecret is the client secret of the seeded Globex OIDC connection at
// the development IdP.
const demoOIDCSecret = "globex-demo-secret"

func demoIdPUsers() []ssotest.User {
	return []ssotest.User{
		{Email: "alice@acme.test", GivenName: "Alice", FamilyName: "Anders", Groups: []string{"Admins", "Engineering"}, Subject: "alice"},
		{Email: "carol@acme.test", GivenName: "Carol", FamilyName: "Chen", Groups: []string{"Engineering"}, Subject: "carol", MFA: true},
		{Email: "bob@globex.test", GivenName: "Bob", FamilyName: "Brown", Groups: []string{"globex-admins"}, Subject: "bob"},
		{Email: "dave@globex.test", GivenName: "Dave", FamilyName: "Diaz", Groups: []string{"staff"}, Subject: "dave"},
		{Email: "mallory@evil.test", GivenName: "Mallory", FamilyName: "Moss", Groups: []string{"Admins"}, Subject: "mallory"},
	}
}

type demoOrg struct {
	slug, name, domain string
	protocol           sso.Protocol
	groupRoles         []sso.GroupRole
}

var demoOrgs = []demoOrg{
	{slug: "acme", name: "Acme Corp", domain: "acme.test", protocol: saml.Protocol,
		groupRoles: []sso.GroupRole{{Group: "Admins", Role: "admin"}, {Group: "Engineering", Role: "engineer"}}},
	{slug: "globex", name: "Globex", domain: "globex.test", protocol: oidc.Protocol,
		groupRoles: []sso.GroupRole{{Group: "globex-admins", Role: "admin"}}},
}

// seed creates the demo organizations once. Two replicas starting together
// may both try; the loser's conflicts are ignored.
func (a *App) seed(ctx context.Context) error {
	for _, d := range demoOrgs {
		if err := a.seedOrg(ctx, d); err != nil && !errors.Is(err, sso.ErrConflict) {
			return fmt.Errorf("%s: %w", d.slug, err)
		}
	}
	return nil
}

func (a *App) seedOrg(ctx context.Context, d demoOrg) error {
	if _, err := a.store.GetOrgBySlug(ctx, d.slug); err == nil {
		return nil
	} else if !errors.Is(err, sso.ErrNotFound) {
		return err
	}
	now := a.opts.Now().UTC()
	org := &sso.Organization{
		ID: "org_" + d.slug, Slug: d.slug, Name: d.name, CreatedAt: now, UpdatedAt: now,
		Settings: sso.OrgSettings{
			AllowJIT:    true,
			DefaultRole: "member",
			MFA:         sso.MFAPolicy{TrustIdPMFA: true},
			Features:    sso.Features{"saml", "oidc", "scim", "enforce_sso", "enforce_mfa", "social", "passkey", "email_code", "magic_link"},
		},
	}
	if err := a.store.CreateOrg(ctx, org); err != nil {
		return err
	}
	if err := a.store.CreateDomain(ctx, &sso.Domain{
		OrgID: org.ID, Name: d.domain, Token: opaque.NewToken(16), State: sso.DomainVerified,
		VerifiedAt: now, LastCheckedAt: now, CreatedAt: now,
	}); err != nil {
		return err
	}
	conn := &sso.Connection{
		ID: "conn_" + d.slug, OrgID: org.ID, Protocol: d.protocol, Status: sso.ConnectionActive,
		DisplayName: d.name + " development IdP", GroupRoles: d.groupRoles,
		LastTestOK: now, LastTest: &sso.TestResult{At: now, OK: true, Detail: "seeded by the demo"},
		CreatedAt: now, UpdatedAt: now,
	}
	if d.protocol == saml.Protocol {
		md, err := a.idpSAMLMetadata()
		if err != nil {
			return err
		}
		if _, err := a.saml.Configure(ctx, conn, &saml.ConnectionInput{MetadataXML: md}); err != nil {
			return fmt.Errorf("configure %s connection: %w", d.protocol, err)
		}
	} else {
		// Manual endpoints: discovery would call this very process, which
		// is not serving yet while it seeds.
		disc := a.idp.Discovery()
		in := &oidc.ConnectionInput{Issuer: a.idp.Issuer(), ClientID: d.slug + "-demo", ClientSecret: demoOIDCSecret,
			AuthMethod: "client_secret_basic"}
		in.AuthURL, _ = disc["authorization_endpoint"].(string)
		in.TokenURL, _ = disc["token_endpoint"].(string)
		in.UserInfoURL, _ = disc["userinfo_endpoint"].(string)
		in.JWKSURL, _ = disc["jwks_uri"].(string)
		if _, err := a.oidc.Configure(ctx, conn, in); err != nil {
			return fmt.Errorf("configure %s connection: %w", d.protocol, err)
		}
	}
	if err := a.store.CreateConnection(ctx, conn); err != nil {
		return err
	}
	// A person with a verified address in the domain (by email, password
	// or a social provider) joins as a member.
	if _, err := a.invites.SetPolicy(ctx, org.ID, invite.ModeJoin, "member"); err != nil {
		return err
	}
	// The break-glass admin signs in locally even when SSO is enforced.
	root := &sso.User{ID: "usr_root_" + d.slug, Email: "root@" + d.domain, EmailVerified: true,
		GivenName: "Root", FamilyName: d.name, DisplayName: "Root (" + d.name + ")", CreatedAt: now, UpdatedAt: now}
	m := &sso.Membership{OrgID: org.ID, UserID: root.ID, Roles: []string{"admin"}, Status: sso.MembershipActive,
		Source: sso.SourceAdmin, BreakGlass: true, JoinedAt: now, UpdatedAt: now}
	if err := a.store.Provision(ctx, root, m, nil); err != nil && !errors.Is(err, sso.ErrConflict) {
		return err
	}
	return a.password.SetPassword(ctx, root, demoPassword)
}

// idpSAMLMetadata returns the development IdP's SAML metadata document.
func (a *App) idpSAMLMetadata() (string, error) {
	rec := httptest.NewRecorder()
	a.idp.ServeSAMLMetadata(rec, httptest.NewRequest("GET", "/saml/metadata", nil))
	if rec.Code != 200 {
		return "", fmt.Errorf("development IdP metadata: status %d", rec.Code)
	}
	return rec.Body.String(), nil
}

// registerWithDevIdP tells the in-memory development IdP about every
// connection that points at it (SAML SPs and OIDC clients), as an admin
// would do in a real IdP's console. It runs at every start because the
// development IdP keeps its registrations in memory.
func (a *App) registerWithDevIdP(ctx context.Context) error {
	orgs, err := a.store.ListOrgs(ctx, "", 1000)
	if err != nil {
		return err
	}
	for _, o := range orgs {
		conns, err := a.store.ListConnections(ctx, o.ID)
		if err != nil {
			return err
		}
		for _, c := range conns {
			if err := a.registerConnection(ctx, c); err != nil {
				a.log.Warn("development IdP registration failed", "connection", c.ID, "err", err)
			}
		}
	}
	return nil
}

// registerConnection registers one connection with the development IdP if
// the connection points at it.
func (a *App) registerConnection(ctx context.Context, c *sso.Connection) error {
	switch {
	case saml.ConfigOf(c) != nil && saml.ConfigOf(c).IdPEntityID == a.idp.SAMLEntityID():
		sp := a.saml.SPDetails(c)
		return a.idp.RegisterServiceProvider(ssotest.ServiceProvider{EntityID: sp.EntityID, ACSURLs: []string{sp.ACSURL}})
	case oidc.ConfigOf(c) != nil && strings.TrimSuffix(oidc.ConfigOf(c).Issuer, "/") == strings.TrimSuffix(a.idp.Issuer(), "/"):
		secret := ""
		if oidc.ConfigOf(c).ClientSecretSealed != "" {
			b, err := a.sealer.Open(oidc.ConfigOf(c).ClientSecretSealed, []byte(c.ID))
			if err != nil {
				return err
			}
			secret = string(b)
		}
		return a.idp.RegisterClient(ssotest.Client{ID: oidc.ConfigOf(c).ClientID, Secret: secret, RedirectURIs: []string{a.oidc.SPDetails(c).RedirectURI}})
	}
	return nil
}
