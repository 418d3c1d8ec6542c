package saml_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsaml"
)

// refreshRig is an SP refreshing one connection from an IdP whose metadata
// endpoint, once armed, holds the fetch until the test releases it, so an
// administrator's change can land deterministically while a refresh is in
// flight.
type refreshRig struct {
	sp      *saml.SP
	core    sso.Store
	now     atomic.Int64
	hold    atomic.Bool
	arrived chan struct{}
	release chan struct{}
	conn    *sso.Connection
	idpCert string // the certificate the IdP's metadata publishes
}

func (r *refreshRig) clock() time.Time        { return time.Unix(0, r.now.Load()).UTC() }
func (r *refreshRig) advance(d time.Duration) { r.now.Add(int64(d)) }

func newRefreshRig(t *testing.T, backend string) *refreshRig {
	ctx := context.Background()
	r := &refreshRig{arrived: make(chan struct{}, 1), release: make(chan struct{})}
	r.now.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	md := idpMetadata("https://idp.example.com/sso", certB64(idpKey(t)))
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.hold.Load() {
			r.arrived <- struct{}{}
			<-r.release
		}
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write([]byte(md))
	}))
	t.Cleanup(idp.Close)

	mem, sql := teststore.Open(t, backend, r.clock)
	var samlStore saml.Store
	if mem != nil {
		r.core, samlStore = mem, memsaml.New(mem)
	} else {
		r.core, samlStore = sql, sqlsaml.New(sql)
	}
	base, _ := url.Parse("https://sp.example.com/sso/saml")
	sp, err := saml.New(saml.Config{BaseURL: base, Key: spKey(t).pair(), Connections: r.core, Store: samlStore,
		Completer: &recorder{}, Now: r.clock, Logger: discardLogger(), RefreshInterval: time.Hour,
		AllowInsecureURLs: true, AllowPrivateAddresses: true})
	if err != nil {
		t.Fatal(err)
	}
	r.sp = sp
	if err := r.core.CreateOrg(ctx, &sso.Organization{ID: "org_r", Slug: "refresh", Name: "Refresh", CreatedAt: r.clock()}); err != nil {
		t.Fatal(err)
	}
	c := &sso.Connection{ID: "conn_r", OrgID: "org_r", Protocol: saml.Protocol, Status: sso.ConnectionActive,
		DisplayName: "IdP", CreatedAt: r.clock(), UpdatedAt: r.clock()}
	if _, err := sp.Configure(ctx, c, &saml.ConnectionInput{MetadataURL: idp.URL + "/metadata"}); err != nil {
		t.Fatal(err)
	}
	if len(saml.ConfigOf(c).Certificates) != 1 {
		t.Fatalf("configured certificates %v, want the IdP's one", saml.ConfigOf(c).Certificates)
	}
	r.idpCert = saml.ConfigOf(c).Certificates[0]
	// The administrator also trusts a second certificate, for a rollover.
	saml.ConfigOf(c).Certificates = append(saml.ConfigOf(c).Certificates, certPEM(idpKey2(t).cert))
	if err := r.core.CreateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	r.conn = c
	return r
}

// refreshDuring runs a refresh pass whose metadata fetch is held while
// adminEdit changes the stored connection (as the admin API does: read,
// change, set UpdatedAt, write), and returns the connection stored after
// both.
func (r *refreshRig) refreshDuring(t *testing.T, adminEdit func(c *sso.Connection)) (refreshedAt time.Time, got *sso.Connection) {
	ctx := context.Background()
	r.advance(3 * time.Hour) // the metadata is due
	refreshedAt = r.clock()
	r.hold.Store(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.sp.RefreshAll(ctx)
	}()
	select {
	case <-r.arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the refresh never fetched the metadata")
	}
	r.hold.Store(false)
	r.advance(time.Minute)
	c, err := r.core.GetConnection(ctx, r.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	adminEdit(c)
	c.UpdatedAt = r.clock()
	if err := r.core.UpdateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	close(r.release)
	<-done
	got, err = r.core.GetConnection(ctx, r.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	return refreshedAt, got
}

// TestRefreshKeepsConcurrentAdminChange: an administrator's change
// committed while a metadata refresh of the connection is fetching
// survives the refresh. The refresh read the connection before the change
// and once wrote its whole copy back, so a connection disabled because its
// IdP was compromised came back active and a removed certificate came
// back trusted.
func TestRefreshKeepsConcurrentAdminChange(t *testing.T) {
	t.Parallel()
	t.Run("Disable", func(t *testing.T) {
		t.Parallel()
		teststore.Each(t, func(t *testing.T, backend string) {
			r := newRefreshRig(t, backend)
			_, got := r.refreshDuring(t, func(c *sso.Connection) { c.Status = sso.ConnectionDisabled })
			if got.Status != sso.ConnectionDisabled {
				t.Fatalf("status %q after the refresh, want the administrator's %q", got.Status, sso.ConnectionDisabled)
			}
		})
	})
	t.Run("RemoveCertificate", func(t *testing.T) {
		t.Parallel()
		teststore.Each(t, func(t *testing.T, backend string) {
			r := newRefreshRig(t, backend)
			_, got := r.refreshDuring(t, func(c *sso.Connection) {
				cfg := *saml.ConfigOf(c)
				cfg.Certificates = slices.DeleteFunc(slices.Clone(cfg.Certificates), func(s string) bool { return s == r.idpCert })
				c.Config = &cfg
			})
			if slices.Contains(saml.ConfigOf(got).Certificates, r.idpCert) {
				t.Fatalf("the removed certificate is trusted again after the refresh: %d certificates", len(saml.ConfigOf(got).Certificates))
			}
			if len(saml.ConfigOf(got).Certificates) != 1 {
				t.Fatalf("certificates %d, want the administrator's one", len(saml.ConfigOf(got).Certificates))
			}
		})
	})
	t.Run("RenameKeepsBoth", func(t *testing.T) {
		t.Parallel()
		teststore.Each(t, func(t *testing.T, backend string) {
			r := newRefreshRig(t, backend)
			at, got := r.refreshDuring(t, func(c *sso.Connection) { c.DisplayName = "Renamed" })
			if got.DisplayName != "Renamed" {
				t.Fatalf("display name %q after the refresh, want the administrator's", got.DisplayName)
			}
			// The rename leaves the protocol configuration alone, so the
			// refresh applies its metadata on top of it.
			if !saml.ConfigOf(got).MetadataFetchedAt.Equal(at) {
				t.Fatalf("metadata fetched at %v, want the refresh at %v", saml.ConfigOf(got).MetadataFetchedAt, at)
			}
		})
	})
}
