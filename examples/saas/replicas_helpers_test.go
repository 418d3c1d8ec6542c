package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso/ssotest"
)

// The helpers in this file run the demo as separate processes behind a
// small reverse proxy that plays the load balancer, for the replica tests.

const (
	replicaAdminToken = "replica-test-admin-token"
	// replicaSealKey is a fixed base64 32-byte key, the same on every replica.
	replicaSealKey = "c3Nva2l0LXJlcGxpY2EtdGVzdC1zZWFsLWtleS0zMiE="
	// replicaHeader names the replica a request must reach ("a" or "b").
	replicaHeader = "X-Test-Replica"
	// servedByHeader is set by the proxy on every response.
	servedByHeader = "X-Test-Served-By"
)

// buildDemo compiles the demo into a temporary directory.
func buildDemo(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "saas")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build ./examples/saas: %v", err)
	}
	return bin
}

// replica is one demo process.
type replica struct {
	name, addr, logPath string
	cmd                 *exec.Cmd
	target              *url.URL
}

// startReplica starts the demo binary on a free loopback port with the
// shared base URL and database, and waits until it has seeded.
// The replica joins the balancer at once: seeding fetches the development
// IdP's keys through the base URL.
func startReplica(t *testing.T, bin, name string, lb *balancer, dsn string, extra ...string) *replica {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := &replica{name: name, addr: addr, logPath: filepath.Join(t.TempDir(), name+".log")}
	r.target, _ = url.Parse("http://" + addr)
	logf, err := os.Create(r.logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-addr", addr, "-base-url", lb.URL, "-db", dsn,
		"-admin-token", replicaAdminToken, "-seal-key", replicaSealKey}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start replica %s: %v", name, err)
	}
	r.cmd = cmd
	lb.add(r)
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			if strings.Contains(sc.Text(), "ssokit demo is running") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(r.logPath)
			t.Logf("replica %s log (tail):\n%s", name, tailString(string(b), 3000))
		}
	})
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		b, _ := os.ReadFile(r.logPath)
		t.Fatalf("replica %s did not start in 60 s:\n%s", name, tailString(string(b), 3000))
	}
	return r
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// balancer is the load balancer in front of the replicas. A request goes to
// the replica named by its X-Test-Replica header, else round robin. The
// development IdP (/idp/) is pinned to the first replica: it keeps pending
// logins and authorization codes in memory, like an external IdP would in
// its own process.
type balancer struct {
	mu       sync.RWMutex
	replicas []*replica
	next     atomic.Uint64
	ln       net.Listener
	srv      *http.Server
	URL      string
	// errs is the proxy's error log: why a response was cut short or
	// answered 502.
	errs lockedBuffer
}

// newBalancer starts the balancer; replicas join it with add.
func newBalancer(t *testing.T) *balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{ln: ln, URL: "http://" + ln.Addr().String()}
	b.serve()
	t.Cleanup(func() { b.srv.Close() })
	return b
}

func (b *balancer) add(r *replica) {
	b.mu.Lock()
	b.replicas = append(b.replicas, r)
	b.mu.Unlock()
}

func (b *balancer) pick(r *http.Request) *replica {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if strings.HasPrefix(r.URL.Path, "/idp/") {
		return b.replicas[0]
	}
	if name := r.Header.Get(replicaHeader); name != "" {
		for _, rep := range b.replicas {
			if rep.name == name {
				return rep
			}
		}
	}
	return b.replicas[int(b.next.Add(1))%len(b.replicas)]
}

func (b *balancer) serve() {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	proxy := &httputil.ReverseProxy{
		Transport: tr,
		ErrorLog:  log.New(&b.errs, "balancer: ", log.Lmicroseconds),
		Rewrite: func(pr *httputil.ProxyRequest) {
			rep := b.pick(pr.In)
			pr.SetURL(rep.target)
			pr.Out.Host = pr.In.Host // the replicas see the public host
			pr.Out.Header.Del(replicaHeader)
			pr.Out.Header.Set(servedByHeader, rep.name)
		},
		ModifyResponse: func(res *http.Response) error {
			res.Header.Set(servedByHeader, res.Request.Header.Get(servedByHeader))
			return nil
		},
	}
	b.srv = &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go b.srv.Serve(b.ln)
}

// routedTransport sets the replica header on every request from route and
// records which replica served each path.
type routedTransport struct {
	base  http.RoundTripper
	route func(*http.Request) string
	mu    sync.Mutex
	seen  []string // "METHOD path -> replica"
}

func (rt *routedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if name := rt.route(req); name != "" {
		req = req.Clone(req.Context())
		req.Header.Set(replicaHeader, name)
	}
	res, err := rt.base.RoundTrip(req)
	if err == nil {
		rt.mu.Lock()
		rt.seen = append(rt.seen, req.Method+" "+req.URL.Path+" -> "+res.Header.Get(servedByHeader))
		rt.mu.Unlock()
	}
	return res, err
}

// servedBy returns the replica that served the first request whose path has
// the prefix.
func (rt *routedTransport) servedBy(method, prefix string) string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, s := range rt.seen {
		m, path, _ := strings.Cut(s, " ")
		if (method == "" || m == method) && strings.HasPrefix(path, prefix) {
			return s[strings.LastIndex(s, " -> ")+4:]
		}
	}
	return ""
}

// sharedTransport is the loopback transport of every test client.
var sharedTransport = &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}

// newRoutedBrowser returns an ssotest.Browser for user whose requests are
// routed by route.
func newRoutedBrowser(user string, route func(*http.Request) string) (*ssotest.Browser, *routedTransport) {
	b := ssotest.NewBrowser()
	b.User = user
	rt := &routedTransport{base: sharedTransport, route: route}
	b.Client.Transport = rt
	b.Client.Timeout = 30 * time.Second
	return b, rt
}

// startOnFinishOn routes the discovery request to start and everything else
// of the demo to finish (the balancer pins the IdP itself).
func startOnFinishOn(start, finish string) func(*http.Request) string {
	return func(r *http.Request) string {
		if r.URL.Path == "/sso/login" {
			return start
		}
		return finish
	}
}

// signIn signs user in through the email-first endpoint and the development
// IdP, and returns the final page.
func signIn(ctx context.Context, b *ssotest.Browser, base, email string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/sso/login",
		strings.NewReader(url.Values{"email": {email}, "return_to": {"/dashboard"}}.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	res, err := b.Do(req)
	if err != nil {
		return 0, "", err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.Request.URL.Path != "/dashboard" {
		reason := ""
		if i := strings.Index(string(body), `id="error-reason">`); i >= 0 {
			reason, _, _ = strings.Cut(string(body[i+len(`id="error-reason">`):]), "<")
		}
		return res.StatusCode, string(body), fmt.Errorf("login %s ended at %s (status %d, reason %q)", email, res.Request.URL, res.StatusCode, reason)
	}
	return res.StatusCode, string(body), nil
}

// get sends a GET with the browser's cookies to one replica, without
// following redirects, asking for JSON errors.
func get(ctx context.Context, c *http.Client, base, path, replica string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if replica != "" {
		req.Header.Set(replicaHeader, replica)
	}
	nc := &http.Client{Jar: c.Jar, Transport: sharedTransport, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := nc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	return res, body, err
}

// doJSON sends a JSON request with extra headers and decodes a JSON answer
// into out (when non-nil).
func doJSON(ctx context.Context, method, u string, hdr map[string]string, in, out any) (int, []byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, err
		}
		body = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if in != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := (&http.Client{Transport: sharedTransport, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return res.StatusCode, nil, err
	}
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return res.StatusCode, b, fmt.Errorf("decode %s %s: %w", method, u, err)
		}
	}
	return res.StatusCode, b, nil
}

func adminHeaders(org, replica string) map[string]string {
	h := map[string]string{"Authorization": "Bearer " + replicaAdminToken, "X-Ssokit-Org": org, "Accept": "application/json"}
	if replica != "" {
		h[replicaHeader] = replica
	}
	return h
}

// createSCIMToken creates a SCIM bearer token for org through the admin API.
func createSCIMToken(t *testing.T, base, org, replica string) string {
	t.Helper()
	var tok struct {
		Token string `json:"token"`
	}
	st, body, err := doJSON(context.Background(), "POST", base+"/api/admin/scim-tokens", adminHeaders(org, replica),
		map[string]string{"description": "replica test"}, &tok)
	if err != nil || st != http.StatusCreated && st != http.StatusOK || tok.Token == "" {
		t.Fatalf("create SCIM token: status %d, err %v: %s", st, err, body)
	}
	return tok.Token
}

func scimHeaders(token, replica string) map[string]string {
	h := map[string]string{"Authorization": "Bearer " + token, "Accept": "application/scim+json",
		"Content-Type": "application/scim+json"}
	if replica != "" {
		h[replicaHeader] = replica
	}
	return h
}

// scimUserID finds a user's SCIM id by userName.
func scimUserID(t *testing.T, base, token, userName, replica string) string {
	t.Helper()
	var list struct {
		Resources []struct {
			ID string `json:"id"`
		} `json:"Resources"`
	}
	q := url.Values{"filter": {`userName eq "` + userName + `"`}}
	st, body, err := doJSON(context.Background(), "GET", base+"/scim/v2/Users?"+q.Encode(), scimHeaders(token, replica), nil, &list)
	if err != nil || st != http.StatusOK || len(list.Resources) != 1 {
		t.Fatalf("SCIM find %s: status %d, err %v: %s", userName, st, err, body)
	}
	return list.Resources[0].ID
}

// newJarClient returns a client with an empty cookie jar.
func newJarClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: sharedTransport}
}

// percentile returns the p-th percentile (0..100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

// latencies collects durations from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) sorted() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := slices.Clone(l.d)
	slices.Sort(s)
	return s
}

// scimProvision pushes a user through SCIM (as an IdP does before or after
// the first SSO login) and returns its SCIM id.
func scimProvision(t *testing.T, base, token, email, replica string) string {
	t.Helper()
	local, _, _ := strings.Cut(email, "@")
	user := map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName":   email,
		"externalId": "ext-" + local,
		"name":       map[string]string{"givenName": local, "familyName": "Test"},
		"emails":     []map[string]any{{"value": email, "primary": true, "type": "work"}},
		"active":     true,
	}
	var out struct {
		ID string `json:"id"`
	}
	st, body, err := doJSON(context.Background(), "POST", base+"/scim/v2/Users", scimHeaders(token, replica), user, &out)
	if err != nil || st != http.StatusCreated || out.ID == "" {
		t.Fatalf("SCIM create %s: status %d, err %v: %s", email, st, err, body)
	}
	return out.ID
}
