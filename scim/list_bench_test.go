package scim_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// bodyWriter is a reusable http.ResponseWriter that keeps the last body.
type bodyWriter struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (w *bodyWriter) Header() http.Header { return w.h }
func (w *bodyWriter) WriteHeader(s int)   { w.status = s }
func (w *bodyWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

func (w *bodyWriter) reset() {
	clear(w.h)
	w.status = 0
	w.body.Reset()
}

// benchSizes are the organization sizes of BenchmarkListPage:
// SCIM_BENCH_SIZES (comma-separated), else 1000, 10000 and 100000.
func benchSizes(b *testing.B) []int {
	spec := os.Getenv("SCIM_BENCH_SIZES")
	if spec == "" {
		spec = "1000,10000,100000"
	}
	var out []int
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 200 {
			b.Fatalf("SCIM_BENCH_SIZES: %q", f)
		}
		out = append(out, n)
	}
	return out
}

// seedSQLite is seedPostgres for SQLite.
func seedSQLite(b *testing.B, db *sql.DB, orgID, prefix string, n int) {
	b.Helper()
	ctx := context.Background()
	now := time.Now().UnixMicro()
	const series = `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $2) `
	name := `'user' || printf('%06d', i) || '@big.test'`
	stmts := []string{
		`INSERT INTO ssokit_users (id, email, email_lower, email_verified, given_name, family_name, display_name, created_at, updated_at) ` + series +
			`SELECT $1 || printf('%08d', i), ` + name + `, ` + name + `, false, 'Given' || i, 'Family' || i, '', $3, $3 FROM s`,
		`INSERT INTO ssokit_memberships (org_id, user_id, roles, status, source, external_id, break_glass, joined_at, updated_at) ` + series +
			`SELECT $4, $1 || printf('%08d', i), '["member"]', 'active', 'scim', 'ext-' || i, false, $3, $3 FROM s`,
		`INSERT INTO ssokit_scim_users (org_id, user_id, user_name, user_name_lc, external_id, display_name_lc, given_name_lc,
		        family_name_lc, active, deleted, attrs, version, created_at, last_modified) ` + series +
			`SELECT $4, $1 || printf('%08d', i), ` + name + `, ` + name + `, 'ext-' || i, '', 'given' || i, 'family' || i, true, false,
		        '{"userName":"user' || printf('%06d', i) || '@big.test","active":true,"externalId":"ext-' || i ||
		        '","name":{"givenName":"Given' || i || '","familyName":"Family' || i || '"},"emails":[{"value":"user' ||
		        printf('%06d', i) || '@big.test","type":"work","primary":true}]}', 1, $3, $3 + i FROM s`,
		`INSERT INTO ssokit_scim_emails (org_id, user_id, pos, value_lc, type_lc, is_primary) ` + series +
			`SELECT $4, $1 || printf('%08d', i), 0, ` + name + `, 'work', true FROM s`,
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

// BenchmarkListPage measures one page of 100 users served by the handler
// in process (the request built, authenticated, listed, rendered; no
// network), in organizations of 1k, 10k and 100k users seeded with bulk
// SQL, on PostgreSQL (when SSOKIT_TEST_POSTGRES is set) and SQLite:
//
//   - first: startIndex=1, as a client starting a walk or polling;
//   - random: a startIndex anywhere in the organization, with no previous
//     page (a client jumping, or a replica that did not serve the page
//     before);
//   - next: the next page of a walk (startIndex = previous + 100), as Okta
//     and Entra read a directory.
//
// p50-ms and p95-ms are per request; allocs/op and B/op come from
// -benchmem.
func BenchmarkListPage(b *testing.B) {
	for _, d := range []sqlstore.Dialect{sqlstore.Postgres, sqlstore.SQLite} {
		b.Run(dialectName(d), func(b *testing.B) { benchListPage(b, d, nil) })
	}
}

func dialectName(d sqlstore.Dialect) string {
	if d == sqlstore.Postgres {
		return "postgres"
	}
	return "sqlite"
}

func benchListPage(b *testing.B, d sqlstore.Dialect, opt envOpt) {
	var db *sql.DB
	if d == sqlstore.Postgres {
		db = testdb.Postgres(b)
	} else {
		db = testdb.SQLite(b)
	}
	st := openSQL(b, db, d)
	opts := []envOpt{func(c *scim.Config) { c.DisableRateLimit = true }}
	if opt != nil {
		opts = append(opts, opt)
	}
	e := newEnvOn(b, st, opts...)
	sizes := benchSizes(b)
	tokens := map[int]string{}
	start := time.Now()
	for i, n := range sizes {
		o := e.addOrg(fmt.Sprintf("big%d", n))
		tokens[n], _ = e.issue(o.ID)
		if d == sqlstore.Postgres {
			seedPostgres(b, db, o.ID, fmt.Sprintf("u%d_", i), n)
		} else {
			seedSQLite(b, db, o.ID, fmt.Sprintf("u%d_", i), n)
		}
	}
	analyze := "ANALYZE"
	if d == sqlstore.Postgres {
		analyze = "VACUUM ANALYZE"
	}
	if _, err := db.Exec(analyze); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %v users in %v", sizes, time.Since(start))
	w := &bodyWriter{h: http.Header{}}
	serve := func(b *testing.B, token, target string, want int) {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		w.reset()
		e.h.ServeHTTP(w, req)
		if w.status != http.StatusOK || !bytes.Contains(w.body.Bytes(), []byte(`"itemsPerPage":`+strconv.Itoa(want))) {
			b.Fatalf("%s: %d %.300s", target, w.status, w.body.Bytes())
		}
	}
	for _, n := range sizes {
		token := tokens[n]
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(uint64(n), 2))
			run := func(b *testing.B, next func() string) {
				var lat []time.Duration
				b.ReportAllocs()
				for b.Loop() {
					target := next()
					t0 := time.Now()
					serve(b, token, target, 100)
					lat = append(lat, time.Since(t0))
				}
				reportLatency(b, lat)
			}
			b.Run("first", func(b *testing.B) {
				run(b, func() string { return "/Users?startIndex=1&count=100" })
			})
			b.Run("random", func(b *testing.B) {
				run(b, func() string { return fmt.Sprintf("/Users?startIndex=%d&count=100", 1+rng.IntN(n-100)) })
			})
			b.Run("next", func(b *testing.B) {
				at := 1
				run(b, func() string {
					s := fmt.Sprintf("/Users?startIndex=%d&count=100", at)
					if at += 100; at > n-100 {
						at = 1
					}
					return s
				})
			})
			b.Run("filter-sw", func(b *testing.B) {
				run(b, func() string {
					return "/Users?count=100&filter=" + url.QueryEscape(fmt.Sprintf(`userName sw "user0%02d"`, rng.IntN(n/1000)))
				})
			})
		})
	}
}

// BenchmarkMemstoreSeed provisions SCIM_SEED_USERS users (default 10000)
// into one organization on memstore, as Okta does: a userName lookup, then
// the create. "handler" goes through the handler (in process), "store"
// calls memscim alone (ListUsersSCIM with the lookup filter, then
// CreateUserSCIM). s/seed is the time for all of them.
func BenchmarkMemstoreSeed(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("SCIM_SEED_USERS")); err == nil && v > 0 {
		n = v
	}
	b.Run("handler", func(b *testing.B) {
		for b.Loop() {
			e := newEnv(b, func(c *scim.Config) { c.DisableRateLimit = true })
			w := &bodyWriter{h: http.Header{}}
			do := func(method, target, body string, want int) {
				var req *http.Request
				if body == "" {
					req = httptest.NewRequest(method, target, nil)
				} else {
					req = httptest.NewRequest(method, target, strings.NewReader(body))
				}
				req.Header.Set("Authorization", "Bearer "+e.token)
				w.reset()
				e.h.ServeHTTP(w, req)
				if w.status != want {
					b.Fatalf("%s %s: %d %s", method, target, w.status, w.body.Bytes())
				}
			}
			t0 := time.Now()
			for i := 0; i < n; i++ {
				name := fmt.Sprintf("user%06d@big.test", i)
				do("GET", "/Users?filter="+url.QueryEscape(`userName eq "`+name+`"`), "", http.StatusOK)
				do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+name+
					`","name":{"givenName":"Given","familyName":"Family"},"emails":[{"value":"`+name+`","type":"work","primary":true}],"active":true}`, http.StatusCreated)
			}
			b.ReportMetric(time.Since(t0).Seconds(), "s/seed")
		}
	})
	b.Run("store", func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			st := newMem()
			t0 := time.Now()
			for i := 0; i < n; i++ {
				name := fmt.Sprintf("user%06d@big.test", i)
				f, err := scim.ParseFilter(`userName eq "`+name+`"`, scim.KindUser)
				if err != nil {
					b.Fatal(err)
				}
				if _, total, err := st.ListUsersSCIM(ctx, "org1", scim.Query{Filter: f, StartIndex: 1, Count: 100}); err != nil || total != 0 {
					b.Fatalf("lookup: %d %v", total, err)
				}
				u, m, r := benchSCIMUser("org1", fmt.Sprintf("user_%08d", i), name)
				if err := st.CreateUserSCIM(ctx, u, m, r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(time.Since(t0).Seconds(), "s/seed")
		}
	})
}

// benchSCIMUser returns a new SCIM user with its core user and membership.
func benchSCIMUser(orgID, id, userName string) (*sso.User, *sso.Membership, *scim.User) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	r := &scim.User{OrgID: orgID, ID: id, Version: 1, Created: now, LastModified: now, Attributes: map[string]any{
		"userName": userName, "active": true, "name": map[string]any{"givenName": "Given", "familyName": "Family"},
		"emails": []any{map[string]any{"value": userName, "type": "work", "primary": true}},
	}}
	r.Derive()
	u := &sso.User{ID: id, Email: userName, CreatedAt: now, UpdatedAt: now}
	m := &sso.Membership{OrgID: orgID, UserID: id, Roles: []string{"member"}, Status: sso.MembershipActive, Source: sso.SourceSCIM, JoinedAt: now, UpdatedAt: now}
	return u, m, r
}
