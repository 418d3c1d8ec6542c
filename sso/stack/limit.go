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

// errorPage is the page of a failed sign-in when the host set no
// Config.ErrorHandler: what happened and what to do next (Explain).
var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p>{{.What}}</p><p>{{.Next}}</p>{{if .Reason}}<p><small>Reference: {{.Reason}}</small></p>{{end}}
</body></html>`))

// renderExplained renders errorPage for err, with Explain's status.
func renderExplained(w http.ResponseWriter, _ *http.Request, err error) {
	e := Explain(err)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'")
	w.WriteHeader(e.Status)
	_ = errorPage.Execute(w, e)
}
