package stack

import (
	"fmt"
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

// renderExplained renders Explain's page for err: the Stack's page of a
// failed sign-in when the host set no Config.ErrorHandler.
func renderExplained(w http.ResponseWriter, r *http.Request, err error) {
	Explain(err).ServeHTTP(w, r)
}
