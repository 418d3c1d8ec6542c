package sqlscim_test

import (
	"fmt"
	"log"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlscim"
)

// A SCIM filter becomes a condition on fixed, indexed, lower-cased columns;
// every value is a bind parameter.
func ExampleUserFilterSQL() {
	e, err := scim.ParseFilter(`userName eq "Ada@Example.com" and emails[type eq "work" and value co "example"]`, scim.KindUser)
	if err != nil {
		log.Fatal(err)
	}
	where, args, err := sqlscim.UserFilterSQL(sqlstore.Postgres, e)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(where)
	fmt.Println(args)
	// Output:
	// (u.user_name_lc = $1 AND EXISTS (SELECT 1 FROM ssokit_scim_emails e WHERE e.org_id = u.org_id AND e.user_id = u.user_id AND ((e.type_lc = $2 AND (e.value_lc <> '' AND e.value_lc LIKE $3 ESCAPE '\')))))
	// [ada@example.com work %example%]
}
