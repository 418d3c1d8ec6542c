package saml

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/ssokit/ssokit/sso"
)

// A connection may keep the SP entity ID and ACS URL its IdP already knows
// (ConnectionConfig.SPEntityID and ACSURL, e.g. when moving from another
// vendor or a home-grown SP), so the customer's IdP need not be
// reconfigured. The entity ID is sent as the AuthnRequest and logout
// Issuer, published in the connection's SP metadata and is the only
// Audience accepted; the ACS URL is sent as AssertionConsumerServiceURL,
// published in the metadata and is the only Destination and Recipient
// accepted. A POST to the ACS URL's path reaches the same handler (under
// Config.BaseURL or one of Config.ExtraACSURLs) and names the connection.

// SPEntityIDOf returns the SP entity ID of conn: its own SPEntityID when
// set, EntityID(conn.ID) otherwise.
func (s *SP) SPEntityIDOf(conn *sso.Connection) string {
	if cfg := ConfigOf(conn); cfg != nil && cfg.SPEntityID != "" {
		return cfg.SPEntityID
	}
	return s.EntityID(conn.ID)
}

// ACSURLOf returns the assertion consumer service URL of conn: its own
// ACSURL when set, ACSURL(conn.ID) otherwise.
func (s *SP) ACSURLOf(conn *sso.Connection) string {
	if cfg := ConfigOf(conn); cfg != nil && cfg.ACSURL != "" {
		return cfg.ACSURL
	}
	return s.ACSURL(conn.ID)
}

// SLOURLOf returns the single logout URL of conn: its own SPSLOURL when
// set, SLOURL(conn.ID) otherwise.
func (s *SP) SLOURLOf(conn *sso.Connection) string {
	if cfg := ConfigOf(conn); cfg != nil && cfg.SPSLOURL != "" {
		return cfg.SPSLOURL
	}
	return s.SLOURL(conn.ID)
}

// MetadataURLOf returns where conn's SP metadata is published for its
// IdP: its own SPMetadataURL when set, EntityID(conn.ID) otherwise (the
// metadata is served there too).
func (s *SP) MetadataURLOf(conn *sso.Connection) string {
	if cfg := ConfigOf(conn); cfg != nil && cfg.SPMetadataURL != "" {
		return cfg.SPMetadataURL
	}
	return s.EntityID(conn.ID)
}

// spIdentityOf is the SP side a response to conn must be addressed to.
func (s *SP) spIdentityOf(conn *sso.Connection) spIdentity {
	return spIdentity{entityID: s.SPEntityIDOf(conn), acsURL: s.ACSURLOf(conn)}
}

// ownRoutes are the handler's routes under BaseURL that name a connection
// by ID; a connection's own URLs or entity ID must not lie under them.
var ownRoutes = []string{"/acs/", "/metadata/", "/login/", "/slo/"}

// endpointErr is an invalid sp_entity_id or acs_url.
func endpointErr(field, reason, msg string) error {
	return &sso.FieldError{Field: field, Reason: reason, Message: msg}
}

// checkSPEntityID validates an SP entity ID override and returns the value
// to store ("" for the default).
func (s *SP) checkSPEntityID(c *sso.Connection, v string) (string, error) {
	const field = "sp_entity_id"
	if v == "" || v == s.EntityID(c.ID) {
		return "", nil
	}
	if len(v) > 1024 || strings.IndexFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "", endpointErr(field, "invalid_sp_entity_id", "must be an absolute URI of at most 1024 characters without spaces: enter the SP entity ID (audience) the IdP already has")
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Fragment != "" {
		return "", endpointErr(field, "invalid_sp_entity_id", "must be an absolute URI (https://… or urn:…) without a fragment: enter the SP entity ID (audience) the IdP already has")
	}
	if (u.Scheme == "http" || u.Scheme == "https") && u.Host == "" {
		return "", endpointErr(field, "invalid_sp_entity_id", "an http(s) entity ID needs a host")
	}
	if strings.HasPrefix(v, s.base+"/metadata/") {
		return "", endpointErr(field, "invalid_sp_entity_id", "lies under the entity IDs this SP gives connections ("+s.base+"/metadata/): leave sp_entity_id out to use "+s.EntityID(c.ID))
	}
	return v, nil
}

// ownURLFix says, per setting, what value to enter.
var ownURLFix = map[string]string{
	"acs_url":         "enter exactly the ACS (reply) URL the IdP already has",
	"sp_slo_url":      "enter exactly the single logout URL the IdP already has for this application",
	"sp_metadata_url": "enter exactly the SP metadata URL the IdP fetches",
}

// checkACSURL validates an ACS URL override and returns the value to store
// ("" for the default).
func (s *SP) checkACSURL(c *sso.Connection, v string) (string, error) {
	return s.checkOwnURL("acs_url", v, s.ACSURL(c.ID))
}

// checkOwnURL validates a connection's own URL for setting field (its
// ACS, SLO or metadata URL) and returns the value to store ("" for def,
// the default): https (http on loopback) on BaseURL's host, under BaseURL
// or an ExtraACSURLs prefix and outside the routes the SP gives
// connections, so that neither another connection's routes nor the
// stack's own can be claimed.
func (s *SP) checkOwnURL(field, v, def string) (string, error) {
	if v == "" || v == def {
		return "", nil
	}
	invalidReason, unmounted := "invalid_"+field, field+"_not_mounted"
	fix := ownURLFix[field]
	u, err := url.Parse(v)
	switch {
	case err != nil || len(v) > 1024 || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return "", endpointErr(field, invalidReason, "must be an absolute URL: "+fix)
	case u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())):
		return "", endpointErr(field, invalidReason, "must use https (http only on a loopback host): "+fix)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.ForceQuery:
		return "", endpointErr(field, invalidReason, "must not carry a query, fragment or user info: "+fix)
	case u.RawPath != "" || strings.Contains(u.Path, "/../") || strings.HasSuffix(u.Path, "/..") || strings.Contains(u.Path, "//"):
		return "", endpointErr(field, invalidReason, "must be a plain path without encoded characters, empty or dot segments: "+fix)
	}
	if u.Host != s.cfg.BaseURL.Host {
		return "", endpointErr(field, unmounted, "must be on "+s.cfg.BaseURL.Host+", where logins start: the browser's login cookie is sent only to that host")
	}
	under := ""
	for _, p := range append([]string{s.base + "/"}, s.extraACS...) {
		if strings.HasPrefix(v, p) && len(v) > len(p) {
			under = p
			break
		}
	}
	if under == "" {
		return "", endpointErr(field, unmounted, "lies outside "+s.base+"/ and every extra ACS location this server mounts the SAML handler on: "+
			"use a URL under one of them, or have the host mount the handler on its path (saml.Config.ExtraACSURLs)")
	}
	for _, r := range ownRoutes {
		if strings.HasPrefix(v, s.base+r) {
			return "", endpointErr(field, invalidReason, "lies under the routes this SP gives connections ("+s.base+r+"): leave "+field+" out to use "+def)
		}
	}
	return v, nil
}

// applyEndpoints validates and sets the SP entity ID and the ACS, SLO and
// metadata URLs the input carries; absent ones keep their value. The
// connection's own paths must be distinct from each other and from every
// other connection's, which the store enforces when it can
// (EndpointClaimer).
func (s *SP) applyEndpoints(ctx context.Context, c *sso.Connection, cfg *ConnectionConfig, in *ConnectionInput) error {
	if in.SPEntityID != nil {
		v, err := s.checkSPEntityID(c, strings.TrimSpace(*in.SPEntityID))
		if err != nil {
			return err
		}
		cfg.SPEntityID = v
	}
	for _, f := range []struct {
		field string
		in    *string
		out   *string
		def   string
	}{{"acs_url", in.ACSURL, &cfg.ACSURL, s.ACSURL(c.ID)}, {"sp_slo_url", in.SPSLOURL, &cfg.SPSLOURL, s.SLOURL(c.ID)},
		{"sp_metadata_url", in.SPMetadataURL, &cfg.SPMetadataURL, s.EntityID(c.ID)}} {
		if f.in == nil {
			continue
		}
		v, err := s.checkOwnURL(f.field, strings.TrimSpace(*f.in), f.def)
		if err != nil {
			return err
		}
		*f.out = v
	}
	if err := s.checkEndpointsUnique(ctx, c, cfg); err != nil {
		return err
	}
	if in.ACSURL == nil && in.SPSLOURL == nil && in.SPMetadataURL == nil && len(ownEndpoints(cfg)) == 0 {
		return nil // nothing to claim or release
	}
	return s.claimOwnPaths(ctx, c, cfg)
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// acsPath is the path an ACS URL is posted to.
func acsPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Path
}

// ConnectionLister is an optional capability of Config.Connections:
// every connection of a protocol, whatever its status. memstore and
// sqlstore implement it. With it the SP checks a connection's own ACS URL
// against every SAML connection and routes POSTs to drafts' ACS URLs
// (test logins); without it, against the connection's organization and
// the active connections, and a clash left between drafts of two
// organizations makes both ACS URLs refuse every response until one is
// changed.
type ConnectionLister interface {
	// ListProtocolConnections returns up to limit connections of protocol
	// p with ID > afterID in ID order.
	ListProtocolConnections(ctx context.Context, p sso.Protocol, afterID string, limit int) ([]*sso.Connection, error)
}

// checkEndpointsUnique refuses a connection's own URL whose path another
// SAML connection already uses for any of its own URLs, or that the
// connection uses for two of them: a path routes a request to one
// connection and one endpoint.
func (s *SP) checkEndpointsUnique(ctx context.Context, c *sso.Connection, cfg *ConnectionConfig) error {
	mine := ownEndpoints(cfg)
	if len(mine) == 0 {
		return nil
	}
	for i, e := range mine {
		for _, o := range mine[:i] {
			if o.path == e.path {
				return endpointErr(e.field, e.field+"_in_use", "has the same path as "+o.field+": each of the connection's own URLs needs its own path")
			}
		}
	}
	var found *sso.Connection
	var field string
	clash := func(o *sso.Connection) bool {
		if o.ID == c.ID || o.Protocol != Protocol {
			return true
		}
		for _, oe := range ownEndpoints(ConfigOf(o)) {
			for _, e := range mine {
				if oe.path == e.path {
					found, field = o, e.field
					return false
				}
			}
		}
		return true
	}
	if _, all := s.cfg.Connections.(ConnectionLister); !all && c.OrgID != "" {
		conns, err := s.cfg.Connections.ListConnections(ctx, c.OrgID)
		if err != nil {
			return fmt.Errorf("saml: list connections: %w", err)
		}
		for _, o := range conns {
			if !clash(o) {
				break
			}
		}
	}
	if found == nil {
		if err := s.eachConnection(ctx, clash); err != nil {
			return err
		}
	}
	if found != nil {
		return inUse(field, c, found)
	}
	return nil
}

// inUse is the error of c's own URL whose path the connection holder
// holds. Only a connection of c's own organization is named: another
// organization's connection IDs are its own business.
func inUse(field string, c, holder *sso.Connection) error {
	who := "a connection of another organization"
	if holder != nil && holder.OrgID == c.OrgID {
		who = "connection " + holder.ID
	}
	return endpointErr(field, field+"_in_use", "already used by "+who+": give each connection its own URL")
}

// eachConnection calls fn with every SAML connection (every active one
// when Connections is no ConnectionLister) until fn returns false.
func (s *SP) eachConnection(ctx context.Context, fn func(*sso.Connection) bool) error {
	list := s.cfg.Connections.ListActiveConnections
	if l, ok := s.cfg.Connections.(ConnectionLister); ok {
		list = l.ListProtocolConnections
	}
	after := ""
	for {
		page, err := list(ctx, Protocol, after, 500)
		if err != nil {
			return fmt.Errorf("saml: list connections: %w", err)
		}
		for _, c := range page {
			if !fn(c) {
				return nil
			}
		}
		if len(page) < 500 {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// requestPath is the path the request was sent to, before any
// http.StripPrefix (which leaves RequestURI as it was).
func requestPath(r *http.Request) string {
	if r.RequestURI != "" {
		if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
			return u.Path
		}
	}
	return r.URL.Path
}

// errACSPathUnknown is the cause of a POST to a path no connection claims.
var errACSPathUnknown = errors.New("saml: no connection has this ACS URL")
