package session_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/session"
)

// staleClients is a client store on which, once armed (testkit.Between), the next read of a
// client returns the copy read before between ran: another administrator's
// change of the client lands between a change's read and its write.
type staleClients struct {
	session.ClientStore
	testkit.Between
}

func (s *staleClients) GetClient(ctx context.Context, id string) (*session.APIClient, error) {
	c, err := s.ClientStore.GetClient(ctx, id)
	s.Fire()
	return c, err
}

// UpdateClientIf keeps the store's capability visible through the wrapper.
func (s *staleClients) UpdateClientIf(ctx context.Context, c *session.APIClient, prev time.Time) error {
	return session.UpdateClientIf(ctx, s.ClientStore, c, prev)
}

// TestClientChangesKeepEachOther: an API client's secret rotated (because
// it leaked) while another administrator changes its scopes stays
// rotated, and the scope change is kept too. Before, the scope change
// wrote back the copy it had read, with the leaked secret.
func TestClientChangesKeepEachOther(t *testing.T) {
	var sc *staleClients
	e := newEnv(t, func(c *session.Config) {
		sc = &staleClients{ClientStore: c.Store.(*countingStore).Store}
		c.Clients = sc
	})
	ctx := context.Background()
	grant := url.Values{"grant_type": {"client_credentials"}, "scope": {"read:invoices"}}
	for _, first := range []string{"scopes", "rotate"} {
		t.Run(first+" first", func(t *testing.T) {
			cli, leaked, err := e.m.CreateClient(ctx, orgA, session.ClientOptions{Name: "billing", Scopes: []string{"read:invoices", "write:invoices"}})
			if err != nil {
				t.Fatal(err)
			}
			var rotated string
			rotate := func() {
				if rotated, err = e.m.RotateClientSecret(ctx, orgA, cli.ID, 0); err != nil {
					t.Error(err)
				}
			}
			scopes := func() {
				if _, err := e.m.SetClientScopes(ctx, orgA, cli.ID, []string{"read:invoices"}, false); err != nil {
					t.Error(err)
				}
			}
			if first == "scopes" {
				sc.Arm(0, rotate)
				scopes()
			} else {
				sc.Arm(0, scopes)
				rotate()
			}
			if st, _ := tokenPost(t, e, cli.ID, leaked, grant); st != http.StatusUnauthorized {
				t.Errorf("the rotated-out secret got %d, want 401", st)
			}
			if st, body := tokenPost(t, e, cli.ID, rotated, grant); st != http.StatusOK {
				t.Errorf("the new secret got %d %v, want 200", st, body)
			}
			got, err := sc.ClientStore.GetClient(ctx, cli.ID)
			if err != nil || !slices.Equal(got.Scopes, []string{"read:invoices"}) {
				t.Errorf("scopes %v, %v: want the scope change kept", got.Scopes, err)
			}
		})
	}
}
