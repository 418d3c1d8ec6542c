package saml

import (
	"strings"

	"github.com/ssokit/ssokit/sso"
)

// NameID formats.
const (
	NameIDEmail       = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	NameIDPersistent  = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	NameIDUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	NameIDTransient   = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
)

// Default attribute names, tried in order, covering Okta, Entra ID, Google
// Workspace, OneLogin, ADFS, JumpCloud, PingFederate, Keycloak and
// SimpleSAMLphp. A connection's sso.AttributeMapping replaces a list with
// the single attribute it names.
var (
	DefaultEmailAttributes = []string{
		"email", "mail", "Email", "emailAddress", "EmailAddress", "emailaddress", "User.Email", "user.email",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
		"http://schemas.xmlsoap.org/claims/EmailAddress",
		"urn:oid:0.9.2342.19200300.100.1.3",
	}
	DefaultGivenNameAttributes = []string{
		"firstName", "givenName", "given_name", "FirstName", "first_name", "givenname", "User.FirstName",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
		"urn:oid:2.5.4.42",
	}
	DefaultFamilyNameAttributes = []string{
		"lastName", "sn", "surname", "family_name", "LastName", "last_name", "User.LastName",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
		"urn:oid:2.5.4.4",
	}
	DefaultDisplayNameAttributes = []string{
		"displayName", "displayname", "fullName", "name", "cn",
		"http://schemas.microsoft.com/identity/claims/displayname",
		"urn:oid:2.16.840.1.113730.3.1.241", "urn:oid:2.5.4.3",
	}
	DefaultGroupAttributes = []string{
		"groups", "Groups", "memberOf", "memberof", "member", "group",
		"http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
		"http://schemas.xmlsoap.org/claims/Group",
		"urn:oid:1.3.6.1.4.1.5923.1.5.1.1",
	}
	// entraUPN is the Entra ID name claim: the UPN, which for guests is an
	// #EXT# address and not an email.
	entraUPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
	// entraAuthMethods lists the Entra ID authentication methods.
	entraAuthMethods = "http://schemas.microsoft.com/claims/authnmethodsreferences"
)

// buildProfile turns the verified assertion into an sso.Profile.
func buildProfile(conn *sso.Connection, v *verified) *sso.Profile {
	a := &v.assertion
	raw := map[string][]string{}
	if a.AttributeStatement != nil {
		for _, at := range a.AttributeStatement.Attributes {
			for _, val := range at.Values {
				s := val.Value
				if val.NameID != nil {
					s = val.NameID.Value
				}
				s = strings.TrimSpace(s)
				if s != "" {
					raw[at.Name] = append(raw[at.Name], s)
				}
			}
		}
	}
	p := &sso.Profile{
		Protocol:     sso.ProtocolSAML,
		OrgID:        conn.OrgID,
		ConnectionID: conn.ID,
		Issuer:       conn.SAML.IdPEntityID,
		Subject:      strings.TrimSpace(a.Subject.NameID.Value),
		NameIDFormat: a.Subject.NameID.Format,
		Raw:          raw,
	}
	m := conn.Mapping
	p.Email = firstAttr(raw, m.Email, DefaultEmailAttributes)
	if p.Email == "" && (p.NameIDFormat == NameIDEmail || looksLikeEmail(p.Subject)) && !strings.Contains(p.Subject, "#EXT#") {
		p.Email = p.Subject
	}
	if p.Email == "" {
		if upn := firstAttr(raw, "", []string{entraUPN}); upn != "" {
			p.Email = guestEmail(upn)
		}
	}
	if strings.Contains(p.Email, "#EXT#") {
		p.Email = guestEmail(p.Email)
	}
	p.Email = strings.ToLower(strings.TrimSpace(p.Email))
	if !looksLikeEmail(p.Email) {
		p.Email = ""
	}
	p.EmailVerified = p.Email != ""
	p.GivenName = firstAttr(raw, m.GivenName, DefaultGivenNameAttributes)
	p.FamilyName = firstAttr(raw, m.FamilyName, DefaultFamilyNameAttributes)
	p.DisplayName = firstAttr(raw, m.DisplayName, DefaultDisplayNameAttributes)
	if p.DisplayName == "" && (p.GivenName != "" || p.FamilyName != "") {
		p.DisplayName = strings.TrimSpace(p.GivenName + " " + p.FamilyName)
	}
	p.Groups = allAttr(raw, m.Groups, DefaultGroupAttributes)
	if st := a.AuthnStatement; st != nil {
		p.SessionIndex = st.SessionIndex
		if st.AuthnInstant != nil {
			p.AuthTime = *st.AuthnInstant
		}
		if st.AuthnContext != nil && st.AuthnContext.AuthnContextClassRef != nil {
			p.AuthnContext = strings.TrimSpace(st.AuthnContext.AuthnContextClassRef.Value)
		}
	}
	p.MFA = sso.IsMFAContext(p.AuthnContext)
	for _, m := range raw[entraAuthMethods] {
		if sso.IsMFAContext(m) {
			p.MFA = true
		}
	}
	return p
}

func firstAttr(raw map[string][]string, override string, defaults []string) string {
	if override != "" {
		if v := raw[override]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	for _, n := range defaults {
		if v := raw[n]; len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func allAttr(raw map[string][]string, override string, defaults []string) []string {
	if override != "" {
		return append([]string(nil), raw[override]...)
	}
	for _, n := range defaults {
		if v := raw[n]; len(v) > 0 {
			return append([]string(nil), v...)
		}
	}
	return nil
}

func looksLikeEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n<>\"") && strings.Contains(s[at:], ".")
}

// guestEmail turns an Entra ID guest UPN such as
// "alice_example.com#EXT#@tenant.onmicrosoft.com" into the guest's own
// address "alice@example.com". Other values are returned unchanged.
func guestEmail(upn string) string {
	i := strings.Index(upn, "#EXT#")
	if i < 0 {
		return upn
	}
	local := upn[:i]
	j := strings.LastIndexByte(local, '_')
	if j <= 0 || j == len(local)-1 {
		return ""
	}
	return local[:j] + "@" + local[j+1:]
}
