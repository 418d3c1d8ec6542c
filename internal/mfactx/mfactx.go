// Package mfactx recognises the SAML authentication contexts and OIDC amr
// values that assert a multi-factor login.
package mfactx

// MFA authentication context and amr values the protocol packages recognise.
var (
	// AuthnContexts are SAML AuthnContextClassRef values that mean a
	// multi-factor login.
	AuthnContexts = []string{
		"http://schemas.microsoft.com/claims/multipleauthn",
		"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
		"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered",
		"urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
		"urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard",
		"urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI",
		"https://refeds.org/profile/mfa",
		"http://refeds.org/profile/mfa",
	}
	// Methods are OIDC amr values (RFC 8176) that mean a second factor.
	Methods = []string{"mfa", "otp", "hwk", "swk", "sc", "fpt", "face", "iris", "retina", "vbm", "pop"}
)

// IsContext reports whether a SAML AuthnContextClassRef or OIDC acr value
// denotes multi-factor authentication.
func IsContext(ctx string) bool {
	for _, v := range AuthnContexts {
		if ctx == v {
			return true
		}
	}
	return false
}

// HasMethod reports whether amr contains a multi-factor method.
func HasMethod(amr []string) bool {
	for _, a := range amr {
		for _, m := range Methods {
			if a == m {
				return true
			}
		}
	}
	return false
}
