package sqlstore_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
)

func TestXTiming(t *testing.T) {
	for range 4 {
		_, dsn := testdb.PostgresSchema(t)
		db, _ := sql.Open("pgx", dsn+"&synchronous_commit=off")
		b := time.Now()
		open(t, db, 2)
		c := time.Now()
		t.Logf("async migrate %v", c.Sub(b))
	}
}
