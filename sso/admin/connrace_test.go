package admin_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

// staleConn is a store on which, once armed (testkit.Between), the next read of a
// connection returns the copy read before between ran: another
// administrator's change of the connection lands between a request's read
// and its write.
type staleConn struct {
	wholeStore
	testkit.Between
}

func (s *staleConn) GetConnection(ctx context.Context, id string) (*sso.Connection, error) {
	c, err := s.wholeStore.GetConnection(ctx, id)
	s.Fire()
	return c, err
}

// WithEvents and UpdateConnectionIf keep the store's capabilities
// visible through the wrapper.
func (s *staleConn) WithEvents(evs ...*sso.Event) sso.Store {
	return s.wholeStore.(interface{ WithEvents(...*sso.Event) sso.Store }).WithEvents(evs...)
}

func (s *staleConn) UpdateConnectionIf(ctx context.Context, c *sso.Connection, prev time.Time) error {
	return sso.UpdateConnectionIf(ctx, s.wholeStore, c, prev)
}

// TestConnectionChangesKeepEachOther: an administrator's change of a
// connection made from a copy read before another administrator's change
// does not write that copy back. Before, a rename undid a disable made
// during it (an incident response reverted), and an activation put back
// the certificate another administrator had just replaced.
func TestConnectionChangesKeepEachOther(t *testing.T) {
	newCert := `{"metadata_url":"https://idp.example/new"}`
	for _, tc := range []struct {
		name          string
		status        sso.ConnectionStatus
		first, second [3]string // method, path suffix, body
		firstCode     int
		check         func(t *testing.T, c *sso.Connection)
	}{
		{"rename during a disable", sso.ConnectionActive,
			[3]string{"PATCH", "", `{"display_name":"Renamed"}`}, [3]string{"POST", "/disable", ""}, http.StatusOK,
			func(t *testing.T, c *sso.Connection) {
				if c.Status != sso.ConnectionDisabled || c.DisplayName != "Renamed" {
					t.Errorf("status %q, name %q: want the disable kept and the rename applied", c.Status, c.DisplayName)
				}
			}},
		{"new metadata during a disable", sso.ConnectionActive,
			[3]string{"PATCH", "", `{"config":` + newCert + `}`}, [3]string{"POST", "/disable", ""}, http.StatusOK,
			func(t *testing.T, c *sso.Connection) {
				if c.Status != sso.ConnectionDisabled || saml.ConfigOf(c).MetadataURL != "https://idp.example/new" {
					t.Errorf("status %q, metadata %q: want the disable kept and the new metadata applied", c.Status, saml.ConfigOf(c).MetadataURL)
				}
			}},
		{"activation during a certificate change", sso.ConnectionDraft,
			[3]string{"POST", "/activate", ""}, [3]string{"PATCH", "", `{"config":` + newCert + `}`}, http.StatusConflict,
			func(t *testing.T, c *sso.Connection) {
				if c.Status == sso.ConnectionActive || saml.ConfigOf(c).MetadataURL != "https://idp.example/new" {
					t.Errorf("status %q, metadata %q: want the new, untested metadata kept and not active", c.Status, saml.ConfigOf(c).MetadataURL)
				}
			}},
	} {
		for _, b := range hookBackends {
			t.Run(tc.name+"/"+b.name, func(t *testing.T) {
				inner, _ := b.open(t)
				st := &staleConn{wholeStore: inner.(wholeStore)}
				f := newFixtureOn(t, st)
				a := f.orgA
				at := time.Now().UTC().Add(-time.Hour).Truncate(time.Microsecond)
				c := &sso.Connection{ID: "conn_race", OrgID: a.ID, Protocol: saml.Protocol, Status: tc.status, DisplayName: "Okta",
					Config:     &saml.ConnectionConfig{IdPEntityID: "https://idp.example/old", SSOURL: "https://idp.example/sso", Certificates: []string{"OLD"}},
					LastTestOK: at, LastTest: &sso.TestResult{OK: true, At: at}, CreatedAt: at, UpdatedAt: at}
				if err := inner.CreateConnection(ctx, c); err != nil {
					t.Fatal(err)
				}
				path := "/connections/" + c.ID
				st.Arm(0, func() {
					if code, m := f.json(a, tc.second[0], path+tc.second[1], tc.second[2]); code/100 != 2 {
						t.Errorf("second change %s %s: %d %v", tc.second[0], tc.second[1], code, m)
					}
				})
				if code, m := f.json(a, tc.first[0], path+tc.first[1], tc.first[2]); code != tc.firstCode {
					t.Fatalf("first change %s %s: %d %v, want %d", tc.first[0], tc.first[1], code, m, tc.firstCode)
				}
				got, err := inner.GetConnection(ctx, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, got)
			})
		}
	}
}
