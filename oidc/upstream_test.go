package oidc

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/httperr"
	"github.com/ssokit/ssokit/sso"
)

// configureErr configures a fresh connection at issuer and returns the
// error, asserting the shape every upstream fault must have: a
// *sso.ValidationError with reason, want/got and a fix in its detail, an
// *UpstreamError of kind inside, and an admin status that is not 500.
func configureErr(t *testing.T, h *harness, issuer, reason string, kind UpstreamKind) (*sso.ValidationError, *UpstreamError) {
	t.Helper()
	_, err := h.rp.Configure(t.Context(), &sso.Connection{ID: "c_up"}, &ConnectionInput{Issuer: issuer, ClientID: "x", ClientSecret: "y"})
	ve := wantReason(t, err, reason)
	var ue *UpstreamError
	if !errors.As(err, &ue) || ue.Kind != kind {
		t.Fatalf("error %v: upstream error %+v, want kind %q", err, ue, kind)
	}
	if ve.Want == "" || ve.Got == "" || !strings.Contains(ve.Detail(), "fix: ") {
		t.Fatalf("detail without want/got or fix: %s", ve.Detail())
	}
	if st := httperr.Status(err); st == http.StatusInternalServerError {
		t.Fatalf("admin status 500 for %v", err)
	}
	if st := ue.HTTPStatus(); st != http.StatusBadGateway && st != http.StatusUnprocessableEntity {
		t.Fatalf("HTTPStatus %d", st)
	}
	return ve, ue
}

// TestConfigureUpstreamFaults: each fault of a discovery endpoint is
// reported as what it is, with its status or cause.
func TestConfigureUpstreamFaults(t *testing.T) {
	t.Parallel()
	serve := func(t *testing.T, f http.HandlerFunc) string {
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	newH := func(t *testing.T) *harness {
		return newHarness(t, newClock(), func(c *Config) { c.FetchTimeout = 300 * time.Millisecond })
	}
	for _, tc := range []struct {
		name, reason string
		kind         UpstreamKind
		status       int
		retryable    bool
		handler      http.HandlerFunc
	}{
		{"404", ReasonDiscoveryFailed, UpstreamStatus, 404, false, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }},
		{"500", ReasonDiscoveryFailed, UpstreamStatus, 500, true, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }},
		{"503", ReasonDiscoveryFailed, UpstreamStatus, 503, true, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }},
		{"garbage", ReasonDiscoveryFailed, UpstreamMalformed, 0, false, func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("<html>welcome to our portal</html>"))
		}},
		{"oversized", ReasonDiscoveryFailed, UpstreamTooLarge, 0, false, func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"issuer":"` + strings.Repeat("a", maxDiscoveryBytes) + `"}`))
		}},
		{"timeout", ReasonDiscoveryFailed, UpstreamTimeout, 0, true, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}},
		{"issuer-mismatch", ReasonDiscoveryIssuerMismatch, UpstreamIssuerMismatch, 0, false, func(w http.ResponseWriter, r *http.Request) {
			_, _ = fmt.Fprint(w, `{"issuer":"https://other.example"}`)
		}},
		{"no-token-endpoint", ReasonDiscoveryFailed, UpstreamIncomplete, 0, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newH(t)
			handler := tc.handler
			if handler == nil {
				handler = func(w http.ResponseWriter, r *http.Request) {
					u := "http://" + r.Host
					_, _ = fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":%q,"jwks_uri":%q}`, u, u+"/a", u+"/j")
				}
			}
			issuer := serve(t, handler)
			start := time.Now()
			ve, ue := configureErr(t, h, issuer, tc.reason, tc.kind)
			if time.Since(start) > 3*time.Second {
				t.Fatalf("took %v", time.Since(start))
			}
			if ue.Status != tc.status || ue.Retryable() != tc.retryable {
				t.Fatalf("status %d retryable %v, want %d %v", ue.Status, ue.Retryable(), tc.status, tc.retryable)
			}
			if tc.status != 0 && !strings.Contains(ve.Got, fmt.Sprint(tc.status)) {
				t.Fatalf("got %q does not name status %d", ve.Got, tc.status)
			}
			wantClass := sso.ErrInvalidInput
			if tc.retryable {
				wantClass = sso.ErrUnavailable
			}
			if !errors.Is(ve, wantClass) {
				t.Fatalf("%v does not wrap %v", ve, wantClass)
			}
			if tc.kind == UpstreamIssuerMismatch && (ve.Want != issuer || ve.Got != "https://other.example") {
				t.Fatalf("want/got = %q/%q", ve.Want, ve.Got)
			}
		})
	}
	t.Run("connection-refused", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		_, ue := configureErr(t, newH(t), "http://"+addr, ReasonDiscoveryFailed, UpstreamRefused)
		if !ue.Retryable() || !errors.Is(ue, sso.ErrUnavailable) {
			t.Fatalf("refused connection not retryable: %v", ue)
		}
	})
	t.Run("manual-endpoints-jwks-404", func(t *testing.T) {
		t.Parallel()
		h := newH(t)
		u := serve(t, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
		_, err := h.rp.Configure(t.Context(), &sso.Connection{ID: "c_m"}, &ConnectionInput{Issuer: u, ClientID: "x", ClientSecret: "y",
			AuthURL: u + "/a", TokenURL: u + "/t", JWKSURL: u + "/jwks"})
		ve := wantReason(t, err, ReasonJWKSFailed)
		var ue *UpstreamError
		if !errors.As(err, &ue) || ue.Status != 404 || ue.Doc != docJWKS || !strings.Contains(ve.Got, "404") {
			t.Fatalf("error %v (%+v)", err, ue)
		}
	})
}

// TestInteropConfigureUpstreamFaults runs the faults a real oidc-provider
// can produce: a 404 for a wrong issuer path and an issuer that differs
// by a trailing slash.
func TestInteropConfigureUpstreamFaults(t *testing.T) {
	dir := opHarnessDir(t)
	h := newHarness(t, newClock(), nil)
	op := startRealOP(t, dir, []map[string]any{{"client_id": "rp-x", "client_secret": "x-secret-0123456789",
		"redirect_uris": []string{h.rp.RedirectURI("c_up")}}})
	t.Run("wrong-path-404", func(t *testing.T) {
		_, ue := configureErr(t, h, op.issuer+"/tenant-a", ReasonDiscoveryFailed, UpstreamStatus)
		if ue.Status != http.StatusNotFound || ue.HTTPStatus() != http.StatusUnprocessableEntity {
			t.Fatalf("%+v", ue)
		}
	})
	t.Run("issuer-trailing-slash", func(t *testing.T) {
		ve, _ := configureErr(t, h, op.issuer+"/", ReasonDiscoveryIssuerMismatch, UpstreamIssuerMismatch)
		if ve.Want != op.issuer+"/" || ve.Got != op.issuer {
			t.Fatalf("want/got %q/%q", ve.Want, ve.Got)
		}
	})
	t.Run("configures", func(t *testing.T) {
		if _, err := h.rp.Configure(t.Context(), &sso.Connection{ID: "c_ok"}, &ConnectionInput{Issuer: op.issuer, ClientID: "rp-x", ClientSecret: "x"}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLoginPageForIdPFaults: a person whose login meets a fault of the IdP
// (a discovery document that is a web page or gone, a userinfo endpoint
// that fails) gets a page that blames the identity provider, with 502 Bad
// Gateway (503 when retryable), never the "start again" of a rejected
// response: starting again cannot help, and a 4xx would count the IdP's
// fault as the person's.
func TestLoginPageForIdPFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		knob   func(op *mockOP)
		atCB   bool // the fault meets the callback, not the start
		reason string
		status int
	}{
		{name: "discovery-html-page", reason: ReasonDiscoveryFailed, status: http.StatusBadGateway, knob: func(op *mockOP) {
			op.discoveryHandler = func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				fmt.Fprint(w, "<html>sign in</html>")
			}
		}},
		{name: "discovery-gone", reason: ReasonDiscoveryFailed, status: http.StatusBadGateway, knob: func(op *mockOP) {
			op.discoveryStatus = http.StatusNotFound
		}},
		{name: "discovery-down", reason: ReasonDiscoveryFailed, status: http.StatusServiceUnavailable, knob: func(op *mockOP) {
			op.discoveryStatus = http.StatusServiceUnavailable
		}},
		{name: "userinfo-gone", atCB: true, reason: ReasonUserInfoFailed, status: http.StatusBadGateway, knob: func(op *mockOP) {
			op.omitProfileClaims, op.userinfoStatus = true, http.StatusNotFound
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, op := setupOne(t, nil)
			op.set(tc.knob)
			b := newBrowser(t)
			var resp *http.Response
			if tc.atCB {
				resp = h.login(b, "conn_a")
			} else {
				resp = b.get(h.srv.URL + "/sso/oidc/login/conn_a")
			}
			wantReason(t, h.err(), tc.reason)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (err %v)", resp.StatusCode, tc.status, h.err())
			}
			rec := httptest.NewRecorder()
			DefaultErrorHandler(rec, httptest.NewRequest(http.MethodGet, "/", nil), h.err())
			if body := rec.Body.String(); !strings.Contains(body, "identity provider") || strings.Contains(body, "start again") {
				t.Fatalf("page %q: want one naming the identity provider, not asking to start again", body)
			}
		})
	}
}
