package login_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/login"
)

// editBeforeWrite is a real store that commits an administrator's edit of
// a connection just before the first connection write goes through it: the
// edit lands between the test result's read and its write.
type editBeforeWrite struct {
	login.Store
	once sync.Once
	edit func()
}

func (s *editBeforeWrite) UpdateConnection(ctx context.Context, c *sso.Connection) error {
	s.once.Do(s.edit)
	return s.Store.UpdateConnection(ctx, c)
}

func (s *editBeforeWrite) UpdateConnectionIf(ctx context.Context, c *sso.Connection, prev time.Time) error {
	s.once.Do(s.edit)
	return s.Store.(interface {
		UpdateConnectionIf(context.Context, *sso.Connection, time.Time) error
	}).UpdateConnectionIf(ctx, c, prev)
}

// saveTestRig is a completer on backend whose store runs adminEdit on the
// connection c before the first connection write.
type saveTestRig struct {
	core login.Store
	comp *login.Completer
	conn *sso.Connection
	now  atomic.Int64
}

func (r *saveTestRig) clock() time.Time { return time.Unix(0, r.now.Load()).UTC() }

func newSaveTestRig(t *testing.T, backend string, adminEdit func(c *sso.Connection)) *saveTestRig {
	r := &saveTestRig{}
	r.now.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	mem, sql := teststore.Open(t, backend, r.clock)
	var core interface {
		login.Store
		sso.EventStore
	} = mem
	if mem == nil {
		core = sql
	}
	r.core = core
	o := &sso.Organization{ID: "org_t", Slug: "acme", Name: "ACME", CreatedAt: r.clock()}
	o.Settings.Features, o.Settings.AllowJIT = ssoenv.AllFeatures, true
	ok(t, core.CreateOrg(ctx, o))
	ok(t, core.CreateDomain(ctx, &sso.Domain{OrgID: o.ID, Name: "acme.com", Token: "tok", State: sso.DomainVerified,
		VerifiedAt: r.clock(), LastCheckedAt: r.clock(), CreatedAt: r.clock()}))
	r.conn = &sso.Connection{ID: "conn_t", OrgID: o.ID, Protocol: saml.Protocol, Status: sso.ConnectionDraft, DisplayName: "IdP",
		Config: &saml.ConnectionConfig{IdPEntityID: "https://idp.acme"}, CreatedAt: r.clock(), UpdatedAt: r.clock()}
	ok(t, core.CreateConnection(ctx, r.conn))
	aud, err := audit.New(audit.Config{Store: core, Now: r.clock})
	ok(t, err)
	racing := &editBeforeWrite{Store: core, edit: func() {
		r.now.Add(int64(time.Minute))
		c, err := core.GetConnection(ctx, r.conn.ID)
		ok(t, err)
		adminEdit(c)
		c.UpdatedAt = r.clock()
		ok(t, core.UpdateConnection(ctx, c))
		r.now.Add(int64(time.Minute))
	}}
	r.comp, err = login.New(login.Config{Store: racing, Sessions: &ssoenv.FakeIssuer{}, Auditor: aud, Now: r.clock,
		DefaultReturnTo: "/app", TestReturnTo: "/admin/sso"})
	ok(t, err)
	return r
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSaveTestKeepsConcurrentAdminEdit: a test login's result, written
// while an administrator edits the connection, keeps the edit. The result
// was written by putting back the whole connection read before the edit,
// so a connection the administrator had just disabled or renamed came
// back as it was.
func TestSaveTestKeepsConcurrentAdminEdit(t *testing.T) {
	t.Parallel()
	disable := func(c *sso.Connection) { c.Status, c.DisplayName = sso.ConnectionDisabled, "Renamed" }
	check := func(t *testing.T, r *saveTestRig, wantOK bool) {
		t.Helper()
		got, err := r.core.GetConnection(ctx, r.conn.ID)
		ok(t, err)
		if got.Status != sso.ConnectionDisabled || got.DisplayName != "Renamed" {
			t.Fatalf("status %q, name %q after the test result: the administrator's edit was lost", got.Status, got.DisplayName)
		}
		// The edit left the configuration alone: the result is recorded too.
		if got.LastTest == nil || got.LastTest.OK != wantOK {
			t.Fatalf("test result %+v, want one with OK %v", got.LastTest, wantOK)
		}
		if wantOK != !got.LastTestOK.IsZero() {
			t.Fatalf("LastTestOK %v with a result OK %v", got.LastTestOK, wantOK)
		}
	}
	t.Run("Complete", func(t *testing.T) {
		teststore.Each(t, func(t *testing.T, backend string) {
			r := newSaveTestRig(t, backend, disable)
			w, err := ssoenv.New(t).Login(r.comp, &sso.Login{Connection: r.conn, Test: true,
				Profile: ssoenv.Profile(r.conn, "admin", "admin@acme.com", true)})
			ok(t, err)
			if w.Code != 303 {
				t.Fatalf("test login answered %d", w.Code)
			}
			check(t, r, true)
		})
	})
	t.Run("Fail", func(t *testing.T) {
		teststore.Each(t, func(t *testing.T, backend string) {
			r := newSaveTestRig(t, backend, disable)
			r.comp.Fail(httptest.NewRequest("POST", "/acs", nil), &sso.LoginFailure{Connection: r.conn, Protocol: saml.Protocol,
				Test: true, Err: &sso.ValidationError{Protocol: saml.Protocol, Reason: "audience_mismatch"}})
			check(t, r, false)
		})
	})
	t.Run("ConfigChanged", func(t *testing.T) {
		// A new configuration must be tested again: the result of a test of
		// the configuration it replaced is not recorded on it.
		teststore.Each(t, func(t *testing.T, backend string) {
			r := newSaveTestRig(t, backend, func(c *sso.Connection) {
				c.Config = &saml.ConnectionConfig{IdPEntityID: "https://idp.acme/new"}
				c.LastTest, c.LastTestOK = nil, time.Time{}
			})
			_, _ = ssoenv.New(t).Login(r.comp, &sso.Login{Connection: r.conn, Test: true,
				Profile: ssoenv.Profile(r.conn, "admin", "admin@acme.com", true)})
			got, err := r.core.GetConnection(ctx, r.conn.ID)
			ok(t, err)
			if saml.ConfigOf(got).IdPEntityID != "https://idp.acme/new" {
				t.Fatalf("configuration %+v after the test result: the administrator's edit was lost", saml.ConfigOf(got))
			}
			if got.LastTest != nil || !got.LastTestOK.IsZero() {
				t.Fatalf("the new configuration carries the old one's test result %+v", got.LastTest)
			}
		})
	})
}
