package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/ssokit/ssokit/sso"
)

var _ sso.HealthProber = (*RP)(nil)

// ProbeConnection implements sso.HealthProber. It fetches the connection's
// discovery document (unless its endpoints are configured by hand) and its
// JWKS with the RP's egress policy (no internal addresses, https, size caps,
// FetchTimeout), checks the discovered issuer and endpoints, and reports the
// number of usable signing keys and the validity of any certificates (x5c)
// the keys carry. It changes no cache: the last good discovery document and
// keys keep verifying logins whatever the probe finds.
func (rp *RP) ProbeConnection(ctx context.Context, c *sso.Connection) (*sso.HealthProbe, error) {
	if c == nil || ConfigOf(c) == nil {
		return nil, fmt.Errorf("%w: oidc: not an OIDC connection", sso.ErrInvalidInput)
	}
	oc := ConfigOf(c)
	var m *metadata
	if oc.AuthURL != "" {
		m = &metadata{Issuer: oc.Issuer, AuthURL: oc.AuthURL, TokenURL: oc.TokenURL, UserInfoURL: oc.UserInfoURL, JWKSURL: oc.JWKSURL}
		if err := rp.checkEndpoints(m); err != nil {
			return nil, err
		}
	} else {
		var err error
		if m, err = rp.discover(ctx, oc.Issuer); err != nil {
			return nil, err
		}
	}
	keys, err := rp.fetchJWKS(ctx, m.JWKSURL)
	if err != nil {
		return nil, err
	}
	probe := &sso.HealthProbe{Fetched: true, Keys: len(keys)}
	seen := map[string]bool{}
	for _, k := range keys {
		for _, cert := range k.Certificates {
			sum := sha256.Sum256(cert.Raw)
			fp := hex.EncodeToString(sum[:])
			if seen[fp] {
				continue
			}
			seen[fp] = true
			probe.Certificates = append(probe.Certificates, sso.CertificateInfo{
				Subject: cert.Subject.String(), NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, Fingerprint: fp,
			})
		}
	}
	return probe, nil
}
