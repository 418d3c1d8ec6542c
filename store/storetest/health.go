package storetest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/health"
)

func runHealth(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	t.Run("RoundTrip", func(t *testing.T) {
		s := newStores(t).Health
		if _, err := s.GetHealth(ctx, "conn_1"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("missing: got %v, want ErrNotFound", err)
		}
		in := &health.Report{
			ConnectionID: "conn_1", OrgID: "org_1", Protocol: saml.Protocol, Status: health.Unhealthy,
			Reachable: false, Reason: "unreachable", Latency: 1500 * time.Microsecond, CheckedAt: now,
			LastHealthyAt: now.Add(-time.Hour), UnhealthySince: now.Add(-time.Minute), ConsecutiveFailures: 3, Keys: 2,
			Certificates:        []sso.CertificateInfo{{Subject: "CN=idp", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(240 * time.Hour), Fingerprint: "ab:cd"}},
			CertificateWarnings: map[string]int{"ab:cd": 30},
		}
		if err := s.PutHealth(ctx, in); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetHealth(ctx, "conn_1")
		if err != nil {
			t.Fatal(err)
		}
		if !healthEqual(got, in) {
			t.Fatalf("got %+v, want %+v", got, in)
		}
		// Returned records are copies.
		got.Certificates[0].Subject = "changed"
		got.CertificateWarnings["ab:cd"] = 7
		again, _ := s.GetHealth(ctx, "conn_1")
		if again.Certificates[0].Subject != "CN=idp" || again.CertificateWarnings["ab:cd"] != 30 {
			t.Fatalf("store shares memory with the caller: %+v", again)
		}
		// Put replaces the whole record.
		in2 := &health.Report{ConnectionID: "conn_1", OrgID: "org_1", Protocol: saml.Protocol, Status: health.Healthy, Reachable: true, CheckedAt: now.Add(time.Minute)}
		if err := s.PutHealth(ctx, in2); err != nil {
			t.Fatal(err)
		}
		got, err = s.GetHealth(ctx, "conn_1")
		if err != nil {
			t.Fatal(err)
		}
		if !healthEqual(got, in2) {
			t.Fatalf("after replace: got %+v, want %+v", got, in2)
		}
		if err := s.DeleteHealth(ctx, "conn_1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetHealth(ctx, "conn_1"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("after delete: got %v, want ErrNotFound", err)
		}
		if err := s.DeleteHealth(ctx, "conn_missing"); err != nil {
			t.Fatalf("delete missing: %v", err)
		}
	})
	t.Run("ClaimOncePerInterval", func(t *testing.T) {
		s := newStores(t).Health
		ok, err := s.ClaimHealthCheck(ctx, "conn_1", now, now.Add(-time.Minute))
		if err != nil || !ok {
			t.Fatalf("first claim: got %v, %v, want true", ok, err)
		}
		ok, err = s.ClaimHealthCheck(ctx, "conn_1", now.Add(10*time.Second), now.Add(10*time.Second-time.Minute))
		if err != nil || ok {
			t.Fatalf("claim within the interval: got %v, %v, want false", ok, err)
		}
		ok, err = s.ClaimHealthCheck(ctx, "conn_2", now.Add(10*time.Second), now.Add(10*time.Second-time.Minute))
		if err != nil || !ok {
			t.Fatalf("other connection: got %v, %v, want true", ok, err)
		}
		later := now.Add(61 * time.Second)
		ok, err = s.ClaimHealthCheck(ctx, "conn_1", later, later.Add(-time.Minute))
		if err != nil || !ok {
			t.Fatalf("claim after the interval: got %v, %v, want true", ok, err)
		}
		if err := s.DeleteHealth(ctx, "conn_1"); err != nil {
			t.Fatal(err)
		}
		ok, err = s.ClaimHealthCheck(ctx, "conn_1", later, later.Add(-time.Minute))
		if err != nil || !ok {
			t.Fatalf("claim after delete: got %v, %v, want true", ok, err)
		}
	})
}

func healthEqual(a, b *health.Report) bool {
	x, y := *a, *b
	if !x.CheckedAt.Equal(y.CheckedAt) || !x.LastHealthyAt.Equal(y.LastHealthyAt) || !x.UnhealthySince.Equal(y.UnhealthySince) {
		return false
	}
	x.CheckedAt, x.LastHealthyAt, x.UnhealthySince = time.Time{}, time.Time{}, time.Time{}
	y.CheckedAt, y.LastHealthyAt, y.UnhealthySince = time.Time{}, time.Time{}, time.Time{}
	if len(x.Certificates) != len(y.Certificates) {
		return false
	}
	for i := range x.Certificates {
		ca, cb := x.Certificates[i], y.Certificates[i]
		if !ca.NotAfter.Equal(cb.NotAfter) || !ca.NotBefore.Equal(cb.NotBefore) || ca.Subject != cb.Subject || ca.Fingerprint != cb.Fingerprint {
			return false
		}
	}
	x.Certificates, y.Certificates = nil, nil
	if len(x.CertificateWarnings) == 0 && len(y.CertificateWarnings) == 0 {
		x.CertificateWarnings, y.CertificateWarnings = nil, nil
	}
	return reflect.DeepEqual(x, y)
}

func runHealthRace(t *testing.T, newStores newStoresFunc) {
	s := newStores(t).Health
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	if ok, err := s.ClaimHealthCheck(ctx, "conn_race", now.Add(-time.Hour), now.Add(-2*time.Hour)); err != nil || !ok {
		t.Fatalf("seed claim: %v, %v", ok, err)
	}
	for round, fresh := range []string{"existing", "new"} {
		id := "conn_race"
		if fresh == "new" {
			id = "conn_race_new"
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.ClaimHealthCheck(ctx, id, now, now.Add(-time.Minute))
				if err != nil {
					t.Errorf("round %d: claim: %v", round, err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("%s claim: %d winners, want exactly 1", fresh, n)
		}
	}
}
