package saml

import (
	"context"
	"fmt"

	"github.com/ssokit/ssokit/sso"
)

var _ sso.HealthProber = (*SP)(nil)

// ProbeConnection implements sso.HealthProber. It reports the connection's
// trusted certificates and, when the connection has a metadata URL, fetches
// it with FetchMetadata (SSRF guard, size cap, timeout), parses it and
// checks that it still describes the configured IdP entity. Certificates
// the fetched metadata publishes but the connection does not yet trust
// (a rollover in progress) are reported too. It changes nothing: metadata
// refresh is RefreshAll's job, and the last good metadata keeps serving
// logins whatever the probe finds.
func (s *SP) ProbeConnection(ctx context.Context, c *sso.Connection) (*sso.HealthProbe, error) {
	if c == nil || ConfigOf(c) == nil {
		return nil, fmt.Errorf("%w: saml: not a SAML connection", sso.ErrInvalidInput)
	}
	certs, err := s.CertificateStatus(c)
	if err != nil {
		return nil, err
	}
	probe := &sso.HealthProbe{Certificates: certs, Keys: len(certs)}
	if ConfigOf(c).MetadataURL == "" {
		return probe, nil
	}
	data, err := s.FetchMetadata(ctx, ConfigOf(c).MetadataURL)
	if err != nil {
		return nil, err
	}
	md, err := parseTrustedMetadata(data, ConfigOf(c))
	if err != nil {
		return nil, err
	}
	if md.EntityID != ConfigOf(c).IdPEntityID {
		return nil, mismatch(ReasonMetadataInvalid, ConfigOf(c).IdPEntityID, md.EntityID)
	}
	probe.Fetched = true
	probe.Keys = len(md.Certificates)
	seen := make(map[string]bool, len(certs))
	for _, ci := range certs {
		seen[ci.Fingerprint] = true
	}
	for _, cert := range md.Certificates {
		if ci := certInfo(cert); !seen[ci.Fingerprint] {
			seen[ci.Fingerprint] = true
			probe.Certificates = append(probe.Certificates, ci)
		}
	}
	return probe, nil
}
