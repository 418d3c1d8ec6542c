package saml_test

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/login"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsaml"
)

// BenchmarkLoginPostgres runs a returning user's whole SAML login the way a
// host runs it on PostgreSQL: the ACS (form, structural scan, gosaml2 and
// goxmldsig, request binding, replay cache), login completion (one
// LoadLogin) and one transaction with the identity update, the session
// and the audit event, then the cookie. Compare its p50-ns/op with BenchmarkGosaml2BareP50 on the same
// kind of response. It skips when SSOKIT_TEST_POSTGRES is unset.
func BenchmarkLoginPostgres(b *testing.B) {
	pl := newPGLogin(b, b.N)
	login := pl.post
	login(b.N) // the first login provisions the user; the measured ones are returning logins
	durations := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		login(i)
		durations = append(durations, time.Since(t0))
	}
	reportCPU(b, start)
	reportP50(b, durations)
}

// BenchmarkLoginPostgresVsBare alternates, in one loop, a returning user's
// whole login on PostgreSQL (as BenchmarkLoginPostgres) and bare gosaml2
// validating the same response, so that both see the same machine load,
// and reports the median wall time of each and their ratio
// (login-p50/bare-p50), the figure BENCHMARKS.md records.
func BenchmarkLoginPostgresVsBare(b *testing.B) {
	pl := newPGLogin(b, b.N)
	login, resps := pl.post, pl.resps
	login(b.N)
	bare := bareSP(b, pl.acs, pl.audience)
	var lat, base []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := bare.RetrieveAssertionInfo(resps[i]); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		login(i)
		base, lat = append(base, t1.Sub(t0)), append(lat, time.Since(t1))
	}
	b.StopTimer()
	lp, bp := median(lat), median(base)
	b.ReportMetric(float64(lp.Nanoseconds()), "login-p50-ns")
	b.ReportMetric(float64(bp.Nanoseconds()), "bare-p50-ns")
	b.ReportMetric(float64(lp)/float64(bp), "login/bare")
}

// pgLogin is an SP on PostgreSQL with signed responses to post.
type pgLogin struct {
	// post posts response i to the ACS and checks that a session cookie
	// came back.
	post          func(i int)
	resps         []string
	acs, audience string
}

// newPGLogin sets up an SP on a fresh PostgreSQL schema as sso/stack wires
// it, with n+1 outstanding requests and their signed responses.
func newPGLogin(b *testing.B, n int) *pgLogin {
	var (
		post  func(i int)
		resps []string
	)
	ctx := context.Background()
	clock := func() time.Time { return baseTime }
	st, err := sqlstore.New(testdb.Postgres(b), sqlstore.Postgres, sqlstore.WithClock(clock))
	if err != nil {
		b.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	ss := sqlsaml.New(st)
	org := &sso.Organization{ID: "org_b", Slug: "bench", Name: "Bench", CreatedAt: baseTime}
	org.Settings.Features, org.Settings.AllowJIT = sso.Features{"saml"}, true
	if err := st.CreateOrg(ctx, org); err != nil {
		b.Fatal(err)
	}
	if err := st.CreateDomain(ctx, &sso.Domain{OrgID: org.ID, Name: "example.com", Token: "t", State: sso.DomainVerified,
		VerifiedAt: baseTime, LastCheckedAt: baseTime, CreatedAt: baseTime}); err != nil {
		b.Fatal(err)
	}
	sessions, err := session.New(session.Config{Store: st, Events: st, Orgs: st, Memberships: st, Now: clock, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	aud, err := audit.New(audit.Config{Store: st, Now: clock})
	if err != nil {
		b.Fatal(err)
	}
	// As sso/stack wires it: the identity update, the session and the
	// audit event in one transaction.
	comp, err := login.New(login.Config{Store: st, Sessions: sessions, Auditor: aud, Now: clock, Logger: discardLogger(),
		WriteWithSession: true})
	if err != nil {
		b.Fatal(err)
	}
	sp, err := saml.New(saml.Config{BaseURL: &url.URL{Scheme: "https", Host: "sp.example.com", Path: "/sso/saml"}, Key: spKey(b).pair(),
		Connections: st, Store: ss, Events: st, Completer: comp, Logger: discardLogger(), Now: clock})
	if err != nil {
		b.Fatal(err)
	}
	conn := &sso.Connection{ID: "conn_b", OrgID: org.ID, Protocol: saml.Protocol, Status: sso.ConnectionActive, DisplayName: "b",
		Config: &saml.ConnectionConfig{IdPEntityID: testIdP, SSOURL: "https://idp.example.com/sso", Certificates: []string{certPEM(idpKey(b).cert)}}}
	if err := st.CreateConnection(ctx, conn); err != nil {
		b.Fatal(err)
	}
	resps = make([]string, n+1)
	for i := range resps {
		id := "_req" + strconv.Itoa(i)
		if err := ss.SaveAuthnRequest(ctx, &saml.AuthnRequestState{ID: id, ConnectionID: conn.ID,
			BindingHash: opaque.Hash("tok"), CreatedAt: baseTime, ExpiresAt: baseTime.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		f := &fixture{acs: sp.ACSURL(conn.ID), audience: sp.EntityID(conn.ID), inResponseTo: id, signAssertion: true,
			signResponse: true, attrs: realisticAttrs}
		resps[i] = f.encoded(b)
	}
	post = func(i int) {
		w := httptest.NewRecorder()
		sp.ServeHTTP(w, acsRequest(conn.ID, "_req"+strconv.Itoa(i), resps[i]))
		if w.Code != http.StatusSeeOther || len(w.Result().Cookies()) == 0 {
			b.Fatalf("login %d: status %d, cookies %v", i, w.Code, w.Result().Cookies())
		}
	}
	return &pgLogin{post: post, resps: resps, acs: sp.ACSURL(conn.ID), audience: sp.EntityID(conn.ID)}
}

// bareSP is gosaml2 configured for the benchmark's IdP and SP, the
// baseline the login is compared with.
func bareSP(b *testing.B, acs, audience string) *saml2.SAMLServiceProvider {
	return &saml2.SAMLServiceProvider{IdentityProviderIssuer: testIdP, AssertionConsumerServiceURL: acs,
		AudienceURI: audience, IDPCertificateStore: &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{idpKey(b).cert}},
		Clock: dsig.NewFakeClockAt(baseTime)}
}

// BenchmarkGosaml2BareP50 is BenchmarkGosaml2Bare reporting the median
// wall time per response, the baseline of BenchmarkLoginPostgres.
func BenchmarkGosaml2BareP50(b *testing.B) {
	e := newBenchEnv(b)
	f := &fixture{acs: e.sp.ACSURL(e.conn.ID), audience: e.sp.EntityID(e.conn.ID), inResponseTo: "_req0", signAssertion: true,
		signResponse: true, attrs: realisticAttrs}
	enc := f.encoded(b)
	sp := &saml2.SAMLServiceProvider{IdentityProviderIssuer: testIdP, AssertionConsumerServiceURL: e.sp.ACSURL(e.conn.ID),
		AudienceURI: e.sp.EntityID(e.conn.ID), IDPCertificateStore: &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{idpKey(b).cert}},
		Clock: dsig.NewFakeClockAt(baseTime)}
	durations := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := sp.RetrieveAssertionInfo(enc); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(t0))
	}
	reportCPU(b, start)
	reportP50(b, durations)
}

// reportP50 reports the median of the per-iteration wall times.
func reportP50(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Nanoseconds()), "p50-ns/op")
}

// median returns the middle of d (sorted in place).
func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}
