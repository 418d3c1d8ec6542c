package portal_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
)

func TestLinksAPI(t *testing.T) {
	f := newFixture(t)
	api := httptest.NewServer(f.p.LinksHandler(func(r *http.Request) (string, sso.Actor, error) {
		if r.Header.Get("X-Staff") == "" {
			return "", sso.Actor{}, errors.New("no credential")
		}
		return r.Header.Get("X-Org"), sso.Actor{Type: sso.ActorOperator, ID: r.Header.Get("X-Staff")}, nil
	}))
	t.Cleanup(api.Close)
	call := func(org *sso.Organization, method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, api.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if org != nil {
			req.Header.Set("X-Staff", "staff-7")
			req.Header.Set("X-Org", org.ID)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return res.StatusCode, m
	}
	if code, _ := call(nil, "POST", "/setup-links", `{"sections":["sso"]}`); code != 401 {
		t.Fatalf("anonymous: %d", code)
	}
	for body, field := range map[string]string{`{"sections":[]}`: "sections", `{"sections":["sso"],"ttl_seconds":9999999}`: "ttl_seconds",
		`{"sections":["sso"],"org":"x"}`: "org", `{"sections":["payroll"]}`: "sections",
		`{"sections":["sso"],"ttl_seconds":"3600"}`: "ttl_seconds", `{"sections":"sso"}`: "sections", `[]`: "body", `{`: "body"} {
		if code, m := call(f.orgA, "POST", "/setup-links", body); code != 400 || m["field"] != field {
			t.Errorf("%s: %d %v, want 400 naming %s", body, code, m, field)
		}
	}
	code, m := call(f.orgA, "POST", "/setup-links", `{"sections":["domains","sso"],"ttl_seconds":3600}`)
	link, _ := m["url"].(string)
	if code != 201 || !strings.HasPrefix(link, "https://app.example/portal/start/") || m["status"] != "unused" {
		t.Fatalf("create: %d %v", code, m)
	}
	id := m["id"].(string)
	if code, m := call(f.orgA, "GET", "/setup-links", ""); code != 200 || strings.Contains(mustJSON(m), token(link)) {
		t.Fatalf("list: %d (or it leaks the secret)", code)
	}
	b := f.browser()
	if r := b.post("/start", url.Values{"token": {token(link)}}); r.Status != http.StatusSeeOther {
		t.Fatalf("start: %d", r.Status)
	}
	// Another organization's staff cannot revoke it.
	if code, _ := call(f.orgB, "DELETE", "/setup-links/"+id, ""); code != 404 {
		t.Fatalf("cross-tenant revoke: %d", code)
	}
	if r := b.get("/sso"); r.Status != http.StatusOK {
		t.Fatalf("session ended by another org: %d", r.Status)
	}
	if code, _ := call(f.orgA, "DELETE", "/setup-links/"+id, ""); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	if r := b.get("/sso"); r.Status != http.StatusUnauthorized {
		t.Fatalf("session survived revocation: %d", r.Status)
	}
	evs := f.events(f.orgA, "portal.setup_link_revoked")
	if len(evs) != 1 || evs[0].Actor.ID != "staff-7" {
		t.Fatalf("revocation audit: %+v", evs)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
