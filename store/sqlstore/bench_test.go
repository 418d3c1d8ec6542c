package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// benchStores yields the stores the hot-lookup benchmarks compare:
// memstore as the baseline, SQLite, and PostgreSQL when configured.
var benchStores = []struct {
	name string
	open func(b *testing.B) sso.Store
}{
	{"memstore", func(b *testing.B) sso.Store { return memstore.New() }},
	{"sqlite", func(b *testing.B) sso.Store { return open(b, testdb.SQLite(b), sqlstore.SQLite) }},
	{"postgres", func(b *testing.B) sso.Store { return open(b, testdb.Postgres(b), sqlstore.Postgres) }},
}

// seed fills s with n organizations, each with a verified domain, a SAML
// connection and an identity, so lookups hit populated indexes.
func seed(b *testing.B, s sso.Store, n int) {
	b.Helper()
	ctx := context.Background()
	now := time.Now()
	for i := range n {
		org := fmt.Sprintf("org_%04d", i)
		must(b, s.CreateOrg(ctx, &sso.Organization{ID: org, Slug: fmt.Sprintf("org-%d", i), CreatedAt: now}))
		must(b, s.CreateDomain(ctx, &sso.Domain{OrgID: org, Name: fmt.Sprintf("d%d.example.com", i), State: sso.DomainVerified, VerifiedAt: now}))
		must(b, s.CreateConnection(ctx, &sso.Connection{ID: fmt.Sprintf("conn_%04d", i), OrgID: org, Protocol: saml.Protocol,
			Status: sso.ConnectionActive, Config: &saml.ConnectionConfig{IdPEntityID: "https://idp.example.com/" + org,
				SSOURL: "https://idp.example.com/sso", Certificates: []string{"MIIB"}}, GroupRoles: []sso.GroupRole{{Group: "a", Role: "b"}}}))
		must(b, s.CreateIdentity(ctx, &sso.Identity{ID: fmt.Sprintf("id_%04d", i), OrgID: org, Issuer: "https://idp.example.com/" + org,
			Subject: "sub", UserID: fmt.Sprintf("user_%04d", i)}))
	}
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

func benchLookup(b *testing.B, lookup func(ctx context.Context, s sso.Store, i int) error) {
	for _, bs := range benchStores {
		b.Run(bs.name, func(b *testing.B) {
			s := bs.open(b)
			const n = 200
			seed(b, s, n)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := lookup(ctx, s, i%n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGetConnection(b *testing.B) {
	benchLookup(b, func(ctx context.Context, s sso.Store, i int) error {
		_, err := s.GetConnection(ctx, fmt.Sprintf("conn_%04d", i))
		return err
	})
}

func BenchmarkFindVerifiedDomain(b *testing.B) {
	benchLookup(b, func(ctx context.Context, s sso.Store, i int) error {
		_, err := s.FindVerifiedDomain(ctx, fmt.Sprintf("d%d.example.com", i))
		return err
	})
}

func BenchmarkGetIdentity(b *testing.B) {
	benchLookup(b, func(ctx context.Context, s sso.Store, i int) error {
		_, err := s.GetIdentity(ctx, fmt.Sprintf("org_%04d", i), fmt.Sprintf("https://idp.example.com/org_%04d", i), "sub")
		return err
	})
}
