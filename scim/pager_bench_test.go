package scim_test

import (
	"testing"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// BenchmarkListPageUncached is BenchmarkListPage with TotalCacheTTL < 0:
// every request counts its matches (and a random page reads its marks
// again), the cost of a list the handler has no view of yet.
func BenchmarkListPageUncached(b *testing.B) {
	for _, d := range []sqlstore.Dialect{sqlstore.Postgres, sqlstore.SQLite} {
		b.Run(dialectName(d), func(b *testing.B) {
			benchListPage(b, d, func(c *scim.Config) { c.TotalCacheTTL = -1 })
		})
	}
}
