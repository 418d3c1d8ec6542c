package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"
)

// portalAcrossReplicas checks that the portal's setup links and sessions
// are shared by the replicas through the database: a link made on a
// starts a session on b, the session works on both, the used link cannot
// start a second session on a, and revoking it on a ends the session on b.
func portalAcrossReplicas(t *testing.T, base string) {
	ctx := context.Background()
	var link struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	st, body, err := doJSON(ctx, "POST", base+"/api/admin/setup-links", adminHeaders("acme", "a"),
		map[string]any{"sections": []string{"sso", "domains"}}, &link)
	if err != nil || st != http.StatusCreated || link.URL == "" {
		t.Fatalf("create setup link on a: status %d, err %v: %s", st, err, body)
	}
	// send makes one request to one replica, carrying the portal cookie
	// by hand: it is Secure, and the balancer speaks plain HTTP.
	send := func(method, p, replica, cookie string, form url.Values) (*http.Response, string) {
		t.Helper()
		var rd io.Reader
		if form != nil {
			rd = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, base+p, rd)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if cookie != "" {
			req.Header.Set("Cookie", "ssokit_portal="+cookie)
		}
		req.Header.Set(replicaHeader, replica)
		c := &http.Client{Transport: sharedTransport, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	token := path.Base(link.URL)
	res, page := send("POST", "/admin/portal/start", "b", "", url.Values{"token": {token}})
	var cookie string
	for _, c := range res.Cookies() {
		if c.Name == "ssokit_portal" {
			cookie = c.Value
		}
	}
	if res.StatusCode != http.StatusSeeOther || cookie == "" {
		t.Fatalf("start on b: status %d, cookie %q: %s", res.StatusCode, cookie, tailString(page, 800))
	}
	for _, rep := range []string{"a", "b"} {
		if res, page := send("GET", "/admin/portal/sso", rep, cookie, nil); res.StatusCode != http.StatusOK || !strings.Contains(page, "Single sign-on") {
			t.Fatalf("portal session on %s: status %d: %s", rep, res.StatusCode, tailString(page, 800))
		}
	}
	// The session's scope holds on both replicas.
	if res, _ := send("GET", "/admin/portal/directory", "a", cookie, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("directory sync outside the link's scope on a: status %d, want 403", res.StatusCode)
	}
	if res, page := send("POST", "/admin/portal/start", "a", "", url.Values{"token": {token}}); res.StatusCode != http.StatusGone {
		t.Errorf("second start of a used link on a: status %d, want 410: %s", res.StatusCode, tailString(page, 400))
	}
	if st, body, err := doJSON(ctx, "DELETE", base+"/api/admin/setup-links/"+link.ID, adminHeaders("acme", "a"), nil, nil); err != nil || st >= 300 {
		t.Fatalf("revoke on a: status %d, err %v: %s", st, err, body)
	}
	if res, page := send("GET", "/admin/portal/sso", "b", cookie, nil); res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "withdrawn") {
		t.Errorf("session of a revoked link on b: status %d: %s", res.StatusCode, tailString(page, 400))
	}
}
