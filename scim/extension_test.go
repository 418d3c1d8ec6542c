package scim_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/store/sqlstore"
)

const (
	entURN    = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	customURN = "urn:ietf:params:scim:schemas:extension:AcmeHR:2.0:User"
)

func sameIDs(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !contains(got, w) {
			return false
		}
	}
	return true
}

// TestEntraEmailSubAttributeFilter: Entra matches users with
// 'emails[type eq "work"].value eq "x"', which means the same as
// 'emails[type eq "work" and value eq "x"]'; the shape works with every
// operator and for members of groups, and broken variants are
// invalidFilter errors.
func TestEntraEmailSubAttributeFilter(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		work := e.createUser("ann@acme.test")
		home := e.do("POST", "/Users", `{"userName":"bo@acme.test","emails":[{"value":"bo@home.test","type":"home"},{"value":"bo@acme.test","type":"work"}]}`).want(t, http.StatusCreated).str("id")
		onlyHome := e.do("POST", "/Users", `{"userName":"cy@acme.test","emails":[{"value":"cy@acme.test","type":"home"}]}`).want(t, http.StatusCreated).str("id")
		g := e.createGroup("eng", work, home)
		e.createGroup("ops", onlyHome)
		cases := []struct {
			path, filter string
			want         []string
		}{
			{"/Users", `emails[type eq "work"].value eq "ann@acme.test"`, []string{work}},
			{"/Users", `emails[type eq "work"].value eq "ANN@acme.test"`, []string{work}},
			{"/Users", `emails[type eq "work"].value eq "cy@acme.test"`, nil}, // cy's is a home address
			{"/Users", `emails[type eq "home"].value eq "cy@acme.test"`, []string{onlyHome}},
			{"/Users", `emails[type eq "work"].value co "@acme"`, []string{work, home}},
			{"/Users", `emails[type eq "home"].value ew "@home.test"`, []string{home}},
			{"/Users", `emails[type eq "work"].value sw "bo"`, []string{home}},
			{"/Users", `emails[type eq "work"].value pr`, []string{work, home}},
			{"/Users", `emails[value eq "bo@home.test"].type eq "work"`, nil}, // the same email must match both
			{"/Users", `emails[type eq "work"].primary eq true`, []string{work}},
			{"/Users", `urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value eq "ann@acme.test"`, []string{work}},
			{"/Users", `emails[type eq "work"].value eq "ann@acme.test" or userName eq "cy@acme.test"`, []string{work, onlyHome}},
			{"/Users", `not (emails[type eq "work"].value eq "ann@acme.test")`, []string{home, onlyHome}},
			{"/Groups", `members[value eq "` + work + `"].value eq "` + work + `"`, []string{g}},
			{"/Groups", `members[value pr].value eq "` + home + `"`, []string{g}},
		}
		for _, c := range cases {
			r := e.do("GET", c.path+"?filter="+urlq(c.filter), "").want(t, http.StatusOK)
			if got := ids(r); !sameIDs(got, c.want) || r.total() != len(c.want) {
				t.Errorf("%s: got %v (total %d), want %v", c.filter, got, r.total(), c.want)
			}
		}
		r := e.do("POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"emails[type eq \"work\"].value eq \"bo@acme.test\""}`).want(t, http.StatusOK)
		if got := ids(r); !sameIDs(got, []string{home}) {
			t.Errorf(".search: got %v, want %v", got, home)
		}
		for _, f := range []string{
			`emails[type eq "work"].value`,
			`emails[type eq "work"].value eq`,
			`emails[type eq "work"].display eq "x"`,
			`emails[type eq "work"].value gt "x"`,
			`emails[type eq "work"]. eq "x"`,
			`emails[type eq "work"].value[type eq "x"]`,
		} {
			e.do("GET", "/Users?filter="+urlq(f), "").wantErr(t, http.StatusBadRequest, "invalidFilter")
		}
		e.do("GET", "/Groups?filter="+urlq(`members[value pr].display eq "x"`), "").wantErr(t, http.StatusBadRequest, "invalidFilter")
	})
}

// TestParseFilterSubAttribute checks the parsed form of the Entra shape.
func TestParseFilterSubAttribute(t *testing.T) {
	t.Parallel()
	e, err := scim.ParseFilter(`emails[type eq "work"].value eq "X@Y.test"`, scim.KindUser)
	if err != nil {
		t.Fatal(err)
	}
	want := `emails[(emails.type eq "work" and emails.value eq "x@y.test")]`
	if got := scim.String(e); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// entraCreateUser has the shape of the "provision a user" request in
// Microsoft's SCIM reference for Entra ID, with values of our own.
const entraCreateUser = `{
  "schemas": [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "externalId": "9c7a1b2e-5f04-4d8e-a3c6-2b1f0e9d8c7a",
  "userName": "Dana.Quill@contoso-test.example",
  "active": true,
  "displayName": "Dana Quill",
  "emails": [{
    "primary": true,
    "type": "work",
    "value": "Dana.Quill@contoso-test.example"
  }],
  "meta": {
    "resourceType": "User"
  },
  "name": {
    "formatted": "Dana Quill",
    "familyName": "Quill",
    "givenName": "Dana"
  },
  "roles": [],
  "title": "Engineer",
  "preferredLanguage": "en-US",
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "employeeNumber": "E-4711",
    "costCenter": "CC-19",
    "organization": "Contoso",
    "division": "Research",
    "department": "Platform Engineering",
    "manager": {
      "value": "MGR-0001"
    }
  }
}`

// TestEntraProvisionUserExample: Entra's documented create-user body is
// accepted verbatim, its enterprise attributes come back on GET and in
// lists, and they can be filtered on.
func TestEntraProvisionUserExample(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		e.createUser("other@contoso-test.example")
		r := e.do("POST", "/Users", entraCreateUser).want(t, http.StatusCreated)
		id := r.str("id")
		get := e.do("GET", "/Users/"+id, "").want(t, http.StatusOK)
		for _, res := range []map[string]any{r.body, get.body} {
			ext, _ := res[entURN].(map[string]any)
			if ext["employeeNumber"] != "E-4711" || ext["department"] != "Platform Engineering" || ext["costCenter"] != "CC-19" ||
				ext["organization"] != "Contoso" || ext["division"] != "Research" {
				t.Errorf("enterprise extension = %v", ext)
			}
			if mg, _ := ext["manager"].(map[string]any); mg["value"] != "MGR-0001" {
				t.Errorf("manager = %v", ext["manager"])
			}
			if s := jsonStr(res["schemas"]); s != `["urn:ietf:params:scim:schemas:core:2.0:User","`+entURN+`"]` {
				t.Errorf("schemas = %s", s)
			}
			if res["externalId"] != "9c7a1b2e-5f04-4d8e-a3c6-2b1f0e9d8c7a" || res["title"] != "Engineer" {
				t.Errorf("core attributes = %v", res)
			}
		}
		for _, f := range []string{
			entURN + `:department eq "platform engineering"`,
			entURN + `:employeeNumber eq "E-4711"`,
			entURN + `:costCenter sw "cc-"`,
			entURN + `:organization eq "contoso"`,
			entURN + `:division co "search"`,
			entURN + `:manager.value eq "MGR-0001"`,
			entURN + `:manager eq "MGR-0001"`,
			`userName eq "dana.quill@contoso-test.example" and ` + entURN + `:department pr`,
		} {
			lr := e.do("GET", "/Users?filter="+urlq(f), "").want(t, http.StatusOK)
			if got := ids(lr); !sameIDs(got, []string{id}) {
				t.Errorf("%s: got %v, want [%s]", f, got, id)
			}
		}
		// manager.value is case-exact, as IDs are.
		if n := e.do("GET", "/Users?filter="+urlq(entURN+`:manager.value eq "mgr-0001"`), "").want(t, 200).total(); n != 0 {
			t.Errorf("manager.value compared case-insensitively: %d results", n)
		}
		if n := e.do("GET", "/Users?filter="+urlq(`not (`+entURN+`:department pr)`), "").want(t, 200).total(); n != 1 {
			t.Errorf("users without department: %d, want 1", n)
		}
		// The list carries the extension too.
		lr := e.do("GET", "/Users?filter="+urlq(`userName eq "Dana.Quill@contoso-test.example"`), "").want(t, http.StatusOK)
		if res := lr.resources(); len(res) != 1 || res[0][entURN] == nil {
			t.Errorf("list: %s", lr.raw)
		}
	})
}

// TestEnterprisePatchEntraPaths: Entra changes enterprise attributes with
// URN-qualified paths, the manager as a bare ID, and removes the manager;
// filters see every change.
func TestEnterprisePatchEntraPaths(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.do("POST", "/Users", entraCreateUser).want(t, http.StatusCreated).str("id")
		ops := patchOps(`{"op":"Replace","path":"` + entURN + `:department","value":"Sales"},` +
			`{"op":"Add","path":"` + entURN + `:manager","value":"MGR-0002"},` +
			`{"op":"replace","value":{"` + entURN + `:employeeNumber":"E-9","` + entURN + `:costCenter":"CC-1"}}`)
		r := e.do("PATCH", "/Users/"+id, ops).want(t, http.StatusOK)
		ext, _ := r.body[entURN].(map[string]any)
		if ext["department"] != "Sales" || ext["employeeNumber"] != "E-9" || ext["costCenter"] != "CC-1" || ext["division"] != "Research" {
			t.Errorf("after PATCH: %v", ext)
		}
		if mg, _ := ext["manager"].(map[string]any); mg["value"] != "MGR-0002" {
			t.Errorf("manager after PATCH = %v", ext["manager"])
		}
		find := func(f string) []string {
			return ids(e.do("GET", "/Users?filter="+urlq(f), "").want(t, http.StatusOK))
		}
		if got := find(entURN + `:department eq "sales"`); !sameIDs(got, []string{id}) {
			t.Errorf("department filter after PATCH: %v", got)
		}
		if got := find(entURN + `:department eq "platform engineering"`); len(got) != 0 {
			t.Errorf("old department still matches: %v", got)
		}
		if got := find(entURN + `:manager.value eq "MGR-0002"`); !sameIDs(got, []string{id}) {
			t.Errorf("manager filter after PATCH: %v", got)
		}
		// Entra removes the manager with a remove op on the same path.
		r = e.do("PATCH", "/Users/"+id, patchOps(`{"op":"remove","path":"`+entURN+`:manager"}`)).want(t, http.StatusOK)
		if ext, _ := r.body[entURN].(map[string]any); ext["manager"] != nil {
			t.Errorf("manager not removed: %v", ext)
		}
		if got := find(entURN + `:manager pr`); len(got) != 0 {
			t.Errorf("manager pr after remove: %v", got)
		}
		// Read-only and unknown enterprise attributes.
		e.do("PATCH", "/Users/"+id, patchOps(`{"op":"replace","path":"`+entURN+`:nickname","value":"x"}`)).wantErr(t, http.StatusBadRequest, "invalidPath")
	})
}

// TestCustomExtension: an extension schema the server does not know is
// stored as sent, returned on GET and in lists, selected by the
// attributes parameter, and changed by PATCH by attribute or as a whole.
func TestCustomExtension(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		other := e.addOrg("other")
		otok, _ := e.issue(other.ID)
		body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","` + customURN + `"],"userName":"eve@acme.test",` +
			`"` + customURN + `":{"badge":"B-12","shifts":[1,2,3],"site":{"code":"FRA","floor":4}}}`
		r := e.do("POST", "/Users", body).want(t, http.StatusCreated)
		id := r.str("id")
		wantExt := `{"badge":"B-12","shifts":[1,2,3],"site":{"code":"FRA","floor":4}}`
		check := func(what string, res map[string]any, want string) {
			t.Helper()
			if got := jsonStr(res[customURN]); got != want {
				t.Errorf("%s: extension = %s, want %s", what, got, want)
			}
			schemas := jsonStr(res["schemas"])
			if want != "null" && !strings.Contains(schemas, customURN) {
				t.Errorf("%s: schemas %s lack %s", what, schemas, customURN)
			}
			if want == "null" && strings.Contains(schemas, customURN) {
				t.Errorf("%s: schemas %s still name %s", what, schemas, customURN)
			}
		}
		check("POST", r.body, wantExt)
		check("GET", e.do("GET", "/Users/"+id, "").want(t, 200).body, wantExt)
		lr := e.do("GET", "/Users?attributes="+urlq(customURN+":badge"), "").want(t, 200)
		if res := lr.resources(); len(res) != 1 || res[0]["userName"] != nil {
			t.Fatalf("attributes=%s:badge: %s", customURN, lr.raw)
		} else {
			check("list", res[0], wantExt)
		}
		lr = e.do("GET", "/Users?excludedAttributes="+urlq(customURN), "").want(t, 200)
		if res := lr.resources(); len(res) != 1 || res[0][customURN] != nil {
			t.Errorf("excludedAttributes: %s", lr.raw)
		}
		// Another organization sees nothing of it.
		if n := e.doTok(otok, "GET", "/Users", "").want(t, 200).total(); n != 0 {
			t.Errorf("other org sees %d users", n)
		}
		e.doTok(otok, "PATCH", "/Users/"+id, patchOps(`{"op":"remove","path":"`+customURN+`"}`)).wantErr(t, http.StatusNotFound, "")

		r = e.do("PATCH", "/Users/"+id, patchOps(
			`{"op":"replace","path":"`+customURN+`:badge","value":"B-13"},`+
				`{"op":"add","path":"`+customURN+`:site.floor","value":5},`+
				`{"op":"remove","path":"`+customURN+`:shifts"}`)).want(t, 200)
		check("PATCH attributes", r.body, `{"badge":"B-13","site":{"code":"FRA","floor":5}}`)
		r = e.do("PATCH", "/Users/"+id, patchOps(`{"op":"replace","value":{"`+customURN+`":{"badge":"B-14"}}}`)).want(t, 200)
		check("PATCH path-less", r.body, `{"badge":"B-14","site":{"code":"FRA","floor":5}}`)
		r = e.do("PATCH", "/Users/"+id, patchOps(`{"op":"remove","path":"`+customURN+`"}`)).want(t, 200)
		check("PATCH remove", r.body, "null")
		// A second extension added by PATCH to a user without one.
		r = e.do("PATCH", "/Users/"+id, patchOps(`{"op":"add","path":"urn:example:params:ext:Travel:1.0:User:homeAirport","value":"LHR"}`)).want(t, 200)
		if got := jsonStr(r.body["urn:example:params:ext:Travel:1.0:User"]); got != `{"homeAirport":"LHR"}` {
			t.Errorf("added extension = %s", got)
		}
		// PUT without the extension drops it.
		r = e.do("PUT", "/Users/"+id, `{"userName":"eve@acme.test"}`).want(t, 200)
		if strings.Contains(r.raw, "urn:example:params:ext:Travel") {
			t.Errorf("PUT kept the extension: %s", r.raw)
		}

		bad := []struct{ method, path, body, scimType string }{
			{"POST", "/Users", `{"userName":"x1@acme.test","` + customURN + `":"not an object"}`, "invalidValue"},
			{"POST", "/Users", `{"userName":"x2@acme.test","urn:bad urn":{"a":1}}`, "invalidValue"},
			{"POST", "/Users", `{"userName":"x3@acme.test","urn:` + strings.Repeat("a", 300) + `":{"a":1}}`, "invalidValue"},
			{"PATCH", "/Users/" + id, patchOps(`{"op":"add","path":"` + customURN + `:badge[x eq 1]","value":"y"}`), "invalidPath"},
			{"PATCH", "/Users/" + id, patchOps(`{"op":"replace","path":"` + customURN + `","value":"y"}`), "invalidValue"},
		}
		for _, b := range bad {
			e.do(b.method, b.path, b.body).wantErr(t, http.StatusBadRequest, b.scimType)
		}
		var many []string
		for i := 0; i < 17; i++ {
			many = append(many, `"urn:example:ext:E`+itoa(i)+`:1.0:User":{"a":1}`)
		}
		e.do("POST", "/Users", `{"userName":"x4@acme.test",`+strings.Join(many, ",")+`}`).wantErr(t, http.StatusBadRequest, "invalidValue")
	})
}

// TestDiscoveryExtensions: /Schemas and /ResourceTypes advertise the
// enterprise extension and the configured customer-defined ones.
func TestDiscoveryExtensions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *scim.Config) { c.UserSchemaExtensions = []string{customURN} })
	rt := e.do("GET", "/ResourceTypes/User", "").want(t, http.StatusOK)
	var exts []string
	for _, x := range rt.body["schemaExtensions"].([]any) {
		exts = append(exts, x.(map[string]any)["schema"].(string))
	}
	if !sameIDs(exts, []string{entURN, customURN}) {
		t.Errorf("schemaExtensions = %v", exts)
	}
	ent := e.do("GET", "/Schemas/"+entURN, "").want(t, http.StatusOK)
	var names []string
	for _, a := range ent.body["attributes"].([]any) {
		names = append(names, a.(map[string]any)["name"].(string))
	}
	if !sameIDs(names, []string{"employeeNumber", "costCenter", "organization", "division", "department", "manager"}) {
		t.Errorf("enterprise attributes = %v", names)
	}
	if c := e.do("GET", "/Schemas/"+customURN, "").want(t, http.StatusOK); c.str("id") != customURN || c.str("name") != "User" {
		t.Errorf("custom schema = %s", c.raw)
	}
	_, err := scim.New(scim.Config{Store: e.st, Core: e.st, Revoker: e.rev, BaseURL: e.cfg.BaseURL, UserSchemaExtensions: []string{entURN}})
	if err == nil {
		t.Error("the enterprise URN accepted as a customer-defined extension")
	}
}

// TestEnterpriseFilterOnMigratedRows: users stored before migration 0133
// are found by enterprise filters, and have their primary email for
// sorting, after Migrate fills the new columns from what they stored.
func TestEnterpriseFilterOnMigratedRows(t *testing.T) {
	t.Parallel()
	for _, b := range backends()[1:] {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, b.open(t))
			id := e.do("POST", "/Users", entraCreateUser).want(t, http.StatusCreated).str("id")
			db := sqlStore(t, e).DB()
			ctx := context.Background()
			// Undo migration 0133's columns for this row, as an older
			// release wrote it, and apply the migration's fill again.
			for _, stmt := range []string{
				`UPDATE ssokit_scim_users SET employee_number_lc = '', cost_center_lc = '', organization_lc = '', division_lc = '', department_lc = '', manager_id = ''`,
				`DELETE FROM ssokit_migrations WHERE version = 133`,
				`DROP INDEX ssokit_scim_users_employee`,
				`DROP INDEX ssokit_scim_users_department`,
				`DROP INDEX ssokit_scim_users_manager`,
				`DROP INDEX ssokit_scim_users_sort_name`,
				`DROP INDEX ssokit_scim_users_sort_email`,
				`DROP INDEX ssokit_scim_users_sort_created`,
				`DROP INDEX ssokit_scim_users_sort_modified`,
				`DROP INDEX ssokit_scim_groups_sort_display`,
				`DROP TABLE ssokit_scim_sync_failures`,
			} {
				if _, err := db.ExecContext(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			for _, c := range []string{"employee_number_lc", "cost_center_lc", "organization_lc", "division_lc", "department_lc", "manager_id", "primary_email_lc"} {
				if _, err := db.ExecContext(ctx, `ALTER TABLE ssokit_scim_users DROP COLUMN `+c); err != nil {
					t.Fatalf("drop %s: %v", c, err)
				}
			}
			if err := sqlStore(t, e).Migrate(ctx); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			var email string
			if err := db.QueryRowContext(ctx, `SELECT primary_email_lc FROM ssokit_scim_users WHERE user_id = $1`, id).Scan(&email); err != nil || email != "dana.quill@contoso-test.example" {
				t.Errorf("primary_email_lc after Migrate = %q (%v)", email, err)
			}
			for _, f := range []string{entURN + `:department eq "PLATFORM engineering"`, entURN + `:manager.value eq "MGR-0001"`, entURN + `:employeeNumber eq "e-4711"`} {
				lr := e.do("GET", "/Users?filter="+urlq(f), "").want(t, http.StatusOK)
				if got := ids(lr); !sameIDs(got, []string{id}) {
					t.Errorf("%s: got %v", f, got)
				}
			}
		})
	}
}

// sqlStore returns the sqlstore.Store under an SQL backend.
func sqlStore(t *testing.T, e *env) *sqlstore.Store {
	t.Helper()
	s, ok := e.st.(coreAndSCIM).Store.(*sqlstore.Store)
	if !ok {
		t.Fatalf("backend %T is not SQL", e.st)
	}
	return s
}
