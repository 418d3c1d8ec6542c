package stack

import (
	"fmt"
	"html/template"
	"net/http"

	"github.com/ssokit/ssokit/internal/clientlimit"
	"github.com/ssokit/ssokit/internal/reqinfo"
	"github.com/ssokit/ssokit/sso"
)

// Defaults of Config.CallbackRateLimit and CallbackBurst: generous enough
// for a whole office signing in through one NAT address at nine o'clock,
// small enough that one address cannot keep the replicas verifying
// signatures.
const (
	defaultCallbackRate  = 10
	defaultCallbackBurst = 50
	// maxLimitedClients bounds the memory of a per-client limiter.
	maxLimitedClients = 100_000
)

// limitClients refuses a request past its client address's budget before it
// reaches h: a 429 with Retry-After, rendered by render as the protocol's
// own error page. The address comes from the shared trusted-proxy rule.
func limitClients(b *clientlimit.Buckets, clientIP func(*http.Request) string, component string,
	render func(http.ResponseWriter, *http.Request, error), h http.Handler) http.Handler {
	if clientIP == nil {
		clientIP = reqinfo.RemoteIP
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !b.Allow(clientIP(r)) {
			w.Header().Set("Retry-After", "1")
			render(w, r, fmt.Errorf("sso: %s: too many requests from this address: %w", component, sso.ErrRateLimited))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// tooManyPage is the default page of a refused sign-in request.
var tooManyPage = template.Must(template.New("429").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Too many sign-in attempts</title></head>
<body><h1>Too many sign-in attempts</h1>
<p>Your network sent more sign-in requests than we accept in a short time.
Wait a few seconds, then sign in again. If this keeps happening, contact your administrator.</p>
</body></html>`))

// renderTooMany is limitClients' renderer when the host set no
// Config.ErrorHandler: a 429 page that says what to do.
func renderTooMany(w http.ResponseWriter, _ *http.Request, _ error) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusTooManyRequests)
	_ = tooManyPage.Execute(w, nil)
}
