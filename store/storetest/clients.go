package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

func newTestClient(id, orgID string, n int) *session.APIClient {
	at := sessionBase.Add(time.Duration(n) * time.Second)
	return &session.APIClient{ID: id, OrgID: orgID, Name: "billing " + id, SecretHash: "h-" + id,
		Scopes: []string{"read:invoices", "write:invoices"}, Exchange: n%2 == 0, CreatedAt: at, UpdatedAt: at}
}

func equalClient(t *testing.T, got, want *session.APIClient) {
	t.Helper()
	if got.ID != want.ID || got.OrgID != want.OrgID || got.Name != want.Name || got.SecretHash != want.SecretHash ||
		got.PrevSecretHash != want.PrevSecretHash || !got.PrevExpiresAt.Equal(want.PrevExpiresAt) ||
		!slices.Equal(got.Scopes, want.Scopes) || got.Exchange != want.Exchange || !got.CreatedAt.Equal(want.CreatedAt) ||
		!got.UpdatedAt.Equal(want.UpdatedAt) || !got.DisabledAt.Equal(want.DisabledAt) {
		t.Fatalf("API client round trip:\n got %+v\nwant %+v", got, want)
	}
}

func runSessionClients(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	open := func(t *testing.T) session.ClientStore { return newStores(t).Clients }
	t.Run("RoundTrip", func(t *testing.T) {
		s := open(t)
		c := newTestClient("cli_1", "org_1", 0)
		if err := s.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetClient(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		equalClient(t, got, c)
		got.Scopes[0] = "mutated"
		again, _ := s.GetClient(ctx, c.ID)
		if again.Scopes[0] != "read:invoices" {
			t.Fatal("store returned a shared Scopes slice")
		}
		if err := s.CreateClient(ctx, c); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("duplicate: %v, want ErrConflict", err)
		}
		c.SecretHash, c.PrevSecretHash, c.PrevExpiresAt = "h2", "h-cli_1", sessionBase.Add(time.Hour)
		c.DisabledAt, c.UpdatedAt = sessionBase.Add(2*time.Hour), sessionBase.Add(2*time.Hour)
		if err := s.UpdateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetClient(ctx, c.ID)
		equalClient(t, got, c)
	})
	t.Run("ListDeleteMissing", func(t *testing.T) {
		s := open(t)
		for i, id := range []string{"cli_b", "cli_a", "cli_c"} {
			org := "org_1"
			if id == "cli_c" {
				org = "org_2"
			}
			if err := s.CreateClient(ctx, newTestClient(id, org, i)); err != nil {
				t.Fatal(err)
			}
		}
		list, err := s.ListClients(ctx, "org_1")
		if err != nil || len(list) != 2 || list[0].ID != "cli_b" || list[1].ID != "cli_a" {
			t.Fatalf("ListClients(org_1) = %v, %v; want cli_b, cli_a by creation", clientIDs(list), err)
		}
		if list, _ := s.ListClients(ctx, "org_none"); list == nil || len(list) != 0 {
			t.Fatalf("ListClients of an organization without clients = %v, want an empty slice", list)
		}
		if err := s.DeleteClient(ctx, "cli_b"); err != nil {
			t.Fatal(err)
		}
		for _, err := range []error{
			s.DeleteClient(ctx, "cli_b"), s.UpdateClient(ctx, newTestClient("cli_b", "org_1", 0)),
			func() error { _, err := s.GetClient(ctx, "cli_b"); return err }(),
		} {
			if !errors.Is(err, sso.ErrNotFound) {
				t.Fatalf("missing client: %v, want ErrNotFound", err)
			}
		}
		if err := s.CreateClient(ctx, &session.APIClient{ID: "cli_x"}); !errors.Is(err, sso.ErrInvalidInput) {
			t.Fatalf("client without organization: %v, want ErrInvalidInput", err)
		}
	})
	t.Run("UpdateIf", func(t *testing.T) {
		// A change made from a copy read before another change (a scope
		// edit over a secret rotation) writes nothing.
		s := open(t)
		cu, ok := s.(session.ConditionalClientUpdater)
		if !ok {
			t.Skipf("storetest: %T does not implement session.ConditionalClientUpdater", s)
		}
		c := newTestClient("cli_1", "org_1", 0)
		if err := s.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		read, err := s.GetClient(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		rotated := *read
		rotated.SecretHash, rotated.UpdatedAt = "h-rotated", sso.NextUpdatedAt(read.UpdatedAt, read.UpdatedAt)
		if err := cu.UpdateClientIf(ctx, &rotated, read.UpdatedAt); err != nil {
			t.Fatalf("write from the current copy: %v", err)
		}
		stale := *read
		stale.Scopes, stale.UpdatedAt = []string{"read:invoices"}, sessionBase.Add(time.Hour)
		err = cu.UpdateClientIf(ctx, &stale, read.UpdatedAt)
		if !errors.Is(err, session.ErrClientChanged) || !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("write from a copy read before the rotation: %v, want ErrClientChanged", err)
		}
		got, err := s.GetClient(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		equalClient(t, got, &rotated)
		if err := cu.UpdateClientIf(ctx, newTestClient("cli_none", "org_1", 0), sessionBase); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("missing client: %v, want ErrNotFound", err)
		}
		// The fallback keeps the contract, race aside.
		plain := struct{ session.ClientStore }{s}
		if err := session.UpdateClientIf(ctx, plain, &stale, read.UpdatedAt); !errors.Is(err, session.ErrClientChanged) {
			t.Fatalf("fallback write from a stale copy: %v, want ErrClientChanged", err)
		}
	})
}

func clientIDs(cs []*session.APIClient) []string {
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}
