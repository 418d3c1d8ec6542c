// Package reqinfo reads what the audit trail records about a request: the
// client address and user agent.
package reqinfo

import (
	"net"
	"net/http"

	"github.com/ssokit/ssokit/sso"
)

// RemoteIP returns the host part of r.RemoteAddr. It does not trust
// forwarding headers; hosts behind a proxy supply their own ClientIP
// function to the components.
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Audit returns the AuditInfo of r for actor: the client IP by
// clientIP (nil means RemoteIP, trusting no forwarding header) and the user
// agent, cut to 512 bytes.
func Audit(r *http.Request, actor sso.Actor, clientIP func(*http.Request) string) sso.AuditInfo {
	if clientIP == nil {
		clientIP = RemoteIP
	}
	ua := r.UserAgent()
	if len(ua) > 512 {
		ua = ua[:512]
	}
	return sso.AuditInfo{Actor: actor, IP: clientIP(r), UserAgent: ua}
}
