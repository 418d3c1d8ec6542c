package saml_test

import (
	"reflect"
	"testing"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

func TestAttributeMapping(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		nameID  string
		attrs   map[string][]string
		mapping sso.AttributeMapping
		want    sso.Profile
	}{
		{name: "EntraID", nameID: "9f8e7d6c-persistent",
			attrs: map[string][]string{
				"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": {"Bob@Contoso.com"},
				"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname":    {"Bob"},
				"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname":      {"Builder"},
				"http://schemas.microsoft.com/identity/claims/displayname":           {"Bob Builder"},
				"http://schemas.microsoft.com/ws/2008/06/identity/claims/groups":     {"g1", "g2"},
				"http://schemas.microsoft.com/claims/authnmethodsreferences":         {"http://schemas.microsoft.com/claims/multipleauthn"},
			},
			want: sso.Profile{Email: "bob@contoso.com", GivenName: "Bob", FamilyName: "Builder", DisplayName: "Bob Builder", Groups: []string{"g1", "g2"}, MFA: true}},
		{name: "EntraGuestEXT", nameID: "carol_fabrikam.com#EXT#@contoso.onmicrosoft.com",
			attrs: map[string][]string{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name": {"carol_fabrikam.com#EXT#@contoso.onmicrosoft.com"}},
			want:  sso.Profile{Email: "carol@fabrikam.com"}},
		{name: "OneLogin", nameID: "dave@example.org",
			attrs: map[string][]string{"User.email": {"dave@example.org"}, "User.FirstName": {"Dave"}, "User.LastName": {"Doe"}, "memberOf": {"a;b"}},
			want:  sso.Profile{Email: "dave@example.org", GivenName: "Dave", FamilyName: "Doe", DisplayName: "Dave Doe", Groups: []string{"a;b"}}},
		{name: "ADFS", nameID: "CORP\\erin",
			attrs: map[string][]string{"http://schemas.xmlsoap.org/claims/EmailAddress": {"erin@corp.example"}, "http://schemas.xmlsoap.org/claims/Group": {"Domain Users"}},
			want:  sso.Profile{Email: "erin@corp.example", Groups: []string{"Domain Users"}}},
		{name: "Keycloak", nameID: "frank",
			attrs: map[string][]string{"urn:oid:0.9.2342.19200300.100.1.3": {"frank@kc.example"}, "urn:oid:2.5.4.42": {"Frank"}, "urn:oid:2.5.4.4": {"Kc"}},
			want:  sso.Profile{Email: "frank@kc.example", GivenName: "Frank", FamilyName: "Kc", DisplayName: "Frank Kc"}},
		{name: "Override", nameID: "gina",
			attrs:   map[string][]string{"email": {"wrong@example.com"}, "corpMail": {"gina@example.com"}, "teams": {"t1"}},
			mapping: sso.AttributeMapping{Email: "corpMail", Groups: "teams"},
			want:    sso.Profile{Email: "gina@example.com", Groups: []string{"t1"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.conn.Mapping = c.mapping
			h.updateConn(t, h.conn, func(*saml.ConnectionConfig) {})
			l := h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) { f.nameID, f.attrs = c.nameID, c.attrs }))
			p := l.Profile
			got := sso.Profile{Email: p.Email, GivenName: p.GivenName, FamilyName: p.FamilyName, DisplayName: p.DisplayName, Groups: p.Groups, MFA: p.MFA}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			if p.Subject != c.nameID || p.Raw == nil {
				t.Fatalf("subject %q raw %v", p.Subject, p.Raw)
			}
		})
	}
}
