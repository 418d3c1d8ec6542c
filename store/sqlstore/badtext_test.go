package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// TestPostgresRefusesNULAsInvalidInput: PostgreSQL cannot store a NUL
// character; the store reports it as invalid input (a 400 at the edge), not
// as an internal error, and writes nothing.
func TestPostgresRefusesNULAsInvalidInput(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.New(testdb.Postgres(t), sqlstore.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	err = st.CreateUser(ctx, &sso.User{ID: "usr_nul", Email: "a@example.com", GivenName: "a\x00b"})
	if !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("CreateUser with NUL: %v, want ErrInvalidInput", err)
	}
	if _, err := st.GetUser(ctx, "usr_nul"); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("user written despite the error: %v", err)
	}
	if _, err := st.GetOrgBySlug(ctx, "a\x00b"); !errors.Is(err, sso.ErrInvalidInput) && !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("lookup with NUL: %v, want ErrInvalidInput or ErrNotFound", err)
	}
}
