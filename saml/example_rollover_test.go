package saml_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

// exampleKeyPair makes a self-signed RSA key pair.
func exampleKeyPair(cn string) *saml.KeyPair {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(3, 0, 0)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	cert, _ := x509.ParseCertificate(der)
	return &saml.KeyPair{Key: k, Certificate: cert}
}

// Rolling the SP key over: the next certificate is published 14 days
// ahead, signs from March 1st, and the old key decrypts for 7 more days.
func ExampleKeyRollover() {
	store := memstore.New()
	base, _ := url.Parse("https://app.example.com/sso/saml")
	switchAt := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	sp, err := saml.New(saml.Config{BaseURL: base, Connections: store, Store: memsaml.New(store), Events: store,
		Completer: exampleFlow{},
		Key:       exampleKeyPair("sp-2026"),
		Rollover:  &saml.KeyRollover{Next: exampleKeyPair("sp-2027"), SwitchAt: switchAt, PublishFor: 14 * 24 * time.Hour, RetireAfter: 7 * 24 * time.Hour}})
	if err != nil {
		panic(err)
	}
	// go sp.Run(ctx) audits each step once (saml.sp_key_published, ...).
	for _, t := range []time.Time{switchAt.AddDate(0, 0, -20), switchAt.AddDate(0, 0, -1), switchAt, switchAt.AddDate(0, 0, 8)} {
		fmt.Println(t.Format("2006-01-02"), sp.RolloverPhase(t))
	}
	mux := http.NewServeMux()
	mux.Handle("/sso/saml/", http.StripPrefix("/sso/saml", sp))
	// Output:
	// 2027-02-09 scheduled
	// 2027-02-28 published
	// 2027-03-01 switched
	// 2027-03-09 retired
}
