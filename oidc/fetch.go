package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/ssokit/ssokit/internal/netguard"
	"github.com/ssokit/ssokit/sso"
)

// Size caps for documents fetched from an IdP.
const (
	maxDiscoveryBytes = 256 << 10
	maxJWKSBytes      = 512 << 10
	maxUserInfoBytes  = 256 << 10
	maxRedirects      = 3
)

// errBlockedAddress reports a fetch to a loopback, private, link-local or
// otherwise internal address while AllowPrivateAddresses is off.
var errBlockedAddress = fmt.Errorf("%w: oidc: destination address not allowed", sso.ErrInvalidInput)

// errInsecureURL reports a non-https URL while AllowInsecureIssuers is off.
var errInsecureURL = fmt.Errorf("%w: oidc: URL must use https", sso.ErrInvalidInput)

// newFetchClient returns the client used for discovery, JWKS, token and
// userinfo requests. It clones base's transport (or the default one) and
// checks every dialled address, so DNS answers and redirects pointing inside
// the network are refused at connect time, not only at URL-parse time.
func newFetchClient(base *http.Client, allowPrivate, allowInsecure bool, timeout time.Duration) *http.Client {
	var rt http.RoundTripper
	var tr *http.Transport
	switch b := baseTransport(base).(type) {
	case *http.Transport:
		tr = b.Clone()
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	default:
		// A custom RoundTripper is used as-is: its owner is responsible
		// for the egress policy. URL checks below still apply.
		rt = b
	}
	if tr != nil {
		if !allowPrivate {
			d := &net.Dialer{Timeout: timeout, Control: func(network, address string, _ syscall.RawConn) error {
				ap, err := netip.ParseAddrPort(address)
				if err != nil || netguard.Blocked(ap.Addr()) {
					return fmt.Errorf("%w: %s", errBlockedAddress, address)
				}
				return nil
			}}
			tr.DialContext = d.DialContext
			// A proxy would make the dialled address the proxy's.
			tr.Proxy = nil
		}
		tr.ResponseHeaderTimeout = timeout
		tr.MaxResponseHeaderBytes = 64 << 10
		rt = tr
	}
	c := &http.Client{
		Transport: rt,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return errors.New("oidc: too many redirects")
			}
			return checkURL(req.URL, allowPrivate, allowInsecure)
		},
	}
	return c
}

func baseTransport(c *http.Client) http.RoundTripper {
	if c == nil || c.Transport == nil {
		return nil
	}
	return c.Transport
}

// checkURL applies the static part of the egress policy to u: absolute
// http(s) URL, https unless allowInsecure, no userinfo, and no literal
// internal IP or "localhost" unless allowPrivate.
func checkURL(u *url.URL, allowPrivate, allowInsecure bool) error {
	if u == nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return fmt.Errorf("%w: oidc: not an absolute URL", sso.ErrInvalidInput)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowInsecure {
			return errInsecureURL
		}
	default:
		return errInsecureURL
	}
	if !allowPrivate {
		h := u.Hostname()
		if ip, err := netip.ParseAddr(h); err == nil && netguard.Blocked(ip) {
			return fmt.Errorf("%w: %s", errBlockedAddress, h)
		}
		lh := strings.ToLower(strings.TrimSuffix(h, "."))
		if lh == "localhost" || strings.HasSuffix(lh, ".localhost") {
			return fmt.Errorf("%w: %s", errBlockedAddress, h)
		}
	}
	return nil
}

// fetchJSON GETs rawURL and decodes a JSON body of at most limit bytes into v.
// It returns the raw body too.
func (rp *RP) fetchJSON(ctx context.Context, rawURL string, limit int64, v any) ([]byte, error) {
	body, _, err := rp.fetch(ctx, rawURL, "", limit)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, fmt.Errorf("oidc: decode %s: %w", redactURL(rawURL), err)
	}
	return body, nil
}

// fetch GETs rawURL with the egress policy and a size cap. bearer, when set,
// is sent as an Authorization header. It returns the body and its media type.
func (rp *RP) fetch(ctx context.Context, rawURL, bearer string, limit int64) ([]byte, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("%w: oidc: bad URL", sso.ErrInvalidInput)
	}
	if err := checkURL(u, rp.cfg.AllowPrivateAddresses, rp.cfg.AllowInsecureIssuers); err != nil {
		return nil, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", "application/json, application/jwt")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := rp.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("%w: oidc: fetch %s: %w", sso.ErrUnavailable, redactURL(rawURL), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, "", fmt.Errorf("%w: oidc: read %s: %w", sso.ErrUnavailable, redactURL(rawURL), err)
	}
	if int64(len(body)) > limit {
		return nil, "", fmt.Errorf("oidc: %s: response larger than %d bytes", redactURL(rawURL), limit)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("%w: oidc: %s: status %d", sso.ErrUnavailable, redactURL(rawURL), resp.StatusCode)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return body, mt, nil
}

// redactURL drops the query of a URL for error messages.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		u.RawQuery, u.Fragment, u.User = "", "", nil
		return u.String()
	}
	return "<invalid URL>"
}
