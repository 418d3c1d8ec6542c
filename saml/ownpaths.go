package saml

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Roles of a connection's own URL: which endpoint a request to its path
// reaches.
const (
	roleACS      = "acs"
	roleSLO      = "slo"
	roleMetadata = "metadata"
)

// ownEndpoint is one of a connection's own URLs: the setting it comes
// from, the endpoint it reaches and its path.
type ownEndpoint struct {
	field, role, path string
}

// ownEndpoints lists the own URLs cfg sets, in a fixed order.
func ownEndpoints(cfg *ConnectionConfig) []ownEndpoint {
	if cfg == nil {
		return nil
	}
	var out []ownEndpoint
	for _, e := range []struct{ field, role, url string }{
		{"acs_url", roleACS, cfg.ACSURL}, {"sp_slo_url", roleSLO, cfg.SPSLOURL}, {"sp_metadata_url", roleMetadata, cfg.SPMetadataURL},
	} {
		if e.url != "" {
			out = append(out, ownEndpoint{field: e.field, role: e.role, path: acsPath(e.url)})
		}
	}
	return out
}

// EndpointClaim is a connection's claim on the path of one of its own
// URLs.
type EndpointClaim struct {
	Path         string
	ConnectionID string
	ClaimedAt    time.Time
}

// EndpointClaimer is an optional capability of Config.Store that makes
// the paths of connections' own URLs (ConnectionConfig.ACSURL, SPSLOURL,
// SPMetadataURL) unique in the store itself: of two connections claiming
// one path at once, exactly one gets it, also across replicas. memsaml and
// sqlsaml implement it. Without it the SP checks the other connections'
// configurations only, which two concurrent saves can both pass.
type EndpointClaimer interface {
	// ClaimEndpointPath records that connectionID uses path (claiming it
	// again refreshes ClaimedAt). When another connection holds path it
	// returns that claim and an error wrapping sso.ErrConflict.
	ClaimEndpointPath(ctx context.Context, path, connectionID string, at time.Time) (*EndpointClaim, error)
	// TransferEndpointPath gives path to connection to when from still
	// holds it with a claim made no later than before; otherwise it
	// returns an error wrapping sso.ErrConflict.
	TransferEndpointPath(ctx context.Context, path, from, to string, before, at time.Time) error
	// ReleaseEndpointPaths drops connectionID's claims on every path not
	// in keep.
	ReleaseEndpointPaths(ctx context.Context, connectionID string, keep []string) error
}

// staleClaimAge is how old a claim must be before a connection that does
// not use its path loses it to another (it may be saving an update that
// uses it); staleMissingAge the same for a connection that does not exist
// (it may be being created: its claim comes before it is stored, for
// milliseconds; a create that failed or an import that was refused leaves
// its claims behind).
const (
	staleClaimAge   = 10 * time.Minute
	staleMissingAge = time.Minute
)

// claimOwnPaths claims c's own paths in the store (EndpointClaimer) and
// releases the ones it no longer uses (not when ctx is sso.PlanOnly). A
// path another connection holds is refused unless that claim is stale:
// its connection does not exist and claimed it over staleMissingAge ago,
// or no longer uses it and claimed it over staleClaimAge ago. The
// transfer is conditional on the very claim judged stale.
func (s *SP) claimOwnPaths(ctx context.Context, c *sso.Connection, cfg *ConnectionConfig) error {
	cl, ok := s.cfg.Store.(EndpointClaimer)
	if !ok || sso.PlanOnly(ctx) {
		return nil
	}
	now := s.now()
	keep := []string{}
	for _, e := range ownEndpoints(cfg) {
		keep = append(keep, e.path)
		held, err := cl.ClaimEndpointPath(ctx, e.path, c.ID, now)
		if err == nil {
			continue
		}
		if !errors.Is(err, sso.ErrConflict) || held == nil {
			return fmt.Errorf("saml: claim %s: %w", e.field, err)
		}
		if !s.claimStale(ctx, held, now) {
			return inUse(e.field, c, s.holder(ctx, held.ConnectionID))
		}
		if err := cl.TransferEndpointPath(ctx, e.path, held.ConnectionID, c.ID, held.ClaimedAt, now); err != nil {
			if errors.Is(err, sso.ErrConflict) {
				return inUse(e.field, c, s.holder(ctx, held.ConnectionID))
			}
			return fmt.Errorf("saml: claim %s: %w", e.field, err)
		}
	}
	if err := cl.ReleaseEndpointPaths(ctx, c.ID, keep); err != nil {
		return fmt.Errorf("saml: release own paths: %w", err)
	}
	return nil
}

var _ sso.ConnectionReserver = (*SP)(nil)

// ReserveConnection implements sso.ConnectionReserver: it claims the paths
// of c's own URLs in the store (EndpointClaimer) and releases those c no
// longer uses, refusing a path another connection holds with the field
// error Configure gives.
func (s *SP) ReserveConnection(ctx context.Context, c *sso.Connection) error {
	if c == nil || c.Protocol != Protocol {
		return nil
	}
	return s.claimOwnPaths(ctx, c, ConfigOf(c))
}

// ReleaseConnection implements sso.ConnectionReserver: it drops every
// claim of c, a connection that was not stored.
func (s *SP) ReleaseConnection(ctx context.Context, c *sso.Connection) error {
	cl, ok := s.cfg.Store.(EndpointClaimer)
	if c == nil || c.Protocol != Protocol || !ok {
		return nil
	}
	if err := cl.ReleaseEndpointPaths(ctx, c.ID, nil); err != nil {
		return fmt.Errorf("saml: release own paths: %w", err)
	}
	return nil
}

// holder is the connection id for naming in an error, nil when it cannot
// be read.
func (s *SP) holder(ctx context.Context, id string) *sso.Connection {
	c, err := s.cfg.Connections.GetConnection(ctx, id)
	if err != nil {
		return nil
	}
	return c
}

// claimStale reports whether held may pass to another connection.
func (s *SP) claimStale(ctx context.Context, held *EndpointClaim, now time.Time) bool {
	age := now.Sub(held.ClaimedAt)
	if age < staleMissingAge {
		return false
	}
	o, err := s.cfg.Connections.GetConnection(ctx, held.ConnectionID)
	if errors.Is(err, sso.ErrNotFound) {
		return true
	}
	if err != nil || age < staleClaimAge {
		return false
	}
	if o.Protocol != Protocol {
		return true
	}
	for _, e := range ownEndpoints(ConfigOf(o)) {
		if e.path == held.Path {
			return false
		}
	}
	return true
}

// serveOwnPath serves a request to a path no fixed route matches: the
// ACS, SLO or metadata URL of a connection with its own (POSTs to an
// unknown path go to the ACS, which may find a draft's login by its
// request cookie, and are refused there).
func (s *SP) serveOwnPath(w http.ResponseWriter, r *http.Request) {
	c, role, err := s.connectionByPath(r)
	switch {
	case err != nil:
		s.fail(w, r, nil, false, err)
	case c != nil && role == roleSLO && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		s.serveSLO(w, r, c.ID, true)
	case c != nil && role == roleMetadata && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.serveMetadata(w, r, c.ID)
	case r.Method == http.MethodPost && (c == nil || role == roleACS):
		s.ServeACS(w, r)
	case c != nil && role == roleACS, c == nil && (r.URL.Path == "/acs" || strings.HasPrefix(r.URL.Path, "/acs/")):
		s.acsNotPosted(w, r)
	default:
		http.NotFound(w, r)
	}
}

// acsNotPosted answers a request to an ACS that is not an HTTP-POST
// (ReasonNotPosted) with a 405 that says where to start. It reads nothing
// and records no failed login: a reload or a crawler is not one.
func (s *SP) acsNotPosted(w http.ResponseWriter, r *http.Request) {
	err := invalid(ReasonNotPosted, fmt.Errorf("saml: %s to the ACS", r.Method))
	s.logReject(r, nil, err)
	w.Header().Set("Allow", http.MethodPost)
	s.errFn(w, r, err)
}
