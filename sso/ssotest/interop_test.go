package ssotest_test

import (
	"context"
	"crypto/x509"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssokit/ssokit/sso/ssotest"
)

// TestInteropGosaml2 feeds responses to gosaml2, the SP library ssokit's
// saml package builds on: good ones are accepted, each fault is caught
// (as an error or as the warning gosaml2 reports it with).
func TestInteropGosaml2(t *testing.T) {
	t.Parallel()
	idp := newIdP(t, ssotest.Config{})
	sp := &saml2.SAMLServiceProvider{
		IdentityProviderSSOURL:      idp.SAMLSSOURL(),
		IdentityProviderIssuer:      idp.SAMLEntityID(),
		ServiceProviderIssuer:       spEntityID,
		AssertionConsumerServiceURL: spACS,
		AudienceURI:                 spEntityID,
		IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{idp.SAMLCertificate()}},
	}
	for _, tc := range []struct {
		fault ssotest.SAMLFault
		// rejected reports whether gosaml2 caught the fault.
		rejected func(info *saml2.AssertionInfo, err error) bool
	}{
		{0, func(info *saml2.AssertionInfo, err error) bool {
			return err != nil || info.NameID != "bob@example.com" || info.Values.Get("email") != "bob@example.com" ||
				info.WarningInfo.NotInAudience || info.WarningInfo.InvalidTime || !info.ResponseSignatureValidated
		}},
		{ssotest.SAMLWrongAudience, func(info *saml2.AssertionInfo, err error) bool { return err != nil || info.WarningInfo.NotInAudience }},
		{ssotest.SAMLExpired, func(info *saml2.AssertionInfo, err error) bool { return err != nil || info.WarningInfo.InvalidTime }},
		{ssotest.SAMLNotYetValid, func(info *saml2.AssertionInfo, err error) bool { return err != nil || info.WarningInfo.InvalidTime }},
		{ssotest.SAMLWrongRecipient, func(info *saml2.AssertionInfo, err error) bool { return err != nil }},
		{ssotest.SAMLUnsignedResponse | ssotest.SAMLUnsignedAssertion, func(info *saml2.AssertionInfo, err error) bool { return err != nil }},
		{ssotest.SAMLUntrustedKey, func(info *saml2.AssertionInfo, err error) bool { return err != nil }},
		{ssotest.SAMLWrapped, func(info *saml2.AssertionInfo, err error) bool {
			return err != nil || info.NameID != ssotest.WrappedEmail
		}},
		{ssotest.SAMLBadStatus, func(info *saml2.AssertionInfo, err error) bool { return err != nil }},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			res, err := idp.NewSAMLResponse(ssotest.SAMLResponseRequest{ServiceProvider: spEntityID, User: "bob@example.com", InResponseTo: "_i", Faults: tc.fault})
			if err != nil {
				t.Fatal(err)
			}
			info, err := sp.RetrieveAssertionInfo(res.Base64())
			got := tc.rejected(info, err)
			if tc.fault == 0 && got {
				t.Fatalf("good response rejected: %v %+v", err, info)
			}
			if tc.fault != 0 && !got {
				t.Fatalf("fault not caught: %+v", info)
			}
		})
	}
}

// TestInteropGoOIDC verifies ID tokens with go-oidc, the RP library
// ssokit's oidc package builds on, from discovery on.
func TestInteropGoOIDC(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t, ssotest.Config{})
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, e.s.Issuer())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	v := provider.Verifier(&oidc.Config{ClientID: "conf"})
	for _, f := range []ssotest.OIDCFault{0, ssotest.OIDCWrongIssuer, ssotest.OIDCWrongAudience, ssotest.OIDCExpired,
		ssotest.OIDCBadSignature, ssotest.OIDCAlgNone, ssotest.OIDCHS256PublicKey} {
		t.Run(f.String(), func(t *testing.T) {
			tok, err := e.s.IDToken(ssotest.IDTokenRequest{ClientID: "conf", User: "bob@example.com", Nonce: "n", AccessToken: "at", Faults: f})
			if err != nil {
				t.Fatal(err)
			}
			idt, err := v.Verify(ctx, tok)
			if f == 0 {
				if err != nil {
					t.Fatalf("good token rejected: %v", err)
				}
				if idt.Nonce != "n" || idt.VerifyAccessToken("at") != nil {
					t.Errorf("nonce %q or at_hash wrong", idt.Nonce)
				}
				return
			}
			if err == nil {
				t.Fatal("fault not caught")
			}
		})
	}
	tok, err := e.s.IDToken(ssotest.IDTokenRequest{ClientID: "conf", User: "bob@example.com", AccessToken: "at", Faults: ssotest.OIDCWrongAtHash})
	if err != nil {
		t.Fatal(err)
	}
	idt, err := v.Verify(ctx, tok)
	if err != nil || idt.VerifyAccessToken("at") == nil {
		t.Errorf("wrong at_hash not caught: %v", err)
	}
}
