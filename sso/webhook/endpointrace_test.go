package webhook_test

import (
	"context"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/sso/webhook"
)

// staleEndpoint is a webhook.Store on which, once armed (testkit.Between), the next read of
// an endpoint returns the copy read before between ran: another
// administrator's change lands between a change's read and its write.
type staleEndpoint struct {
	webhook.Store
	testkit.Between
}

func (s *staleEndpoint) GetEndpoint(ctx context.Context, id string) (*webhook.Endpoint, error) {
	e, err := s.Store.GetEndpoint(ctx, id)
	s.Fire()
	return e, err
}

// UpdateEndpointIf keeps the store's capability visible through the
// wrapper.
func (s *staleEndpoint) UpdateEndpointIf(ctx context.Context, e *webhook.Endpoint, prev time.Time) error {
	return webhook.UpdateEndpointIf(ctx, s.Store, e, prev)
}

// TestEndpointChangesKeepEachOther: a signing secret rotated (because it
// leaked) while another administrator edits the endpoint stays rotated,
// and the edit is kept too. Before, the edit wrote back the copy it had
// read, and the leaked secret signed again.
func TestEndpointChangesKeepEachOther(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"mem", "sqlite", "postgres"} {
		for _, first := range []string{"edit", "rotate"} {
			t.Run(name+"/"+first+" first", func(t *testing.T) {
				t.Parallel()
				b := backends()[name](t)
				st := &staleEndpoint{Store: b.hooks}
				d, err := webhook.New(config(b, newSealer(t), st, b.events))
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				rv := newReceiver(t, func(int, *received) int { return 200 })
				ep, leaked, err := d.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: "org_1", URL: rv.srv.URL})
				if err != nil {
					t.Fatal(err)
				}
				var rotated string
				rotate := func() {
					if rotated, err = d.RotateSecret(ctx, ep.ID, 0); err != nil {
						t.Error(err)
					}
				}
				edit := func() {
					if _, _, err := d.UpdateEndpoint(ctx, ep.ID, webhook.EndpointInput{OrgID: "org_1", URL: rv.srv.URL,
						Description: "billing events"}); err != nil {
						t.Error(err)
					}
				}
				if first == "edit" {
					st.Arm(0, rotate)
					edit()
				} else {
					st.Arm(0, edit)
					rotate()
				}
				got, err := b.hooks.GetEndpoint(ctx, ep.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Description != "billing events" {
					t.Errorf("description %q: want the edit kept", got.Description)
				}
				secrets, err := webhook.SecretsOf(d, got)
				if err != nil {
					t.Fatal(err)
				}
				if len(secrets) != 1 || secrets[0] != rotated || secrets[0] == leaked {
					t.Errorf("the endpoint signs with %d secrets (rotated-out one among them: %v), want only the new one",
						len(secrets), len(secrets) > 0 && (secrets[0] == leaked || len(secrets) > 1))
				}
			})
		}
	}
}
