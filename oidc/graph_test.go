package oidc

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ssokit/ssokit/sso"
)

// fakeGraph stands in for Microsoft Graph: it answers
// POST /v1.0/users/{oid}/getMemberObjects for the bearer app token the
// mock OP's client credentials grant issues, in Graph's response shape.
type fakeGraph struct {
	srv    *httptest.Server
	calls  atomic.Int32
	status int
	groups map[string][]string // by user object ID
}

func newFakeGraph(t *testing.T, token string) *fakeGraph {
	g := &fakeGraph{groups: map[string][]string{"oid-alice": {"g-admins", "g-eng", "g-ops"}}}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.calls.Add(1)
		oid, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/v1.0/users/"), "/getMemberObjects")
		var body struct {
			SecurityEnabledOnly *bool `json:"securityEnabledOnly"`
		}
		switch {
		case g.status != 0:
			w.WriteHeader(g.status)
			return
		case r.Header.Get("Authorization") != "Bearer "+token:
			w.WriteHeader(http.StatusUnauthorized)
			return
		case r.Method != http.MethodPost || !ok || json.NewDecoder(r.Body).Decode(&body) != nil || body.SecurityEnabledOnly == nil:
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)",
			"value": append([]string{}, g.groups[oid]...)})
	}))
	t.Cleanup(g.srv.Close)
	return g
}

// overageClaims makes the mock OP's ID token an Entra one with group
// overage (by _claim_names, or by hasgroups).
func overageClaims(hasgroups bool) func(c map[string]any) {
	return func(c map[string]any) {
		delete(c, "groups")
		c["oid"] = "oid-alice"
		if hasgroups {
			c["hasgroups"] = true
			return
		}
		c["_claim_names"] = map[string]any{"groups": "src1"}
		c["_claim_sources"] = map[string]any{"src1": map[string]any{"endpoint": "https://graph.windows.net/tenant/users/oid-alice/getMemberObjects"}}
	}
}

// TestGroupOverageGraph: an Entra token with group overage gets its
// groups from the directory, through the guarded egress client.
func TestGroupOverageGraph(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T, hasgroups bool) (*harness, *mockOP, *fakeGraph) {
		clk := newClock()
		op := newMockOP(t, clk)
		g := newFakeGraph(t, "app-token-for-"+op.clientID)
		h := newHarness(t, clk, nil)
		h.addConn(op, "conn_e", "org_e", func(c *sso.Connection, in *ConnectionInput) {
			in.GroupOverage, in.GraphURL = GroupOverageGraph, g.srv.URL
		})
		op.set(func(op *mockOP) { op.claims = overageClaims(hasgroups) })
		return h, op, g
	}
	for _, hasgroups := range []bool{false, true} {
		name := "claim-names"
		if hasgroups {
			name = "hasgroups"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, op, g := setup(t, hasgroups)
			l := h.wantOK(h.login(newBrowser(t), "conn_e"))
			if strings.Join(l.Profile.Groups, ",") != "g-admins,g-eng,g-ops" || l.Profile.Raw["groups_source"][0] != "graph" {
				t.Fatalf("groups %v", l.Profile.Groups)
			}
			op.mu.Lock()
			scopes := op.appTokenRequests
			op.mu.Unlock()
			if len(scopes) != 1 || scopes[0] != g.srv.URL+"/.default" || g.calls.Load() != 1 {
				t.Fatalf("app token scopes %v, graph calls %d", scopes, g.calls.Load())
			}
		})
	}
	t.Run("no-overage-no-call", func(t *testing.T) {
		t.Parallel()
		h, op, g := setup(t, false)
		op.set(func(op *mockOP) { op.claims = nil })
		l := h.wantOK(h.login(newBrowser(t), "conn_e"))
		if len(l.Profile.Groups) != 2 || g.calls.Load() != 0 {
			t.Fatalf("groups %v, graph calls %d", l.Profile.Groups, g.calls.Load())
		}
	})
	t.Run("graph-forbidden-refuses-login", func(t *testing.T) {
		t.Parallel()
		h, _, g := setup(t, false)
		g.status = http.StatusForbidden
		ve := h.wantRejectStatus(h.login(newBrowser(t), "conn_e"), http.StatusBadGateway, ReasonGroupsUnavailable)
		if ve.Got != "HTTP 403 Forbidden" || !strings.Contains(ve.Detail(), "GroupMember.Read.All") {
			t.Fatalf("detail %s", ve.Detail())
		}
	})
	t.Run("graph-down-is-retryable", func(t *testing.T) {
		t.Parallel()
		h, _, g := setup(t, false)
		g.status = http.StatusServiceUnavailable
		h.wantRejectStatus(h.login(newBrowser(t), "conn_e"), http.StatusServiceUnavailable, ReasonGroupsUnavailable)
	})
	t.Run("oid-missing", func(t *testing.T) {
		t.Parallel()
		h, op, _ := setup(t, true)
		op.set(func(op *mockOP) {
			op.claims = func(c map[string]any) { overageClaims(true)(c); delete(c, "oid") }
		})
		h.wantReject(h.login(newBrowser(t), "conn_e"), ReasonGroupsUnavailable)
	})
	t.Run("private-address-refused-by-egress-policy", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, newClock(), func(c *Config) { c.AllowPrivateAddresses = false })
		_, err := h.rp.memberObjects(t.Context(), "http://169.254.169.254/v1.0/users/x/getMemberObjects", "app-token")
		if !errors.Is(err, sso.ErrInvalidInput) || !errors.Is(err, errBlockedAddress) {
			t.Fatalf("Graph call to the metadata address: %v, want a blocked-address refusal", err)
		}
	})
}

// TestGroupOverageSettings: group_overage and graph_url are validated
// with the field and fix named, and a non-Microsoft graph_url is flagged.
func TestGroupOverageSettings(t *testing.T) {
	t.Parallel()
	clk := newClock()
	op := newMockOP(t, clk)
	h := newHarness(t, clk, nil)
	for _, tc := range []struct {
		in     ConnectionInput
		reason string
	}{
		{ConnectionInput{GroupOverage: "ldap"}, "invalid_group_overage"},
		{ConnectionInput{GraphURL: "https://graph.microsoft.com"}, "invalid_graph_url"},
		{ConnectionInput{GroupOverage: "graph", GraphURL: "https://graph.microsoft.com/v1.0"}, "invalid_graph_url"},
		{ConnectionInput{GroupOverage: "graph", AuthMethod: "none"}, "invalid_group_overage"},
	} {
		in := tc.in
		in.Issuer, in.ClientID, in.ClientSecret = op.issuer, "x", "y"
		_, err := h.rp.Configure(t.Context(), &sso.Connection{ID: "c"}, &in)
		if ve := wantReason(t, err, tc.reason); !strings.Contains(ve.Detail(), "fix: ") {
			t.Fatalf("%+v: %s", tc.in, ve.Detail())
		}
	}
	c := h.addConn(op, "conn_g", "org_g", func(c *sso.Connection, in *ConnectionInput) {
		in.GroupOverage, in.GraphURL = GroupOverageGraph, "https://graph.microsoft.us/"
	})
	if v := h.rp.ConfigView(c).(*ConfigView); v.GraphURL != "https://graph.microsoft.us" || len(v.Warnings) != 0 {
		t.Fatalf("view %+v", v)
	}
	d := h.addConn(op, "conn_d", "org_g", func(c *sso.Connection, in *ConnectionInput) {
		in.GroupOverage, in.GraphURL = GroupOverageGraph, "https://directory.example.com"
	})
	if v := h.rp.ConfigView(d).(*ConfigView); len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "graph_url") {
		t.Fatalf("view %+v", v)
	}
}
