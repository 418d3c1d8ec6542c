package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

// The core suites test the sso storage interfaces (sso.OrgStore,
// sso.DomainStore, ...) through Stores.Core. Each case gets fresh stores and
// runs in parallel with the others.

// testCase is one subtest run against a store of capability S.
type testCase[S any] struct {
	name string
	run  func(t *testing.T, ctx context.Context, s S)
}

// runCases runs every case in parallel on the capability pick selects from
// fresh stores. pick types it as narrowly as the suite uses it, for example
// func(s Stores) sso.OrgStore { return s.Core }.
func runCases[S any](t *testing.T, newStores newStoresFunc, pick func(Stores) S, cs []testCase[S]) {
	for _, c := range cs {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, t.Context(), pick(newStores(t)))
		})
	}
}

// t0 has sub-microsecond digits and a non-UTC zone on purpose: stores keep
// times at microsecond precision and may return them in any zone.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.FixedZone("UTC+1", 3600))

func at(d time.Duration) time.Time { return t0.Add(d) }

// long is one byte longer than normalize.MaxFieldLength.
var long = strings.Repeat("x", normalize.MaxFieldLength+1)

// canon returns a deep copy of v in which times are UTC, truncated to the
// microsecond, and empty slices and maps are nil, so that records compare
// equal whatever the store's representation.
func canon(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(canon(v.Elem()))
		return n
	case reflect.Struct:
		if tm, ok := v.Interface().(time.Time); ok {
			if tm.IsZero() {
				return reflect.ValueOf(time.Time{})
			}
			return reflect.ValueOf(tm.UTC().Truncate(time.Microsecond))
		}
		n := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				n.Field(i).Set(canon(v.Field(i)))
			}
		}
		return n
	case reflect.Slice:
		if v.Len() == 0 {
			return reflect.Zero(v.Type())
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			n.Index(i).Set(canon(v.Index(i)))
		}
		return n
	case reflect.Interface:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		n := reflect.New(v.Type()).Elem()
		n.Set(canon(v.Elem()))
		return n
	case reflect.Map:
		if v.Len() == 0 {
			return reflect.Zero(v.Type())
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			n.SetMapIndex(it.Key(), canon(it.Value()))
		}
		return n
	}
	return v
}

// equal fails the test unless got and want are the same records (see canon).
func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	g, w := canon(reflect.ValueOf(got)), canon(reflect.ValueOf(want))
	if !reflect.DeepEqual(g.Interface(), w.Interface()) {
		gj, _ := json.MarshalIndent(g.Interface(), "", "  ")
		wj, _ := json.MarshalIndent(w.Interface(), "", "  ")
		t.Errorf("%s:\ngot  %s\nwant %s", what, gj, wj)
	}
}

// ok fails the test at once on a non-nil error.
func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// is fails the test unless errors.Is(err, target).
func is(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// --- fixtures: every field set, so round trips compare every column ----------

func newOrg(id, slug string) *sso.Organization {
	return &sso.Organization{
		ID:   id,
		Slug: slug,
		Name: "Org " + id + " — ünïcode",
		Settings: sso.OrgSettings{
			SSOEnforced:                 true,
			SSOEnforcedAt:               at(time.Hour),
			AllowJIT:                    true,
			DirectorySync:               true,
			DefaultRole:                 "member",
			AllowUnverifiedEmailDomains: true,
			MFA: sso.MFAPolicy{Required: true, ChangedAt: at(2 * time.Hour), GracePeriod: 72 * time.Hour, TrustIdPMFA: true,
				StepUpAtIdP: true, StepUpLocalFallback: true},
			Session: sso.SessionPolicy{IdleTimeout: time.Hour, AbsoluteTimeout: 12 * time.Hour, MaxSessions: 5,
				AccessTokenTTL: 15 * time.Minute, RefreshTokenTTL: 720 * time.Hour},
			Features:          sso.Features{"saml", "oidc", "scim", "enforce_sso", "enforce_mfa"},
			Network:           sso.NetworkPolicy{AllowedCIDRs: []string{"192.0.2.0/24", "2001:db8::/32"}, BreakGlassExempt: true},
			ExchangeAudiences: []string{"https://api.example.com", "https://billing.example.com"},
			SignInMethods:     []sso.AuthMethod{sso.AuthPassword, sso.AuthPasskey},
		},
		CreatedAt: at(0),
		UpdatedAt: at(time.Minute),
	}
}

func newDomain(orgID, name string, state sso.DomainState) *sso.Domain {
	d := &sso.Domain{
		OrgID:               orgID,
		Name:                name,
		Token:               "ssokit-verify=" + orgID + "-" + name,
		State:               state,
		LastCheckedAt:       at(3 * time.Hour),
		ConsecutiveFailures: 2,
		FailingSince:        at(4 * time.Hour),
		CreatedAt:           at(0),
	}
	if state == sso.DomainVerified {
		d.VerifiedAt = at(5 * time.Hour)
	}
	return d
}

func newProfile() *sso.Profile {
	return &sso.Profile{
		Protocol: saml.Protocol, OrgID: "org_1", ConnectionID: "conn_1", Issuer: "https://idp.example.com",
		Subject: "00u1", NameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
		Email: "ada@example.com", EmailVerified: true, GivenName: "Ada", FamilyName: "Lovelace", DisplayName: "Ada L",
		Groups: []string{"eng", "admins"}, AuthnContext: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
		AMR: []string{"pwd", "otp"}, MFA: true, AuthTime: at(6 * time.Hour), SessionIndex: "_idx1",
		Raw: map[string][]string{"department": {"R&D"}, "groups": {"eng", "admins"}},
	}
}

func newConn(id, orgID string, p sso.Protocol) *sso.Connection {
	c := &sso.Connection{
		ID:          id,
		OrgID:       orgID,
		Protocol:    p,
		Status:      sso.ConnectionActive,
		DisplayName: "IdP " + id,
		Mapping:     sso.AttributeMapping{Email: "mail", GivenName: "givenName", FamilyName: "sn", DisplayName: "cn", Groups: "memberOf"},
		GroupRoles:  []sso.GroupRole{{Group: "admins", Role: "admin"}, {Group: "eng", Role: "member"}},
		LastTest:    &sso.TestResult{At: at(7 * time.Hour), OK: false, Reason: "audience_mismatch", Detail: "want x got y", Profile: newProfile()},
		LastTestOK:  at(8 * time.Hour),
		CreatedAt:   at(0),
		UpdatedAt:   at(time.Minute),
	}
	switch p {
	case saml.Protocol:
		c.Config = &saml.ConnectionConfig{
			IdPEntityID: "https://idp.example.com/" + id, SSOURL: "https://idp.example.com/sso",
			SSOBinding: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect", SLOURL: "https://idp.example.com/slo",
			Certificates: []string{"MIIBcert1", "MIIBcert2"}, MetadataURL: "https://idp.example.com/metadata",
			MetadataXML: "<EntityDescriptor/>", MetadataFetchedAt: at(9 * time.Hour), MetadataExpiresAt: at(10 * time.Hour),
			NameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified", SignAuthnRequests: true,
			RequireEncryptedAssertions: true, AllowIdPInitiated: true, AllowSHA1: true, AllowResponseSignatureOnly: true,
		}
	case oidc.Protocol:
		c.Config = &oidc.ConnectionConfig{
			Issuer: "https://login.example.com/" + id, AuthURL: "https://login.example.com/auth", TokenURL: "https://login.example.com/token",
			UserInfoURL: "https://login.example.com/userinfo", JWKSURL: "https://login.example.com/jwks", ClientID: "client-" + id,
			ClientSecretSealed: "k1.sealed", AuthMethod: "private_key_jwt", PrivateKeySealed: "k1.pk", PrivateKeyID: "kid1",
			Scopes: []string{"openid", "email", "profile"}, UserInfo: "always", SigningAlgs: []string{"RS256", "ES256"},
			AllowedTenantIDs: []string{"tenant-1"},
		}
	}
	return c
}

func newUser(id, email string) *sso.User {
	return &sso.User{ID: id, Email: email, EmailVerified: true, GivenName: "Given " + id, FamilyName: "Family",
		DisplayName: "Display " + id, CreatedAt: at(0), UpdatedAt: at(time.Minute)}
}

func newMember(orgID, userID string) *sso.Membership {
	return &sso.Membership{OrgID: orgID, UserID: userID, Roles: []string{"member", "billing"}, Status: sso.MembershipActive,
		Source: sso.SourceSCIM, ExternalID: "ext-" + userID, BreakGlass: true, JoinedAt: at(time.Hour), UpdatedAt: at(2 * time.Hour)}
}

func newIdentity(id, orgID, issuer, subject, userID string) *sso.Identity {
	return &sso.Identity{ID: id, OrgID: orgID, ConnectionID: "conn-" + orgID, Issuer: issuer, Subject: subject, UserID: userID,
		CreatedAt: at(0), LastLoginAt: at(time.Hour)}
}

func newEvent(id, orgID, typ string, tm time.Time) *sso.Event {
	return &sso.Event{ID: id, OrgID: orgID, Time: tm, Type: typ, Actor: sso.Actor{Type: sso.ActorAdmin, ID: "admin-1"},
		Target: sso.Target{Type: "connection", ID: "conn-1"}, Outcome: sso.OutcomeSuccess, Reason: "ok", IP: "203.0.113.7",
		UserAgent: "Mozilla/5.0", Details: map[string]string{"b": "2", "a": "1"}}
}

func newToken(id, orgID, hash string) *sso.SCIMToken {
	return &sso.SCIMToken{ID: id, OrgID: orgID, Hash: hash, Hint: "ssokit_scim_ab12", Description: "Okta " + id,
		CreatedAt: at(0), ExpiresAt: at(48 * time.Hour), LastUsedAt: at(time.Hour)}
}

// ids returns a list of keys of records, for order checks.
func ids[T any](xs []*T, key func(*T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, key(x))
	}
	return out
}

func sameStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") || len(got) != len(want) {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}
