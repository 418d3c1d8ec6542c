package sqlscim_test

import (
	"strings"
	"testing"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlscim"
)

// TestEnterpriseFilterSQL: enterprise extension filters become conditions
// on indexed columns with bound operands, never a scan of the stored
// attributes.
func TestEnterpriseFilterSQL(t *testing.T) {
	t.Parallel()
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
	cases := []struct{ filter, column, arg string }{
		{ent + `employeeNumber eq "E-1"`, "u.employee_number_lc = $1", "e-1"},
		{ent + `costCenter eq "CC"`, "u.cost_center_lc = $1", "cc"},
		{ent + `organization eq "Org"`, "u.organization_lc = $1", "org"},
		{ent + `division eq "Div"`, "u.division_lc = $1", "div"},
		{ent + `department eq "Sales"`, "u.department_lc = $1", "sales"},
		{ent + `manager.value eq "M-1"`, "u.manager_id = $1", "M-1"},
	}
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		for _, c := range cases {
			e, err := scim.ParseFilter(c.filter, scim.KindUser)
			if err != nil {
				t.Fatalf("%s: %v", c.filter, err)
			}
			where, args, err := sqlscim.UserFilterSQL(d, e)
			if err != nil {
				t.Fatalf("%s: %v", c.filter, err)
			}
			if where != c.column || len(args) != 1 || args[0] != c.arg {
				t.Errorf("%s: got %q %v, want %q [%s]", c.filter, where, args, c.column, c.arg)
			}
			if strings.Contains(where, "attrs") {
				t.Errorf("%s reads the attributes document: %s", c.filter, where)
			}
		}
	}
}
