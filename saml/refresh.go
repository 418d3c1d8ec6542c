package saml

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// Certificate expiry warning thresholds, in days before NotAfter.
var certWarningDays = []int{30, 7, 1}

// Run refreshes IdP metadata and checks certificate expiry every
// RefreshInterval, and audits the steps of a key rollover (AuditRollover)
// every minute, until ctx ends, starting at once. It returns ctx.Err().
func (s *SP) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.RefreshInterval)
	defer t.Stop()
	var roll <-chan time.Time
	if s.cfg.Rollover != nil && s.cfg.Events != nil {
		rt := time.NewTicker(time.Minute)
		defer rt.Stop()
		roll = rt.C
	}
	s.auditRollover(ctx)
	for {
		s.RefreshAll(ctx)
	wait:
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				break wait
			case <-roll:
				s.auditRollover(ctx)
			}
		}
	}
}

// auditRollover runs AuditRollover and logs its failure.
func (s *SP) auditRollover(ctx context.Context) {
	if err := s.AuditRollover(ctx); err != nil {
		s.log.ErrorContext(ctx, "saml: key rollover not audited; will retry", "error", err)
	}
}

// RefreshAll runs one refresh pass over every active SAML connection:
// metadata whose cache time has passed is fetched again (the last good copy
// is kept when the fetch or parse fails), and certificate-expiry events are
// emitted. Failures are logged, not returned.
func (s *SP) RefreshAll(ctx context.Context) {
	after := ""
	for ctx.Err() == nil {
		conns, err := s.cfg.Connections.ListActiveConnections(ctx, Protocol, after, 100)
		if err != nil {
			s.log.ErrorContext(ctx, "saml: list connections", "error", err)
			return
		}
		for _, c := range conns {
			if ConfigOf(c) == nil {
				continue
			}
			if ConfigOf(c).MetadataURL != "" {
				if err := s.RefreshConnection(ctx, c); err != nil {
					s.log.WarnContext(ctx, "saml: metadata refresh failed; keeping the last good metadata",
						"connection", c.ID, "org", c.OrgID, "error", err)
				}
			}
			if err := s.checkCertExpiry(ctx, c); err != nil {
				s.log.WarnContext(ctx, "saml: certificate expiry check", "connection", c.ID, "error", err)
			}
		}
		if len(conns) < 100 {
			return
		}
		after = conns[len(conns)-1].ID
	}
}

// RefreshConnection fetches c's metadata URL if it is due and, when the new
// metadata parses (and, when signed, verifies with the pinned certificates;
// see RequireSignedMetadata), stores it on the connection and in the
// metadata cache, and updates c to the connection stored. On failure the
// connection keeps its last good metadata.
//
// The fetch takes time, so the connection is written only if it is still
// the one read (sso.UpdateConnectionIf): a change an administrator makes
// meanwhile is never undone. When only fields the metadata does not depend
// on changed (the name, the mapping, the last test), the metadata is
// applied to the connection as it now is; when it was disabled, deleted,
// or its configuration changed (a certificate removed, another metadata
// URL, a concurrent refresh), the fetched metadata is dropped and the next
// pass fetches again.
func (s *SP) RefreshConnection(ctx context.Context, c *sso.Connection) error {
	now := s.now()
	if !ConfigOf(c).MetadataExpiresAt.IsZero() && now.Before(ConfigOf(c).MetadataExpiresAt) {
		return nil
	}
	cached, err := s.cfg.Store.GetMetadata(ctx, c.ID)
	if err != nil && !errors.Is(err, sso.ErrNotFound) {
		return err
	}
	if cached == nil {
		cached = &CachedMetadata{ConnectionID: c.ID, XML: ConfigOf(c).MetadataXML, FetchedAt: ConfigOf(c).MetadataFetchedAt}
	}
	data, err := s.FetchMetadata(ctx, ConfigOf(c).MetadataURL)
	var md *IdPMetadata
	if err == nil {
		md, err = parseTrustedMetadata(data, ConfigOf(c))
	}
	if err == nil && md.EntityID != ConfigOf(c).IdPEntityID {
		err = mismatch(ReasonMetadataInvalid, ConfigOf(c).IdPEntityID, md.EntityID)
	}
	if err != nil {
		cached.LastError = sso.ReasonOf(err)
		cached.Failures++
		if perr := s.cfg.Store.PutMetadata(ctx, cached); perr != nil {
			return errors.Join(err, perr)
		}
		return err
	}
	stored, err := s.storeRefreshed(ctx, c, md, string(data), now)
	if err != nil || stored == nil {
		return err
	}
	*c = *stored
	cfg := ConfigOf(stored)
	return s.cfg.Store.PutMetadata(ctx, &CachedMetadata{ConnectionID: c.ID, XML: cfg.MetadataXML, FetchedAt: now, ExpiresAt: cfg.MetadataExpiresAt})
}

// refreshAttempts bounds how many times a refresh applies its metadata to
// a connection that keeps changing under it before it waits for the next
// pass.
const refreshAttempts = 3

// storeRefreshed applies md (fetched at now as mdXML for the connection
// read) to the stored connection with a conditional write, and returns the
// connection written; nil when the connection changed in a way that voids
// the fetch (see RefreshConnection), or kept changing.
func (s *SP) storeRefreshed(ctx context.Context, read *sso.Connection, md *IdPMetadata, mdXML string, now time.Time) (*sso.Connection, error) {
	cur := read
	for range refreshAttempts {
		cfg := *ConfigOf(cur)
		applyMetadata(&cfg, md)
		cfg.MetadataXML = mdXML
		cfg.MetadataFetchedAt = now
		cfg.MetadataExpiresAt = s.metadataExpiry(md, now)
		next := *cur
		next.Config = &cfg
		next.UpdatedAt = sso.NextUpdatedAt(cur.UpdatedAt, now)
		err := sso.UpdateConnectionIf(ctx, s.cfg.Connections, &next, cur.UpdatedAt)
		if !errors.Is(err, sso.ErrConflict) {
			if err != nil {
				return nil, err
			}
			return &next, nil
		}
		cur, err = s.cfg.Connections.GetConnection(ctx, read.ID)
		if errors.Is(err, sso.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if !refreshStillApplies(read, cur) {
			s.log.InfoContext(ctx, "saml: connection changed during its metadata refresh; the next pass fetches again",
				"connection", read.ID, "org", read.OrgID, "status", cur.Status)
			return nil, nil
		}
	}
	s.log.WarnContext(ctx, "saml: connection kept changing during its metadata refresh; the next pass fetches again",
		"connection", read.ID, "org", read.OrgID)
	return nil, nil
}

// refreshStillApplies reports whether metadata fetched and verified for
// the connection read may be applied to cur, the same connection changed
// since: cur must still be an active SAML connection of the same
// organization with the same protocol configuration.
func refreshStillApplies(read, cur *sso.Connection) bool {
	if cur.Status != sso.ConnectionActive || cur.Protocol != Protocol || cur.OrgID != read.OrgID || ConfigOf(cur) == nil {
		return false
	}
	a, _, aerr := sso.EncodeConfig(read.Config)
	b, _, berr := sso.EncodeConfig(cur.Config)
	return aerr == nil && berr == nil && bytes.Equal(a, b)
}

// CertificateStatus describes a trusted IdP certificate of a connection.
func (s *SP) CertificateStatus(c *sso.Connection) ([]sso.CertificateInfo, error) {
	if c == nil || ConfigOf(c) == nil {
		return nil, nil
	}
	certs, err := parseCertificates(ConfigOf(c).Certificates)
	if err != nil {
		return nil, err
	}
	out := make([]sso.CertificateInfo, 0, len(certs))
	for _, cert := range certs {
		out = append(out, certInfo(cert))
	}
	return out, nil
}

// checkCertExpiry appends a certificate-expiring audit event once per
// certificate and threshold (30 and 7 days before expiry).
func (s *SP) checkCertExpiry(ctx context.Context, c *sso.Connection) error {
	if s.cfg.Events == nil {
		return nil
	}
	infos, err := s.CertificateStatus(c)
	if err != nil {
		return err
	}
	now := s.now()
	for _, ci := range infos {
		left := ci.NotAfter.Sub(now)
		threshold := 0
		for _, d := range certWarningDays {
			if left <= time.Duration(d)*24*time.Hour {
				threshold = d
			}
		}
		if threshold == 0 {
			continue
		}
		prior, err := s.cfg.Events.ListEvents(ctx, sso.EventQuery{OrgID: c.OrgID, Type: sso.EventCertificateExpiring,
			Since: now.Add(-40 * 24 * time.Hour), Limit: 1000})
		if err != nil {
			return err
		}
		done := false
		for _, e := range prior {
			if e.Target.ID == c.ID && e.Details["fingerprint"] == ci.Fingerprint && e.Details["threshold_days"] == strconv.Itoa(threshold) {
				done = true
				break
			}
		}
		if done {
			continue
		}
		ev := &sso.Event{
			ID: opaque.NewID("evt_"), OrgID: c.OrgID, Time: now, Type: sso.EventCertificateExpiring,
			Actor:   sso.Actor{Type: sso.ActorSystem},
			Target:  sso.Target{Type: "connection", ID: c.ID},
			Outcome: sso.OutcomeSuccess,
			Details: map[string]string{
				"fingerprint": ci.Fingerprint, "subject": ci.Subject,
				"not_after": ci.NotAfter.UTC().Format(time.RFC3339), "threshold_days": strconv.Itoa(threshold),
			},
		}
		if err := s.cfg.Events.AppendEvent(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}
