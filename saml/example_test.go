package saml_test

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

type exampleFlow struct{}

func (exampleFlow) Complete(w http.ResponseWriter, r *http.Request, l *sso.Login) error {
	http.Redirect(w, r, returnto.Safe(l.ReturnTo, "/"), http.StatusSeeOther)
	return nil
}
func (exampleFlow) Fail(r *http.Request, f *sso.LoginFailure) {}

func ExampleNew() {
	store := memstore.New()
	base, _ := url.Parse("https://app.example.com/sso/saml")
	sp, err := saml.New(saml.Config{BaseURL: base, Connections: store, Store: memsaml.New(store), Completer: exampleFlow{}})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/sso/saml/", http.StripPrefix("/sso/saml", sp))

	d := sp.SPDetails(&sso.Connection{ID: "conn_123"})
	fmt.Println(d.EntityID)
	fmt.Println(d.ACSURL)
	// Output:
	// https://app.example.com/sso/saml/metadata/conn_123
	// https://app.example.com/sso/saml/acs/conn_123
}

func ExampleParseIdPMetadata() {
	md, err := saml.ParseIdPMetadata([]byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com">
<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="javascript:alert(1)"/>
</md:IDPSSODescriptor></md:EntityDescriptor>`))
	fmt.Println(md == nil, sso.ReasonOf(err))
	// Output: true metadata_invalid
}
