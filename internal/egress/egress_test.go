package egress

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/netguard"
)

// acceptCounter listens on addr and counts accepted connections, so a test
// can prove that a refused request never connected.
func acceptCounter(t *testing.T, network, addr string) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("listen %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	n := new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().String(), n
}

func mustNew(t *testing.T, o Options) *http.Client {
	t.Helper()
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGuardBlocksAtDial(t *testing.T) {
	t.Parallel()
	g := guard(nil)
	for _, addr := range []string{
		"127.0.0.1:80", "[::1]:443", "10.1.2.3:80", "169.254.169.254:80", "0.0.0.0:80", "240.0.0.1:80",
		"[::ffff:127.0.0.1]:80", "[fe80::1%eth0]:80", "not-an-address",
	} {
		if err := g(context.Background(), "tcp", addr, nil); !errors.Is(err, ErrBlockedAddress) {
			t.Errorf("guard(%s) = %v, want ErrBlockedAddress", addr, err)
		}
	}
	for _, addr := range []string{"8.8.8.8:443", "[2606:4700:4700::1111]:443"} {
		if err := g(context.Background(), "tcp", addr, nil); err != nil {
			t.Errorf("guard(%s) = %v, want nil", addr, err)
		}
	}
}

func TestLoopbackRefusedBeforeConnect(t *testing.T) {
	t.Parallel()
	addr4, n4 := acceptCounter(t, "tcp4", "127.0.0.1:0")
	_, port := mustSplit(t, addr4)
	c := mustNew(t, Options{AllowHTTP: true, Timeout: 2 * time.Second})
	// The literal, a name resolved to it, and the unspecified address all
	// reach the dialer (the client does not re-check the first URL).
	for _, u := range []string{"http://" + addr4 + "/", "http://localhost:" + port + "/", "http://0.0.0.0:" + port + "/"} {
		_, err := c.Get(u)
		if !errors.Is(err, ErrBlockedAddress) {
			t.Errorf("GET %s: err = %v, want ErrBlockedAddress", u, err)
		}
	}
	if got := n4.Load(); got != 0 {
		t.Fatalf("refused requests made %d connections, want 0", got)
	}
	// With the switch on, the same server is reached.
	_, err := mustNew(t, Options{AllowHTTP: true, AllowPrivate: true}).Get("http://" + addr4 + "/")
	if n4.Load() == 0 {
		t.Fatalf("AllowPrivate: no connection (err %v)", err)
	}
}

func TestLoopbackIPv6RefusedBeforeConnect(t *testing.T) {
	t.Parallel()
	addr6, n6 := acceptCounter(t, "tcp6", "[::1]:0")
	c := mustNew(t, Options{AllowHTTP: true, Timeout: 2 * time.Second})
	if _, err := c.Get("http://" + addr6 + "/"); !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("err = %v, want ErrBlockedAddress", err)
	}
	if got := n6.Load(); got != 0 {
		t.Fatalf("connections = %d, want 0", got)
	}
}

func mustSplit(t *testing.T, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

// TestRedirectToBlockedRefusedAtDial lets one loopback server through the
// dial guard (standing in for a public IdP) and redirects to a name that
// passes the URL check but resolves to a blocked address: the dialer, not
// the URL check, refuses it, before connecting.
func TestRedirectToBlockedRefusedAtDial(t *testing.T) {
	t.Parallel()
	internal, hits := acceptCounter(t, "tcp4", "127.0.0.1:0")
	_, port := mustSplit(t, internal)
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://internal.example:"+port+"/", http.StatusFound)
	}))
	defer allowed.Close()
	allowedAP := netip.MustParseAddrPort(allowed.Listener.Addr().String())
	c := mustNew(t, Options{
		AllowHTTP: true, Timeout: 2 * time.Second,
		blocked: func(ap netip.AddrPort) bool { return ap != allowedAP && netguard.Blocked(ap.Addr()) },
		hosts:   map[string]string{"internal.example:" + port: internal},
	})
	// The redirect target passes the static check: only the dialer sees
	// where it resolves.
	if err := CheckURL(&url.URL{Scheme: "http", Host: "internal.example:" + port}, false, true); err != nil {
		t.Fatalf("CheckURL = %v", err)
	}
	_, err := c.Get(allowed.URL)
	if !errors.Is(err, ErrBlockedAddress) || !strings.Contains(err.Error(), internal) {
		t.Fatalf("err = %v, want ErrBlockedAddress naming %s", err, internal)
	}
	if hits.Load() != 0 {
		t.Fatalf("the blocked address got %d connections", hits.Load())
	}
}

func TestRedirectPolicy(t *testing.T) {
	t.Parallel()
	var plainHits atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { plainHits.Add(1) }))
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			http.Redirect(w, r, plain.URL+"/", http.StatusFound)
			return
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if n > 0 {
			http.Redirect(w, r, "/?n="+strconv.Itoa(n-1), http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer tlsSrv.Close()
	base := tlsSrv.Client()
	// Even with AllowHTTP, https -> http is a downgrade and refused.
	c := mustNew(t, Options{Base: base, AllowPrivate: true, AllowHTTP: true})
	if _, err := c.Get(tlsSrv.URL + "/down"); !errors.Is(err, ErrInsecureURL) || plainHits.Load() != 0 {
		t.Fatalf("downgrade: err = %v, hits = %d", err, plainHits.Load())
	}
	for _, tc := range []struct {
		name  string
		max   int
		n     int
		wantE error
	}{
		{"default-3-ok", 0, 3, nil},
		{"default-4-refused", 0, 4, ErrTooManyRedirects},
		{"one-allowed", 1, 1, nil},
		{"none", -1, 1, ErrTooManyRedirects},
	} {
		c := mustNew(t, Options{Base: base, AllowPrivate: true, MaxRedirects: tc.max})
		resp, err := c.Get(tlsSrv.URL + "/?n=" + strconv.Itoa(tc.n))
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, tc.wantE) || (tc.wantE == nil && err != nil) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.wantE)
		}
	}
	// Each hop gets the static URL check too.
	c = mustNew(t, Options{})
	for _, target := range []string{"https://169.254.169.254/", "http://idp.example.com/", "https://localhost/", "https://u:p@idp.example.com/"} {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		if err := c.CheckRedirect(req, []*http.Request{req}); !Refused(err) {
			t.Errorf("redirect to %s: err = %v, want a refusal", target, err)
		}
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url                   string
		allowPrivate, allowHT bool
		want                  error
	}{
		{"https://idp.example.com/x", false, false, nil},
		{"https://127.0.0.1/", false, false, ErrBlockedAddress},
		{"https://[::1]/", false, false, ErrBlockedAddress},
		{"https://10.0.0.1/", false, false, ErrBlockedAddress},
		{"https://169.254.169.254/latest", false, false, ErrBlockedAddress},
		{"https://0.0.0.0/", false, false, ErrBlockedAddress},
		{"https://240.0.0.1/", false, false, ErrBlockedAddress},
		{"https://[::ffff:127.0.0.1]/", false, false, ErrBlockedAddress},
		{"https://LocalHost./", false, false, ErrBlockedAddress},
		{"https://a.localhost/", false, false, ErrBlockedAddress},
		{"https://127.0.0.1/", true, false, nil},
		{"http://idp.example.com/", false, false, ErrInsecureURL},
		{"http://idp.example.com/", false, true, nil},
		{"ftp://idp.example.com/", true, true, ErrInsecureURL},
		{"https://u:p@idp.example.com/", true, true, ErrBadURL},
		{"/relative", true, true, ErrBadURL},
	} {
		u, _ := url.Parse(tc.url)
		err := CheckURL(u, tc.allowPrivate, tc.allowHT)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("CheckURL(%s, %v, %v) = %v, want %v", tc.url, tc.allowPrivate, tc.allowHT, err, tc.want)
		}
	}
	if err := CheckURL(nil, true, true); !errors.Is(err, ErrBadURL) {
		t.Errorf("CheckURL(nil) = %v", err)
	}
}

func TestReadAll(t *testing.T) {
	t.Parallel()
	b, err := ReadAll(strings.NewReader("12345"), 5)
	if err != nil || string(b) != "12345" {
		t.Fatalf("at the limit: %q, %v", b, err)
	}
	_, err = ReadAll(strings.NewReader("123456"), 5)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "5 bytes") {
		t.Fatalf("over the limit: err = %v, want ErrTooLarge naming 5 bytes", err)
	}
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestHostSuppliedTransport(t *testing.T) {
	t.Parallel()
	var used atomic.Bool
	custom := rtFunc(func(r *http.Request) (*http.Response, error) {
		used.Store(true)
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})
	// Any other RoundTripper is refused while the guard is on...
	if _, err := New(Options{Base: &http.Client{Transport: custom}}); !errors.Is(err, ErrUnguardedTransport) {
		t.Fatalf("custom RoundTripper: err = %v, want ErrUnguardedTransport", err)
	}
	// ... and used as it is when private addresses are allowed.
	c := mustNew(t, Options{Base: &http.Client{Transport: custom}, AllowPrivate: true})
	if _, err := c.Get("https://idp.example.com/"); err != nil || !used.Load() {
		t.Fatalf("AllowPrivate custom RoundTripper: err = %v, used = %v", err, used.Load())
	}
	// An *http.Transport is cloned and given the guard: its proxy and own
	// dial hooks go, its TLS settings stay, the original is untouched.
	tlsCfg := &tls.Config{ServerName: "idp.example.com", MinVersion: tls.VersionTLS12}
	var hostDialled atomic.Bool
	orig := &http.Transport{
		Proxy:           http.ProxyFromEnvironment,
		TLSClientConfig: tlsCfg,
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			hostDialled.Store(true)
			return nil, errors.New("host dialer")
		},
	}
	c = mustNew(t, Options{Base: &http.Client{Transport: orig}})
	tr, ok := c.Transport.(*http.Transport)
	if !ok || tr == orig {
		t.Fatalf("transport %T was not cloned", c.Transport)
	}
	if tr.Proxy != nil || tr.DialTLSContext != nil || tr.DialContext == nil || tr.TLSClientConfig.ServerName != "idp.example.com" {
		t.Fatalf("cloned transport keeps a bypass or lost TLS settings: %+v", tr)
	}
	if orig.Proxy == nil || orig.DialTLSContext == nil {
		t.Fatal("the host's transport was modified")
	}
	addr, hits := acceptCounter(t, "tcp4", "127.0.0.1:0")
	if _, err := c.Get("https://" + addr + "/"); !errors.Is(err, ErrBlockedAddress) || hostDialled.Load() || hits.Load() != 0 {
		t.Fatalf("guarded clone: err = %v, host dialer used = %v, connections = %d", err, hostDialled.Load(), hits.Load())
	}
	// Nil Base: no environment proxy either way.
	for _, allow := range []bool{false, true} {
		if tr := mustNew(t, Options{AllowPrivate: allow}).Transport.(*http.Transport); tr.Proxy != nil {
			t.Errorf("AllowPrivate=%v: default transport uses a proxy", allow)
		}
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	c := mustNew(t, Options{AllowPrivate: true, AllowHTTP: true, Timeout: 100 * time.Millisecond})
	start := time.Now()
	if _, err := c.Get(srv.URL); err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v, want a timeout", err, time.Since(start))
	}
	if c.Timeout != 100*time.Millisecond {
		t.Fatalf("Timeout = %v", c.Timeout)
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	for _, err := range []error{ErrBlockedAddress, ErrInsecureURL, ErrBadURL, ErrTooManyRedirects, ErrUnguardedTransport} {
		if !Refused(&url.Error{Op: "Get", URL: "x", Err: err}) {
			t.Errorf("Refused(%v) = false", err)
		}
	}
	if Refused(errors.New("connection reset")) || Refused(ErrTooLarge) {
		t.Error("Refused reports a non-policy error")
	}
}
