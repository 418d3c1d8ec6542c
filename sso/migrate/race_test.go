package migrate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/migrate"
)

// meddlingStore runs meddle once, right after the import's plan has read
// connection id: a change another administrator commits while the import
// is being planned. It passes the conditional write through, so the
// store's own ConditionalConnectionUpdater is what is tested.
type meddlingStore struct {
	migrate.Store
	id     string
	meddle func(ctx context.Context)
}

func (m *meddlingStore) GetConnection(ctx context.Context, id string) (*sso.Connection, error) {
	c, err := m.Store.GetConnection(ctx, id)
	if id == m.id && m.meddle != nil {
		f := m.meddle
		m.meddle = nil
		f(ctx)
	}
	return c, err
}

func (m *meddlingStore) UpdateConnectionIf(ctx context.Context, c *sso.Connection, prev time.Time) error {
	return sso.UpdateConnectionIf(ctx, m.Store, c, prev)
}

// TestImportKeepsAChangeMadeDuringIt: a connection disabled while an
// import that renames it was being planned stays disabled. The import's
// write over its older copy is refused with sso.ErrConnectionChanged (and
// so is nothing after it), and running the import again renames the
// connection and keeps it disabled.
func TestImportKeepsAChangeMadeDuringIt(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rows := legacyRows(t)
		p, err := e.im.Run(ctx, rows, migrate.Options{OrgID: "org_a"})
		if err != nil {
			t.Fatal(err)
		}
		id := p.Items[0].ConnectionID
		rows[0].ID, rows[0].Name = id, "Acme Okta (EU)"
		rows[1].Mapping = &migrate.Mapping{Email: "upn"}

		ms := &meddlingStore{Store: e.store, id: id, meddle: func(ctx context.Context) {
			c, err := e.store.GetConnection(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			prev := c.UpdatedAt
			c.Status, c.UpdatedAt = sso.ConnectionDisabled, sso.NextUpdatedAt(prev, testNow)
			if err := sso.UpdateConnectionIf(ctx, e.store, c, prev); err != nil {
				t.Fatal(err)
			}
		}}
		e.im.Store = ms
		p, err = e.im.Run(ctx, rows, migrate.Options{OrgID: "org_a"})
		if !errors.Is(err, sso.ErrConnectionChanged) || p == nil || p.Applied || p.Items[0].Written || p.Items[1].Written {
			t.Fatalf("import over a changed connection: %+v, %v", p, err)
		}
		c, err := e.store.GetConnection(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != sso.ConnectionDisabled || c.DisplayName != "Acme Okta" {
			t.Fatalf("after the refused import: status %s, name %q; want disabled, the old name", c.Status, c.DisplayName)
		}
		other, err := e.store.GetConnection(ctx, p.Items[1].ConnectionID)
		if err != nil || other.Mapping.Email != "" {
			t.Fatalf("the row after the refused one was written: %+v, %v", other, err)
		}

		p, err = e.im.Run(ctx, rows, migrate.Options{OrgID: "org_a"})
		if err != nil || !p.Applied || p.Items[0].Action != migrate.Update || p.Items[1].Action != migrate.Update {
			t.Fatalf("again: %+v, %v", p, err)
		}
		c, err = e.store.GetConnection(ctx, id)
		if err != nil || c.Status != sso.ConnectionDisabled || c.DisplayName != "Acme Okta (EU)" {
			t.Fatalf("after the second import: %+v, %v; want disabled and renamed", c, err)
		}
	})
}
