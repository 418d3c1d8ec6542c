package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

// A background or derived write of a connection (a metadata refresh, a
// test login's result) is made from a copy read seconds earlier. Written
// with UpdateConnection it undoes an administrator's change committed in
// between: a disabled connection comes back active, a removed certificate
// trusted. sso.ConditionalConnectionUpdater writes only while the stored
// connection is still the one read.

// conditional returns s's ConditionalConnectionUpdater, or skips the test
// when s has none (sso.UpdateConnectionIf then falls back to a read and a
// write, which narrows the race without closing it).
func conditional(t *testing.T, s sso.ConnectionStore) sso.ConditionalConnectionUpdater {
	t.Helper()
	cu, ok := s.(sso.ConditionalConnectionUpdater)
	if !ok {
		t.Skipf("storetest: %T does not implement sso.ConditionalConnectionUpdater", s)
	}
	return cu
}

// adminDisable disables connection id from a fresh read, as the admin API
// does, with a new UpdatedAt.
func adminDisable(ctx context.Context, s sso.ConnectionStore, id string, updated time.Time) error {
	c, err := s.GetConnection(ctx, id)
	if err != nil {
		return err
	}
	c.Status, c.UpdatedAt = sso.ConnectionDisabled, updated
	return s.UpdateConnection(ctx, c)
}

func runConnectionUpdateIf(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) sso.ConnectionStore { return s.Core }, []testCase[sso.ConnectionStore]{
		{"Unchanged", func(t *testing.T, ctx context.Context, s sso.ConnectionStore) {
			cu := conditional(t, s)
			ok(t, s.CreateConnection(ctx, newConn("conn_1", "org_1", saml.Protocol)))
			read, err := s.GetConnection(ctx, "conn_1")
			ok(t, err)
			c := *read
			c.DisplayName, c.UpdatedAt = "Refreshed", sso.NextUpdatedAt(read.UpdatedAt, read.UpdatedAt)
			ok(t, cu.UpdateConnectionIf(ctx, &c, read.UpdatedAt))
			got, err := s.GetConnection(ctx, "conn_1")
			ok(t, err)
			equal(t, "written", got, &c)
			// The version written is the one to compare with next.
			is(t, "second write from the same read", cu.UpdateConnectionIf(ctx, read, read.UpdatedAt), sso.ErrConflict)
			c.DisplayName = "Again"
			ok(t, cu.UpdateConnectionIf(ctx, &c, got.UpdatedAt))
		}},
		{"ChangedSinceRead", func(t *testing.T, ctx context.Context, s sso.ConnectionStore) {
			cu := conditional(t, s)
			ok(t, s.CreateConnection(ctx, newConn("conn_1", "org_1", saml.Protocol)))
			read, err := s.GetConnection(ctx, "conn_1")
			ok(t, err)
			ok(t, adminDisable(ctx, s, "conn_1", at(time.Hour)))
			want, err := s.GetConnection(ctx, "conn_1")
			ok(t, err)
			stale := *read
			saml.ConfigOf(&stale).MetadataXML, stale.UpdatedAt = "<new/>", at(2*time.Hour)
			err = cu.UpdateConnectionIf(ctx, &stale, read.UpdatedAt)
			is(t, "write from a copy read before the disable", err, sso.ErrConflict)
			if errors.Is(err, sso.ErrNotFound) {
				t.Errorf("a changed connection reported as missing: %v", err)
			}
			got, err := s.GetConnection(ctx, "conn_1")
			ok(t, err)
			equal(t, "after the refused write", got, want)
		}},
		{"NotFound", func(t *testing.T, ctx context.Context, s sso.ConnectionStore) {
			cu := conditional(t, s)
			c := newConn("nope", "org_1", saml.Protocol)
			is(t, "missing connection", cu.UpdateConnectionIf(ctx, c, c.UpdatedAt), sso.ErrNotFound)
			_, err := s.GetConnection(ctx, "nope")
			is(t, "conditional write of a missing connection created it", err, sso.ErrNotFound)
		}},
		{"Invalid", func(t *testing.T, ctx context.Context, s sso.ConnectionStore) {
			cu := conditional(t, s)
			ok(t, s.CreateConnection(ctx, newConn("conn_1", "org_1", saml.Protocol)))
			c := newConn("conn_1", "org_1", saml.Protocol)
			c.Status = "on"
			is(t, "invalid status", cu.UpdateConnectionIf(ctx, c, c.UpdatedAt), sso.ErrInvalidInput)
			got, err := s.GetConnection(ctx, "conn_1")
			ok(t, err)
			equal(t, "after the invalid write", got, newConn("conn_1", "org_1", saml.Protocol))
		}},
		{"Fallback", func(t *testing.T, ctx context.Context, s sso.ConnectionStore) {
			// sso.UpdateConnectionIf on a store seen only as a ConnectionStore
			// keeps the same contract, race aside.
			plain := struct{ sso.ConnectionStore }{s}
			ok(t, s.CreateConnection(ctx, newConn("conn_1", "org_1", saml.Protocol)))
			read, err := s.GetConnection(ctx, "conn_1")
			ok(t, err)
			ok(t, adminDisable(ctx, s, "conn_1", at(time.Hour)))
			is(t, "fallback write from a stale copy", sso.UpdateConnectionIf(ctx, plain, read, read.UpdatedAt), sso.ErrConflict)
			got, err := s.GetConnection(ctx, "conn_1")
			ok(t, err)
			if got.Status != sso.ConnectionDisabled {
				t.Errorf("status %q after a refused fallback write", got.Status)
			}
			prev := got.UpdatedAt
			got.DisplayName, got.UpdatedAt = "Renamed", at(2*time.Hour)
			ok(t, sso.UpdateConnectionIf(ctx, plain, got, prev))
		}},
	})
}

// updateIfRounds and updateIfRacers size ConnectionUpdateIfRace.
const (
	updateIfRounds = 10
	updateIfRacers = 8
)

func runConnectionUpdateIfRace(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) sso.ConnectionStore { return s.Core }, []testCase[sso.ConnectionStore]{
		{"OneWinnerAndAdminKept", func(t *testing.T, ctx context.Context, s sso.ConnectionStore) {
			cu := conditional(t, s)
			for r := range updateIfRounds {
				id := fmt.Sprintf("conn_%02d", r)
				ok(t, s.CreateConnection(ctx, newConn(id, "org_1", saml.Protocol)))
				read, err := s.GetConnection(ctx, id)
				ok(t, err)
				var (
					wg   sync.WaitGroup
					mu   sync.Mutex
					won  int
					errs []error
				)
				start := make(chan struct{})
				for i := range updateIfRacers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						if i == 0 {
							// The administrator disables the connection.
							if err := adminDisable(ctx, s, id, at(time.Hour)); err != nil {
								mu.Lock()
								errs = append(errs, err)
								mu.Unlock()
							}
							return
						}
						// A stale background writer, from the copy read before.
						c := *read
						c.DisplayName = fmt.Sprintf("refresh %d", i)
						c.UpdatedAt = read.UpdatedAt.Add(time.Duration(i) * time.Second)
						err := cu.UpdateConnectionIf(ctx, &c, read.UpdatedAt)
						mu.Lock()
						defer mu.Unlock()
						switch {
						case err == nil:
							won++
						case !errors.Is(err, sso.ErrConflict):
							errs = append(errs, err)
						}
					}()
				}
				close(start)
				wg.Wait()
				for _, err := range errs {
					t.Fatalf("round %d: %v", r, err)
				}
				if won > 1 {
					t.Fatalf("round %d: %d conditional writes from one read succeeded, want at most 1", r, won)
				}
				got, err := s.GetConnection(ctx, id)
				ok(t, err)
				if got.Status != sso.ConnectionDisabled {
					t.Fatalf("round %d: status %q, want the administrator's disable to survive the stale writers", r, got.Status)
				}
			}
		}},
	})
}
