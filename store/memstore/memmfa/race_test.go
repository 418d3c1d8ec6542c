package memmfa_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memmfa"
)

// TestReplaceRecoveryCodesRace regenerates a user's recovery codes from
// several goroutines at once: afterwards the user holds exactly one set.
func TestReplaceRecoveryCodesRace(t *testing.T) {
	const rounds, writers, codes = 15, 6, 10
	s := memmfa.New(memstore.New())
	ctx := context.Background()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for r := range rounds {
		user := fmt.Sprintf("u%d", r)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range writers {
			set := make([]string, codes)
			for c := range set {
				set[c] = fmt.Sprintf("h-%d-%d", w, c)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if err := s.ReplaceRecoveryCodes(ctx, user, set, at); err != nil {
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if n, err := s.CountRecoveryCodes(ctx, user); err != nil || n != codes {
			t.Fatalf("round %d: %d codes, %v; want %d (one set)", r, n, err, codes)
		}
	}
}
