package saml

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// acsIndexMinAge is how soon after a rebuild a miss may rebuild the index
// again: a stream of POSTs to unknown paths costs at most one listing of
// the SAML connections per second and replica.
const acsIndexMinAge = time.Second

// acsIndex maps the paths of connections' own ACS, SLO and metadata URLs
// to the connections' IDs and the endpoints they reach. It is a cache:
// every hit is checked against the connection read from the store, so a
// stale entry can only miss, never route a message to the wrong connection
// or endpoint.
type acsIndex struct {
	mu      sync.Mutex
	byPath  map[string][]ownRef
	builtAt time.Time
}

// ownRef is a connection's own URL in the index.
type ownRef struct{ id, role string }

// lookup returns the own URLs at path.
func (x *acsIndex) lookup(path string) []ownRef {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.byPath[path]
}

// hasEndpoint reports whether c's own URL of role has path.
func hasEndpoint(c *sso.Connection, role, path string) bool {
	for _, e := range ownEndpoints(ConfigOf(c)) {
		if e.role == role && e.path == path {
			return true
		}
	}
	return false
}

// connectionByPath resolves the connection and endpoint whose own URL has
// the path of r, from the index (rebuilt on a miss); nil when none does.
func (s *SP) connectionByPath(r *http.Request) (*sso.Connection, string, error) {
	ctx := r.Context()
	path := requestPath(r)
	for attempt := 0; attempt < 2; attempt++ {
		refs := s.acsIdx.lookup(path)
		if len(refs) > 1 {
			return nil, "", invalid(ReasonUnknownConnection, errors.New("saml: several connections claim this path"))
		}
		if len(refs) == 1 {
			c, err := s.connection(ctx, refs[0].id)
			if c != nil && hasEndpoint(c, refs[0].role, path) {
				return c, refs[0].role, err
			}
			if err != nil && !isReason(err, ReasonUnknownConnection) {
				return nil, "", err
			}
		}
		if attempt > 0 {
			break
		}
		if err := s.rebuildACSIndex(ctx); err != nil {
			return nil, "", err
		}
	}
	return nil, "", nil
}

// rebuildACSIndex lists the SAML connections unless the index is younger
// than acsIndexMinAge.
func (s *SP) rebuildACSIndex(ctx context.Context) error {
	x := &s.acsIdx
	x.mu.Lock()
	defer x.mu.Unlock()
	now := s.now()
	if x.byPath != nil && now.Sub(x.builtAt) < acsIndexMinAge && !now.Before(x.builtAt) {
		return nil
	}
	m := map[string][]ownRef{}
	err := s.eachConnection(ctx, func(c *sso.Connection) bool {
		for _, e := range ownEndpoints(ConfigOf(c)) {
			m[e.path] = append(m[e.path], ownRef{id: c.ID, role: e.role})
		}
		return true
	})
	if err != nil {
		return err
	}
	x.byPath, x.builtAt = m, now
	return nil
}

// connectionByACS resolves the connection whose own ACS URL has the path
// r was posted to: from the index (rebuilt on a miss), else from the
// request-tracking cookie of a login this browser started (so that a test
// login of a draft connection works too). ok is false when no connection
// claims the path.
func (s *SP) connectionByACS(r *http.Request, rebuild bool) (c *sso.Connection, ok bool, err error) {
	ctx := r.Context()
	path := requestPath(r)
	for attempt := 0; attempt < 2; attempt++ {
		var ids []string
		for _, ref := range s.acsIdx.lookup(path) {
			if ref.role == roleACS {
				ids = append(ids, ref.id)
			}
		}
		if len(ids) > 1 {
			return nil, true, invalid(ReasonUnknownConnection, errors.New("saml: several connections claim this ACS URL"))
		}
		if len(ids) == 1 {
			c, err := s.connection(ctx, ids[0])
			if c != nil && acsPath(s.ACSURLOf(c)) == path && ConfigOf(c).ACSURL != "" {
				return c, true, err
			}
			if err != nil && !isReason(err, ReasonUnknownConnection) {
				return c, true, err
			}
		}
		if !rebuild || attempt > 0 {
			break
		}
		if err := s.rebuildACSIndex(ctx); err != nil {
			return nil, true, err
		}
	}
	if !rebuild {
		return nil, false, nil
	}
	if c, err := s.connectionByRequestCookie(r, path); c != nil || err != nil {
		return c, true, err
	}
	return nil, false, nil
}

// connectionByRequestCookie finds the connection of an outstanding login
// this browser started whose ACS URL has path.
func (s *SP) connectionByRequestCookie(r *http.Request, path string) (*sso.Connection, error) {
	p, ok := s.cfg.Store.(RequestPeeker)
	if !ok {
		return nil, nil
	}
	tried := 0
	for _, ck := range r.Cookies() {
		id, found := strings.CutPrefix(ck.Name, requestCookiePrefix)
		if !found || id == "" || len(id) > 256 || ck.Value == "" {
			continue
		}
		if tried++; tried > 4 {
			break
		}
		st, err := p.PeekAuthnRequest(r.Context(), id)
		if err != nil || st == nil || !opaque.Equal(opaque.Hash(ck.Value), st.BindingHash) {
			continue
		}
		c, err := s.connection(r.Context(), st.ConnectionID)
		if c != nil && ConfigOf(c).ACSURL != "" && acsPath(ConfigOf(c).ACSURL) == path {
			return c, err
		}
	}
	return nil, nil
}

// isReason reports whether err is a *sso.ValidationError with reason.
func isReason(err error, reason string) bool {
	var ve *sso.ValidationError
	return errors.As(err, &ve) && ve.Reason == reason
}
