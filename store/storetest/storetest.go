// Package storetest is the conformance suite for ssokit storage
// implementations. memstore, sqlstore (SQLite and PostgreSQL) and redisstore
// run it, and so should a host that implements the storage interfaces on its
// own database:
//
//	func newStores(t *testing.T) storetest.Stores {
//		s := mystore.NewEmpty(t)
//		return storetest.Stores{Core: s, Sessions: s, Tokens: s, Revocations: s}
//	}
//
//	func TestMyStore(t *testing.T)            { storetest.Run(t, newStores) }
//	func TestMyStoreConcurrency(t *testing.T) { storetest.RunConcurrency(t, newStores) }
//
// newStores must return fresh, empty stores for every call, and must fill
// the same fields every time. The fields of one call should be backed by one
// store (or one database), since a few cases check that capabilities work
// together, for example that SweepExpired removes the sessions and refresh
// tokens written through Sessions and Tokens, or that a SCIM user's
// membership is visible through Core. The built-in stores keep each
// protocol's state in a capability package on the core store, so they fill
// Stores like this:
//
//	s := memstore.New() // or a migrated sqlstore.Store, with sqlsaml, sqloidc, sqlmfa, sqlscim
//	sc := memscim.New(s)
//	return storetest.Stores{
//		Core: s, Health: s, LoginLoader: s, Sessions: s, Tokens: s, Revocations: s, Sweeper: s,
//		SAML: memsaml.New(s), OIDC: memoidc.New(s), MFA: memmfa.New(s), SCIM: sc, SCIMRate: sc,
//	}
//
// # Typed capabilities
//
// Each field of [Stores] has the type of the interface its suites test. A
// nil field skips that capability's suites, and Run logs which suites ran and
// which were not provided, so go test -v shows exactly what was checked.
// Because the fields are typed, a store that misses an interface — say its
// FindSession returns a session.Session instead of a *session.Session —
// fails to compile where it is put into Stores; it cannot silently lose its
// suite:
//
//	return storetest.Stores{Sessions: s}
//	// cannot use s (variable of type *mystore.Store) as session.Store value in struct literal:
//	// *mystore.Store does not implement session.Store (wrong type for method FindSession)
//	//	have FindSession(context.Context, string) (session.Session, error)
//	//	want FindSession(context.Context, string) (*session.Session, error)
//
// RunConcurrency runs the races (many goroutines on one record) separately,
// since they are slower. RunWaysIn checks, on the passkey, social and
// password stores of one database, that the keep-last removals of a
// user's ways to sign in leave one, also when they race.
package storetest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/health"
	"github.com/ssokit/ssokit/sso/login"
	"github.com/ssokit/ssokit/sso/portal"
)

// Stores holds the storage capabilities under test, one typed field per
// capability. A nil field means the store does not provide that capability:
// its suites are skipped, and Run says so in the test log.
type Stores struct {
	// Core is the core store: organizations, domains, connections, users,
	// memberships, identities, provisioning, the audit trail and SCIM
	// tokens. Suites Org, Domain, Connection, User, Membership, Identity,
	// Provision, ProvisionEvent, Event, SCIMToken, ChangeEvents (when it
	// implements audit.EventBinder), ConnectionUpdateIf (when it implements
	// sso.ConditionalConnectionUpdater), MembershipEdit (when it implements
	// sso.MembershipEditor), MembershipChanges (when it implements
	// sso.MembershipChangeLister); races CoreRace, RevokeRace,
	// ConnectionUpdateIfRace and MembershipEditRace.
	Core sso.Store
	// Health is the federation health store. Suite Health; race HealthRace.
	Health health.Store
	// LoginLoader reads a login's records in one round trip, the optional
	// capability of the core store that login.Completer uses when present.
	// Suite LoginLoader, which also needs Core.
	LoginLoader login.Loader

	// Sessions is the session store. Suite Session; race SessionLimitRace
	// (its CreateLoginSessionIdentity case also needs Core).
	Sessions session.Store
	// Tokens is the refresh-token store. Suite SessionTokens (its RevokeUser
	// case also needs Sessions); race SessionRace.
	Tokens session.TokenStore
	// Revocations is the access-token revocation list. Suite
	// SessionRevocations.
	Revocations session.RevocationStore
	// Sweeper removes expired sessions and refresh tokens. Suite
	// SessionSweep, which also needs Sessions and Tokens.
	Sweeper session.Sweeper

	// SAML is the SAML state (requests, replay cache, metadata), such as
	// memsaml.New or sqlsaml.New of the core store. Suite SAML; race
	// SAMLRace.
	SAML saml.Store
	// OIDC is the OIDC login state and replay cache, such as memoidc.New or
	// sqloidc.New of the core store. Suite OIDC; race OIDCRace.
	OIDC oidc.Store
	// MFA is the MFA factor store, such as memmfa.New or sqlmfa.New of the
	// core store. Suite MFA; race MFARace (its VerifyTOTPReplay case also
	// needs Core).
	MFA mfa.Store
	// SCIM is the SCIM user and group store, such as memscim.New or
	// sqlscim.New of the core store. Suite SCIM (which also checks
	// memberships through Core when it is set); race SCIMRace; suite
	// SCIMAdopt, which also needs Core.
	SCIM scim.Store
	// SCIMRate is the shared SCIM rate counter; memscim and sqlscim stores
	// implement it next to SCIM. Suite SCIMRate.
	SCIMRate scim.RateStore
	// Clients is the API client store. Suite SessionClients; race
	// ClientRevokeRace.
	Clients session.ClientStore
	// Portal is the admin portal's store of setup links, portal sessions
	// and form tokens, such as sqlportal.New of the core store or
	// portal.NewMemoryStore. Suite Portal.
	Portal portal.Store
}

// newStoresFunc returns fresh, empty stores for one subtest.
type newStoresFunc = func(t *testing.T) Stores

// suite is one capability's tests. run calls t.Run for each case, each with
// fresh stores.
type suite struct {
	name string
	// fields are the Stores fields the suite uses; it runs only when all
	// are set.
	fields      []string
	run         func(t *testing.T, newStores newStoresFunc)
	concurrency bool
}

// suites lists every suite in the order Run runs them.
var suites = []suite{
	{name: "ChangeEvents", fields: []string{"Core"}, run: runChangeEvents},
	{name: "Connection", fields: []string{"Core"}, run: runConnection},
	{name: "ConnectionUpdateIf", fields: []string{"Core"}, run: runConnectionUpdateIf},
	{name: "Domain", fields: []string{"Core"}, run: runDomain},
	{name: "Event", fields: []string{"Core"}, run: runEvent},
	{name: "Health", fields: []string{"Health"}, run: runHealth},
	{name: "Identity", fields: []string{"Core"}, run: runIdentity},
	{name: "LoginLoader", fields: []string{"LoginLoader", "Core"}, run: runLoginLoader},
	{name: "MFA", fields: []string{"MFA"}, run: runMFA},
	{name: "Membership", fields: []string{"Core"}, run: runMembership},
	{name: "MembershipEdit", fields: []string{"Core"}, run: runMemberEdit},
	{name: "MembershipChanges", fields: []string{"Core"}, run: runMemberChanges},
	{name: "OIDC", fields: []string{"OIDC"}, run: runOIDC},
	{name: "Org", fields: []string{"Core"}, run: runOrg},
	{name: "OrgUpdateIf", fields: []string{"Core"}, run: runOrgUpdateIf},
	{name: "Portal", fields: []string{"Portal"}, run: runPortal},
	{name: "Provision", fields: []string{"Core"}, run: runProvision},
	{name: "ProvisionEvent", fields: []string{"Core"}, run: runProvisionEvent},
	{name: "SAML", fields: []string{"SAML"}, run: runSAML},
	{name: "SCIM", fields: []string{"SCIM"}, run: runSCIM},
	{name: "SCIMAdopt", fields: []string{"SCIM", "Core"}, run: runSCIMAdopt},
	{name: "SCIMEnterprise", fields: []string{"SCIM"}, run: runSCIMEnterprise},
	{name: "SCIMEvents", fields: []string{"SCIM", "Core"}, run: runSCIMEvents},
	{name: "SCIMSort", fields: []string{"SCIM"}, run: runSCIMSort},
	{name: "SCIMStatus", fields: []string{"SCIM", "Core"}, run: runSCIMStatus},
	{name: "SCIMRate", fields: []string{"SCIMRate"}, run: runSCIMRate},
	{name: "SCIMToken", fields: []string{"Core"}, run: runSCIMToken},
	{name: "SCIMTokenExpire", fields: []string{"Core"}, run: runSCIMTokenExpire},
	{name: "Session", fields: []string{"Sessions"}, run: runSession},
	{name: "SessionClients", fields: []string{"Clients"}, run: runSessionClients},
	{name: "SessionRevocations", fields: []string{"Revocations"}, run: runSessionRevocations},
	{name: "SessionSweep", fields: []string{"Sweeper", "Sessions", "Tokens"}, run: runSessionSweep},
	{name: "SessionTokens", fields: []string{"Tokens"}, run: runSessionTokens},
	{name: "User", fields: []string{"Core"}, run: runUser},
	{name: "UserUpdateIf", fields: []string{"Core"}, run: runUserUpdateIf},

	{name: "CoreRace", fields: []string{"Core"}, run: runCoreRace, concurrency: true},
	{name: "HealthRace", fields: []string{"Health"}, run: runHealthRace, concurrency: true},
	{name: "MFARace", fields: []string{"MFA"}, run: runMFARace, concurrency: true},
	{name: "OIDCRace", fields: []string{"OIDC"}, run: runOIDCRace, concurrency: true},
	{name: "SAMLRace", fields: []string{"SAML"}, run: runSAMLRace, concurrency: true},
	{name: "SCIMRace", fields: []string{"SCIM"}, run: runSCIMRace, concurrency: true},
	{name: "SessionRace", fields: []string{"Tokens"}, run: runSessionRace, concurrency: true},
	{name: "SessionLimitRace", fields: []string{"Sessions"}, run: runSessionLimitRace, concurrency: true},
	{name: "RevokeRace", fields: []string{"Core"}, run: runRevokeRace, concurrency: true},
	{name: "SCIMTokenExpireRace", fields: []string{"Core"}, run: runSCIMTokenExpireRace, concurrency: true},
	{name: "ConnectionUpdateIfRace", fields: []string{"Core"}, run: runConnectionUpdateIfRace, concurrency: true},
	{name: "OrgUpdateIfRace", fields: []string{"Core"}, run: runOrgUpdateIfRace, concurrency: true},
	{name: "MembershipEditRace", fields: []string{"Core"}, run: runMemberEditRace, concurrency: true},
	{name: "ClientRevokeRace", fields: []string{"Clients"}, run: runClientRevokeRace, concurrency: true},
}

// Run runs the functional conformance suites of every capability newStores
// provides, each case on fresh stores from newStores. Suites of nil fields
// are not run; Run logs them, and fails when newStores provides nothing.
func Run(t *testing.T, newStores func(t *testing.T) Stores) {
	t.Helper()
	run(t, newStores, false)
}

// RunConcurrency runs the race suites of every capability newStores
// provides: many goroutines contending for one record, where exactly one
// must win.
func RunConcurrency(t *testing.T, newStores func(t *testing.T) Stores) {
	t.Helper()
	run(t, newStores, true)
}

func run(t *testing.T, newStores newStoresFunc, concurrency bool) {
	t.Helper()
	set := provided(newStores(t))
	if len(set) == 0 {
		t.Fatal("storetest: newStores returned a Stores with every field nil")
	}
	// Every call must provide the same capabilities, so that a suite never
	// meets a nil field it needs.
	checked := func(t *testing.T) Stores {
		t.Helper()
		s := newStores(t)
		if got := provided(s); !reflect.DeepEqual(got, set) {
			t.Fatalf("storetest: newStores provided %s, but %s on its first call", names(got), names(set))
		}
		return s
	}
	var ran []string
	var missing []string            // missing field sets, in order of appearance
	notRun := map[string][]string{} // missing field set -> suites not run
	for _, s := range suites {
		if s.concurrency != concurrency {
			continue
		}
		var absent []string
		for _, f := range s.fields {
			if _, ok := reflect.TypeFor[Stores]().FieldByName(f); !ok {
				t.Fatalf("storetest: suite %s needs Stores.%s, which does not exist", s.name, f)
			}
			if !set[f] {
				absent = append(absent, "Stores."+f)
			}
		}
		if len(absent) > 0 {
			key := strings.Join(absent, " and ")
			if notRun[key] == nil {
				missing = append(missing, key)
			}
			notRun[key] = append(notRun[key], s.name)
			continue
		}
		ran = append(ran, s.name)
		t.Run(s.name, func(t *testing.T) { s.run(t, checked) })
	}
	if len(ran) == 0 {
		ran = []string{"no suites"}
	}
	t.Logf("storetest: ran %s", strings.Join(ran, ", "))
	for _, key := range missing {
		t.Logf("storetest: not run, %s not provided: %s", key, strings.Join(notRun[key], ", "))
	}
}

// provided returns the names of the non-nil fields of s.
func provided(s Stores) map[string]bool {
	set := map[string]bool{}
	v := reflect.ValueOf(s)
	for i := range v.NumField() {
		if !v.Field(i).IsNil() {
			set[v.Type().Field(i).Name] = true
		}
	}
	return set
}

// names lists the fields in set in the order Stores declares them.
func names(set map[string]bool) string {
	var out []string
	for _, f := range reflect.VisibleFields(reflect.TypeFor[Stores]()) {
		if set[f.Name] {
			out = append(out, f.Name)
		}
	}
	if len(out) == 0 {
		return "no fields"
	}
	return strings.Join(out, ", ")
}
