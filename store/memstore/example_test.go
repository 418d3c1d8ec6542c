package memstore_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
)

func ExampleNew() {
	ctx := context.Background()
	st := memstore.New()
	_ = st.CreateOrg(ctx, &sso.Organization{ID: "org_1", Slug: "acme", Name: "Acme"})
	_ = st.CreateDomain(ctx, &sso.Domain{OrgID: "org_1", Name: "acme.com", Token: "t", State: sso.DomainVerified})

	// A second organization cannot verify the same domain.
	_ = st.CreateOrg(ctx, &sso.Organization{ID: "org_2", Slug: "other", Name: "Other"})
	err := st.CreateDomain(ctx, &sso.Domain{OrgID: "org_2", Name: "acme.com", Token: "u", State: sso.DomainVerified})
	fmt.Println(errors.Is(err, sso.ErrConflict))

	d, _ := st.FindVerifiedDomain(ctx, "acme.com")
	fmt.Println(d.OrgID)
	// Output:
	// true
	// org_1
}
