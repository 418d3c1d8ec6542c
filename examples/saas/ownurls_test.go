package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/saml"
)

// TestDemoOwnSLOURLTakesCrossSitePosts: an IdP posts logout messages
// cross-site to a connection's own SLO URL as to the default one; the
// demo's cross-origin protection lets the SAML handler judge them (by
// signature), which refuses a forged one.
func TestDemoOwnSLOURLTakesCrossSitePosts(t *testing.T) {
	app, base := startDemo(t, "")
	ctx := context.Background()
	slo := base + "/sso/saml/oldvendor/acme/slo"
	conn, err := app.store.GetConnection(ctx, "conn_acme")
	if err != nil {
		t.Fatal(err)
	}
	md, err := app.idpSAMLMetadata()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.saml.Configure(ctx, conn, &saml.ConnectionInput{MetadataXML: md, SPSLOURL: &slo}); err != nil {
		t.Fatal(err)
	}
	if err := app.store.UpdateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	post := func(target string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(url.Values{"SAMLRequest": {"bm90IGEgbG9nb3V0IHJlcXVlc3Q="}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://idp.example.com")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	code, body := post(slo)
	if code != http.StatusBadRequest || strings.Contains(body, "cross-origin request refused") {
		t.Fatalf("cross-site POST to the own SLO URL: %d %s", code, body)
	}
	// The cross-origin protection still guards the demo's own forms.
	if code, body = post(base + "/account/forgot"); code != http.StatusForbidden || !strings.Contains(body, "cross-origin request refused") {
		t.Fatalf("cross-site POST to a demo form: %d %s", code, body)
	}
}
