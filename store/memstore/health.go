package memstore

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/health"
)

var _ health.Store = (*Store)(nil)

// healthData holds federation health results and check claims.
type healthData struct {
	results map[string]*health.Report
	claims  map[string]time.Time
}

// healthOf returns s's health tables. The caller holds s.mu.
func (s *Store) healthOf() *healthData { return &s.health }

func copyHealth(h *health.Report) *health.Report {
	c := *h
	c.Certificates = slices.Clone(h.Certificates)
	c.CertificateWarnings = maps.Clone(h.CertificateWarnings)
	return &c
}

// ClaimHealthCheck implements health.Store.
func (s *Store) ClaimHealthCheck(_ context.Context, connID string, now, notBefore time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.healthOf()
	if last, ok := d.claims[connID]; ok && !last.Before(notBefore) {
		return false, nil
	}
	if d.claims == nil {
		d.claims = map[string]time.Time{}
	}
	d.claims[connID] = now
	return true, nil
}

// PutHealth implements health.Store.
func (s *Store) PutHealth(_ context.Context, h *health.Report) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.healthOf()
	if d.results == nil {
		d.results = map[string]*health.Report{}
	}
	d.results[h.ConnectionID] = copyHealth(h)
	return nil
}

// GetHealth implements health.Store.
func (s *Store) GetHealth(_ context.Context, connID string) (*health.Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.healthOf().results[connID]
	if !ok {
		return nil, sso.ErrNotFound
	}
	return copyHealth(h), nil
}

// DeleteHealth implements health.Store.
func (s *Store) DeleteHealth(_ context.Context, connID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.healthOf()
	delete(d.results, connID)
	delete(d.claims, connID)
	return nil
}
