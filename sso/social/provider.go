package social

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ssokit/ssokit/sso"
)

// Kind is how a provider authenticates.
type Kind string

// Provider kinds.
const (
	// KindOIDC is OpenID Connect: an ID token verified against the
	// issuer's keys carries the identity.
	KindOIDC Kind = "oidc"
	// KindGitHub is GitHub's OAuth 2.0 (no OIDC): the identity is read
	// from its REST API (GET /user and GET /user/emails).
	KindGitHub Kind = "github"
)

// Microsoft's special tenants and the tenant ID of personal accounts.
const (
	TenantCommon        = "common"        // work, school and personal accounts
	TenantOrganizations = "organizations" // work and school accounts only
	TenantConsumers     = "consumers"     // personal Microsoft accounts only
	// ConsumersTenantID is the tid of every personal Microsoft account.
	ConsumersTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"
)

// Provider is one social sign-in provider. Build it with Google, Microsoft
// or GitHub and change the endpoint fields only to point at a test server.
type Provider struct {
	// Name keys identities and routes ("google", "microsoft", "github").
	Name string
	// DisplayName labels the button ("Google").
	DisplayName string
	Kind        Kind
	// ClientID and ClientSecret are the app's OAuth 2.0 credentials.
	ClientID     string
	ClientSecret string
	// Scopes are requested at the authorization endpoint.
	Scopes []string

	// Issuer (KindOIDC) is where discovery is read
	// (Issuer + "/.well-known/openid-configuration").
	Issuer string
	// IssuerTemplate (KindOIDC), when set, is the form every ID token's iss
	// must have, with "{tenantid}" replaced by the token's tid claim: the
	// discovery document of Microsoft's multi-tenant endpoints names such a
	// template instead of one issuer.
	IssuerTemplate string
	// Tenant (Microsoft) is "common", "organizations", "consumers" or one
	// tenant ID; it restricts which accounts are admitted.
	Tenant string
	// AllowedTenants (Microsoft), when not empty, admits only tokens whose
	// tid is listed.
	AllowedTenants []string

	// AuthURL, TokenURL and APIURL (KindGitHub) are the authorization,
	// token and REST API base URLs.
	AuthURL  string
	TokenURL string
	APIURL   string

	// EmailVerified (KindOIDC) decides, from the ID token's claims, whether
	// the email claim is verified by the provider. Nil means never.
	EmailVerified func(claims map[string]any) bool

	// EmailVerifiedOnce says that the provider verified an account's email
	// only when it was added, and keeps calling it verified after the
	// account's holder has lost the mailbox: a former employee's personal
	// account keeps the company address the company has since handed on.
	// GitHub sets it. Such an email never links an account of the provider
	// to an existing user, never creates one and never admits anyone to an
	// organization (invitation or domain auto-join): a first sign-in is
	// refused with link_required, and a signed-in user links the account
	// from their session instead (POST {provider}/link, see
	// [Manager.StartLink]). Accounts linked that way, or before, sign in as
	// usual. A host that accepts the risk for a provider may clear it.
	EmailVerifiedOnce bool
}

// Google returns the Google provider: OIDC at https://accounts.google.com,
// whose email is verified when email_verified is true and Google hosts the
// address: a Gmail address, or one of a Google Workspace account (the
// token carries hd). A personal Google account can be made with any
// address; email_verified then only says the address worked when the
// account was made, and whoever has the account now (a former employee
// whose company address has been handed on, say) need not own the mailbox,
// so such an email never links to or creates an account.
func Google(clientID, clientSecret string) Provider {
	return Provider{Name: "google", DisplayName: "Google", Kind: KindOIDC, ClientID: clientID, ClientSecret: clientSecret,
		Scopes: []string{"openid", "email", "profile"}, Issuer: "https://accounts.google.com", EmailVerified: googleEmailVerified}
}

// googleEmailVerified reports whether a Google ID token's email is
// verified and hosted by Google: email_verified is true, and the token
// carries hd (a Google Workspace account) or the address is a Gmail one.
func googleEmailVerified(c map[string]any) bool {
	if !claimTrue("email_verified")(c) {
		return false
	}
	if hd, _ := c["hd"].(string); hd != "" {
		return true
	}
	email, _ := c["email"].(string)
	_, domain, _ := strings.Cut(strings.ToLower(strings.TrimSpace(email)), "@")
	return domain == "gmail.com" || domain == "googlemail.com"
}

// MicrosoftAuthority is the Microsoft identity platform's host.
const MicrosoftAuthority = "https://login.microsoftonline.com"

// Microsoft returns the Microsoft identity platform provider for tenant
// ("common", "organizations", "consumers" or a tenant ID) at authority
// (empty means MicrosoftAuthority). Tokens of the multi-tenant endpoints
// are checked against the issuer template authority/{tenantid}/v2.0 with
// their own tid, and the tid must fit the tenant ("consumers" admits only
// personal accounts, "organizations" none, a tenant ID only itself).
//
// Microsoft does not verify the email claim of work accounts (an admin of
// any tenant can set any address), so the email counts as verified only
// when the token carries the xms_edov claim ("email domain owner
// verified") as true; request it as an optional claim of the app
// registration. Without it the email is unverified: it never links to or
// creates an account.
func Microsoft(tenant, clientID, clientSecret, authority string) Provider {
	if authority == "" {
		authority = MicrosoftAuthority
	}
	authority = strings.TrimSuffix(authority, "/")
	p := Provider{Name: "microsoft", DisplayName: "Microsoft", Kind: KindOIDC, ClientID: clientID, ClientSecret: clientSecret,
		Scopes: []string{"openid", "email", "profile"}, Tenant: tenant,
		Issuer: authority + "/" + tenant + "/v2.0", EmailVerified: claimTrue("xms_edov")}
	switch tenant {
	case TenantCommon, TenantOrganizations, TenantConsumers:
		p.IssuerTemplate = authority + "/{tenantid}/v2.0"
	}
	return p
}

// GitHub returns the GitHub provider: OAuth 2.0 with PKCE and state, then
// GET /user and GET /user/emails. Only the primary email counts, and only
// when GitHub marks it verified; other addresses on the account, verified
// or not, are never used.
//
// GitHub verifies an address once, when it is added, and an account keeps
// it whoever reads the mailbox later, so the provider has
// EmailVerifiedOnce set: a GitHub account signs in only once it is linked
// to a user, from that user's own recent session ([Manager.StartLink]).
func GitHub(clientID, clientSecret string) Provider {
	return Provider{Name: "github", DisplayName: "GitHub", Kind: KindGitHub, ClientID: clientID, ClientSecret: clientSecret,
		Scopes: []string{"read:user", "user:email"}, AuthURL: "https://github.com/login/oauth/authorize",
		TokenURL: "https://github.com/login/oauth/access_token", APIURL: "https://api.github.com",
		EmailVerifiedOnce: true}
}

// claimTrue returns a predicate that is true when claims[name] is the
// boolean true or the string "true" (some providers send strings).
func claimTrue(name string) func(map[string]any) bool {
	return func(c map[string]any) bool {
		switch v := c[name].(type) {
		case bool:
			return v
		case string:
			return strings.EqualFold(v, "true") || v == "1"
		}
		return false
	}
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// valid reports the first problem of p's configuration.
func (p *Provider) valid() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: social: provider %q: "+format, append([]any{sso.ErrInvalidConfig, p.Name}, a...)...)
	}
	switch {
	case !nameRE.MatchString(p.Name):
		return bad("Name must be lower-case letters, digits and dashes")
	case p.ClientID == "":
		return bad("ClientID is required")
	}
	switch p.Kind {
	case KindOIDC:
		if p.Issuer == "" {
			return bad("Issuer is required")
		}
		if p.IssuerTemplate != "" && strings.Count(p.IssuerTemplate, "{tenantid}") != 1 {
			return bad("IssuerTemplate must hold {tenantid} once")
		}
	case KindGitHub:
		if p.AuthURL == "" || p.TokenURL == "" || p.APIURL == "" {
			return bad("AuthURL, TokenURL and APIURL are required")
		}
	default:
		return bad("unknown Kind %q", p.Kind)
	}
	return nil
}
