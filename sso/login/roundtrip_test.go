package login_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/loaded"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/keyring"
	"github.com/ssokit/ssokit/sso/login"
	"github.com/ssokit/ssokit/sso/ssotest"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memoidc"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

// Store round trips of one matched (returning-user) login, counted per
// store method on the completion request only (the ACS POST or the OIDC
// callback), through the real saml.SP / oidc.RP handlers and the real
// login.Completer. Counts are deterministic; the budgets below fail the
// test when a change adds a round trip (lower them when one is removed).
// BENCHMARKS.md ("Store round trips of a matched login") has the numbers.
var (
	samlMatchedBudget = map[string]int{
		"GetConnection":     1, // saml.SP loads the connection named by the ACS URL
		"TakeAuthnRequest":  1, // InResponseTo: the outstanding request, consumed once
		"MarkAssertionUsed": 1, // replay cache
		"LoadLogin":         1, // organization, email domain, identity, user, membership
		"UpdateIdentity":    1, // last login time
		"AppendEvent":       1, // login.succeeded
	}
	oidcMatchedBudget = map[string]int{
		"TakeFlow":       1, // the state's flow, consumed once
		"GetConnection":  1, // oidc.RP loads the flow's connection
		"LoadLogin":      1,
		"UpdateIdentity": 1,
		"AppendEvent":    1,
	}
)

// withSession is a budget plus the session a real session.Manager stores.
// Its session policy comes from the organization the grant carries, and
// the counting store is not a session.LoginWriter, so once the session is
// written the Manager reads the organization once to confirm the login's
// checks still hold (a LoginWriter checks that in the session's write).
func withSession(budget map[string]int) map[string]int {
	b := maps.Clone(budget)
	b["CreateSession"] = 1
	b["GetOrg"] = 1
	return b
}

func TestRoundTripsMatchedLogin(t *testing.T) {
	t.Parallel()
	for _, proto := range []sso.Protocol{saml.Protocol, oidc.Protocol} {
		for _, sessions := range []string{"fake issuer", "session.Manager"} {
			t.Run(string(proto)+"/"+sessions, func(t *testing.T) {
				t.Parallel()
				managed := sessions == "session.Manager"
				rt := newRoundTripEnv(t, managed)
				loginURL, budget := rt.samlLogin, samlMatchedBudget
				if proto == oidc.Protocol {
					loginURL, budget = rt.oidcLogin, oidcMatchedBudget
				}
				if managed {
					budget = withSession(budget)
				}
				rt.login(loginURL) // first login: JIT provisioning
				first := rt.cs.snapshot()
				if n := rt.iss.Count(); !managed && n != 1 {
					t.Fatalf("first login issued %d sessions", n)
				}
				if managed {
					rt.orgReadOnce("first login", first)
				}
				rt.cs.reset()
				rt.login(loginURL) // the returning user: matched by identity
				got := rt.cs.snapshot()
				if ev := lastEventOf(t, rt.st, rt.org.ID, sso.EventLoginSucceeded); ev.Details["outcome"] != string(login.OutcomeMatched) {
					t.Fatalf("second login: %+v", ev)
				}
				t.Logf("%s matched login (%s), completion request: %d store calls: %s", proto, sessions, total(got), formatCounts(got))
				if total(got) > total(budget) {
					t.Errorf("%s: %d store calls, budget %d", proto, total(got), total(budget))
				}
				for name, n := range got {
					if n > budget[name] {
						t.Errorf("%s: %d calls to %s, budget %d", proto, n, name, budget[name])
					}
				}
				if got["LoadLogin"] != 1 {
					t.Errorf("%s: %d LoadLogin calls, want 1: the store's Loader is not used", proto, got["LoadLogin"])
				}
				if managed {
					rt.orgReadOnce("matched login", got)
				} else if n := rt.iss.Count(); n != 2 {
					t.Errorf("%s: %d sessions issued after two logins", proto, n)
				} else if g := rt.iss.Grants[1]; g.Org == nil || g.Org.ID != g.OrgID {
					t.Errorf("%s: the grant does not carry its organization: %+v", proto, g.Org)
				}
			})
		}
	}
}

// orgReadOnce fails the test unless one login's store calls read the
// organization once for its checks (in LoadLogin or GetOrg, whoever reads
// it) and once, after the session, to confirm them (GetOrg, see
// withSession), and stored one session.
func (rt *roundTripEnv) orgReadOnce(what string, calls map[string]int) {
	rt.t.Helper()
	if n := calls["GetOrg"] + calls["LoadLogin"]; n != 2 || calls["GetOrg"] != 1 {
		rt.t.Errorf("%s: the organization was read %d times (%s), want once for the checks and once to confirm them", what, n, formatCounts(calls))
	}
	if n := calls["CreateSession"]; n != 1 {
		rt.t.Errorf("%s: %d CreateSession calls, want 1", what, n)
	}
}

// TestLoadedConnectionTrust: the completer skips its connection read only
// for the very object recorded as read from its own store; a copy, an
// edited object or a record naming another store is read again, so the
// stored connection still decides.
func TestLoadedConnectionTrust(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a, b := e.Org("trust-a", nil), e.Org("trust-b", nil)
	e.Verified(a.ID, "a.com")
	cs := newCountingStore(e.St)
	comp, err := login.New(login.Config{Store: cs, Sessions: &ssoenv.FakeIssuer{}, Auditor: e.Aud, Now: e.Clock})
	if err != nil {
		t.Fatal(err)
	}
	stored := e.Conn(a.ID, saml.Protocol, sso.ConnectionActive, "https://idp.a")
	load := func() *sso.Connection {
		c, err := e.St.GetConnection(ctx, stored.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	resolve := func(rec context.Context, conn *sso.Connection, p *sso.Profile) (int, error) {
		cs.reset()
		_, err := comp.Resolve(context.WithValue(rec, countKey{}, true), &sso.Login{Connection: conn, Profile: p})
		return cs.snapshot()["GetConnection"], err
	}
	p := ssoenv.Profile(stored, "s1", "x@a.com", true)

	// The recorded object from the completer's store: no second read.
	c := load()
	if n, err := resolve(loaded.WithConnection(ctx, cs, c), c, p); err != nil || n != 0 {
		t.Fatalf("recorded connection: %d reads, %v", n, err)
	}
	// No record, or a record from another store value: read again.
	if n, err := resolve(ctx, c, p); err != nil || n != 1 {
		t.Fatalf("no record: %d reads, %v", n, err)
	}
	if n, err := resolve(loaded.WithConnection(ctx, e.St, c), c, p); err != nil || n != 1 {
		t.Fatalf("record from another store: %d reads, %v", n, err)
	}
	// A forged copy claiming another organization, next to a record of the
	// real object: read again and refused.
	forged := *c
	forged.OrgID = b.ID
	n, err := resolve(loaded.WithConnection(ctx, cs, c), &forged, ssoenv.Profile(&forged, "s1", "x@a.com", true))
	if n != 1 {
		t.Fatalf("forged copy: %d reads", n)
	}
	ssoenv.WantReason(t, err, sso.ErrAccessDenied, "connection_mismatch")
	// Disabled in the store while a stale active object is recorded from
	// another store: the stored status decides.
	dis := load()
	dis.Status = sso.ConnectionDisabled
	if err := e.St.UpdateConnection(ctx, dis); err != nil {
		t.Fatal(err)
	}
	_, err = resolve(loaded.WithConnection(ctx, e.St, c), c, p)
	ssoenv.WantReason(t, err, sso.ErrAccessDenied, "connection_disabled")
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func formatCounts(m map[string]int) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s=%d ", n, m[n])
	}
	return strings.TrimSpace(b.String())
}

func lastEventOf(t *testing.T, st *memstore.Store, orgID, typ string) *sso.Event {
	t.Helper()
	evs, err := st.ListEvents(context.Background(), sso.EventQuery{OrgID: orgID, Type: typ, Limit: 1000})
	if err != nil || len(evs) == 0 {
		t.Fatalf("no %s event: %v", typ, err)
	}
	return evs[len(evs)-1]
}

type roundTripEnv struct {
	t                    *testing.T
	st                   *memstore.Store
	cs                   *countingStore
	iss                  *ssoenv.FakeIssuer
	org                  *sso.Organization
	samlLogin, oidcLogin string
}

// completionPath marks the requests whose store calls are counted.
type countKey struct{}

// newRoundTripEnv serves SAML and OIDC logins on one counting store. With
// realSessions the completer issues sessions through a session.Manager on
// that store (its sessions, events and organizations); otherwise through a
// fake issuer that touches no store.
func newRoundTripEnv(t *testing.T, realSessions bool) *roundTripEnv {
	ctx := context.Background()
	idp := ssotest.NewServerWith(t, ssotest.Config{AutoLogin: "alice@example.com",
		Users: []ssotest.User{{Email: "alice@example.com", GivenName: "Alice", FamilyName: "Liddell"}}})
	st := memstore.New()
	cs := newCountingStore(st)
	rt := &roundTripEnv{t: t, st: st, cs: cs, iss: &ssoenv.FakeIssuer{}}
	aud, err := audit.New(audit.Config{Store: cs})
	if err != nil {
		t.Fatal(err)
	}
	var issuer sso.SessionIssuer = rt.iss
	if realSessions {
		m, err := session.New(session.Config{Store: cs, Events: cs, Orgs: cs, AllowInsecureCookie: true})
		if err != nil {
			t.Fatal(err)
		}
		issuer = m
	}
	comp, err := login.New(login.Config{Store: cs, Sessions: issuer, Auditor: aud, DefaultReturnTo: "/app"})
	if err != nil {
		t.Fatal(err)
	}
	rt.org = &sso.Organization{ID: "org_rt", Slug: "rt", Name: "RT", CreatedAt: time.Now()}
	rt.org.Settings.Features = ssoenv.AllFeatures
	rt.org.Settings.AllowJIT = true
	if err := st.CreateOrg(ctx, rt.org); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDomain(ctx, &sso.Domain{OrgID: rt.org.ID, Name: "example.com", Token: opaque.NewToken(32),
		State: sso.DomainVerified, VerifiedAt: time.Now(), LastCheckedAt: time.Now(), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/acs/") || strings.Contains(r.URL.Path, "/callback") {
			r = r.WithContext(context.WithValue(r.Context(), countKey{}, true))
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	mux.HandleFunc("/app", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })

	// SAML.
	spBase, _ := url.Parse(srv.URL + "/sso/saml")
	sp, err := saml.New(saml.Config{BaseURL: spBase, Connections: cs, Store: cs, Events: cs, Completer: comp,
		AllowInsecureURLs: true, AllowPrivateAddresses: true})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/sso/saml/", http.StripPrefix("/sso/saml", sp))
	sc := &sso.Connection{ID: "conn_saml", OrgID: rt.org.ID, Protocol: saml.Protocol, Status: sso.ConnectionActive}
	if _, err := sp.Configure(ctx, sc, &saml.ConnectionInput{MetadataURL: idp.SAMLMetadataURL()}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateConnection(ctx, sc); err != nil {
		t.Fatal(err)
	}
	md, _ := sp.Metadata(sc)
	if err := idp.RegisterSPMetadata(md); err != nil {
		t.Fatal(err)
	}
	rt.samlLogin = srv.URL + "/sso/saml/login/" + sc.ID

	// OIDC.
	rpBase, _ := url.Parse(srv.URL + "/sso/oidc/")
	sealer, err := keyring.New("k1", map[string][]byte{"k1": make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	rp, err := oidc.New(oidc.Config{BaseURL: rpBase, Completer: comp, Store: cs, Connections: cs, Sealer: sealer,
		AllowInsecureURLs: true, AllowPrivateAddresses: true})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/sso/oidc/", http.StripPrefix("/sso/oidc", rp))
	const secret = "round-trip-client-secret-value"
	oc := &sso.Connection{ID: "conn_oidc", OrgID: rt.org.ID, Protocol: oidc.Protocol, Status: sso.ConnectionActive}
	if _, err := rp.Configure(ctx, oc, &oidc.ConnectionInput{Issuer: idp.Issuer(), ClientID: "rt-client", ClientSecret: secret}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateConnection(ctx, oc); err != nil {
		t.Fatal(err)
	}
	if err := idp.RegisterClient(ssotest.Client{ID: "rt-client", Secret: secret, RedirectURIs: []string{rp.RedirectURI(oc.ID)}}); err != nil {
		t.Fatal(err)
	}
	rt.oidcLogin = rp.LoginURL(oc.ID)
	return rt
}

func (rt *roundTripEnv) login(startURL string) {
	rt.t.Helper()
	res, err := ssotest.NewBrowser().Login(context.Background(), startURL)
	if err != nil {
		rt.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != "ok" || res.Request.URL.Path != "/app" {
		rt.t.Fatalf("login %s: %d %s %s", startURL, res.StatusCode, res.Request.URL, body)
	}
}

// countingStore counts the store calls made while serving a completion
// request (context marked with countKey), by method name.
type countingStore struct {
	s    *memstore.Store
	saml *memsaml.Store
	oidc *memoidc.Store
	mu   sync.Mutex
	n    map[string]int
}

// newCountingStore counts the calls to st and to the SAML and OIDC stores
// on it.
func newCountingStore(st *memstore.Store) *countingStore {
	return &countingStore{s: st, saml: memsaml.New(st), oidc: memoidc.New(st)}
}

func (c *countingStore) hit(ctx context.Context, name string) {
	if ctx.Value(countKey{}) == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[name]++
}

func (c *countingStore) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n = nil
}

func (c *countingStore) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int, len(c.n))
	for k, v := range c.n {
		m[k] = v
	}
	return m
}

// The methods of every store interface on the login path, generated from
// login.Store, login.Loader, sso.EventStore, sso.ConnectionStore,
// saml.Store, oidc.Store and session.Store.

func (c *countingStore) LoadLogin(a0 context.Context, a1, a2, a3, a4 string) (*login.Records, error) {
	c.hit(a0, "LoadLogin")
	return c.s.LoadLogin(a0, a1, a2, a3, a4)
}

func (c *countingStore) CreateSession(a0 context.Context, a1 *session.Session, a2 int) ([]*session.Session, error) {
	c.hit(a0, "CreateSession")
	return c.s.CreateSession(a0, a1, a2)
}

func (c *countingStore) GetSession(a0 context.Context, a1 string) (*session.Session, error) {
	c.hit(a0, "GetSession")
	return c.s.GetSession(a0, a1)
}

func (c *countingStore) FindSession(a0 context.Context, a1 string) (*session.Session, error) {
	c.hit(a0, "FindSession")
	return c.s.FindSession(a0, a1)
}

func (c *countingStore) TouchSession(a0 context.Context, a1 string, a2 time.Time) error {
	c.hit(a0, "TouchSession")
	return c.s.TouchSession(a0, a1, a2)
}

func (c *countingStore) DeleteSession(a0 context.Context, a1 string) error {
	c.hit(a0, "DeleteSession")
	return c.s.DeleteSession(a0, a1)
}

func (c *countingStore) ListUserSessions(a0 context.Context, a1 string) ([]*session.Session, error) {
	c.hit(a0, "ListUserSessions")
	return c.s.ListUserSessions(a0, a1)
}

func (c *countingStore) DeleteUserSessions(a0 context.Context, a1 string) (int, error) {
	c.hit(a0, "DeleteUserSessions")
	return c.s.DeleteUserSessions(a0, a1)
}

func (c *countingStore) ListIdPSessions(a0 context.Context, a1, a2, a3 string) ([]*session.Session, error) {
	c.hit(a0, "ListIdPSessions")
	return c.s.ListIdPSessions(a0, a1, a2, a3)
}

func (c *countingStore) AppendEvent(a0 context.Context, a1 *sso.Event) error {
	c.hit(a0, "AppendEvent")
	return c.s.AppendEvent(a0, a1)
}

func (c *countingStore) CreateConnection(a0 context.Context, a1 *sso.Connection) error {
	c.hit(a0, "CreateConnection")
	return c.s.CreateConnection(a0, a1)
}

func (c *countingStore) CreateDomain(a0 context.Context, a1 *sso.Domain) error {
	c.hit(a0, "CreateDomain")
	return c.s.CreateDomain(a0, a1)
}

func (c *countingStore) CreateIdentity(a0 context.Context, a1 *sso.Identity) error {
	c.hit(a0, "CreateIdentity")
	return c.s.CreateIdentity(a0, a1)
}

func (c *countingStore) CreateMembership(a0 context.Context, a1 *sso.Membership) error {
	c.hit(a0, "CreateMembership")
	return c.s.CreateMembership(a0, a1)
}

func (c *countingStore) CreateOrg(a0 context.Context, a1 *sso.Organization) error {
	c.hit(a0, "CreateOrg")
	return c.s.CreateOrg(a0, a1)
}

func (c *countingStore) CreateUser(a0 context.Context, a1 *sso.User) error {
	c.hit(a0, "CreateUser")
	return c.s.CreateUser(a0, a1)
}

func (c *countingStore) DeleteConnection(a0 context.Context, a1 string) error {
	c.hit(a0, "DeleteConnection")
	return c.s.DeleteConnection(a0, a1)
}

func (c *countingStore) DeleteDomain(a0 context.Context, a1 string, a2 string) error {
	c.hit(a0, "DeleteDomain")
	return c.s.DeleteDomain(a0, a1, a2)
}

func (c *countingStore) DeleteExpiredFlows(a0 context.Context, a1 time.Time) (int, error) {
	c.hit(a0, "DeleteExpiredFlows")
	return c.oidc.DeleteExpiredFlows(a0, a1)
}

func (c *countingStore) DeleteIdentity(a0 context.Context, a1 string) error {
	c.hit(a0, "DeleteIdentity")
	return c.s.DeleteIdentity(a0, a1)
}

func (c *countingStore) DeleteMembership(a0 context.Context, a1 string, a2 string) error {
	c.hit(a0, "DeleteMembership")
	return c.s.DeleteMembership(a0, a1, a2)
}

func (c *countingStore) DeleteOrg(a0 context.Context, a1 string) error {
	c.hit(a0, "DeleteOrg")
	return c.s.DeleteOrg(a0, a1)
}

func (c *countingStore) DeleteUser(a0 context.Context, a1 string) error {
	c.hit(a0, "DeleteUser")
	return c.s.DeleteUser(a0, a1)
}

func (c *countingStore) FindMemberByEmail(a0 context.Context, a1 string, a2 string) (*sso.Membership, error) {
	c.hit(a0, "FindMemberByEmail")
	return c.s.FindMemberByEmail(a0, a1, a2)
}

func (c *countingStore) FindVerifiedDomain(a0 context.Context, a1 string) (*sso.Domain, error) {
	c.hit(a0, "FindVerifiedDomain")
	return c.s.FindVerifiedDomain(a0, a1)
}

func (c *countingStore) GetConnection(a0 context.Context, a1 string) (*sso.Connection, error) {
	c.hit(a0, "GetConnection")
	return c.s.GetConnection(a0, a1)
}

func (c *countingStore) GetDomain(a0 context.Context, a1 string, a2 string) (*sso.Domain, error) {
	c.hit(a0, "GetDomain")
	return c.s.GetDomain(a0, a1, a2)
}

func (c *countingStore) GetIdentity(a0 context.Context, a1 string, a2 string, a3 string) (*sso.Identity, error) {
	c.hit(a0, "GetIdentity")
	return c.s.GetIdentity(a0, a1, a2, a3)
}

func (c *countingStore) GetMembership(a0 context.Context, a1 string, a2 string) (*sso.Membership, error) {
	c.hit(a0, "GetMembership")
	return c.s.GetMembership(a0, a1, a2)
}

func (c *countingStore) GetMetadata(a0 context.Context, a1 string) (*saml.CachedMetadata, error) {
	c.hit(a0, "GetMetadata")
	return c.saml.GetMetadata(a0, a1)
}

func (c *countingStore) GetOrg(a0 context.Context, a1 string) (*sso.Organization, error) {
	c.hit(a0, "GetOrg")
	return c.s.GetOrg(a0, a1)
}

func (c *countingStore) GetOrgBySlug(a0 context.Context, a1 string) (*sso.Organization, error) {
	c.hit(a0, "GetOrgBySlug")
	return c.s.GetOrgBySlug(a0, a1)
}

func (c *countingStore) GetUser(a0 context.Context, a1 string) (*sso.User, error) {
	c.hit(a0, "GetUser")
	return c.s.GetUser(a0, a1)
}

func (c *countingStore) ListActiveConnections(a0 context.Context, a1 sso.Protocol, a2 string, a3 int) ([]*sso.Connection, error) {
	c.hit(a0, "ListActiveConnections")
	return c.s.ListActiveConnections(a0, a1, a2, a3)
}

func (c *countingStore) ListConnections(a0 context.Context, a1 string) ([]*sso.Connection, error) {
	c.hit(a0, "ListConnections")
	return c.s.ListConnections(a0, a1)
}

func (c *countingStore) ListDomains(a0 context.Context, a1 string) ([]*sso.Domain, error) {
	c.hit(a0, "ListDomains")
	return c.s.ListDomains(a0, a1)
}

func (c *countingStore) ListDomainsToCheck(a0 context.Context, a1 time.Time, a2 int) ([]*sso.Domain, error) {
	c.hit(a0, "ListDomainsToCheck")
	return c.s.ListDomainsToCheck(a0, a1, a2)
}

func (c *countingStore) ListEvents(a0 context.Context, a1 sso.EventQuery) ([]*sso.Event, error) {
	c.hit(a0, "ListEvents")
	return c.s.ListEvents(a0, a1)
}

func (c *countingStore) ListMembers(a0 context.Context, a1 string, a2 string, a3 int) ([]*sso.Membership, error) {
	c.hit(a0, "ListMembers")
	return c.s.ListMembers(a0, a1, a2, a3)
}

func (c *countingStore) ListOrgs(a0 context.Context, a1 string, a2 int) ([]*sso.Organization, error) {
	c.hit(a0, "ListOrgs")
	return c.s.ListOrgs(a0, a1, a2)
}

func (c *countingStore) ListUserIdentities(a0 context.Context, a1 string) ([]*sso.Identity, error) {
	c.hit(a0, "ListUserIdentities")
	return c.s.ListUserIdentities(a0, a1)
}

func (c *countingStore) ListUserMemberships(a0 context.Context, a1 string) ([]*sso.Membership, error) {
	c.hit(a0, "ListUserMemberships")
	return c.s.ListUserMemberships(a0, a1)
}

func (c *countingStore) MarkAssertionUsed(a0 context.Context, a1 string, a2 string, a3 time.Time) error {
	c.hit(a0, "MarkAssertionUsed")
	return c.saml.MarkAssertionUsed(a0, a1, a2, a3)
}

func (c *countingStore) Provision(a0 context.Context, a1 *sso.User, a2 *sso.Membership, a3 *sso.Identity) error {
	c.hit(a0, "Provision")
	return c.s.Provision(a0, a1, a2, a3)
}

func (c *countingStore) PutMetadata(a0 context.Context, a1 *saml.CachedMetadata) error {
	c.hit(a0, "PutMetadata")
	return c.saml.PutMetadata(a0, a1)
}

func (c *countingStore) SaveAuthnRequest(a0 context.Context, a1 *saml.AuthnRequestState) error {
	c.hit(a0, "SaveAuthnRequest")
	return c.saml.SaveAuthnRequest(a0, a1)
}

func (c *countingStore) SaveFlow(a0 context.Context, a1 *oidc.Flow) error {
	c.hit(a0, "SaveFlow")
	return c.oidc.SaveFlow(a0, a1)
}

func (c *countingStore) TakeAuthnRequest(a0 context.Context, a1 string) (*saml.AuthnRequestState, error) {
	c.hit(a0, "TakeAuthnRequest")
	return c.saml.TakeAuthnRequest(a0, a1)
}

func (c *countingStore) TakeFlow(a0 context.Context, a1 string) (*oidc.Flow, error) {
	c.hit(a0, "TakeFlow")
	return c.oidc.TakeFlow(a0, a1)
}

func (c *countingStore) UpdateConnection(a0 context.Context, a1 *sso.Connection) error {
	c.hit(a0, "UpdateConnection")
	return c.s.UpdateConnection(a0, a1)
}

func (c *countingStore) UpdateDomain(a0 context.Context, a1 *sso.Domain) error {
	c.hit(a0, "UpdateDomain")
	return c.s.UpdateDomain(a0, a1)
}

func (c *countingStore) UpdateIdentity(a0 context.Context, a1 *sso.Identity) error {
	c.hit(a0, "UpdateIdentity")
	return c.s.UpdateIdentity(a0, a1)
}

func (c *countingStore) UpdateMembership(a0 context.Context, a1 *sso.Membership) error {
	c.hit(a0, "UpdateMembership")
	return c.s.UpdateMembership(a0, a1)
}

func (c *countingStore) UpdateOrg(a0 context.Context, a1 *sso.Organization) error {
	c.hit(a0, "UpdateOrg")
	return c.s.UpdateOrg(a0, a1)
}

func (c *countingStore) UpdateUser(a0 context.Context, a1 *sso.User) error {
	c.hit(a0, "UpdateUser")
	return c.s.UpdateUser(a0, a1)
}

func (c *countingStore) UseOnce(a0 context.Context, a1 string, a2 time.Time) error {
	c.hit(a0, "UseOnce")
	return c.oidc.UseOnce(a0, a1, a2)
}
