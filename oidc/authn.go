package oidc

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/ssokit/ssokit/internal/mfactx"
	"github.com/ssokit/ssokit/sso"
)

// DefaultMFAACRValues are the acr_values a login with
// sso.StartOptions.RequireMFA sends when the connection configures none:
// the OpenID PAPE multi-factor policy, which Auth0, Okta (as an alias) and
// others understand.
var DefaultMFAACRValues = []string{"http://schemas.openid.net/pape/policies/2007/06/multi-factor"}

// mfaACRValues returns the acr_values a RequireMFA login of conn asks for.
func mfaACRValues(oc *ConnectionConfig) []string {
	if len(oc.MFAACRValues) > 0 {
		return oc.MFAACRValues
	}
	return DefaultMFAACRValues
}

// authnParams records in f what opts ask of the IdP's authentication and
// returns the authorization request parameters that ask for it:
// acr_values for RequireMFA, max_age for MaxAge, prompt=login for
// ForceAuthn.
func authnParams(oc *ConnectionConfig, opts sso.StartOptions, f *Flow) []oauth2.AuthCodeOption {
	var out []oauth2.AuthCodeOption
	if opts.RequireMFA {
		f.RequireMFA = true
		f.ACRValues = strings.Join(mfaACRValues(oc), " ")
		out = append(out, oauth2.SetAuthURLParam("acr_values", f.ACRValues))
	}
	if opts.MaxAge > 0 {
		f.MaxAge = opts.MaxAge.Truncate(time.Second)
		out = append(out, oauth2.SetAuthURLParam("max_age", strconv.FormatInt(int64(f.MaxAge/time.Second), 10)))
	}
	if opts.ForceAuthn {
		f.ForceAuthn = true
		out = append(out, oauth2.SetAuthURLParam("prompt", "login"))
	}
	return out
}

// authTime returns the ID token's auth_time, if it is a positive JSON
// number.
func authTime(claims map[string]any) (time.Time, bool) {
	n, ok := claims["auth_time"].(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || f <= 0 || f > maxNumericDate || math.IsNaN(f) {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// checkAuthn verifies that the ID token's claims (never userinfo's) show
// the authentication the flow asked for: a multi-factor one (acr among the
// requested acr_values or a known MFA context, or amr with a second
// factor), one no older than MaxAge (auth_time required, OIDC Core
// 3.1.2.1), and, for ForceAuthn, one made after the request when the IdP
// states auth_time.
func (rp *RP) checkAuthn(f *Flow, claims map[string]any) error {
	skew, now := rp.cfg.MaxClockSkew, rp.now()
	acr, _ := claims["acr"].(string)
	amr := stringsOf(claims["amr"])
	if f.RequireMFA {
		if !(acr != "" && slices.Contains(strings.Fields(f.ACRValues), acr)) && !mfactx.IsContext(acr) && !mfactx.HasMethod(amr) {
			return &sso.ValidationError{Protocol: Protocol, Reason: ReasonMFANotPerformed,
				Want: "acr in [" + f.ACRValues + "] or a second factor in amr",
				Got:  fmt.Sprintf("acr %q, amr [%s]", truncate(acr, 256), truncate(strings.Join(amr, " "), 256)),
				Err: withFix(nil, "the IdP did not report a multi-factor sign-in: require MFA for this application at the IdP, "+
					"or set mfa_acr_values to the acr value your IdP returns for MFA")}
		}
	}
	at, hasAT := authTime(claims)
	if f.MaxAge > 0 {
		switch {
		case !hasAT:
			return &sso.ValidationError{Protocol: Protocol, Reason: ReasonAuthnTooOld, Want: "auth_time within " + f.MaxAge.String(),
				Got: "no auth_time", Err: withFix(nil, "the IdP ignored max_age: it must return auth_time when max_age is requested (OIDC Core 3.1.2.1)")}
		case now.Sub(at) > f.MaxAge+skew:
			return &sso.ValidationError{Protocol: Protocol, Reason: ReasonAuthnTooOld, Want: "auth_time within " + f.MaxAge.String(),
				Got: "authenticated " + now.Sub(at).Round(time.Second).String() + " ago",
				Err: withFix(nil, "the IdP reused an older sign-in: it must re-authenticate the user when max_age has passed")}
		}
	}
	if f.ForceAuthn && hasAT && at.Before(f.CreatedAt.Add(-skew)) {
		return &sso.ValidationError{Protocol: Protocol, Reason: ReasonAuthnTooOld,
			Want: "auth_time after " + f.CreatedAt.UTC().Format(time.RFC3339), Got: at.UTC().Format(time.RFC3339),
			Err: withFix(nil, "the IdP ignored prompt=login and reused an existing sign-in: allow forced re-authentication for this application")}
	}
	return nil
}

// stepUpOf returns the step-up a flow keeps for opts.
func stepUpOf(opts sso.StartOptions) sso.StepUp {
	if opts.StepUp == nil {
		return sso.StepUp{}
	}
	return *opts.StepUp
}
