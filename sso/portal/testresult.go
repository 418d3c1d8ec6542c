package portal

// testHelp explains a failed test sign-in: what the check means and how to
// fix it, by the stable reason the protocol packages report.
var testHelp = map[string][2]string{
	"signature_invalid": {"The response was signed, but not with a certificate we trust for this connection.",
		"Your identity provider may have a new signing certificate. Paste its metadata again (or add the new certificate) and test again."},
	"signature_missing": {"The response was not signed.",
		"In your identity provider, turn on signing of the assertion or the response (SHA-256)."},
	"certificate_untrusted": {"The signing certificate is not one we trust for this connection.",
		"Paste your identity provider's current metadata again, then test again."},
	"certificate_expired": {"The identity provider's signing certificate has expired.",
		"Create a new signing certificate in your identity provider, then paste its metadata again."},
	"audience_mismatch": {"The response was addressed to a different application (audience).",
		"Set the audience / entity ID in your identity provider to our entity ID, shown above, exactly."},
	"audience_missing": {"The response does not say which application it is for.",
		"Set the audience / entity ID in your identity provider to our entity ID, shown above."},
	"destination_mismatch": {"The response was sent to a different address than ours.",
		"Set the ACS / reply URL in your identity provider to our ACS URL, shown above, exactly."},
	"recipient_mismatch": {"The response names a different recipient than our ACS URL.",
		"Set the recipient / ACS URL in your identity provider to our ACS URL, shown above, exactly."},
	"issuer_mismatch": {"The response came from a different identity provider than the one configured here.",
		"Paste the metadata of the identity provider you are signing in with, or check the issuer URL."},
	"expired": {"The response was too old when it arrived.",
		"Check that your identity provider's server clock is correct, then test again."},
	"not_yet_valid": {"The response is dated in the future.",
		"Check that your identity provider's server clock is correct, then test again."},
	"status_not_success": {"Your identity provider refused the sign-in.",
		"Check that your account is assigned to the application in your identity provider."},
	"profile_incomplete": {"The sign-in worked, but no email address was sent.",
		"Send the user's email as the Name ID (SAML) or the email claim (OpenID Connect), or set the email attribute below."},
	"email_domain_not_verified": {"The sign-in worked, but the user's email domain is not verified for your organization, so real sign-ins would be refused.",
		"Verify the email domain on the Domains page, then test again."},
	"not_provisioned": {"The sign-in worked, but this user does not exist in your organization and may not be created on first sign-in.",
		"Add the user (or let your directory sync create them), then test again."},
	"access_denied": {"The sign-in worked, but our policy would refuse this user.",
		"Check the user's membership and your domains, then test again."},
	"membership_suspended": {"The sign-in worked, but this user is suspended in your organization, so real sign-ins would be refused.",
		"Test with an active user, or reactivate this user (in your directory if it syncs users), then test again."},
	"membership_deactivated": {"The sign-in worked, but this user was deactivated in your organization, so real sign-ins would be refused.",
		"Test with an active user, or reactivate this user (in your directory if it syncs users), then test again."},
	"membership_inactive": {"The sign-in worked, but this user's membership is not active, so real sign-ins would be refused.",
		"Test with an active user, or reactivate this user, then test again."},
	"link_not_allowed": {"The sign-in worked, but it could not be joined to the existing account with this email, so real sign-ins would be refused.",
		"The identity provider must mark the email as verified, under one of your verified domains. Check the email settings of the app in your identity provider, then test again."},
	"email_invalid": {"The sign-in worked, but the email address sent is not a valid address.",
		"Send the user's email as the Name ID (SAML) or the email claim (OpenID Connect), or set the email attribute below."},
	"idp_error": {"Your identity provider answered with an error instead of a sign-in.",
		"The details below name it; usually the redirect URI or the user assignment needs fixing."},
	"token_exchange_failed": {"We could not exchange the sign-in code with your provider.",
		"Check the client ID and client secret, and that the redirect URI is registered exactly."},
	"discovery_failed": {"We could not read your provider's OpenID configuration.",
		"Check the issuer URL: your-issuer/.well-known/openid-configuration must open in a browser."},
}

// testView is the last test result in plain language.
type testView struct {
	OK               bool
	At               string
	Email            string
	Check, What, Fix string
	Detail           string
}
