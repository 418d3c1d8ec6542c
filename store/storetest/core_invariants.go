package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// Invariants that a read and a later write could break when two writers
// each pass the read before either writes: each race runs many rounds so
// that a lost one, which is rare, shows.

// limitRounds is how many rounds each session-limit race runs, and
// limitRacers how many logins of one user contend in a round.
const (
	limitRounds = 12
	limitRacers = 12
	// sessionLimit is the per-user limit of the races.
	sessionLimit = 2
)

// createFunc creates session s of a login with limit.
type createFunc func(ctx context.Context, s *session.Session, limit int) ([]*session.Session, error)

func runSessionLimitRace(t *testing.T, newStores newStoresFunc) {
	t.Run("CreateSession", func(t *testing.T) {
		t.Parallel()
		st := newStores(t)
		sessionLimitRace(t, st.Sessions, func(ctx context.Context, s *session.Session, limit int) ([]*session.Session, error) {
			return st.Sessions.CreateSession(ctx, s, limit)
		})
	})
	t.Run("CreateLoginSession", func(t *testing.T) {
		t.Parallel()
		st := newStores(t)
		lw, isLW := st.Sessions.(session.LoginWriter)
		if !isLW {
			t.Skip("the session store does not implement session.LoginWriter (an optional capability)")
		}
		sessionLimitRace(t, st.Sessions, func(ctx context.Context, s *session.Session, limit int) ([]*session.Session, error) {
			ev := &sso.Event{ID: opaque.NewID("evt_"), OrgID: s.OrgID, Type: sso.EventLoginSucceeded, Time: sessionBase,
				Actor: sso.Actor{Type: sso.ActorUser, ID: s.UserID}, Outcome: sso.OutcomeSuccess}
			return lw.CreateLoginSession(ctx, s, limit, &sso.LoginWrites{Event: ev})
		})
	})
	t.Run("CreateLoginSessionIdentity", func(t *testing.T) {
		t.Parallel()
		st := newStores(t)
		lw, isLW := st.Sessions.(session.LoginWriter)
		if !isLW || st.Core == nil {
			t.Skip("needs a session store implementing session.LoginWriter (an optional capability) and Stores.Core")
		}
		ctx := t.Context()
		ok(t, st.Core.CreateOrg(ctx, newOrg("org_1", "acme")))
		for r := range limitRounds {
			user := fmt.Sprintf("usr_r%02d", r)
			ok(t, st.Core.Provision(ctx, newUser(user, user+"@example.com"), newMember("org_1", user),
				newIdentity("idn_"+user, "org_1", loginIssuer, "sub-"+user, user)))
		}
		sessionLimitRace(t, st.Sessions, func(ctx context.Context, s *session.Session, limit int) ([]*session.Session, error) {
			id := newIdentity("idn_"+s.UserID, "org_1", loginIssuer, "sub-"+s.UserID, s.UserID)
			id.LastLoginAt = s.CreatedAt
			return lw.CreateLoginSession(ctx, s, limit, &sso.LoginWrites{Identity: id})
		})
	})
}

// sessionLimitRace runs limitRounds rounds in which limitRacers logins of
// one user (a new one each round, so the first logins find no session to
// count) create a session each at once with limit sessionLimit. Afterwards
// at most the limit remain, every other session was reported evicted by
// some login, and no session reported evicted is left.
func sessionLimitRace(t *testing.T, s session.Store, create createFunc) {
	ctx := t.Context()
	for r := range limitRounds {
		user := fmt.Sprintf("usr_r%02d", r)
		created := make([]*session.Session, limitRacers)
		evicted := make([][]*session.Session, limitRacers)
		errs := make([]error, limitRacers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range limitRacers {
			created[i] = newTestSession(user, i)
			created[i].CreatedAt = sessionBase.Add(time.Duration(i) * time.Millisecond)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				evicted[i], errs[i] = create(ctx, created[i], sessionLimit)
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: login %d: %v", r, i, err)
			}
		}
		checkLimit(t, r, s, user, created, evicted)
	}
}

// checkLimit checks the sessions of user after a round.
func checkLimit(t *testing.T, round int, s session.Store, user string, created []*session.Session, evicted [][]*session.Session) {
	t.Helper()
	left, err := s.ListUserSessions(t.Context(), user)
	ok(t, err)
	if len(left) != sessionLimit {
		t.Errorf("round %d: %d sessions left after %d concurrent logins, want the limit %d: %v",
			round, len(left), len(created), sessionLimit, sessionIDs(left))
	}
	live := map[string]bool{}
	for _, l := range left {
		live[l.ID] = true
	}
	reported := map[string]bool{}
	for _, ev := range evicted {
		for _, e := range ev {
			reported[e.ID] = true
			if live[e.ID] {
				t.Errorf("round %d: session %s was reported evicted but is still stored", round, e.ID)
			}
		}
	}
	for _, c := range created {
		if !live[c.ID] && !reported[c.ID] {
			t.Errorf("round %d: session %s ended without being reported evicted", round, c.ID)
		}
	}
}
