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
// Workspace, OneLogin, ADFS, JumpCloud, PingFederate, Keycloak, Shibboleth
// and SimpleSAMLphp. Each list is matched by exact Name, then by Name
// ignoring case, then the same two ways by FriendlyName. A connection's
// sso.AttributeMapping replaces a list with the single attribute it names
// (Name or FriendlyName, exactly). Keycloak's "Role" list counts as groups
// only when no group attribute is present.
var (
	DefaultEmailAttributes = []string{
		"email", "mail", "Email", "emailAddress", "EmailAddress", "emailaddress", "User.email", "User.Email", "user.email",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
		"http://schemas.xmlsoap.org/claims/EmailAddress",
		"urn:oid:0.9.2342.19200300.100.1.3",
		"urn:oid:1.2.840.113549.1.9.1",
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
		"Role", "roles",
	}
	// upnAttributes are tried for the email address after the email
	// attributes and the NameID: the Entra ID name claim (the UPN, which for
	// guests is an #EXT# address) and the ADFS UPN claim.
	upnAttributes = []string{
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
	}
	// entraAuthMethods lists the Entra ID authentication methods.
	entraAuthMethods = "http://schemas.microsoft.com/claims/authnmethodsreferences"
)

// buildProfile turns the verified assertion into an sso.Profile.
func buildProfile(conn *sso.Connection, v *verified) *sso.Profile {
	a := &v.assertion
	raw := map[string][]string{}
	// friendly holds values by FriendlyName (Keycloak, Shibboleth and
	// PingFederate send OIDs or URIs as Name and the short name as
	// FriendlyName); it is consulted only after the Names.
	friendly := map[string][]string{}
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
					if at.FriendlyName != "" && at.FriendlyName != at.Name {
						friendly[at.FriendlyName] = append(friendly[at.FriendlyName], s)
					}
				}
			}
		}
	}
	ix := attrIndex{raw: raw, friendly: friendly}
	p := &sso.Profile{
		Protocol:     Protocol,
		OrgID:        conn.OrgID,
		ConnectionID: conn.ID,
		Issuer:       ConfigOf(conn).IdPEntityID,
		Subject:      strings.TrimSpace(a.Subject.NameID.Value),
		NameIDFormat: a.Subject.NameID.Format,
		Raw:          raw,
	}
	m := conn.Mapping
	p.Email = ix.first(m.Email, DefaultEmailAttributes)
	if p.Email == "" && (p.NameIDFormat == NameIDEmail || looksLikeEmail(p.Subject)) && !strings.Contains(p.Subject, "#EXT#") {
		p.Email = p.Subject
	}
	if p.Email == "" {
		if upn := ix.first("", upnAttributes); upn != "" {
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
	p.GivenName = ix.first(m.GivenName, DefaultGivenNameAttributes)
	p.FamilyName = ix.first(m.FamilyName, DefaultFamilyNameAttributes)
	p.DisplayName = ix.first(m.DisplayName, DefaultDisplayNameAttributes)
	if p.DisplayName == "" && (p.GivenName != "" || p.FamilyName != "") {
		p.DisplayName = strings.TrimSpace(p.GivenName + " " + p.FamilyName)
	}
	p.Groups = ix.all(m.Groups, DefaultGroupAttributes)
	p.SessionNotOnOrAfter = v.sessionExpiry
	if st := a.AuthnStatement; st != nil {
		p.SessionIndex = st.SessionIndex
		if st.AuthnInstant != nil {
			p.AuthTime = *st.AuthnInstant
		}
		if st.AuthnContext != nil && st.AuthnContext.AuthnContextClassRef != nil {
			p.AuthnContext = strings.TrimSpace(st.AuthnContext.AuthnContextClassRef.Value)
		}
	}
	p.MFA = countsAsMFA(ConfigOf(conn), p.AuthnContext)
	for _, m := range raw[entraAuthMethods] {
		if countsAsMFA(ConfigOf(conn), m) {
			p.MFA = true
		}
	}
	return p
}

// attrIndex resolves attribute names. An override (from the connection's
// mapping) must match a Name or FriendlyName exactly. Defaults are tried in
// order by exact Name, then by Name ignoring case (JumpCloud's "firstname",
// OneLogin's "User.email"), then the same two ways by FriendlyName.
type attrIndex struct {
	raw, friendly map[string][]string
}

func (ix attrIndex) lookup(override string, defaults []string) []string {
	if override != "" {
		if v := ix.raw[override]; len(v) > 0 {
			return v
		}
		return ix.friendly[override]
	}
	for _, m := range []map[string][]string{ix.raw, ix.friendly} {
		for _, n := range defaults {
			if v := m[n]; len(v) > 0 {
				return v
			}
		}
		for _, n := range defaults {
			if v := lookupFold(m, n); len(v) > 0 {
				return v
			}
		}
	}
	return nil
}

// lookupFold returns the values of the case-insensitively equal name that
// sorts first, so that the result does not depend on map order.
func lookupFold(m map[string][]string, name string) []string {
	best := ""
	var out []string
	for k, v := range m {
		if len(v) > 0 && strings.EqualFold(k, name) && (out == nil || k < best) {
			best, out = k, v
		}
	}
	return out
}

func (ix attrIndex) first(override string, defaults []string) string {
	if v := ix.lookup(override, defaults); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (ix attrIndex) all(override string, defaults []string) []string {
	if v := ix.lookup(override, defaults); len(v) > 0 {
		return append([]string(nil), v...)
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
