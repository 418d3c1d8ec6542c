package oidc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// TenantPlaceholder marks a multi-tenant issuer template such as Microsoft
// Entra ID's "https://login.microsoftonline.com/{tenantid}/v2.0". A
// connection whose Issuer holds it accepts only ID tokens whose tid claim is
// in OIDCConfig.AllowedTenantIDs and whose iss is the template with that tid.
const TenantPlaceholder = "{tenantid}"

// discoveryTenant replaces TenantPlaceholder when fetching the discovery
// document of a template issuer.
const discoveryTenant = "organizations"

// metadataTTL is how long discovery results are cached; on a failed refresh
// the last good copy keeps serving.
const metadataTTL = time.Hour

// metadataRetryInterval paces refreshes of an expired discovery document:
// one starts at most once per interval, and until one succeeds requests
// keep the last good copy instead of asking a failing IdP again.
const metadataRetryInterval = time.Minute

// metadata is the part of an OpenID Provider's configuration the RP uses.
type metadata struct {
	Issuer                       string   `json:"issuer"`
	AuthURL                      string   `json:"authorization_endpoint"`
	TokenURL                     string   `json:"token_endpoint"`
	UserInfoURL                  string   `json:"userinfo_endpoint"`
	JWKSURL                      string   `json:"jwks_uri"`
	EndSessionURL                string   `json:"end_session_endpoint"`
	IDTokenAlgs                  []string `json:"id_token_signing_alg_values_supported"`
	CodeChallengeMethods         []string `json:"code_challenge_methods_supported"`
	AuthResponseIssSupported     bool     `json:"authorization_response_iss_parameter_supported"`
	TokenEndpointAuthMethods     []string `json:"token_endpoint_auth_methods_supported"`
	BackchannelLogoutSupported   bool     `json:"backchannel_logout_supported"`
	BackchannelLogoutSessionReqd bool     `json:"backchannel_logout_session_supported"`
}

type metaEntry struct {
	meta      *metadata
	fetchedAt time.Time
	// triedAt is when a refresh of the expired entry was last started.
	triedAt time.Time
}

type providerCache struct {
	mu      sync.Mutex
	meta    map[string]*metaEntry
	keySets map[keySetKey]*keySet
}

// discoveryURL returns the well-known configuration URL of issuer.
func discoveryURL(issuer string) string {
	issuer = strings.ReplaceAll(issuer, TenantPlaceholder, discoveryTenant)
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// discover fetches issuer's discovery document and checks that it names
// exactly issuer (OIDC Discovery 1.0 section 4.3) and has the endpoints a
// code flow needs.
func (rp *RP) discover(ctx context.Context, issuer string) (_ *metadata, err error) {
	ctx, span := rp.tel.Start(ctx, "oidc.discovery.fetch")
	defer func() { rp.tel.RecordFetch(ctx, span, "oidc_discovery", sso.ReasonOf(err), err) }()
	var m metadata
	if _, err := rp.fetchJSON(ctx, docDiscovery, discoveryURL(issuer), maxDiscoveryBytes, &m); err != nil {
		return nil, err
	}
	if m.Issuer != issuer {
		ue := &UpstreamError{Kind: UpstreamIssuerMismatch, Doc: docDiscovery, URL: redactURL(discoveryURL(issuer)),
			Want: issuer, Got: truncate(m.Issuer, 1024)}
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonDiscoveryIssuerMismatch,
			Want: issuer, Got: ue.Got, Err: withFix(ue, ue.Fix())}
	}
	for _, e := range []struct{ name, v string }{
		{"authorization_endpoint", m.AuthURL}, {"token_endpoint", m.TokenURL}, {"jwks_uri", m.JWKSURL},
	} {
		if e.v == "" {
			return nil, &UpstreamError{Kind: UpstreamIncomplete, Doc: docDiscovery, URL: redactURL(discoveryURL(issuer)),
				Want: e.name, Got: e.name}
		}
	}
	if err := rp.checkEndpoints(&m); err != nil {
		return nil, err
	}
	return &m, nil
}

func (rp *RP) checkEndpoints(m *metadata) error {
	for _, e := range []struct{ name, v string }{
		{"authorization_endpoint", m.AuthURL}, {"token_endpoint", m.TokenURL}, {"jwks_uri", m.JWKSURL},
	} {
		if e.v == "" {
			return fmt.Errorf("%w: oidc: %s missing", sso.ErrInvalidInput, e.name)
		}
	}
	for _, v := range []string{m.AuthURL, m.TokenURL, m.JWKSURL, m.UserInfoURL} {
		if v == "" {
			continue
		}
		if err := rp.checkRawURL(v); err != nil {
			return err
		}
	}
	return nil
}

// metadataFor returns the provider metadata of conn: the manual endpoints
// when AuthURL is set, else discovery, cached per connection and issuer for
// metadataTTL. One request refreshes an expired copy, at most once per
// metadataRetryInterval; while it runs, and when it fails, requests use the
// last good copy. Without one, every request tries discovery.
func (rp *RP) metadataFor(ctx context.Context, conn *sso.Connection) (*metadata, error) {
	oc := ConfigOf(conn)
	if oc.AuthURL != "" {
		m := &metadata{Issuer: oc.Issuer, AuthURL: oc.AuthURL, TokenURL: oc.TokenURL,
			UserInfoURL: oc.UserInfoURL, JWKSURL: oc.JWKSURL, EndSessionURL: oc.EndSessionURL}
		if err := rp.checkEndpoints(m); err != nil {
			return nil, err
		}
		return m, nil
	}
	key := conn.ID + "\x00" + oc.Issuer
	now := rp.now()
	rp.cache.mu.Lock()
	var last *metadata
	if e := rp.cache.meta[key]; e != nil {
		since := now.Sub(e.triedAt)
		if now.Sub(e.fetchedAt) < metadataTTL || (since >= 0 && since < metadataRetryInterval) {
			rp.cache.mu.Unlock()
			return e.meta, nil
		}
		// This request refreshes; the others keep the last good copy
		// until the retry interval has passed.
		e.triedAt, last = now, e.meta
	}
	rp.cache.mu.Unlock()
	m, err := rp.discover(ctx, oc.Issuer)
	if err != nil {
		if last != nil {
			return last, nil
		}
		return nil, err
	}
	rp.cache.mu.Lock()
	if rp.cache.meta == nil {
		rp.cache.meta = map[string]*metaEntry{}
	}
	rp.cache.meta[key] = &metaEntry{meta: m, fetchedAt: now}
	rp.cache.mu.Unlock()
	return m, nil
}

// keySetKey names a cached key set: a connection and its JWKS URL.
type keySetKey struct{ conn, url string }

// keySetFor returns the cached key set of conn's JWKS URL.
func (rp *RP) keySetFor(conn *sso.Connection, jwksURL string) *keySet {
	key := keySetKey{conn.ID, jwksURL}
	rp.cache.mu.Lock()
	defer rp.cache.mu.Unlock()
	if ks := rp.cache.keySets[key]; ks != nil {
		return ks
	}
	if rp.cache.keySets == nil {
		rp.cache.keySets = map[keySetKey]*keySet{}
	}
	ks := newKeySet(rp, jwksURL, rp.cfg.JWKSRefetchInterval)
	rp.cache.keySets[key] = ks
	return ks
}

// algAllowed reports whether alg is in signingAlgs(conn, m), without
// building the list.
func algAllowed(conn *sso.Connection, m *metadata, alg string) bool {
	if !isAsymmetricAlg(alg) {
		return false
	}
	configured := ConfigOf(conn).SigningAlgs
	src := configured
	if len(src) == 0 {
		src = m.IDTokenAlgs
	}
	if slices.Contains(src, alg) {
		return true
	}
	// The RS256 default applies when nothing is configured and the IdP
	// advertises no asymmetric algorithm.
	return alg == "RS256" && len(configured) == 0 && !slices.ContainsFunc(src, isAsymmetricAlg)
}

// signingAlgs is the ID token algorithm allowlist of a connection: the
// connection's SigningAlgs, else the IdP's advertised algorithms, else
// RS256, always intersected with the asymmetric algorithms.
func signingAlgs(conn *sso.Connection, m *metadata) []string {
	src := ConfigOf(conn).SigningAlgs
	if len(src) == 0 {
		src = m.IDTokenAlgs
	}
	var out []string
	for _, a := range src {
		if isAsymmetricAlg(a) && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 && len(ConfigOf(conn).SigningAlgs) == 0 {
		out = []string{"RS256"}
	}
	return out
}
