package portal

import "github.com/ssokit/ssokit/sso"

// guide is the guided setup for one identity provider: steps in its
// console's words, with our values next to the step that needs them, and
// the fields to paste back.
type guide struct {
	ID       string
	Name     string
	Protocol sso.Protocol
	Steps    []step
	Fields   []inputField
}

// step is one instruction; Values names the SP values it needs
// ("entity_id", "acs_url", "metadata_url", "redirect_uri", "login_url").
type step struct {
	Text   string
	Values []string
}

// inputField is a field the admin pastes back. Name is the key in the
// protocol's configuration input; Kind is "url", "text", "secret",
// "textarea", "list" (space-separated words) or "switch" (a yes/no policy
// switch, sent as a boolean).
type inputField struct {
	Name, Label, Help, Kind string
	// Alt marks the fields of the "enter the details by hand" alternative.
	Alt bool
	// Weakens, for a switch, is the value ("true" or "false") that lowers
	// security, and Risk says how; choosing it needs a confirmation and
	// is recorded in the audit log.
	Weakens, Risk string
}

var samlFields = []inputField{
	{Name: "metadata_url", Label: "Metadata URL", Kind: "url", Help: "The address of your identity provider's SAML metadata. We download it now and keep it up to date."},
	{Name: "metadata_xml", Label: "Or paste the metadata XML", Kind: "textarea", Help: "Use this if your identity provider only offers the metadata as a file download."},
	{Name: "idp_entity_id", Label: "Identity provider entity ID (issuer)", Kind: "text", Alt: true},
	{Name: "sso_url", Label: "Single sign-on URL", Kind: "url", Alt: true},
	{Name: "certificates", Label: "Signing certificate (PEM)", Kind: "textarea", Alt: true, Help: "Starts with -----BEGIN CERTIFICATE-----."},
	{Name: "certificates", Label: "Next signing certificate (optional, for certificate rollover)", Kind: "textarea", Alt: true,
		Help: "Add the new certificate here before your identity provider switches to it; both are trusted until you remove the old one."},
	{Name: "enforce_certificate_dates", Label: "Refuse signatures made with an expired certificate", Kind: "switch", Weakens: "false",
		Risk: "Signatures made with an expired identity provider certificate will be accepted."},
	{Name: "require_signed_metadata", Label: "Require signed metadata", Kind: "switch", Weakens: "false",
		Risk: "Metadata updates will be accepted without a signature from the identity provider."},
	{Name: "allow_rsa15_key_transport", Label: "Accept the old RSA 1.5 encryption for encrypted assertions", Kind: "switch", Weakens: "true",
		Risk: "Encrypted assertions may use RSA 1.5 key transport, which is open to known attacks."},
}

func oidcFields(issuerHelp string) []inputField {
	return []inputField{
		{Name: "issuer", Label: "Issuer URL", Kind: "url", Help: issuerHelp},
		{Name: "client_id", Label: "Client ID", Kind: "text"},
		{Name: "client_secret", Label: "Client secret", Kind: "secret", Help: "Stored encrypted; it is never shown again."},
		{Name: "scopes", Label: "Scopes (optional)", Kind: "list", Help: "Separated by spaces. Leave empty for openid email profile."},
	}
}

var guides = []guide{
	{ID: "okta", Name: "Okta", Protocol: "saml", Fields: samlFields, Steps: []step{
		{Text: "In the Okta Admin Console, open Applications › Applications and choose “Create App Integration”. Pick “SAML 2.0” and continue."},
		{Text: "Give the app a name your users will recognise, then on “Configure SAML” fill in “Single sign-on URL” and “Audience URI (SP Entity ID)” with these values:", Values: []string{"acs_url", "entity_id"}},
		{Text: "Set “Name ID format” to EmailAddress and “Application username” to Email. Under “Attribute Statements” add email, firstName and lastName if you want names filled in."},
		{Text: "Finish, open the app's “Sign On” tab, and copy the “Metadata URL” shown there. Paste it below."},
		{Text: "On the “Assignments” tab, assign the people or groups who should sign in."},
	}},
	{ID: "entra", Name: "Microsoft Entra ID", Protocol: "saml", Fields: samlFields, Steps: []step{
		{Text: "In the Microsoft Entra admin center, open Enterprise applications › New application › Create your own application, and choose “Integrate any other application you don't find in the gallery (Non-gallery)”."},
		{Text: "Open “Single sign-on”, choose SAML, and edit “Basic SAML Configuration”: “Identifier (Entity ID)” and “Reply URL (Assertion Consumer Service URL)” take these values:", Values: []string{"entity_id", "acs_url"}},
		{Text: "Under “SAML Certificates”, copy the “App Federation Metadata Url” and paste it below."},
		{Text: "Under “Users and groups”, assign who may sign in. To send groups, add a group claim under “Attributes & Claims”."},
	}},
	{ID: "google", Name: "Google Workspace", Protocol: "saml", Fields: samlFields, Steps: []step{
		{Text: "In the Google Admin console, open Apps › Web and mobile apps › Add app › Add custom SAML app, and name it."},
		{Text: "On “Google Identity Provider details”, choose “Download metadata” (Option 1). You will paste that file's contents below."},
		{Text: "On “Service provider details”, fill in “ACS URL” and “Entity ID” with these values, and set “Name ID format” to EMAIL with “Name ID” Basic Information › Primary email:", Values: []string{"acs_url", "entity_id"}},
		{Text: "Finish, then open the app and set “User access” to ON for the organizational units that should sign in. This can take a few minutes to apply."},
	}},
	{ID: "onelogin", Name: "OneLogin", Protocol: "saml", Fields: samlFields, Steps: []step{
		{Text: "In OneLogin, open Applications › Add App, search for “SAML Custom Connector (Advanced)” and save it with a name."},
		{Text: "On the “Configuration” tab set “Audience (EntityID)” and “ACS (Consumer) URL” (also “ACS URL Validator” and “Recipient”) to these values:", Values: []string{"entity_id", "acs_url"}},
		{Text: "Set “SAML nameID format” to Email, save, then under More Actions › SAML Metadata copy the “Issuer URL” and paste it below as the metadata URL."},
		{Text: "Assign the app to users or roles under the “Users” or “Access” tab."},
	}},
	{ID: "jumpcloud", Name: "JumpCloud", Protocol: "saml", Fields: samlFields, Steps: []step{
		{Text: "In the JumpCloud Admin Portal, open SSO Applications › Add New Application › Custom Application, and choose “Manage Single Sign-On (SSO)” with SAML."},
		{Text: "Set “SP Entity ID” and “ACS URL” to these values, and choose an “IdP Entity ID” of your own (for example your company name):", Values: []string{"entity_id", "acs_url"}},
		{Text: "Set “SAMLSubject NameID” to email, save, then use “Export Metadata” and paste the file's contents below."},
		{Text: "Bind user groups to the application so people can use it."},
	}},
	{ID: "adfs", Name: "ADFS", Protocol: "saml", Fields: samlFields, Steps: []step{
		{Text: "In AD FS Management, open Relying Party Trusts › Add Relying Party Trust, choose “Claims aware”, then “Import data about the relying party published online” and enter our metadata URL:", Values: []string{"metadata_url"}},
		{Text: "If your server cannot reach us, choose “Enter data about the relying party manually” instead and use these values as the relying party identifier and the SAML 2.0 SSO service URL:", Values: []string{"entity_id", "acs_url"}},
		{Text: "Add a claim issuance rule “Send LDAP Attributes as Claims” mapping E-Mail-Addresses to E-Mail Address, and a “Transform an Incoming Claim” rule from E-Mail Address to Name ID (format Email)."},
		{Text: "Paste your federation metadata URL below; it usually is https://your-adfs-host/FederationMetadata/2007-06/FederationMetadata.xml."},
	}},
	{ID: "pingfederate", Name: "PingFederate", Protocol: "saml", Fields: samlFields, Steps: []step{
		{Text: "In PingFederate, open Applications › SP Connections › Create Connection, use the “Browser SSO” profile with SAML 2.0, and import our metadata from this URL:", Values: []string{"metadata_url"}},
		{Text: "Check that “Partner's Entity ID” and the “Assertion Consumer Service URL” show these values:", Values: []string{"entity_id", "acs_url"}},
		{Text: "In “Assertion Creation”, send the user's email as the SAML_SUBJECT (format emailAddress), then activate the connection."},
		{Text: "Export your IdP metadata (System › Protocol Metadata › Metadata Export) and paste it below, or paste its metadata URL."},
	}},
	{ID: "keycloak", Name: "Keycloak", Protocol: "saml", Fields: samlFields, Steps: []step{
		{Text: "In the Keycloak admin console, choose your realm, open Clients › Import client, and paste our metadata URL's contents, or create a SAML client whose “Client ID” is this value:", Values: []string{"entity_id", "metadata_url"}},
		{Text: "Set “Valid redirect URIs” and “Assertion Consumer Service POST Binding URL” to this value:", Values: []string{"acs_url"}},
		{Text: "Set “Name ID format” to email and turn on “Force name ID format”. Keep “Sign assertions” on."},
		{Text: "Paste the realm's SAML metadata URL below: https://your-keycloak-host/realms/your-realm/protocol/saml/descriptor."},
	}},
	{ID: "auth0", Name: "Auth0", Protocol: "oidc", Fields: oidcFields("https://your-tenant.auth0.com/ (with the trailing slash)."), Steps: []step{
		{Text: "In the Auth0 Dashboard, open Applications › Applications › Create Application and choose “Regular Web Applications”."},
		{Text: "On the “Settings” tab, add this value to “Allowed Callback URLs” and save:", Values: []string{"redirect_uri"}},
		{Text: "Copy the “Domain”, “Client ID” and “Client Secret” from the same tab. The issuer URL is https:// followed by the domain and a slash."},
	}},
	{ID: "saml", Name: "Other SAML identity provider", Protocol: "saml", Fields: samlFields, Steps: []step{
		{Text: "In your identity provider, create a new SAML 2.0 application (sometimes called a service provider or relying party)."},
		{Text: "Enter these values: our entity ID (also called audience or identifier) and our Assertion Consumer Service URL (also called reply or single sign-on URL). If it can import metadata, give it our metadata URL:", Values: []string{"entity_id", "acs_url", "metadata_url"}},
		{Text: "Send the user's email address as the Name ID (format emailAddress), and sign the responses or assertions with SHA-256."},
		{Text: "Paste your identity provider's metadata URL or XML below, or enter its entity ID, single sign-on URL and certificate by hand."},
	}},
	{ID: "oidc", Name: "Other OpenID Connect provider", Protocol: "oidc", Fields: oidcFields("The URL your provider's /.well-known/openid-configuration lives under."), Steps: []step{
		{Text: "In your provider, register a new web application (confidential client) using the authorization code flow."},
		{Text: "Add this redirect URI (also called callback URL):", Values: []string{"redirect_uri"}},
		{Text: "To let people start from your provider's app dashboard too, set the app's “Initiate login URI” (also called login URL) to this value:", Values: []string{"login_url"}},
		{Text: "Copy the issuer URL, the client ID and the client secret, and paste them below."},
	}},
}

func guideByID(id string) *guide {
	for i := range guides {
		if guides[i].ID == id {
			return &guides[i]
		}
	}
	return nil
}

// defaultGuide is the generic guide of a protocol.
func defaultGuide(p sso.Protocol) *guide {
	for i := range guides {
		if guides[i].Protocol == p && (guides[i].ID == "saml" || guides[i].ID == "oidc") {
			return &guides[i]
		}
	}
	return nil
}

// valueLabels names our SP values as the steps show them.
var valueLabels = map[string]string{
	"entity_id": "Our entity ID", "acs_url": "Our ACS URL", "metadata_url": "Our metadata URL", "redirect_uri": "Our redirect URI",
	"login_url": "Our login URL",
}
