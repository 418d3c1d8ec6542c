package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestDemoAPITokens exchanges a browser session for API tokens, calls the
// bearer-protected API, rotates the refresh token, and checks that reusing
// the old refresh token is refused and kills the rotated one too.
func TestDemoAPITokens(t *testing.T) {
	_, base := startDemo(t, "")
	b, _ := loginAs(t, base, "alice@acme.test")

	req, _ := http.NewRequest("POST", base+"/api/tokens", nil)
	req.Header.Set("Origin", base)
	res, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var pair struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int    `json:"expires_in"`
	}
	json.NewDecoder(res.Body).Decode(&pair)
	res.Body.Close()
	if res.StatusCode != 200 || pair.AccessToken == "" || pair.RefreshToken == "" || pair.ExpiresIn != 900 {
		t.Fatalf("issue tokens: status %d, %+v", res.StatusCode, pair)
	}

	me := func(tok string) (int, map[string]any) {
		req, _ := http.NewRequest("GET", base+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var v map[string]any
		json.NewDecoder(res.Body).Decode(&v)
		return res.StatusCode, v
	}
	if code, v := me(pair.AccessToken); code != 200 || v["org_id"] != "org_acme" || v["kind"] != "access_token" {
		t.Fatalf("/api/me with access token: %d %v", code, v)
	}
	if code, _ := me(pair.AccessToken[:len(pair.AccessToken)-4] + "AAAA"); code != http.StatusUnauthorized {
		t.Fatalf("/api/me with a forged token: %d, want 401", code)
	}

	refresh := func(rt string) (int, map[string]any) {
		res, err := http.PostForm(base+"/api/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var v map[string]any
		json.NewDecoder(res.Body).Decode(&v)
		return res.StatusCode, v
	}
	code, v := refresh(pair.RefreshToken)
	rt2, _ := v["refresh_token"].(string)
	if code != 200 || rt2 == "" || rt2 == pair.RefreshToken {
		t.Fatalf("refresh: %d %v", code, v)
	}
	// Reusing the first refresh token is refused and revokes the family.
	if code, v := refresh(pair.RefreshToken); code != http.StatusBadRequest || v["error"] != "invalid_grant" {
		t.Fatalf("refresh-token reuse: %d %v, want 400 invalid_grant", code, v)
	}
	if code, _ := refresh(rt2); code != http.StatusBadRequest {
		t.Fatalf("rotated token after reuse: %d, want 400 (family revoked)", code)
	}
	if !strings.HasPrefix(pair.AccessToken, "ey") {
		t.Fatalf("access token is not a JWT")
	}
}
