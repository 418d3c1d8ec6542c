package admin_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/sso"
)

// staleTokens is a store on which, once armed (testkit.Between), the next
// read of the SCIM tokens is followed by between's change: another
// administrator's rotation lands between a rotation's read and its write.
type staleTokens struct {
	wholeStore
	testkit.Between
}

func (s *staleTokens) ListSCIMTokens(ctx context.Context, orgID string) ([]*sso.SCIMToken, error) {
	toks, err := s.wholeStore.ListSCIMTokens(ctx, orgID)
	s.Fire()
	return toks, err
}

// WithEvents and ExpireSCIMToken keep the store's capabilities visible
// through the wrapper.
func (s *staleTokens) WithEvents(evs ...*sso.Event) sso.Store {
	return s.wholeStore.(interface{ WithEvents(...*sso.Event) sso.Store }).WithEvents(evs...)
}

func (s *staleTokens) ExpireSCIMToken(ctx context.Context, id string, at time.Time) error {
	return s.wholeStore.(sso.SCIMTokenExpirer).ExpireSCIMToken(ctx, id, at)
}

// TestRotationsKeepTheShorterOverlap: an administrator rotates a leaked
// SCIM token with no overlap while another rotation, with a week's
// overlap, is under way. The leaked token stops working now; before, the
// slower rotation wrote back its copy and the token lived another week.
func TestRotationsKeepTheShorterOverlap(t *testing.T) {
	for _, b := range hookBackends {
		t.Run(b.name, func(t *testing.T) {
			inner, _ := b.open(t)
			st := &staleTokens{wholeStore: inner.(wholeStore)}
			f := newFixtureOn(t, st)
			a := f.orgA
			code, m := f.json(a, "POST", "/scim-tokens", `{"description":"Okta"}`)
			if code != http.StatusCreated {
				t.Fatalf("create: %d %v", code, m)
			}
			id := m["id"].(string)
			rotate := "/scim-tokens/" + id + "/rotate"
			st.Arm(0, func() {
				if code, m := f.json(a, "POST", rotate, `{"overlap_seconds":0}`); code != http.StatusCreated {
					t.Errorf("urgent rotation: %d %v", code, m)
				}
			})
			if code, m := f.json(a, "POST", rotate, `{"overlap_seconds":604800}`); code != http.StatusCreated {
				t.Fatalf("routine rotation: %d %v", code, m)
			}
			toks, err := inner.ListSCIMTokens(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range toks {
				if tok.ID == id && tok.Valid(time.Now().Add(time.Minute)) {
					t.Fatalf("the leaked token is valid until %v after a rotation with no overlap", tok.ExpiresAt)
				}
			}
		})
	}
}
