// Package egress is the one guarded HTTP client for outbound fetches of
// tenant-configured URLs: SAML metadata, OIDC discovery, JWKS, token and
// userinfo endpoints. saml and oidc both build their client with [New], so
// they enforce the same policy against server-side request forgery (SSRF):
//
//   - every dialled address (after DNS resolution, on every redirect hop and
//     every reconnect) is checked with [netguard.Blocked], so DNS rebinding
//     and redirects into the network are refused before a byte is sent,
//     unless Options.AllowPrivate is set;
//   - an overall timeout and a per-dial timeout;
//   - at most Options.MaxRedirects redirects, never from https to http, each
//     hop checked by [CheckURL] and again by the dialer;
//   - no proxy while the guard is on (see [New]);
//   - [ReadAll] reads a body up to a size cap.
//
// # Host-supplied clients
//
// One rule for Options.Base: its *http.Transport is cloned and given the
// guarded dialer (its proxy and its own dial hooks are dropped); any other
// RoundTripper cannot be guarded and is refused with [ErrUnguardedTransport]
// unless AllowPrivate is set, in which case it is used as it is and its
// owner is responsible for the egress policy. The other fields of Base
// (Jar, CheckRedirect, Timeout) are not used.
package egress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/ssokit/ssokit/internal/netguard"
)

// Defaults for the zero Options fields.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultDialTimeout  = 5 * time.Second
	DefaultMaxRedirects = 3
	// maxHeaderBytes bounds the response headers of an untrusted server.
	maxHeaderBytes = 64 << 10
)

// Policy refusals. Callers test them with errors.Is (or [Refused]) and wrap
// them with their own package prefix and sso sentinel.
var (
	// ErrBlockedAddress reports a URL or a dialled address that is
	// loopback, private, link-local or otherwise internal.
	ErrBlockedAddress = errors.New("egress: destination address not allowed")
	// ErrInsecureURL reports a URL that is not https (or not http(s) at
	// all) while AllowHTTP is off, and a redirect from https to http.
	ErrInsecureURL = errors.New("egress: URL must use https")
	// ErrBadURL reports a URL that is not absolute or carries userinfo.
	ErrBadURL = errors.New("egress: not an absolute http(s) URL without userinfo")
	// ErrTooManyRedirects reports a redirect chain longer than allowed.
	ErrTooManyRedirects = errors.New("egress: too many redirects")
	// ErrTooLarge reports a body over the size cap given to [ReadAll].
	ErrTooLarge = errors.New("egress: response too large")
	// ErrUnguardedTransport reports a host-supplied RoundTripper that is
	// not an *http.Transport while AllowPrivate is off.
	ErrUnguardedTransport = errors.New("egress: HTTPClient.Transport must be an *http.Transport unless private addresses are allowed")
)

// Options configures [New]. The zero value is the secure default.
type Options struct {
	// Base is the host-supplied client. Only its Transport is used; see
	// the package documentation for the rule. Nil means a transport cloned
	// from http.DefaultTransport.
	Base *http.Client
	// AllowPrivate turns the address guard off: URLs and dialled addresses
	// may be internal, and a non-*http.Transport Base is used as it is.
	AllowPrivate bool
	// AllowHTTP accepts http:// URLs. A redirect from https to http is
	// refused even then.
	AllowHTTP bool
	// Timeout bounds a whole request, redirects and body read included.
	// Zero means DefaultTimeout.
	Timeout time.Duration
	// DialTimeout bounds one TCP connect. Zero means DefaultDialTimeout.
	DialTimeout time.Duration
	// MaxRedirects is how many redirects a request may follow. Zero means
	// DefaultMaxRedirects; negative means none.
	MaxRedirects int

	// Test seams: blocked replaces the dial-time predicate (nil means
	// netguard.Blocked of the address), hosts maps a "host:port" to the
	// "ip:port" the dialer connects to, standing in for DNS.
	blocked func(netip.AddrPort) bool
	hosts   map[string]string
}

// New returns the guarded client described by o. Its only error wraps
// [ErrUnguardedTransport].
func New(o Options) (*http.Client, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	switch {
	case o.MaxRedirects == 0:
		o.MaxRedirects = DefaultMaxRedirects
	case o.MaxRedirects < 0:
		o.MaxRedirects = 0
	}
	var rt http.RoundTripper
	var tr *http.Transport
	var base http.RoundTripper
	if o.Base != nil {
		base = o.Base.Transport
	}
	switch b := base.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		tr = b.Clone()
	default:
		if !o.AllowPrivate {
			return nil, fmt.Errorf("%w (got %T)", ErrUnguardedTransport, b)
		}
		// Trusted setups only: the owner of b is responsible for the
		// egress policy. URL and redirect checks below still apply.
		rt = b
	}
	if tr != nil {
		d := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}
		dial := d.DialContext
		if o.hosts != nil {
			dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
				if a, ok := o.hosts[addr]; ok {
					addr = a
				}
				return d.DialContext(ctx, network, addr)
			}
		}
		if !o.AllowPrivate {
			d.ControlContext = guard(o.blocked)
			// A proxy would make the dialled address the proxy's, so the
			// guard would check the proxy instead of the destination
			// (and an environment proxy may well sit inside the network).
			// No proxy while the guard is on, the host's included.
			tr.Proxy = nil
			// Own dial hooks would bypass the guarded dialer; TLS is then
			// done by the transport with its TLSClientConfig.
			tr.DialTLSContext = nil
			tr.DialTLS = nil //nolint:staticcheck // deprecated, but honoured by net/http
			tr.Dial = nil    //nolint:staticcheck // deprecated, but honoured by net/http
			tr.DialContext = dial
		} else {
			if base == nil {
				// Our own default transport: no environment proxy either,
				// so AllowPrivate changes only what may be reached.
				tr.Proxy = nil
			}
			if tr.DialContext == nil && tr.Dial == nil { //nolint:staticcheck // deprecated
				tr.DialContext = dial
			}
		}
		if tr.ResponseHeaderTimeout <= 0 || tr.ResponseHeaderTimeout > o.Timeout {
			tr.ResponseHeaderTimeout = o.Timeout
		}
		if tr.MaxResponseHeaderBytes <= 0 || tr.MaxResponseHeaderBytes > maxHeaderBytes {
			tr.MaxResponseHeaderBytes = maxHeaderBytes
		}
		rt = tr
	}
	return &http.Client{
		Transport: rt,
		Timeout:   o.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > o.MaxRedirects {
				return fmt.Errorf("%w (at most %d)", ErrTooManyRedirects, o.MaxRedirects)
			}
			if req.URL.Scheme != "https" {
				for _, v := range via {
					if v.URL.Scheme == "https" {
						return fmt.Errorf("%w: redirect from https to %s", ErrInsecureURL, req.URL.Scheme)
					}
				}
			}
			// The dialer checks the hop's resolved address too.
			return CheckURL(req.URL, o.AllowPrivate, o.AllowHTTP)
		},
	}, nil
}

// guard returns the dialer's control function: it runs on the resolved
// address of every connection attempt, before connect, so no byte reaches a
// blocked address. blocked nil means netguard.Blocked.
func guard(blocked func(netip.AddrPort) bool) func(context.Context, string, string, syscall.RawConn) error {
	if blocked == nil {
		blocked = func(ap netip.AddrPort) bool { return netguard.Blocked(ap.Addr()) }
	}
	return func(_ context.Context, _, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil || blocked(ap) {
			return fmt.Errorf("%w: %s", ErrBlockedAddress, address)
		}
		return nil
	}
}

// CheckURL applies the static part of the policy to u: an absolute http(s)
// URL without userinfo, https unless allowHTTP, and, unless allowPrivate,
// no literal internal IP and no "localhost" name. Names that resolve to
// internal addresses are caught later by the client's dialer.
func CheckURL(u *url.URL, allowPrivate, allowHTTP bool) error {
	if u == nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return ErrBadURL
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowHTTP {
			return ErrInsecureURL
		}
	default:
		return ErrInsecureURL
	}
	if !allowPrivate {
		h := u.Hostname()
		if ip, err := netip.ParseAddr(h); err == nil && netguard.Blocked(ip) {
			return fmt.Errorf("%w: %s", ErrBlockedAddress, h)
		}
		lh := strings.ToLower(strings.TrimSuffix(h, "."))
		if lh == "localhost" || strings.HasSuffix(lh, ".localhost") {
			return fmt.Errorf("%w: %s", ErrBlockedAddress, h)
		}
	}
	return nil
}

// Refused reports whether err (from CheckURL or from a request made with a
// client of New) is a policy refusal rather than a network or server
// failure: callers report the first as invalid input and the second as
// unavailable.
func Refused(err error) bool {
	return errors.Is(err, ErrBlockedAddress) || errors.Is(err, ErrInsecureURL) ||
		errors.Is(err, ErrBadURL) || errors.Is(err, ErrTooManyRedirects) ||
		errors.Is(err, ErrUnguardedTransport)
}

// ReadAll reads r to the end but at most limit bytes. A longer body is an
// error wrapping [ErrTooLarge] that names the limit.
func ReadAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}
