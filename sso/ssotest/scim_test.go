package ssotest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/ssokit/ssokit/sso/ssotest"
)

// recordedRequest is one request a fake SCIM server saw.
type recordedRequest struct {
	Method, Path, Query, Auth, ContentType string
	Body                                   map[string]any
}

// fakeSCIM records requests and answers like a minimal SCIM server: user
// "taken@example.com" exists, everything else is created.
type fakeSCIM struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []recordedRequest
}

func newFakeSCIM(t *testing.T) *fakeSCIM {
	f := &fakeSCIM{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recordedRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query().Get("filter"), Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type")}
		b, _ := io.ReadAll(r.Body)
		if len(b) > 0 {
			if err := json.Unmarshal(b, &rec.Body); err != nil {
				http.Error(w, "bad json", 400)
				return
			}
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, rec)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/scim+json")
		switch {
		case r.Method == http.MethodGet && strings.Contains(rec.Query, "taken@example.com"):
			fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"Resources":[{"id":"u-taken","userName":"taken@example.com"}]}`)
		case r.Method == http.MethodGet:
			fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}`)
		case r.Method == http.MethodPost:
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"id":"id-%d"}`, len(f.reqs))
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			fmt.Fprint(w, `{"id":"patched"}`)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSCIM) take() []recordedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.reqs
	f.reqs = nil
	return r
}

// jsonOf round-trips v through JSON so it compares with decoded bodies.
func jsonOf(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSCIMOktaShapes(t *testing.T) {
	t.Parallel()
	f := newFakeSCIM(t)
	c := ssotest.NewSCIMClient(f.srv.URL+"/scim/v2/", "tok-1", ssotest.Okta)
	ctx := context.Background()
	u := ssotest.SCIMUser{UserName: "jane@example.com", GivenName: "Jane", FamilyName: "Doe"}

	res, err := c.CreateUser(ctx, u)
	if err != nil || res.StatusCode != 201 || res.ID() != "id-2" {
		t.Fatalf("create: %v %+v", err, res)
	}
	reqs := f.take()
	if len(reqs) != 2 || reqs[0].Method != "GET" || reqs[0].Path != "/scim/v2/Users" || reqs[0].Query != `userName eq "jane@example.com"` || reqs[1].Method != "POST" {
		t.Fatalf("create requests %+v", reqs)
	}
	if reqs[0].Auth != "Bearer tok-1" || !strings.HasPrefix(reqs[1].ContentType, "application/scim+json") {
		t.Errorf("headers %q %q", reqs[0].Auth, reqs[1].ContentType)
	}
	body := reqs[1].Body
	if body["active"] != true || body["userName"] != "jane@example.com" || body["locale"] != "en-US" ||
		!reflect.DeepEqual(body["emails"], jsonOf(t, []map[string]any{{"primary": true, "value": "jane@example.com", "type": "work"}})) {
		t.Errorf("create body %v", body)
	}

	if _, err := c.DeactivateUser(ctx, "id-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddGroupMembers(ctx, "g1", ssotest.SCIMMember{ID: "id-2", Display: "jane@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RemoveGroupMembers(ctx, "g1", "id-2", "id-3"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateUser(ctx, "id-2", u); err != nil {
		t.Fatal(err)
	}
	reqs = f.take()
	want := []struct {
		method, path string
		ops          any
	}{
		{"PATCH", "/scim/v2/Users/id-2", []map[string]any{{"op": "replace", "value": map[string]any{"active": false}}}},
		{"PATCH", "/scim/v2/Groups/g1", []map[string]any{{"op": "add", "path": "members", "value": []map[string]any{{"value": "id-2", "display": "jane@example.com"}}}}},
		{"PATCH", "/scim/v2/Groups/g1", []map[string]any{{"op": "remove", "path": `members[value eq "id-2"]`}, {"op": "remove", "path": `members[value eq "id-3"]`}}},
	}
	for i, w := range want {
		if reqs[i].Method != w.method || reqs[i].Path != w.path || !reflect.DeepEqual(reqs[i].Body["Operations"], jsonOf(t, w.ops)) {
			t.Errorf("request %d: got %s %s %v", i, reqs[i].Method, reqs[i].Path, reqs[i].Body["Operations"])
		}
		if !reflect.DeepEqual(reqs[i].Body["schemas"], jsonOf(t, []string{ssotest.SCIMPatchOpSchema})) {
			t.Errorf("request %d: schemas %v", i, reqs[i].Body["schemas"])
		}
	}
	if put := reqs[3]; put.Method != "PUT" || put.Body["id"] != "id-2" || put.Body["userName"] != "jane@example.com" {
		t.Errorf("update %+v", put)
	}

	res, err = c.CreateUser(ctx, ssotest.SCIMUser{UserName: "taken@example.com"})
	if !errors.Is(err, ssotest.ErrSCIMUserExists) || res.ID() != "u-taken" || res.TotalResults() != 1 {
		t.Errorf("existing user: %v %v", err, res)
	}
	if reqs := f.take(); len(reqs) != 1 {
		t.Errorf("posted although the user exists: %d requests", len(reqs))
	}
}

func TestSCIMEntraShapes(t *testing.T) {
	t.Parallel()
	f := newFakeSCIM(t)
	c := ssotest.NewSCIMClient(f.srv.URL, "tok-2", ssotest.Entra)
	ctx := context.Background()
	if _, err := c.CreateUser(ctx, ssotest.SCIMUser{UserName: "jo@example.com", GivenName: "Jo", FamilyName: "Li", ExternalID: "ext-9"}); err != nil {
		t.Fatal(err)
	}
	reqs := f.take()
	if len(reqs) != 2 || reqs[0].Query != `userName eq "jo@example.com"` {
		t.Fatalf("create requests %+v", reqs)
	}
	b := reqs[1].Body
	if !reflect.DeepEqual(b["schemas"], jsonOf(t, []string{ssotest.SCIMUserSchema, ssotest.SCIMEnterpriseSchema})) || b["externalId"] != "ext-9" ||
		!reflect.DeepEqual(b["name"], jsonOf(t, map[string]string{"formatted": "Jo Li", "familyName": "Li", "givenName": "Jo"})) {
		t.Errorf("create body %v", b)
	}

	steps := []struct {
		do   func() (*ssotest.SCIMResponse, error)
		path string
		ops  any
	}{
		{func() (*ssotest.SCIMResponse, error) { return c.DeactivateUser(ctx, "u1") }, "/Users/u1",
			[]map[string]any{{"op": "Replace", "path": "active", "value": "False"}}},
		{func() (*ssotest.SCIMResponse, error) { return c.SetActive(ctx, "u1", true) }, "/Users/u1",
			[]map[string]any{{"op": "Replace", "path": "active", "value": "True"}}},
		{func() (*ssotest.SCIMResponse, error) {
			return c.ReplaceAttributes(ctx, "u1", map[string]any{"displayName": "Jo", "name.givenName": "Jo"})
		}, "/Users/u1", []map[string]any{{"op": "Replace", "value": map[string]any{"displayName": "Jo", "name.givenName": "Jo"}}}},
		{func() (*ssotest.SCIMResponse, error) { return c.SetManager(ctx, "u1", "boss") }, "/Users/u1",
			[]map[string]any{{"op": "Add", "path": ssotest.SCIMEnterpriseSchema + ":manager", "value": "boss"}}},
		{func() (*ssotest.SCIMResponse, error) {
			return c.UpdateUser(ctx, "u1", ssotest.SCIMUser{UserName: "jo2@example.com", GivenName: "Jo", FamilyName: "Lee"})
		}, "/Users/u1", []map[string]any{
			{"op": "Replace", "path": `emails[type eq "work"].value`, "value": "jo2@example.com"},
			{"op": "Replace", "path": "name.givenName", "value": "Jo"},
			{"op": "Replace", "path": "name.familyName", "value": "Lee"},
			{"op": "Replace", "path": "userName", "value": "jo2@example.com"},
		}},
		{func() (*ssotest.SCIMResponse, error) {
			return c.AddGroupMembers(ctx, "g", ssotest.SCIMMember{ID: "u1", Display: "ignored"})
		}, "/Groups/g",
			[]map[string]any{{"op": "Add", "path": "members", "value": []map[string]any{{"value": "u1"}}}}},
		{func() (*ssotest.SCIMResponse, error) { return c.RemoveGroupMembers(ctx, "g", "u1", "u2") }, "/Groups/g",
			[]map[string]any{{"op": "Remove", "path": "members", "value": []map[string]any{{"value": "u1"}, {"value": "u2"}}}}},
		{func() (*ssotest.SCIMResponse, error) { return c.RenameGroup(ctx, "g", "New") }, "/Groups/g",
			[]map[string]any{{"op": "Replace", "path": "displayName", "value": "New"}}},
	}
	for i, s := range steps {
		res, err := s.do()
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("step %d: %v %v", i, err, res)
		}
		r := f.take()
		if len(r) != 1 || r[0].Method != "PATCH" || r[0].Path != s.path || !reflect.DeepEqual(r[0].Body["Operations"], jsonOf(t, s.ops)) {
			t.Errorf("step %d: got %+v", i, r)
		}
	}

	res, err := c.CreateGroup(ctx, "Eng Team")
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("group: %v %v", err, res)
	}
	reqs = f.take()
	if len(reqs) != 2 || reqs[0].Path != "/Groups" || reqs[0].Query != `displayName eq "Eng Team"` || reqs[1].Body["displayName"] != "Eng Team" || reqs[1].Body["externalId"] == nil {
		t.Errorf("group requests %+v", reqs)
	}
	if res, err := c.DeleteUser(ctx, "u1"); err != nil || res.StatusCode != 204 {
		t.Errorf("delete: %v %v", err, res)
	}
}

func TestSCIMClientErrors(t *testing.T) {
	t.Parallel()
	c := ssotest.NewSCIMClient("http://127.0.0.1:1", "t", ssotest.Okta)
	if _, err := c.FindUser(context.Background(), "x"); err == nil {
		t.Error("unreachable server: no error")
	}
	if _, err := c.CreateUser(context.Background(), ssotest.SCIMUser{}); err == nil {
		t.Error("no userName: no error")
	}
	r := &ssotest.SCIMResponse{Body: []byte("not json")}
	if r.ID() != "" || r.TotalResults() != -1 {
		t.Error("garbage body yields values")
	}
	if ssotest.Okta.String() != "okta" || ssotest.Entra.String() != "entra" || ssotest.SCIMDialect(9).String() != "SCIMDialect(9)" {
		t.Error("dialect names")
	}
}
