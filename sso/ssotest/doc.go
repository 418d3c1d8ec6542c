// Package ssotest is a test kit for SSO integrations: an in-process
// development identity provider speaking SAML 2.0 and OpenID Connect, a
// browser that follows a login end to end, and a SCIM client that replays
// Okta- and Entra-shaped provisioning requests.
//
// Hosts use it in their own CI to prove that their SSO wiring works and
// that it rejects broken responses; the ssokit demo uses it as its
// built-in IdP. It depends on no other ssokit protocol package, so it
// tests any SAML SP or OIDC relying party, not only ssokit's.
//
// # The development IdP
//
// [NewIdP] returns an [IdP], an http.Handler serving both protocols from
// one base URL:
//
//   - SAML under /saml/: metadata (entity ID, SSO service for the
//     HTTP-Redirect and HTTP-POST bindings, signing certificate), the SSO
//     service that accepts AuthnRequests from registered SPs only and
//     answers with an auto-submitting form that posts a SAMLResponse and
//     RelayState to the ACS URL the request named (checked against the
//     SP's registered ACS URLs), and IdP-initiated login. Response and
//     Assertion are both signed with goxmldsig (RSA-SHA256, exclusive
//     c14n) and carry Issuer, Destination, InResponseTo, a NameID
//     (emailAddress or persistent), bearer SubjectConfirmation,
//     Conditions with an AudienceRestriction, an AuthnStatement and the
//     attributes email, givenName, sn, surname, displayName and groups.
//   - OIDC under /oidc (the issuer): discovery, JWKS, /authorize (code
//     flow; PKCE S256 required; state, nonce, login_hint), /token
//     (client_secret_basic, client_secret_post or none; single-use,
//     short-lived codes), /userinfo. Tokens are signed with jwx (RS256, or
//     ES256 with a P-256 key) and the authorization response carries the
//     RFC 9207 iss parameter. [IdP.RotateOIDCKey] rotates the key.
//
// Users ([User]) are picked on a small login page, or logged in at once
// with Config.AutoLogin or an OIDC login_hint. A user with MFA set is
// asserted with [MFAAuthnContext] and amr ["pwd","mfa","otp"].
//
// # Broken responses
//
// [SAMLFault] and [OIDCFault] are sets of deliberate defects: wrong
// audience, recipient or issuer, expired or not yet valid, unsigned,
// signed by an untrusted key, signature wrapping, SHA-1, replay, missing
// InResponseTo, bad status; for OIDC also bad signature, alg "none", HS256
// keyed with the public key, wrong nonce or at_hash, missing iat or sub, a
// userinfo sub mismatch and a missing iss parameter. Set a default with
// Config.SAMLFaults / Config.OIDCFaults or [IdP.SetSAMLFaults], break only
// the next login with [IdP.NextSAMLFaults] / [IdP.NextOIDCFaults], or mint
// single messages with [IdP.NewSAMLResponse] and [IdP.IDToken].
//
// # Use in CI
//
// A host test starts the IdP on loopback, registers the application as SP
// and client, configures the application's connection from the IdP's
// metadata URL or issuer, and lets a [Browser] log in:
//
//	func TestSSO(t *testing.T) {
//		idp := ssotest.NewServer(t) // 127.0.0.1, closed when the test ends
//		app := httptest.NewServer(myapp.Handler(...))
//		defer app.Close()
//		idp.RegisterServiceProvider(ssotest.ServiceProvider{
//			EntityID: app.URL + "/sso/saml/metadata",
//			ACSURLs:  []string{app.URL + "/sso/saml/acs/acme"},
//		})
//		// ... point the app's SAML connection at idp.SAMLMetadataURL() ...
//		b := ssotest.NewBrowser()
//		resp, err := b.Login(ctx, app.URL+"/login?email=bob@example.com")
//		// assert: resp is the dashboard and the session cookie is in b.Client.Jar
//
//		idp.NextSAMLFaults(ssotest.SAMLWrapped)
//		resp, err = ssotest.NewBrowser().Login(ctx, app.URL+"/login?email=bob@example.com")
//		// assert: the app refused the login
//	}
//
// [SCIMClient] drives a SCIM endpoint the way Okta or Microsoft Entra ID
// do (lookup before create, capitalised ops and "False" strings for
// Entra, path-less replace, group membership changes, deactivation) and
// returns each [SCIMResponse] for assertions.
//
// # Security notes
//
// This is a development IdP: anyone who can reach it can log in as any
// configured user. [NewServer] and [StartServer] bind to 127.0.0.1 only;
// when mounting [IdP] in an application (as the demo does), do so only in
// development builds. Bad input never panics; errors are answered with a
// short page or OAuth error JSON and logged to Config.Logger. An IdP is
// safe for concurrent use; a [Browser] is not.
package ssotest
