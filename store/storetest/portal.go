package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/portal"
)

func portalLink(id, org string, now time.Time) *portal.SetupLink {
	return &portal.SetupLink{ID: id, OrgID: org, Hash: "hash-" + id, Sections: []portal.Section{portal.SectionSSO, portal.SectionDomains},
		CreatedBy: sso.Actor{Type: sso.ActorOperator, ID: "support-1"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
}

func portalSession(id, org string, now time.Time) *portal.Session {
	return &portal.Session{ID: id, Hash: "hash-" + id, OrgID: org, Actor: sso.Actor{Type: portal.ActorSetupLink, ID: "psl_1"},
		LinkID: "psl_1", Sections: []portal.Section{portal.SectionDirectory}, CSRF: "csrf-" + id,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(8 * time.Hour)}
}

func runPortal(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	t.Run("LinkRoundTrip", func(t *testing.T) {
		s := newStores(t).Portal
		if _, err := s.GetLink(ctx, "psl_1"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("missing: got %v, want ErrNotFound", err)
		}
		in := portalLink("psl_1", "org_1", now)
		if err := s.CreateLink(ctx, in); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetLink(ctx, "psl_1")
		if err != nil || !reflect.DeepEqual(got, in) {
			t.Fatalf("got %+v, %v; want %+v", got, err, in)
		}
		if err := s.CreateLink(ctx, portalLink("psl_1", "org_1", now)); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("same ID: got %v, want ErrConflict", err)
		}
		dup := portalLink("psl_2", "org_1", now)
		dup.Hash = in.Hash
		if err := s.CreateLink(ctx, dup); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("same token hash: got %v, want ErrConflict", err)
		}
		for i, id := range []string{"psl_3", "psl_4"} {
			if err := s.CreateLink(ctx, portalLink(id, "org_1", now.Add(time.Duration(i+1)*time.Minute))); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateLink(ctx, portalLink("psl_9", "org_2", now)); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListLinks(ctx, "org_1")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, l := range list {
			ids = append(ids, l.ID)
		}
		if want := []string{"psl_4", "psl_3", "psl_1"}; !reflect.DeepEqual(ids, want) {
			t.Fatalf("ListLinks: got %v, want %v (newest first, one organization)", ids, want)
		}
	})
	t.Run("UseLinkOnceToStart", func(t *testing.T) {
		s := newStores(t).Portal
		if err := s.CreateLink(ctx, portalLink("psl_1", "org_1", now)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UseLink(ctx, "hash-unknown", now); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("unknown hash: got %v, want ErrNotFound", err)
		}
		at := now.Add(time.Minute)
		l, err := s.UseLink(ctx, "hash-psl_1", at)
		if err != nil || l.ID != "psl_1" || !l.UsedAt.Equal(at) {
			t.Fatalf("first use: got %+v, %v", l, err)
		}
		if _, err := s.UseLink(ctx, "hash-psl_1", at.Add(time.Second)); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("second use: got %v, want ErrConflict", err)
		}
		if got, _ := s.GetLink(ctx, "psl_1"); !got.UsedAt.Equal(at) {
			t.Fatalf("UsedAt %v after a refused use, want %v", got.UsedAt, at)
		}
	})
	t.Run("UseLinkExpired", func(t *testing.T) {
		s := newStores(t).Portal
		in := portalLink("psl_1", "org_1", now)
		if err := s.CreateLink(ctx, in); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UseLink(ctx, in.Hash, in.ExpiresAt); !errors.Is(err, sso.ErrExpired) {
			t.Fatalf("use at expiry: got %v, want ErrExpired", err)
		}
		if got, _ := s.GetLink(ctx, "psl_1"); !got.UsedAt.IsZero() {
			t.Fatalf("an expired link was marked used: %+v", got)
		}
		if _, err := s.UseLink(ctx, in.Hash, in.ExpiresAt.Add(-time.Microsecond)); err != nil {
			t.Fatalf("use just before expiry: %v", err)
		}
	})
	t.Run("RevokeLink", func(t *testing.T) {
		s := newStores(t).Portal
		in := portalLink("psl_1", "org_1", now)
		if err := s.CreateLink(ctx, in); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeLink(ctx, "org_2", "psl_1", now); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("revoke from another organization: got %v, want ErrNotFound", err)
		}
		if err := s.RevokeLink(ctx, "org_1", "psl_missing", now); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("revoke missing: got %v, want ErrNotFound", err)
		}
		at := now.Add(time.Minute)
		if err := s.RevokeLink(ctx, "org_1", "psl_1", at); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeLink(ctx, "org_1", "psl_1", at.Add(time.Hour)); err != nil {
			t.Fatalf("second revoke: %v", err)
		}
		if got, _ := s.GetLink(ctx, "psl_1"); !got.RevokedAt.Equal(at) {
			t.Fatalf("RevokedAt %v, want the first revocation %v", got.RevokedAt, at)
		}
		if _, err := s.UseLink(ctx, in.Hash, at); !errors.Is(err, sso.ErrExpired) {
			t.Fatalf("use of a revoked link: got %v, want ErrExpired", err)
		}
	})
	t.Run("SessionRoundTrip", func(t *testing.T) {
		s := newStores(t).Portal
		if _, err := s.GetSession(ctx, "hash-nope"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("missing: got %v, want ErrNotFound", err)
		}
		in := portalSession("psess_1", "org_1", now)
		if err := s.CreateSession(ctx, in); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSession(ctx, in.Hash)
		if err != nil || !reflect.DeepEqual(got, in) {
			t.Fatalf("got %+v, %v; want %+v (scope, actor and link kept)", got, err, in)
		}
		if !got.Allows(portal.SectionDirectory) || got.Allows(portal.SectionSSO) {
			t.Fatalf("scope %v", got.Sections)
		}
		dup := portalSession("psess_2", "org_1", now)
		dup.Hash = in.Hash
		if err := s.CreateSession(ctx, dup); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("same cookie hash: got %v, want ErrConflict", err)
		}
		// The idle timeout is measured from LastSeenAt.
		seen := now.Add(10 * time.Minute)
		if err := s.TouchSession(ctx, "psess_1", seen); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetSession(ctx, in.Hash); !got.LastSeenAt.Equal(seen) || !got.ExpiresAt.Equal(in.ExpiresAt) {
			t.Fatalf("after touch: LastSeenAt %v ExpiresAt %v", got.LastSeenAt, got.ExpiresAt)
		}
		if err := s.TouchSession(ctx, "psess_missing", seen); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("touch missing: got %v, want ErrNotFound", err)
		}
		if err := s.DeleteSession(ctx, "psess_1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSession(ctx, in.Hash); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("after delete: got %v, want ErrNotFound", err)
		}
		if err := s.DeleteSession(ctx, "psess_1"); err != nil {
			t.Fatalf("delete missing: %v", err)
		}
	})
	t.Run("SessionExpiryCleanup", func(t *testing.T) {
		s := newStores(t).Portal
		old := portalSession("psess_old", "org_1", now)
		if err := s.CreateSession(ctx, old); err != nil {
			t.Fatal(err)
		}
		live := portalSession("psess_live", "org_1", now.Add(time.Hour))
		if err := s.CreateSession(ctx, live); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSession(ctx, old.Hash); err != nil {
			t.Fatalf("a live session was removed: %v", err)
		}
		if err := s.CreateSession(ctx, portalSession("psess_new", "org_1", old.ExpiresAt)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSession(ctx, old.Hash); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("a session past its lifetime survived: %v", err)
		}
		if _, err := s.GetSession(ctx, live.Hash); err != nil {
			t.Fatalf("a live session was removed: %v", err)
		}
	})
	t.Run("Forms", func(t *testing.T) {
		s := newStores(t).Portal
		if err := s.CreateSession(ctx, portalSession("psess_1", "org_1", now)); err != nil {
			t.Fatal(err)
		}
		first, loc, err := s.ClaimForm(ctx, "psess_1", "form-a")
		if err != nil || !first || loc != "" {
			t.Fatalf("first claim: %v %q %v", first, loc, err)
		}
		if first, loc, err := s.ClaimForm(ctx, "psess_1", "form-a"); err != nil || first || loc != "" {
			t.Fatalf("claim while running: %v %q %v", first, loc, err)
		}
		if err := s.FinishForm(ctx, "psess_1", "form-a", "/connections/conn_1"); err != nil {
			t.Fatal(err)
		}
		if first, loc, err := s.ClaimForm(ctx, "psess_1", "form-a"); err != nil || first || loc != "/connections/conn_1" {
			t.Fatalf("claim after finish: %v %q %v", first, loc, err)
		}
		if first, _, err := s.ClaimForm(ctx, "psess_2", "form-a"); err != nil || !first {
			t.Fatalf("another session's token is its own: %v %v", first, err)
		}
		if err := s.DeleteSession(ctx, "psess_1"); err != nil {
			t.Fatal(err)
		}
		if first, _, err := s.ClaimForm(ctx, "psess_1", "form-a"); err != nil || !first {
			t.Fatalf("form tokens outlived their session: %v %v", first, err)
		}
	})
	t.Run("FormRetry", func(t *testing.T) {
		// A refused submission (portal.FormRetry) may be sent again: one
		// claim, of concurrent ones, takes it again; a finished one may not.
		s := newStores(t).Portal
		if first, _, err := s.ClaimForm(ctx, "psess_1", "form-r"); err != nil || !first {
			t.Fatalf("first claim: %v %v", first, err)
		}
		if err := s.FinishForm(ctx, "psess_1", "form-r", portal.FormRetry); err != nil {
			t.Fatal(err)
		}
		const n = 8
		var claimed atomic.Int32
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				first, loc, err := s.ClaimForm(ctx, "psess_1", "form-r")
				switch {
				case err != nil:
					t.Errorf("claim: %v", err)
				case first:
					claimed.Add(1)
				case loc != "":
					t.Errorf("a claim beside the retry saw location %q, want \"\" (running)", loc)
				}
			})
		}
		wg.Wait()
		if claimed.Load() != 1 {
			t.Fatalf("%d claims took the refused form again, want exactly one", claimed.Load())
		}
		if err := s.FinishForm(ctx, "psess_1", "form-r", "/sso"); err != nil {
			t.Fatal(err)
		}
		if first, loc, err := s.ClaimForm(ctx, "psess_1", "form-r"); err != nil || first || loc != "/sso" {
			t.Fatalf("claim after the retry finished: %v %q %v", first, loc, err)
		}
	})
	t.Run("ConcurrentUseAndClaim", func(t *testing.T) {
		s := newStores(t).Portal
		if err := s.CreateLink(ctx, portalLink("psl_1", "org_1", now)); err != nil {
			t.Fatal(err)
		}
		const n = 8
		var used, claimed atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for i := range n {
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, err := s.UseLink(ctx, "hash-psl_1", now.Add(time.Duration(i)*time.Millisecond))
				switch {
				case err == nil:
					used.Add(1)
				case !errors.Is(err, sso.ErrConflict):
					errs <- fmt.Errorf("use: %w", err)
				}
			}()
			go func() {
				defer wg.Done()
				first, _, err := s.ClaimForm(ctx, "psess_1", "form-x")
				if err != nil {
					errs <- fmt.Errorf("claim: %w", err)
				} else if first {
					claimed.Add(1)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if used.Load() != 1 || claimed.Load() != 1 {
			t.Fatalf("%d uses and %d first claims succeeded, want exactly one each", used.Load(), claimed.Load())
		}
	})
}
