package session

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// Audit event types of API clients.
const (
	EventClientCreated  = "api_client.created"
	EventClientRotated  = "api_client.secret_rotated"
	EventClientUpdated  = "api_client.updated"
	EventClientDisabled = "api_client.disabled"
	EventClientDeleted  = "api_client.deleted"
	EventClientToken    = "api_client.token_issued"
	EventTokenExchanged = "token.exchanged"
)

// ReasonClientAuth is the reason of a refused client authentication.
const ReasonClientAuth = "invalid_client"

// MaxClientSecretOverlap bounds how long a rotated client secret keeps
// working beside its successor.
const MaxClientSecretOverlap = 30 * 24 * time.Hour

// APIClient is an organization's machine identity for service-to-service
// calls: it authenticates at the token endpoint with its ID and secret
// (client credentials grant) and receives access tokens in its own name,
// and it may exchange a user's access token for a narrower one (token
// exchange). Only hashes of its secrets are stored.
type APIClient struct {
	ID    string
	OrgID string
	Name  string
	// SecretHash is the hash of the current secret. PrevSecretHash, until
	// PrevExpiresAt, is the hash of the secret it replaced, which keeps
	// working during a rotation's overlap.
	SecretHash     string
	PrevSecretHash string
	PrevExpiresAt  time.Time
	// Scopes are the scopes the client may ask for; a token gets the
	// requested subset (all of them when it asks for none).
	Scopes []string
	// Exchange lets the client exchange users' access tokens (RFC 8693)
	// for audiences in the organization's ExchangeAudiences.
	Exchange   bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
	DisabledAt time.Time
}

// Active reports whether the client may obtain tokens.
func (c *APIClient) Active() bool { return c.DisabledAt.IsZero() }

// ClientStore stores API clients. A missing client yields an error wrapping
// sso.ErrNotFound, a duplicate ID sso.ErrConflict; records are copied in
// and out; every method is safe for concurrent use.
type ClientStore interface {
	CreateClient(ctx context.Context, c *APIClient) error
	GetClient(ctx context.Context, id string) (*APIClient, error)
	UpdateClient(ctx context.Context, c *APIClient) error
	// ListClients returns orgID's clients ordered by CreatedAt, then ID.
	ListClients(ctx context.Context, orgID string) ([]*APIClient, error)
	DeleteClient(ctx context.Context, id string) error
}

// ErrClientChanged reports that a conditional write of an API client found
// it changed since it was read (UpdateClientIf). It wraps sso.ErrConflict.
var ErrClientChanged = fmt.Errorf("%w: the API client changed since it was read", sso.ErrConflict)

// ConditionalClientUpdater is an optional ClientStore capability. A
// change of a client (a secret rotation, new scopes) reads it and writes
// the whole client back; two at once would otherwise undo each other, and
// a scope change written over a rotation would bring back the secret the
// rotation retired. UpdateClientIf replaces the stored client c.ID with c
// like UpdateClient, but only while its stored UpdatedAt still equals
// prevUpdatedAt (at the store's precision); otherwise it writes nothing
// and returns an error wrapping ErrClientChanged. The check and the write
// are atomic. store/memstore and store/sqlstore implement it.
type ConditionalClientUpdater interface {
	UpdateClientIf(ctx context.Context, c *APIClient, prevUpdatedAt time.Time) error
}

// UpdateClientIf writes c through st's ConditionalClientUpdater when st
// implements it. Otherwise it reads the client again and writes c with
// UpdateClient when the stored UpdatedAt still equals prevUpdatedAt, and
// ErrClientChanged when not, which narrows the race without closing it.
func UpdateClientIf(ctx context.Context, st ClientStore, c *APIClient, prevUpdatedAt time.Time) error {
	if cu, ok := st.(ConditionalClientUpdater); ok {
		return cu.UpdateClientIf(ctx, c, prevUpdatedAt)
	}
	cur, err := st.GetClient(ctx, c.ID)
	if err != nil {
		return err
	}
	if !cur.UpdatedAt.Equal(prevUpdatedAt) {
		return ClientChanged(c.ID)
	}
	return st.UpdateClient(ctx, c)
}

// ClientChanged is the error of a conditional write of API client id that
// found it changed since it was read; it wraps ErrClientChanged.
func ClientChanged(id string) error {
	return fmt.Errorf("%w: API client %s", ErrClientChanged, id)
}

// clientAttempts bounds how often saveClient applies a change to a fresh
// read when other changes keep getting there first.
const clientAttempts = 4

// saveClient reads client id of orgID, applies change and writes the
// result only over the client it read (UpdateClientIf); when another
// change landed meanwhile it reads the client again and applies change to
// that, so that neither undoes the other. change returns write false when
// there is nothing to store.
func (m *Manager) saveClient(ctx context.Context, orgID, id string, change func(c *APIClient) (write bool, err error)) (*APIClient, error) {
	st, err := m.clients()
	if err != nil {
		return nil, err
	}
	for range clientAttempts {
		c, err := m.orgClient(ctx, orgID, id)
		if err != nil {
			return nil, err
		}
		prev := c.UpdatedAt
		write, err := change(c)
		if err != nil || !write {
			return c, err
		}
		c.UpdatedAt = sso.NextUpdatedAt(prev, m.now())
		if err := UpdateClientIf(ctx, st, c, prev); !errors.Is(err, ErrClientChanged) {
			return c, err
		}
	}
	return nil, ClientChanged(id)
}

// ClientOptions are the settings of a new API client.
type ClientOptions struct {
	Name     string
	Scopes   []string
	Exchange bool
}

func (m *Manager) clients() (ClientStore, error) {
	if m.cfg.Clients == nil || !m.tokensEnabled() {
		return nil, fmt.Errorf("%w: session: API clients need Config.Clients and signing keys", sso.ErrInvalidConfig)
	}
	return m.cfg.Clients, nil
}

// CreateClient creates an API client of orgID and returns it with its
// secret, which is shown once and never stored.
func (m *Manager) CreateClient(ctx context.Context, orgID string, opts ClientOptions) (*APIClient, string, error) {
	st, err := m.clients()
	if err != nil {
		return nil, "", err
	}
	if strings.TrimSpace(opts.Name) == "" || len(opts.Name) > 200 {
		return nil, "", &sso.FieldError{Field: "name", Reason: "required", Message: "give the client a name of at most 200 characters, such as the service that will use it"}
	}
	if err := checkScopes(opts.Scopes); err != nil {
		return nil, "", err
	}
	now := m.now()
	secret := opaque.NewToken(32)
	c := &APIClient{ID: opaque.NewID("cli_"), OrgID: orgID, Name: strings.TrimSpace(opts.Name), SecretHash: opaque.Hash(secret),
		Scopes: slices.Clone(opts.Scopes), Exchange: opts.Exchange, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateClient(ctx, c); err != nil {
		return nil, "", fmt.Errorf("session: create API client: %w", err)
	}
	m.auditClient(ctx, c, EventClientCreated, map[string]string{"scopes": strings.Join(c.Scopes, " "), "exchange": fmt.Sprint(c.Exchange)})
	return c, secret, nil
}

// SetClientScopes replaces the scopes client id of orgID may ask for and
// whether it may exchange users' tokens. Tokens it already holds keep
// their scopes until they expire; disable the client to end them at once.
func (m *Manager) SetClientScopes(ctx context.Context, orgID, id string, scopes []string, exchange bool) (*APIClient, error) {
	if err := checkScopes(scopes); err != nil {
		return nil, err
	}
	c, err := m.saveClient(ctx, orgID, id, func(c *APIClient) (bool, error) {
		c.Scopes, c.Exchange = slices.Clone(scopes), exchange
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("session: update API client: %w", err)
	}
	m.auditClient(ctx, c, EventClientUpdated, map[string]string{"scopes": strings.Join(c.Scopes, " "), "exchange": fmt.Sprint(c.Exchange)})
	return c, nil
}

// checkScopes refuses a scope that is empty or not one word.
func checkScopes(scopes []string) error {
	if len(scopes) > 100 {
		return &sso.FieldError{Field: "scopes", Reason: "invalid_scope", Message: "at most 100 scopes"}
	}
	for i, s := range scopes {
		if s == "" || len(s) > 200 || strings.ContainsAny(s, " \t\n\"\\") {
			return &sso.FieldError{Field: fmt.Sprintf("scopes[%d]", i), Reason: "invalid_scope",
				Message: "a scope is one word without spaces or quotes, such as read:invoices"}
		}
	}
	return nil
}

// RotateClientSecret gives client id of orgID a new secret, returned once.
// The old secret keeps working for overlap (at most
// MaxClientSecretOverlap; zero ends it at once).
func (m *Manager) RotateClientSecret(ctx context.Context, orgID, id string, overlap time.Duration) (string, error) {
	if overlap < 0 || overlap > MaxClientSecretOverlap {
		return "", &sso.FieldError{Field: "overlap", Reason: "out_of_range",
			Message: fmt.Sprintf("the overlap is between 0 and %v: long enough to deploy the new secret everywhere", MaxClientSecretOverlap)}
	}
	secret := opaque.NewToken(32)
	c, err := m.saveClient(ctx, orgID, id, func(c *APIClient) (bool, error) {
		c.PrevSecretHash, c.PrevExpiresAt = c.SecretHash, m.now().Add(overlap)
		if overlap == 0 {
			c.PrevSecretHash, c.PrevExpiresAt = "", time.Time{}
		}
		c.SecretHash = opaque.Hash(secret)
		return true, nil
	})
	if err != nil {
		return "", fmt.Errorf("session: rotate API client secret: %w", err)
	}
	m.auditClient(ctx, c, EventClientRotated, map[string]string{"overlap": overlap.String()})
	return secret, nil
}

// DisableClient stops client id of orgID from obtaining tokens and revokes
// the access tokens it holds on every replica (through the revocation
// list and bus, like a logout).
func (m *Manager) DisableClient(ctx context.Context, orgID, id string) error {
	now := m.now()
	c, err := m.saveClient(ctx, orgID, id, func(c *APIClient) (bool, error) {
		if !c.Active() {
			return false, nil
		}
		c.DisabledAt = now
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("session: disable API client: %w", err)
	}
	if err := m.revokeClientTokens(ctx, c.ID, now); err != nil {
		return err
	}
	m.auditClient(ctx, c, EventClientDisabled, nil)
	return nil
}

// DeleteClient removes client id of orgID and revokes its access tokens.
func (m *Manager) DeleteClient(ctx context.Context, orgID, id string) error {
	c, err := m.orgClient(ctx, orgID, id)
	if err != nil {
		return err
	}
	if err := m.revokeClientTokens(ctx, c.ID, m.now()); err != nil {
		return err
	}
	if err := m.cfg.Clients.DeleteClient(ctx, c.ID); err != nil {
		return fmt.Errorf("session: delete API client: %w", err)
	}
	m.auditClient(ctx, c, EventClientDeleted, nil)
	return nil
}

// ListClients returns orgID's API clients (without secrets, which are
// never stored).
func (m *Manager) ListClients(ctx context.Context, orgID string) ([]*APIClient, error) {
	st, err := m.clients()
	if err != nil {
		return nil, err
	}
	return st.ListClients(ctx, orgID)
}

// orgClient reads client id and checks it belongs to orgID; another
// organization's client is reported missing.
func (m *Manager) orgClient(ctx context.Context, orgID, id string) (*APIClient, error) {
	st, err := m.clients()
	if err != nil {
		return nil, err
	}
	c, err := st.GetClient(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.OrgID != orgID {
		return nil, fmt.Errorf("session: API client %s: %w", id, sso.ErrNotFound)
	}
	return c, nil
}

// revokeClientTokens revokes every access token the client holds: its
// tokens carry the client ID as their session ID.
func (m *Manager) revokeClientTokens(ctx context.Context, clientID string, now time.Time) error {
	if m.cfg.Revocations == nil {
		return nil
	}
	return m.revoke(ctx, revKey{kind: revSession, id: clientID}, now)
}

// authenticateClient checks a client's ID and secret in constant time
// against its current secret and, during an overlap, the previous one. Any
// failure is the same ValidationError, so the answer does not tell an
// unknown client from a wrong secret.
func (m *Manager) authenticateClient(ctx context.Context, id, secret string) (*APIClient, error) {
	refuse := &sso.ValidationError{Protocol: Protocol, Reason: ReasonClientAuth}
	st, err := m.clients()
	if err != nil {
		return nil, err
	}
	if id == "" || secret == "" || len(id) > 128 || len(secret) > 512 {
		return nil, refuse
	}
	c, err := st.GetClient(ctx, id)
	switch {
	case errors.Is(err, sso.ErrNotFound):
		return nil, refuse
	case err != nil:
		return nil, fmt.Errorf("%w: session: read API client: %w", sso.ErrUnavailable, err)
	}
	h := []byte(opaque.Hash(secret))
	ok := subtle.ConstantTimeCompare(h, []byte(c.SecretHash)) == 1
	if c.PrevSecretHash != "" && m.now().Before(c.PrevExpiresAt) {
		ok = subtle.ConstantTimeCompare(h, []byte(c.PrevSecretHash)) == 1 || ok
	}
	if !ok || !c.Active() {
		return nil, refuse
	}
	return c, nil
}

func (m *Manager) auditClient(ctx context.Context, c *APIClient, typ string, details map[string]string) {
	if m.cfg.Events == nil {
		return
	}
	e := &sso.Event{OrgID: c.OrgID, Type: typ, Target: sso.Target{Type: "api_client", ID: c.ID}, Details: details}
	e.FillDefaults(ctx, m.now()) // the acting administrator, from the request's AuditInfo
	m.audit(ctx, e)
}

// grantScopes returns the requested scopes when each is allowed, or every
// allowed scope when none were requested.
func grantScopes(requested string, allowed []string) ([]string, bool) {
	want := strings.Fields(requested)
	if len(want) == 0 {
		return slices.Clone(allowed), true
	}
	for _, s := range want {
		if !slices.Contains(allowed, s) {
			return nil, false
		}
	}
	slices.Sort(want)
	return slices.Compact(want), true
}
