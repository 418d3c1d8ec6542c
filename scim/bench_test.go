package scim_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	elimityfilter "github.com/elimity-com/scim/filter"
	elimityschema "github.com/elimity-com/scim/schema"
	filterparser "github.com/scim2/filter-parser/v2"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlscim"
)

var benchFilters = map[string]string{
	"eq":      `userName eq "user004242@big.test"`,
	"complex": `userType eq "Employee" and (emails.value co "example.com" or emails.value co "example.org") and not (active eq false)`,
}

// BenchmarkFilterParse compares parsing (and, for ours, translating to
// SQL) one request's filter with the elimity-com/scim parser and
// validator.
func BenchmarkFilterParse(b *testing.B) {
	for name, f := range benchFilters {
		ours := f
		if name == "complex" {
			ours = strings.Replace(f, `userType eq "Employee"`, `displayName eq "Employee"`, 1)
		}
		b.Run("ours/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := scim.ParseFilter(ours, scim.KindUser); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("ours+sql/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e, err := scim.ParseFilter(ours, scim.KindUser)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := sqlscim.UserFilterSQL(sqlstore.Postgres, e); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("scim2-filter-parser/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := filterparser.ParseFilter([]byte(f)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("elimity-validator/"+name, func(b *testing.B) {
			b.ReportAllocs()
			s, ext := elimityschema.CoreUserSchema(), elimityschema.ExtensionEnterpriseUser()
			for b.Loop() {
				v, err := elimityfilter.NewValidator(f, s, ext)
				if err != nil {
					b.Fatal(err)
				}
				if err := v.Validate(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMemstoreList measures the handler end to end on memstore.
func BenchmarkMemstoreGetByUserName(b *testing.B) {
	e := newEnv(b, func(c *scim.Config) { c.DisableRateLimit = true })
	for i := 0; i < 1000; i++ {
		e.createUser(fmt.Sprintf("user%06d@big.test", i))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.do("GET", "/Users?filter="+url.QueryEscape(fmt.Sprintf(`userName eq "user%06d@big.test"`, i%1000)), "")
		i++
	}
}

// benchOrg seeds a PostgreSQL schema with a large organization (and some
// smaller ones) through set-based INSERTs.
func seedPostgres(b *testing.B, db *sql.DB, orgID, prefix string, n int) {
	b.Helper()
	ctx := context.Background()
	now := time.Now().UnixMicro()
	stmts := []string{
		`INSERT INTO ssokit_users (id, email, email_lower, email_verified, given_name, family_name, display_name, created_at, updated_at)
		 SELECT $1 || lpad(i::text, 8, '0'), 'user' || lpad(i::text, 6, '0') || '@big.test', 'user' || lpad(i::text, 6, '0') || '@big.test',
		        false, 'Given' || i, 'Family' || i, '', CAST($3 AS BIGINT), CAST($3 AS BIGINT) FROM generate_series(1, CAST($2 AS INTEGER)) i`,
		`INSERT INTO ssokit_memberships (org_id, user_id, roles, status, source, external_id, break_glass, joined_at, updated_at)
		 SELECT $4, $1 || lpad(i::text, 8, '0'), '["member"]', 'active', 'scim', 'ext-' || i, false, CAST($3 AS BIGINT), CAST($3 AS BIGINT) FROM generate_series(1, CAST($2 AS INTEGER)) i`,
		`INSERT INTO ssokit_scim_users (org_id, user_id, user_name, user_name_lc, external_id, display_name_lc, given_name_lc,
		        family_name_lc, active, deleted, attrs, version, created_at, last_modified)
		 SELECT $4, $1 || lpad(i::text, 8, '0'), 'user' || lpad(i::text, 6, '0') || '@big.test', 'user' || lpad(i::text, 6, '0') || '@big.test',
		        'ext-' || i, '', 'given' || i, 'family' || i, true, false,
		        '{"userName":"user' || lpad(i::text, 6, '0') || '@big.test","active":true,"externalId":"ext-' || i ||
		        '","name":{"givenName":"Given' || i || '","familyName":"Family' || i || '"},"emails":[{"value":"user' ||
		        lpad(i::text, 6, '0') || '@big.test","type":"work","primary":true}]}', 1, CAST($3 AS BIGINT), CAST($3 AS BIGINT) + i FROM generate_series(1, CAST($2 AS INTEGER)) i`,
		`INSERT INTO ssokit_scim_emails (org_id, user_id, pos, value_lc, type_lc, is_primary)
		 SELECT $4, $1 || lpad(i::text, 8, '0'), 0, 'user' || lpad(i::text, 6, '0') || '@big.test', 'work', true FROM generate_series(1, CAST($2 AS INTEGER)) i WHERE CAST($3 AS BIGINT) > 0`,
	}
	for i, s := range stmts {
		args := []any{prefix, n, now, orgID}
		if i == 0 {
			args = args[:3]
		}
		if _, err := db.ExecContext(ctx, s, args...); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[int(float64(len(d)-1)*p)]
}

func reportLatency(b *testing.B, d []time.Duration) {
	b.ReportMetric(float64(percentile(d, 0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(d, 0.95).Microseconds())/1000, "p95-ms")
}

// BenchmarkPostgresLargeOrg runs the handler on PostgreSQL with one large
// organization (SCIM_BENCH_USERS, default 100000) and five of a tenth the
// size. It needs SSOKIT_TEST_POSTGRES.
func BenchmarkPostgresLargeOrg(b *testing.B) {
	db := testdb.Postgres(b)
	st := openSQL(b, db, sqlstore.Postgres)
	e := newEnvOn(b, st, func(c *scim.Config) { c.DisableRateLimit = true })
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("SCIM_BENCH_USERS")); err == nil && v > 0 {
		n = v
	}
	start := time.Now()
	seedPostgres(b, db, e.org.ID, "user_", n)
	for i := 0; i < 5; i++ {
		o := e.addOrg(fmt.Sprintf("small%d", i))
		seedPostgres(b, db, o.ID, fmt.Sprintf("u%d_", i), n/10)
	}
	if _, err := db.Exec(`VACUUM ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d + 5x%d users in %v", n, n/10, time.Since(start))
	rng := rand.New(rand.NewPCG(1, 2))

	b.Run("GetByUserName", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			q := url.QueryEscape(fmt.Sprintf(`userName eq "USER%06d@big.test"`, 1+rng.IntN(n)))
			t0 := time.Now()
			r := e.do("GET", "/Users?filter="+q, "")
			lat = append(lat, time.Since(t0))
			if r.status != http.StatusOK || r.total() != 1 {
				b.Fatalf("lookup: %d %s", r.status, r.raw)
			}
		}
		reportLatency(b, lat)
	})
	b.Run("ListPage100", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			t0 := time.Now()
			r := e.do("GET", fmt.Sprintf("/Users?startIndex=%d&count=100", 1+rng.IntN(n-100)), "")
			lat = append(lat, time.Since(t0))
			if r.status != http.StatusOK || len(r.resources()) != 100 {
				b.Fatalf("page: %d", r.status)
			}
		}
		reportLatency(b, lat)
	})
	b.Run("ListFirstPage100", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			t0 := time.Now()
			r := e.do("GET", "/Users?startIndex=1&count=100", "")
			lat = append(lat, time.Since(t0))
			if r.status != http.StatusOK || len(r.resources()) != 100 {
				b.Fatalf("page: %d", r.status)
			}
		}
		reportLatency(b, lat)
	})
	b.Run("FilterSwPage", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			t0 := time.Now()
			r := e.do("GET", "/Users?count=100&filter="+url.QueryEscape(fmt.Sprintf(`userName sw "user0%02d"`, rng.IntN(100))), "")
			lat = append(lat, time.Since(t0))
			if r.status != http.StatusOK || len(r.resources()) != 100 {
				b.Fatalf("sw: %d %d", r.status, len(r.resources()))
			}
		}
		reportLatency(b, lat)
	})
	b.Run("PatchStorm", func(b *testing.B) {
		const workers = 4
		var mu sync.Mutex
		var lat []time.Duration
		t0 := time.Now()
		ops := 0
		for b.Loop() {
			var wg sync.WaitGroup
			for w := 0; w < workers; w++ {
				id := fmt.Sprintf("user_%08d", 1+rng.IntN(n))
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := time.Now()
					r := e.do("PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"displayName","value":"`+strconv.Itoa(int(s.UnixNano()))+`"}]}`)
					mu.Lock()
					lat = append(lat, time.Since(s))
					mu.Unlock()
					if r.status != http.StatusOK {
						b.Errorf("patch: %d %s", r.status, r.raw)
					}
				}()
			}
			wg.Wait()
			ops += workers
		}
		b.ReportMetric(float64(ops)/time.Since(t0).Seconds(), "patch-ops/s")
		reportLatency(b, lat)
	})
	b.Run("DeactivateToRevoke", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			id := fmt.Sprintf("user_%08d", 1+rng.IntN(n))
			before := e.rev.revoked(id)
			t0 := time.Now()
			r := e.do("PATCH", "/Users/"+id, `{"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
			if r.status != http.StatusOK || e.rev.revoked(id) != before+1 {
				b.Fatalf("deactivate: %d", r.status)
			}
			e.rev.mu.Lock()
			at := e.rev.at[len(e.rev.at)-1]
			e.rev.mu.Unlock()
			lat = append(lat, at.Sub(t0))
			e.do("PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"active","value":true}]}`)
		}
		reportLatency(b, lat)
	})
}
