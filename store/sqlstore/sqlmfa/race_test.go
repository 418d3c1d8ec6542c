package sqlmfa_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlmfa"
)

// stores returns the MFA store on SQLite and, when configured, PostgreSQL.
func stores(t *testing.T) map[string]func(t *testing.T) *sqlmfa.Store {
	return map[string]func(t *testing.T) *sqlmfa.Store{
		"SQLite": func(t *testing.T) *sqlmfa.Store { return sqlmfa.New(teststore.SQL(t, sqlstore.SQLite, nil)) },
		"Postgres": func(t *testing.T) *sqlmfa.Store {
			st, db := teststore.SQLWithDB(t, sqlstore.Postgres, nil)
			db.SetMaxOpenConns(8)
			return sqlmfa.New(st)
		},
	}
}

// TestReplaceRecoveryCodesRace regenerates a user's recovery codes from
// several goroutines at once, round after round: afterwards the user must
// hold exactly one of the sets, never the union of two (a set the user was
// shown and then replaced must not stay valid).
func TestReplaceRecoveryCodesRace(t *testing.T) {
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) { replaceRace(t, mk(t)) })
	}
}

// replaceRace races ReplaceRecoveryCodes on s.
func replaceRace(t *testing.T, s mfa.RecoveryStore) {
	const rounds, writers, codes = 15, 6, 10
	ctx := context.Background()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for r := range rounds {
		user := fmt.Sprintf("u%d", r)
		if r%2 == 1 {
			// Half the rounds replace an existing set.
			if err := s.ReplaceRecoveryCodes(ctx, user, []string{"old1", "old2"}, at); err != nil {
				t.Fatal(err)
			}
		}
		sets := make([][]string, writers)
		for w := range sets {
			for c := range codes {
				sets[w] = append(sets[w], fmt.Sprintf("h-%d-%d", w, c))
			}
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[w] = s.ReplaceRecoveryCodes(ctx, user, sets[w], at)
			}()
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("round %d: ReplaceRecoveryCodes: %v", r, err)
			}
		}
		n, err := s.CountRecoveryCodes(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if n != codes {
			t.Fatalf("round %d: %d concurrent replacements left %d codes, want %d (one set)", r, writers, n, codes)
		}
		usable := 0
		for _, set := range sets {
			if err := s.UseRecoveryCode(ctx, user, set[0], at); err == nil {
				usable++
			}
		}
		if usable != 1 {
			t.Fatalf("round %d: the first code of %d sets is usable, want 1", r, usable)
		}
	}
}
