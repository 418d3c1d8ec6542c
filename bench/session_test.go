package bench

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	"golang.org/x/sys/unix"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
)

// Both benchmarks serve the same authenticated read: a request carrying a
// valid session cookie reaches a handler that reads the user ID from the
// session. Compare with benchstat; the target is ssokit <= 1/2 of scs.

// BenchmarkSessionRead_SCS is scs LoadAndSave with its memstore.
func BenchmarkSessionRead_SCS(b *testing.B) {
	sm := scs.New()
	store := scsmem.NewWithCleanupInterval(0)
	sm.Store = store
	login := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := sm.RenewToken(r.Context()); err != nil {
			b.Fatal(err)
		}
		sm.Put(r.Context(), "user_id", "alice")
	}))
	w := httptest.NewRecorder()
	login.ServeHTTP(w, httptest.NewRequest("POST", "/login", nil))
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		b.Fatalf("scs login set %d cookies", len(cookies))
	}
	cookie := cookies[0]
	h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := sm.GetString(r.Context(), "user_id")
		if u == "" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(u))
	}))
	runRead(b, h, cookie)
}

// BenchmarkSessionRead_SSOKit is session.Manager Load + Require on
// memstore.
func BenchmarkSessionRead_SSOKit(b *testing.B) {
	ms := memstore.New()
	m, err := session.New(session.Config{Store: ms, Events: ms})
	if err != nil {
		b.Fatal(err)
	}
	w := httptest.NewRecorder()
	if _, err := m.Issue(w, httptest.NewRequest("POST", "/login", nil), &sso.SessionGrant{UserID: "alice", OrgID: "org_1"}); err != nil {
		b.Fatal(err)
	}
	cookie := w.Result().Cookies()[0]
	h := m.Load(m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := sso.PrincipalFrom(r.Context())
		_, _ = w.Write([]byte(p.UserID))
	})))
	runRead(b, h, cookie)
}

func runRead(b *testing.B, h http.Handler, cookie *http.Cookie) {
	b.ReportAllocs()
	b.ResetTimer()
	// The loop runs on a locked OS thread whose CPU time is reported as
	// cpu-ns/op: unlike ns/op it does not grow when the machine is shared.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var before, after unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_THREAD, &before)
	defer func() {
		_ = unix.Getrusage(unix.RUSAGE_THREAD, &after)
		cpu := unix.TimevalToNsec(after.Utime) + unix.TimevalToNsec(after.Stime) -
			unix.TimevalToNsec(before.Utime) - unix.TimevalToNsec(before.Stime)
		if b.N > 0 {
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		}
	}()
	for b.Loop() {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK || w.Body.String() != "alice" {
			b.Fatalf("status %d body %q", w.Code, w.Body.String())
		}
	}
}
