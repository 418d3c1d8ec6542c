package saml_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

// ownURLs configures c (stored) with its own SLO and metadata URLs, as an
// import from another vendor does, and stores it.
func (h *harness) ownURLs(t *testing.T, c *sso.Connection, slo, md string) {
	t.Helper()
	if err := configureOwn(h, c, slo, md); err != nil {
		t.Fatalf("configure own URLs: %v", err)
	}
	if err := h.store.UpdateConnection(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// configureOwn runs Configure with manual IdP fields and the given own
// SLO and metadata URLs ("" leaves one out), without storing.
func configureOwn(h *harness, c *sso.Connection, slo, md string) error {
	return configureOwnCtx(context.Background(), h, c, slo, md)
}

func configureOwnCtx(ctx context.Context, h *harness, c *sso.Connection, slo, md string) error {
	in := &saml.ConnectionInput{IdPEntityID: testIdP, SSOURL: "https://idp.example.com/sso",
		Certificates: []string{certPEM(idpKey(h.t).cert)}}
	if slo != "" {
		in.SPSLOURL = &slo
	}
	if md != "" {
		in.SPMetadataURL = &md
	}
	_, err := h.sp.Configure(ctx, c, in)
	return err
}

// TestOwnURLClaimLifetime: a plan (an import's dry run) claims nothing; a
// claim left by a connection that was never stored blocks the path for a
// minute only, and one of a stored connection that still uses the path
// never passes.
func TestOwnURLClaimLifetime(t *testing.T) {
	h := newHarness(t)
	base := h.srv.URL + "/sso/saml"
	planned := &sso.Connection{ID: "conn_planned", OrgID: "org_p", Protocol: saml.Protocol}
	if err := configureOwnCtx(sso.WithPlanOnly(context.Background()), h, planned, base+"/legacy/p/slo", ""); err != nil {
		t.Fatal(err)
	}
	x := h.addConn(t, "conn_x", "org_x", func(*saml.ConnectionConfig) {})
	if err := configureOwn(h, x, base+"/legacy/p/slo", ""); err != nil {
		t.Fatalf("a planned path was reserved: %v", err)
	}
	ghost := &sso.Connection{ID: "conn_ghost", OrgID: "org_g", Protocol: saml.Protocol}
	if err := configureOwn(h, ghost, base+"/legacy/g/slo", ""); err != nil {
		t.Fatal(err)
	}
	y := h.addConn(t, "conn_y", "org_y", func(*saml.ConnectionConfig) {})
	expectFieldError(t, configureOwn(h, y, base+"/legacy/g/slo", ""), "sp_slo_url", "sp_slo_url_in_use")
	h.setNow(h.clock().Add(2 * time.Minute))
	if err := configureOwn(h, y, base+"/legacy/g/slo", ""); err != nil {
		t.Fatalf("an unstored connection's claim still blocks after 2 minutes: %v", err)
	}
	// A stored connection using its path keeps it however old the claim.
	h.ownURLs(t, h.conn, base+"/legacy/a/slo", "")
	h.setNow(h.clock().Add(24 * time.Hour))
	expectFieldError(t, configureOwn(h, y, base+"/legacy/a/slo", ""), "sp_slo_url", "sp_slo_url_in_use")
}

// TestOwnSLOAndMetadataURLs: an imported connection's IdP sends logout
// messages to the old vendor's SLO URL and fetches our metadata from its
// old metadata URL: both paths reach this connection's endpoints, the
// metadata names the old SLO URL, a LogoutRequest addressed to the old URL
// ends the session, and the default SLO route or another Destination is
// refused.
func TestOwnSLOAndMetadataURLs(t *testing.T) {
	h := newHarness(t)
	slo := h.srv.URL + "/sso/saml/oldvendor/acme/slo"
	md := h.srv.URL + "/sso/saml/oldvendor/acme/metadata"
	h.ownURLs(t, h.conn, slo, md)

	resp, err := h.client.Get(md)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `Location="`+slo+`"`) ||
		!strings.Contains(string(body), `entityID="`+h.sp.EntityID(h.conn.ID)+`"`) {
		t.Fatalf("metadata at the old URL: %d %s", resp.StatusCode, body)
	}
	if d := h.sp.SPDetails(h.conn); d.SLOURL != slo || d.MetadataURL != md {
		t.Fatalf("setup details %+v", d)
	}
	// The metadata URL is GET only; the SLO path takes no login.
	if resp, _ := h.client.Post(md, "application/x-www-form-urlencoded", strings.NewReader("SAMLResponse=x")); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("POST to the metadata URL: %d", resp.StatusCode)
	}

	t.Run("LogoutAtOldURL", func(t *testing.T) {
		doc := logoutRequestFor(t, slo, h.clock(), "alice@example.com", false)
		resp := h.get(t, "/sso/saml/oldvendor/acme/slo?"+redirectQuery(t, doc, idpKey(t).key))
		if resp.StatusCode >= 400 || h.logoutCount() != 1 {
			t.Fatalf("logout at the old URL: %d, %d logouts (%v)", resp.StatusCode, h.logoutCount(), h.lastErr())
		}
	})
	t.Run("DefaultRouteRefused", func(t *testing.T) {
		n := h.logoutCount()
		doc := logoutRequestFor(t, slo, h.clock(), "alice@example.com", false)
		resp := h.get(t, "/sso/saml/slo/"+h.conn.ID+"?"+redirectQuery(t, doc, idpKey(t).key))
		if resp.StatusCode < 400 || sso.ReasonOf(h.lastErr()) != saml.ReasonDestinationMismatch || h.logoutCount() != n {
			t.Fatalf("default route: %d %v", resp.StatusCode, h.lastErr())
		}
	})
	t.Run("OtherDestinationRefused", func(t *testing.T) {
		n := h.logoutCount()
		doc := logoutRequestFor(t, h.sp.SLOURL(h.conn.ID), h.clock(), "alice@example.com", false)
		resp := h.get(t, "/sso/saml/oldvendor/acme/slo?"+redirectQuery(t, doc, idpKey(t).key))
		if resp.StatusCode < 400 || sso.ReasonOf(h.lastErr()) != saml.ReasonDestinationMismatch || h.logoutCount() != n {
			t.Fatalf("other Destination: %d %v", resp.StatusCode, h.lastErr())
		}
	})
	t.Run("UnsignedRefused", func(t *testing.T) {
		n := h.logoutCount()
		doc := logoutRequestFor(t, slo, h.clock(), "alice@example.com", false)
		resp := h.get(t, "/sso/saml/oldvendor/acme/slo?"+redirectQuery(t, doc, nil))
		if resp.StatusCode < 400 || h.logoutCount() != n {
			t.Fatalf("unsigned at the old URL: %d", resp.StatusCode)
		}
	})
	t.Run("RemovedURLNoLongerServed", func(t *testing.T) {
		if err := configureOwn(h, h.conn, h.sp.SLOURL(h.conn.ID), h.sp.EntityID(h.conn.ID)); err != nil {
			t.Fatal(err)
		}
		if err := h.store.UpdateConnection(context.Background(), h.conn); err != nil {
			t.Fatal(err)
		}
		if cfg := saml.ConfigOf(h.conn); cfg.SPSLOURL != "" || cfg.SPMetadataURL != "" {
			t.Fatalf("defaults stored as own URLs: %+v", cfg)
		}
		h.setNow(h.clock().Add(2 * 1e9)) // past the index's rebuild interval
		if resp := h.get(t, "/sso/saml/oldvendor/acme/metadata"); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("the released metadata URL answered %d", resp.StatusCode)
		}
	})
}

// TestOwnSLOAndMetadataURLClaims: a tenant admin cannot claim the SP's
// own routes, another connection's ACS, SLO or metadata path, or one path
// for two of the connection's own URLs; of two connections saved at once
// with one path exactly one gets it (the store's claim).
func TestOwnSLOAndMetadataURLClaims(t *testing.T) {
	h := newHarness(t)
	base := h.srv.URL + "/sso/saml"
	h.ownEndpoints(t, h.conn, "urn:legacy:a", base+"/legacy/a/acs")
	h.ownURLs(t, h.conn, base+"/legacy/a/slo", base+"/legacy/a/md")
	c := h.addConn(t, "conn_v", "org_v", func(*saml.ConnectionConfig) {})
	for _, tc := range []struct {
		name, slo, md, field, reason string
	}{
		{"SLOUnderOwnRoutes", base + "/slo/conn_a", "", "sp_slo_url", "invalid_sp_slo_url"},
		{"MetadataUnderOwnRoutes", "", base + "/metadata/conn_a", "sp_metadata_url", "invalid_sp_metadata_url"},
		{"SLOUnderLoginRoute", base + "/login/x", "", "sp_slo_url", "invalid_sp_slo_url"},
		{"SLOOtherHost", "https://evil.example/sso/saml/x", "", "sp_slo_url", "sp_slo_url_not_mounted"},
		{"SLOOutsideMount", h.srv.URL + "/admin/x", "", "sp_slo_url", "sp_slo_url_not_mounted"},
		{"SLODotSegments", base + "/legacy/../acs/conn_a", "", "sp_slo_url", "invalid_sp_slo_url"},
		{"SLOEncoded", base + "/legacy%2Fx", "", "sp_slo_url", "invalid_sp_slo_url"},
		{"SLOQuery", base + "/legacy/v?x=1", "", "sp_slo_url", "invalid_sp_slo_url"},
		{"SLOIsOtherACS", base + "/legacy/a/acs", "", "sp_slo_url", "sp_slo_url_in_use"},
		{"SLOIsOtherSLO", base + "/legacy/a/slo", "", "sp_slo_url", "sp_slo_url_in_use"},
		{"MetadataIsOtherMetadata", "", base + "/legacy/a/md", "sp_metadata_url", "sp_metadata_url_in_use"},
		{"SamePathTwice", base + "/legacy/v/x", base + "/legacy/v/x", "sp_metadata_url", "sp_metadata_url_in_use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := configureOwn(h, c, tc.slo, tc.md)
			expectFieldError(t, err, tc.field, tc.reason)
			if strings.HasSuffix(tc.reason, "_in_use") && tc.name != "SamePathTwice" &&
				(strings.Contains(err.Error(), "conn_a") || !strings.Contains(err.Error(), "another organization")) {
				t.Fatalf("conflict %q names another organization's connection", err)
			}
		})
	}

	t.Run("ConcurrentSaves", func(t *testing.T) {
		var wg sync.WaitGroup
		var won atomic.Int32
		for i := range 6 {
			o := h.addConn(t, "conn_race"+string(rune('a'+i)), "org_r", func(*saml.ConnectionConfig) {})
			wg.Add(1)
			go func() {
				defer wg.Done()
				if configureOwn(h, o, base+"/legacy/race/slo", "") == nil {
					won.Add(1)
				}
			}()
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%d connections got one path, want 1", won.Load())
		}
	})
}
