package stack

import (
	"context"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
)

// adminClients is the admin API's view of session.Manager's API clients.
type adminClients struct{ m *session.Manager }

var _ admin.ClientManager = adminClients{}

func clientOf(c *session.APIClient) *admin.APIClient {
	return &admin.APIClient{ID: c.ID, OrgID: c.OrgID, Name: c.Name, Scopes: c.Scopes, Exchange: c.Exchange,
		PrevSecretExpiresAt: c.PrevExpiresAt, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, DisabledAt: c.DisabledAt}
}

func (a adminClients) CreateClient(ctx context.Context, orgID string, in admin.ClientInput) (*admin.APIClient, string, error) {
	c, secret, err := a.m.CreateClient(ctx, orgID, session.ClientOptions{Name: in.Name, Scopes: in.Scopes, Exchange: in.Exchange})
	if err != nil {
		return nil, "", err
	}
	return clientOf(c), secret, nil
}

func (a adminClients) ListClients(ctx context.Context, orgID string) ([]*admin.APIClient, error) {
	cs, err := a.m.ListClients(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := make([]*admin.APIClient, 0, len(cs))
	for _, c := range cs {
		if c.OrgID != orgID {
			return nil, fmt.Errorf("stack: API client store returned a client of another organization: %w", sso.ErrForbidden)
		}
		out = append(out, clientOf(c))
	}
	return out, nil
}

func (a adminClients) SetClientScopes(ctx context.Context, orgID, id string, scopes []string, exchange bool) (*admin.APIClient, error) {
	c, err := a.m.SetClientScopes(ctx, orgID, id, scopes, exchange)
	if err != nil {
		return nil, err
	}
	return clientOf(c), nil
}

func (a adminClients) RotateClientSecret(ctx context.Context, orgID, id string, overlap time.Duration) (string, error) {
	return a.m.RotateClientSecret(ctx, orgID, id, overlap)
}

func (a adminClients) DisableClient(ctx context.Context, orgID, id string) error {
	return a.m.DisableClient(ctx, orgID, id)
}

func (a adminClients) DeleteClient(ctx context.Context, orgID, id string) error {
	return a.m.DeleteClient(ctx, orgID, id)
}
