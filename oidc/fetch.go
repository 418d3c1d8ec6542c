package oidc

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/ssokit/ssokit/internal/egress"
	"github.com/ssokit/ssokit/sso"
)

// Size caps for documents fetched from an IdP.
const (
	maxDiscoveryBytes = 256 << 10
	maxJWKSBytes      = 512 << 10
	maxUserInfoBytes  = 256 << 10
)

// errBlockedAddress reports a fetch to a loopback, private, link-local or
// otherwise internal address while AllowPrivateAddresses is off.
var errBlockedAddress = egress.ErrBlockedAddress

// errInsecureURL reports a non-https URL while AllowInsecureURLs is off.
var errInsecureURL = egress.ErrInsecureURL

// newFetchClient returns the client used for discovery, JWKS, token and
// userinfo requests: the shared guarded egress client (see Config.HTTPClient
// for the rule on a host-supplied client). Its error wraps
// sso.ErrInvalidConfig.
func newFetchClient(base *http.Client, allowPrivate, allowInsecure bool, timeout time.Duration) (*http.Client, error) {
	c, err := egress.New(egress.Options{Base: base, AllowPrivate: allowPrivate, AllowHTTP: allowInsecure, Timeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("%w: oidc: %w", sso.ErrInvalidConfig, err)
	}
	return c, nil
}

// checkURL applies the static part of the egress policy to u (see
// egress.CheckURL). Its error wraps sso.ErrInvalidInput.
func checkURL(u *url.URL, allowPrivate, allowInsecure bool) error {
	if err := egress.CheckURL(u, allowPrivate, allowInsecure); err != nil {
		return fmt.Errorf("%w: oidc: %w", sso.ErrInvalidInput, err)
	}
	return nil
}

// fetchJSON GETs rawURL, the IdP's doc, and decodes a JSON body of at
// most limit bytes into v. It returns the raw body too. IdP faults are
// *UpstreamError values.
func (rp *RP) fetchJSON(ctx context.Context, doc, rawURL string, limit int64, v any) ([]byte, error) {
	body, _, err := rp.fetch(ctx, doc, rawURL, "", limit)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, &UpstreamError{Kind: UpstreamMalformed, Doc: doc, URL: redactURL(rawURL), Want: "a JSON " + doc,
			Got: "not JSON of that shape", Err: err}
	}
	return body, nil
}

// fetch GETs rawURL, the IdP's doc, with the egress policy and a size cap.
// bearer, when set, is sent as an Authorization header. It returns the
// body and its media type. A refusal of the egress policy wraps
// sso.ErrInvalidInput; every fault of the IdP (status, timeout, refused
// connection, oversized body, ...) is an *UpstreamError.
func (rp *RP) fetch(ctx context.Context, doc, rawURL, bearer string, limit int64) ([]byte, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("%w: oidc: bad URL", sso.ErrInvalidInput)
	}
	if err := checkURL(u, rp.cfg.AllowPrivateAddresses, rp.cfg.AllowInsecureURLs); err != nil {
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
		if egress.Refused(err) {
			return nil, "", fmt.Errorf("%w: oidc: fetch %s: %w", sso.ErrInvalidInput, redactURL(rawURL), err)
		}
		return nil, "", classifyTransport(doc, rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", &UpstreamError{Kind: UpstreamStatus, Doc: doc, URL: redactURL(rawURL), Status: resp.StatusCode}
	}
	body, err := egress.ReadAll(resp.Body, limit)
	if err != nil {
		ue := classifyTransport(doc, rawURL, err)
		if ue.Kind == UpstreamTooLarge {
			ue.Want, ue.Got = fmt.Sprintf("at most %d KiB", limit>>10), fmt.Sprintf("more than %d KiB", limit>>10)
		}
		return nil, "", ue
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
