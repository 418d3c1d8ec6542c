package sqloidc_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqloidc"
)

// TestFlowAuthnRoundTrip checks that what a login asked of the IdP's
// authentication (RequireMFA with its acr_values, MaxAge, ForceAuthn)
// survives SaveFlow and TakeFlow, on SQLite and PostgreSQL.
func TestFlowAuthnRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (*sql.DB, sqlstore.Dialect)
	}{
		{"sqlite", func(t *testing.T) (*sql.DB, sqlstore.Dialect) { return testdb.SQLite(t), sqlstore.SQLite }},
		{"postgres", func(t *testing.T) (*sql.DB, sqlstore.Dialect) { return testdb.Postgres(t), sqlstore.Postgres }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, d := tc.open(t)
			st, err := sqlstore.New(db, d)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			s := sqloidc.New(st)
			now := time.Now().Truncate(time.Microsecond)
			for i, want := range []oidc.Flow{
				{RequireMFA: true, ACRValues: "urn:a urn:b", MaxAge: 5 * time.Minute, ForceAuthn: true},
				{},
			} {
				want.ID, want.BrowserHash, want.ConnectionID, want.OrgID = "flow-"+string(rune('a'+i)), "b", "conn_1", "org_1"
				want.Issuer, want.RedirectURI, want.Verifier, want.Nonce = "https://idp.example.com", "https://app/cb", "v", "n"
				want.CreatedAt, want.ExpiresAt = now, now.Add(oidc.FlowTTL)
				if err := s.SaveFlow(ctx, &want); err != nil {
					t.Fatal(err)
				}
				got, err := s.TakeFlow(ctx, want.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.RequireMFA != want.RequireMFA || got.ACRValues != want.ACRValues || got.MaxAge != want.MaxAge || got.ForceAuthn != want.ForceAuthn {
					t.Fatalf("flow %d: got %+v, want %+v", i, got, want)
				}
			}
		})
	}
}
