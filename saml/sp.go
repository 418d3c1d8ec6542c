package saml

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	dsig "github.com/russellhaering/goxmldsig"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/internal/telemetry"

	"github.com/ssokit/ssokit/sso"
)

// AuthnRequestState is an outstanding AuthnRequest, stored server side
// between the login start and the ACS so that a response is accepted only
// once and only from the browser that started the login.
type AuthnRequestState struct {
	// ID is the AuthnRequest ID the IdP echoes as InResponseTo.
	ID           string
	ConnectionID string
	// BindingHash is opaque.Hash of the random value of the short-lived
	// request-tracking cookie set on the browser that started the login.
	BindingHash string
	// ReturnTo is the safe relative path to go to after the login.
	ReturnTo  string
	Test      bool
	CreatedAt time.Time
	ExpiresAt time.Time
	// RequireMFA, ForceAuthn and MaxAge are what the login asked of the
	// IdP's authentication (sso.StartOptions), checked at the ACS.
	RequireMFA bool
	ForceAuthn bool
	MaxAge     time.Duration
	// StepUp is the step-up the login was started for (the zero value for
	// an ordinary login), handed back in sso.Login.StepUp.
	StepUp sso.StepUp
}

// CachedMetadata is the last good IdP metadata of a connection and the state
// of its refresh.
type CachedMetadata struct {
	ConnectionID string
	XML          string
	FetchedAt    time.Time
	// ExpiresAt is when the metadata must be fetched again (from validUntil
	// and cacheDuration, capped by the refresh interval).
	ExpiresAt time.Time
	// LastError is the last refresh failure ("" after a success) and
	// Failures the count of consecutive failures.
	LastError string
	Failures  int
}

// RequestStore keeps outstanding AuthnRequests.
//
// Implementations must be safe for concurrent use.
type RequestStore interface {
	// SaveAuthnRequest stores r until r.ExpiresAt. A duplicate ID yields an
	// error wrapping sso.ErrConflict.
	SaveAuthnRequest(ctx context.Context, r *AuthnRequestState) error
	// TakeAuthnRequest removes and returns the request with the given ID,
	// atomically: of concurrent callers exactly one gets it. An absent or
	// expired request yields an error wrapping sso.ErrNotFound.
	TakeAuthnRequest(ctx context.Context, id string) (*AuthnRequestState, error)
}

// RequestPeeker is implemented by a RequestStore that can read an
// outstanding request without consuming it (memsaml and sqlsaml do). With
// it, a response that fails validation is still recognised as the answer
// to an admin's test login, whose diagnosis is then recorded; nothing else
// changes, and the request stays outstanding.
type RequestPeeker interface {
	// PeekAuthnRequest returns the outstanding request with the given ID,
	// or an error wrapping sso.ErrNotFound when it is absent or expired.
	PeekAuthnRequest(ctx context.Context, id string) (*AuthnRequestState, error)
}

// LoginConsumer is an optional Store capability: a login's request taken
// and its assertion recorded in one atomic step, so that a login costs one
// commit for both on a SQL store. store/sqlstore/sqlsaml implements it;
// with a Store without it the ACS calls TakeAuthnRequest and
// MarkAssertionUsed in turn, with the same results.
type LoginConsumer interface {
	// ConsumeLogin takes request requestID as TakeAuthnRequest does and
	// records (issuer, assertionID) until expiresAt as MarkAssertionUsed
	// does, both or neither: an absent or expired request is an error
	// wrapping sso.ErrNotFound, a live record of the pair one wrapping
	// sso.ErrConflict, and then nothing changed.
	ConsumeLogin(ctx context.Context, requestID, issuer, assertionID string, expiresAt time.Time) (*AuthnRequestState, error)
}

// ReplayCache remembers consumed assertion IDs.
//
// Implementations must be safe for concurrent use.
type ReplayCache interface {
	// MarkAssertionUsed records (issuer, assertionID) until expiresAt,
	// atomically. If the pair is already recorded and not yet expired it
	// records nothing and returns an error wrapping sso.ErrConflict: of
	// concurrent callers with one pair exactly one succeeds.
	MarkAssertionUsed(ctx context.Context, issuer, assertionID string, expiresAt time.Time) error
}

// MetadataCache keeps the last good IdP metadata per connection.
//
// Implementations must be safe for concurrent use.
type MetadataCache interface {
	// PutMetadata stores m, replacing any earlier record of the connection.
	PutMetadata(ctx context.Context, m *CachedMetadata) error
	// GetMetadata returns the connection's record, or an error wrapping
	// sso.ErrNotFound.
	GetMetadata(ctx context.Context, connectionID string) (*CachedMetadata, error)
}

// Store is the SAML state: outstanding requests, the replay cache and cached
// metadata. store/memstore/memsaml and store/sqlstore/sqlsaml implement it.
type Store interface {
	RequestStore
	ReplayCache
	MetadataCache
}

// KeyPair is an SP key and its certificate. The key signs AuthnRequests and
// logout messages and, when it is an *rsa.PrivateKey, decrypts encrypted
// assertions.
type KeyPair struct {
	Key         crypto.Signer
	Certificate *x509.Certificate
}

// LogoutRequest is a verified IdP-initiated logout handed to
// Config.OnLogout.
type LogoutRequest struct {
	Connection *sso.Connection
	// NameID is the signed NameID of the LogoutRequest, never empty.
	NameID string
	// SessionIndex is SessionIndexes joined with spaces.
	SessionIndex string
	// SessionIndexes are the request's SessionIndex values in document
	// order; none means every session of NameID.
	SessionIndexes []string
}

// Config configures an SP. BaseURL, Connections, Store and Completer are
// required; everything else has a secure default.
type Config struct {
	// BaseURL is the absolute URL where the handler is mounted, for example
	// https://app.example.com/sso/saml. Every URL sent to an IdP (entity ID,
	// ACS, SLO) derives from it.
	BaseURL *url.URL
	// ExtraACSURLs are absolute URL prefixes, outside BaseURL, under which
	// the host also mounts this handler (without http.StripPrefix or with
	// it), so that connections may keep ACS URLs an IdP already has there
	// (ConnectionConfig.ACSURL). Each must be on BaseURL's host and end
	// with "/", for example https://app.example.com/auth/saml2/.
	ExtraACSURLs []string
	// Key is the SP key pair shared by all connections. KeyFor, when set,
	// returns a per-connection pair instead (returning nil falls back to
	// Key). Without any key the SP can neither sign AuthnRequests nor
	// decrypt assertions.
	Key    *KeyPair
	KeyFor func(conn *sso.Connection) *KeyPair
	// Rollover, when set, schedules Key's replacement by a new key pair:
	// published ahead in the metadata, decrypting during the overlap,
	// signing from its date (see KeyRollover).
	Rollover *KeyRollover
	// Connections looks up connections by ID.
	Connections sso.ConnectionStore
	// Store holds outstanding requests, the replay cache and metadata.
	Store Store
	// Events, when set, receives certificate-expiry audit events from Run.
	Events sso.EventStore
	// Completer receives verified profiles and rejected logins.
	Completer sso.Completer
	// Sessions ends the sessions named by a verified IdP LogoutRequest
	// (session.Manager implements it). The SP answers Success when it ended
	// at least one session, Success with the second-level status
	// PartialLogout when it ended none, and Responder with PartialLogout
	// when it failed. Nil (with OnLogout nil too) means logout requests are
	// verified but end nothing and are answered Responder/PartialLogout; New
	// logs a warning then.
	Sessions sso.IdPSessionEnder
	// OnLogout, when set, replaces Sessions: it is called with every
	// verified IdP LogoutRequest and must end the sessions it names. A nil
	// error is answered Success, an error Responder/PartialLogout.
	OnLogout func(ctx context.Context, req *LogoutRequest) error
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Logger logs rejected requests and background work. Nil means
	// slog.Default().
	Logger *slog.Logger
	// HTTPClient is the base client for IdP metadata fetches; only its
	// Transport is used, with FetchTimeout. An *http.Transport (or the
	// default one when nil) is cloned and given a dialer that refuses
	// internal addresses, with no proxy and its own dial hooks dropped. Any
	// other RoundTripper cannot be guarded: New refuses it with an error
	// wrapping sso.ErrInvalidConfig unless AllowPrivateAddresses is
	// set, in which case it is used as it is and its owner is responsible
	// for the egress policy. oidc.Config.HTTPClient follows the same rule.
	HTTPClient *http.Client
	// AllowInsecureURLs accepts http:// metadata URLs. It MUST only
	// be used in development: metadata fetched without TLS can be replaced
	// by anyone on the path, and with it the trusted certificates.
	AllowInsecureURLs bool
	// AllowPrivateAddresses lets metadata URLs reach loopback,
	// private, link-local and other internal addresses. It MUST only be used
	// in development or when tenants are fully trusted: otherwise an admin
	// can make the server fetch internal URLs (SSRF).
	AllowPrivateAddresses bool
	// MaxClockSkew is the tolerance for the IdP's clock. Zero means 90s; at
	// most 3 minutes are allowed.
	MaxClockSkew time.Duration
	// MaxIdPInitiatedAge bounds the age of an unsolicited response's
	// IssueInstant. Zero means 3 minutes.
	MaxIdPInitiatedAge time.Duration
	// RequestTTL is how long a started login may take. Zero means 10 minutes.
	RequestTTL time.Duration
	// MaxLogoutAge bounds the age of a logout message's IssueInstant, on top
	// of MaxClockSkew; a LogoutRequest ID is remembered for as long, so it
	// is accepted once. Zero means 5 minutes; at most 10 minutes are
	// allowed.
	MaxLogoutAge time.Duration
	// MaxResponseBytes bounds the ACS form body. Zero means 512 KiB.
	MaxResponseBytes int64
	// MaxMetadataBytes bounds fetched or pasted metadata. Zero means 1 MiB.
	MaxMetadataBytes int64
	// FetchTimeout bounds one metadata fetch. Zero means 10s.
	FetchTimeout time.Duration
	// RefreshInterval is how often Run refreshes metadata. Zero means 1h.
	RefreshInterval time.Duration
	// DefaultReturnTo is where a login without a return path ends. Zero
	// means "/".
	DefaultReturnTo string
	// ErrorHandler renders rejected requests. Nil means DefaultErrorHandler.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// TracerProvider and MeterProvider receive spans (login start, ACS,
	// metadata fetches) and metrics (login attempts and latency, validation
	// failures by reason, fetch failures). Nil means the global providers,
	// which cost next to nothing until the host installs an SDK.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// TenantMetrics adds organization and connection IDs to metric
	// attributes. Off by default to keep metric cardinality bounded; spans
	// always carry them.
	TenantMetrics bool
}

// SP is a multi-tenant SAML 2.0 service provider: one entity per
// connection. It implements http.Handler, sso.Starter and
// sso.ConnectionConfigurer. It is safe for concurrent use.
type SP struct {
	cfg     Config
	base    string
	mux     *http.ServeMux
	log     *slog.Logger
	now     func() time.Time
	client  *http.Client
	errFn   func(w http.ResponseWriter, r *http.Request, err error)
	certsMu sync.Mutex
	certs   map[string][]*x509.Certificate
	tel     *telemetry.T
	// expiredSeen rate-limits the expired-certificate warning: when it was
	// last given, by connection and certificate.
	expiredMu   sync.Mutex
	expiredSeen map[string]time.Time
	// extraACS are Config.ExtraACSURLs; acsIdx routes POSTs to connections'
	// own ACS URLs.
	extraACS []string
	acsIdx   acsIndex
	// rollDone are the key rollover steps audited by this process.
	rollMu   sync.Mutex
	rollDone map[string]bool
}

var (
	_ http.Handler             = (*SP)(nil)
	_ sso.Starter              = (*SP)(nil)
	_ sso.ConnectionConfigurer = (*SP)(nil)
)

// New validates cfg and returns an SP.
func New(cfg Config) (*SP, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: saml: "+format, append([]any{sso.ErrInvalidConfig}, args...)...)
	}
	switch {
	case cfg.BaseURL == nil || !cfg.BaseURL.IsAbs() || cfg.BaseURL.Host == "":
		return nil, bad("BaseURL must be an absolute URL")
	case cfg.BaseURL.Scheme != "https" && cfg.BaseURL.Scheme != "http":
		return nil, bad("BaseURL must use https (or http for development)")
	case cfg.BaseURL.RawQuery != "" || cfg.BaseURL.Fragment != "":
		return nil, bad("BaseURL must not have a query or fragment")
	case cfg.Connections == nil:
		return nil, bad("Connections is required")
	case cfg.Store == nil:
		return nil, bad("Store is required")
	case cfg.Completer == nil:
		return nil, bad("Completer is required")
	case cfg.MaxClockSkew < 0 || cfg.MaxClockSkew > 3*time.Minute:
		return nil, bad("MaxClockSkew must be between 0 and 3m")
	case cfg.MaxIdPInitiatedAge < 0 || cfg.MaxIdPInitiatedAge > 10*time.Minute:
		return nil, bad("MaxIdPInitiatedAge must be between 0 and 10m")
	case cfg.MaxLogoutAge < 0 || cfg.MaxLogoutAge > 10*time.Minute:
		return nil, bad("MaxLogoutAge must be between 0 and 10m")
	case cfg.RequestTTL < 0 || cfg.MaxResponseBytes < 0 || cfg.MaxMetadataBytes < 0 || cfg.FetchTimeout < 0 || cfg.RefreshInterval < 0:
		return nil, bad("durations and sizes must not be negative")
	}
	if cfg.Key != nil && (cfg.Key.Key == nil || cfg.Key.Certificate == nil) {
		return nil, bad("Key needs both Key and Certificate")
	}
	for _, p := range cfg.ExtraACSURLs {
		u, err := url.Parse(p)
		if err != nil || !u.IsAbs() || u.Host != cfg.BaseURL.Host || u.Scheme != cfg.BaseURL.Scheme || !strings.HasSuffix(u.Path, "/") ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, bad("ExtraACSURLs entry %q must be an absolute URL on BaseURL's scheme and host ending with /", p)
		}
	}
	if err := checkRollover(&cfg); err != nil {
		return nil, bad("%v", err)
	}
	if cfg.DefaultReturnTo != "" && !returnto.IsSafe(cfg.DefaultReturnTo) {
		return nil, bad("DefaultReturnTo must be a relative path")
	}
	setDefault := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	setDefault(&cfg.MaxClockSkew, 90*time.Second)
	setDefault(&cfg.MaxIdPInitiatedAge, 3*time.Minute)
	setDefault(&cfg.RequestTTL, 10*time.Minute)
	setDefault(&cfg.MaxLogoutAge, 5*time.Minute)
	setDefault(&cfg.FetchTimeout, 10*time.Second)
	setDefault(&cfg.RefreshInterval, time.Hour)
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = 512 << 10
	}
	if cfg.MaxMetadataBytes == 0 {
		cfg.MaxMetadataBytes = 1 << 20
	}
	if cfg.DefaultReturnTo == "" {
		cfg.DefaultReturnTo = "/"
	}
	s := &SP{cfg: cfg, base: strings.TrimRight(cfg.BaseURL.String(), "/"), certs: map[string][]*x509.Certificate{},
		expiredSeen: map[string]time.Time{}, extraACS: slices.Clone(cfg.ExtraACSURLs), rollDone: map[string]bool{}}
	s.tel = telemetry.New("saml", telemetry.Config{TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider, TenantMetrics: cfg.TenantMetrics})
	s.log = cfg.Logger
	if s.log == nil {
		s.log = slog.Default()
	}
	if cfg.OnLogout == nil && cfg.Sessions == nil {
		s.log.Warn("saml: neither Sessions nor OnLogout is set: IdP logout requests end no session and are answered Responder/PartialLogout")
	}
	s.now = cfg.Now
	if s.now == nil {
		s.now = time.Now
	}
	s.errFn = cfg.ErrorHandler
	if s.errFn == nil {
		s.errFn = DefaultErrorHandler
	}
	client, err := s.metadataClient()
	if err != nil {
		return nil, err
	}
	s.client = client
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /metadata/{connection}", s.ServeMetadata)
	s.mux.HandleFunc("GET /login/{connection}", s.ServeLogin)
	s.mux.HandleFunc("POST /acs/{connection}", s.ServeACS)
	// Connections' own ACS, SLO and metadata URLs, under BaseURL or
	// ExtraACSURLs.
	s.mux.HandleFunc("/", s.serveOwnPath)
	s.mux.HandleFunc("GET /slo/{connection}", s.ServeSLO)
	s.mux.HandleFunc("POST /slo/{connection}", s.ServeSLO)
	return s, nil
}

// ServeHTTP serves the relative routes GET /metadata/{connection},
// GET /login/{connection}, POST /acs/{connection} and GET or POST
// /slo/{connection}, and requests to the paths of connections' own ACS,
// SLO and metadata URLs. Mount it with http.StripPrefix, and on every Config.ExtraACSURLs
// prefix.
func (s *SP) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// EntityID returns the SP entity ID of a connection.
func (s *SP) EntityID(connID string) string { return s.base + "/metadata/" + url.PathEscape(connID) }

// ACSURL returns the assertion consumer service URL of a connection.
func (s *SP) ACSURL(connID string) string { return s.base + "/acs/" + url.PathEscape(connID) }

// SLOURL returns the single logout URL of a connection.
func (s *SP) SLOURL(connID string) string { return s.base + "/slo/" + url.PathEscape(connID) }

// LoginURL returns the URL that starts an SP-initiated login.
func (s *SP) LoginURL(connID string) string { return s.base + "/login/" + url.PathEscape(connID) }

// SPDetails implements sso.ConnectionConfigurer.
func (s *SP) SPDetails(c *sso.Connection) *sso.SPDetails {
	return &sso.SPDetails{
		EntityID:    s.SPEntityIDOf(c),
		ACSURL:      s.ACSURLOf(c),
		MetadataURL: s.MetadataURLOf(c),
		SLOURL:      s.SLOURLOf(c),
		LoginURL:    s.LoginURL(c.ID),
	}
}

// ownKey is c's own key pair (Config.KeyFor), or nil.
func (s *SP) ownKey(c *sso.Connection) *KeyPair {
	if s.cfg.KeyFor != nil {
		if kp := s.cfg.KeyFor(c); kp != nil && kp.Key != nil && kp.Certificate != nil {
			return kp
		}
	}
	return nil
}

// decryptionKeyStore returns the key store gosaml2 decrypts with, or nil.
func decryptionKeyStore(kp *KeyPair) dsig.X509KeyStore {
	if kp == nil {
		return nil
	}
	if _, ok := kp.Key.(*rsa.PrivateKey); !ok {
		return nil
	}
	return dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{kp.Certificate.Raw}, PrivateKey: kp.Key, Leaf: kp.Certificate})
}

// trustedCerts parses a connection's PEM certificates, with a small cache.
func (s *SP) trustedCerts(pems []string) ([]*x509.Certificate, error) {
	key := strings.Join(pems, "\x00")
	s.certsMu.Lock()
	if c, ok := s.certs[key]; ok {
		s.certsMu.Unlock()
		return c, nil
	}
	s.certsMu.Unlock()
	certs, err := parseCertificates(pems)
	if err != nil {
		return nil, err
	}
	s.certsMu.Lock()
	if len(s.certs) > 4096 {
		clear(s.certs)
	}
	s.certs[key] = certs
	s.certsMu.Unlock()
	return certs, nil
}

// parseCertificates parses PEM (or bare base64 DER) certificates; the
// whitespace base64Binary allows is ignored in both.
func parseCertificates(pems []string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, p := range pems {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		var der []byte
		if strings.HasPrefix(p, "-----BEGIN") {
			// Indented PEM (pasted from an XML or YAML file) is PEM.
			lines := strings.Split(p, "\n")
			for i := range lines {
				lines[i] = strings.TrimSpace(lines[i])
			}
			rest := []byte(strings.Join(lines, "\n"))
			for {
				var b *pem.Block
				b, rest = pem.Decode(rest)
				if b == nil {
					break
				}
				if b.Type != "CERTIFICATE" {
					return nil, fmt.Errorf("saml: unexpected PEM block %q", b.Type)
				}
				c, err := x509.ParseCertificate(b.Bytes)
				if err != nil {
					return nil, fmt.Errorf("saml: parse certificate: %w", err)
				}
				out = append(out, c)
			}
			continue
		}
		der, err := decodeBase64Loose(p)
		if err != nil {
			return nil, fmt.Errorf("saml: certificate is neither PEM nor base64: %w", err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("saml: parse certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("saml: no certificate")
	}
	return out, nil
}

// certPEM encodes a certificate as PEM.
func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// connection loads a SAML connection by ID.
func (s *SP) connection(ctx context.Context, id string) (*sso.Connection, error) {
	if id == "" || len(id) > 128 {
		return nil, invalid(ReasonUnknownConnection, nil)
	}
	c, err := s.cfg.Connections.GetConnection(ctx, id)
	if err != nil {
		if errors.Is(err, sso.ErrNotFound) {
			return nil, invalid(ReasonUnknownConnection, err)
		}
		return nil, err
	}
	if c.Protocol != Protocol || ConfigOf(c) == nil {
		return nil, invalid(ReasonNotSAML, nil)
	}
	if c.Status == sso.ConnectionDisabled {
		return c, invalid(ReasonConnectionDisabled, nil)
	}
	return c, nil
}

func (s *SP) fail(w http.ResponseWriter, r *http.Request, conn *sso.Connection, test bool, err error) {
	opFail(r, conn, err)
	s.cfg.Completer.Fail(r, &sso.LoginFailure{Connection: conn, Protocol: Protocol, Test: test, Err: err})
	s.logReject(r, conn, err)
	s.errFn(w, r, err)
}

func (s *SP) logReject(r *http.Request, conn *sso.Connection, err error) {
	attrs := []any{slog.String("path", r.URL.Path), slog.Any("error", err)}
	if conn != nil {
		attrs = append(attrs, slog.String("connection", conn.ID), slog.String("org", conn.OrgID))
	}
	s.log.WarnContext(r.Context(), "saml: request rejected", attrs...)
}
