package saml

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/ssokit/ssokit/internal/mfactx"
	"github.com/ssokit/ssokit/sso"
)

// What a login asks of the IdP's authentication (sso.StartOptions) and
// the check at the ACS that it got it. RequireMFA sends a
// RequestedAuthnContext with the connection's MFA contexts and requires
// one the connection counts as multi-factor in the response; ForceAuthn,
// and MaxAge which implies it, send ForceAuthn="true" and require an
// AuthnInstant after the request was made (or within MaxAge).

// Reasons of the authentication checks.
const (
	// ReasonMFANotPerformed refuses a login that required MFA when the
	// assertion's AuthnContextClassRef is not one the connection counts as
	// multi-factor.
	ReasonMFANotPerformed = "mfa_not_performed"
	// ReasonAuthnTooOld refuses a login that asked for a fresh
	// authentication (ForceAuthn, MaxAge) when the AuthnInstant is older.
	ReasonAuthnTooOld = "authn_too_old"
)

// mfaComparisons are the RequestedAuthnContext Comparison values.
var mfaComparisons = []string{"exact", "minimum", "better", "maximum"}

// mfaRequestContexts are the contexts a login that requires MFA requests.
func mfaRequestContexts(cfg *ConnectionConfig) []string {
	if len(cfg.MFAAuthnContexts) > 0 {
		return cfg.MFAAuthnContexts
	}
	return DefaultMFAAuthnContexts
}

// countsAsMFA reports whether the connection counts the authentication
// context ref as multi-factor: one of its MFAAuthnContexts when it names
// some, else one the package recognises.
func countsAsMFA(cfg *ConnectionConfig, ref string) bool {
	if cfg != nil && len(cfg.MFAAuthnContexts) > 0 {
		return slices.Contains(cfg.MFAAuthnContexts, ref)
	}
	return mfactx.IsContext(ref)
}

// addRequestedAuthnContext appends the RequestedAuthnContext of a login
// that requires MFA to the AuthnRequest.
func addRequestedAuthnContext(req *etree.Element, cfg *ConnectionConfig) {
	rac := req.CreateElement("samlp:RequestedAuthnContext")
	cmp := cfg.MFAComparison
	if cmp == "" {
		cmp = "exact"
	}
	rac.CreateAttr("Comparison", cmp)
	for _, ref := range mfaRequestContexts(cfg) {
		rac.CreateElement("saml:AuthnContextClassRef").SetText(ref)
	}
}

// checkRequestedAuthn checks the verified profile against what the
// request asked for.
func (s *SP) checkRequestedAuthn(conn *sso.Connection, st *AuthnRequestState, p *sso.Profile, now time.Time) error {
	cfg := ConfigOf(conn)
	if st.RequireMFA && !p.MFA {
		want := "one of " + strings.Join(mfaRequestContexts(cfg), " ")
		if len(cfg.MFAAuthnContexts) == 0 {
			want = "one of " + strings.Join(mfactx.AuthnContexts, " ")
		}
		return &sso.ValidationError{Protocol: Protocol, Reason: ReasonMFANotPerformed, Want: want, Got: p.AuthnContext,
			Err: fmt.Errorf("saml: the login required multi-factor authentication and the IdP answered with the authentication context %q; "+
				"make the IdP require MFA for this application, or set the connection's MFA authentication contexts to the value it sends after MFA", p.AuthnContext)}
	}
	if !st.ForceAuthn && st.MaxAge <= 0 {
		return nil
	}
	skew := s.cfg.MaxClockSkew
	got := ""
	if !p.AuthTime.IsZero() {
		got = p.AuthTime.UTC().Format(time.RFC3339)
	}
	if p.AuthTime.IsZero() || p.AuthTime.Before(st.CreatedAt.Add(-skew)) {
		return &sso.ValidationError{Protocol: Protocol, Reason: ReasonAuthnTooOld,
			Want: "authenticated after " + st.CreatedAt.Add(-skew).UTC().Format(time.RFC3339), Got: got,
			Err: fmt.Errorf("saml: the login asked the IdP to authenticate the user again (ForceAuthn) and it reused an earlier authentication")}
	}
	if st.MaxAge > 0 && now.Sub(p.AuthTime) > st.MaxAge+skew {
		return &sso.ValidationError{Protocol: Protocol, Reason: ReasonAuthnTooOld,
			Want: "authenticated within " + st.MaxAge.String(), Got: got}
	}
	return nil
}

// checkMFASettings validates the MFA settings of a connection, naming the
// field and the fix.
func checkMFASettings(contexts []string, comparison string) error {
	if comparison != "" && !slices.Contains(mfaComparisons, comparison) {
		return &sso.FieldError{Field: "mfa_comparison", Reason: "invalid_mfa_comparison",
			Message: fmt.Sprintf("%q must be one of %s", truncate(comparison, 64), strings.Join(mfaComparisons, ", "))}
	}
	if len(contexts) > 16 {
		return &sso.FieldError{Field: "mfa_authn_contexts", Reason: "invalid_mfa_authn_contexts",
			Message: fmt.Sprintf("has %d values, at most 16 are allowed", len(contexts))}
	}
	for _, c := range contexts {
		u, err := url.Parse(c)
		if c == "" || len(c) > 1024 || strings.TrimSpace(c) != c || err != nil || u.Scheme == "" {
			return &sso.FieldError{Field: "mfa_authn_contexts", Reason: "invalid_mfa_authn_contexts",
				Message: fmt.Sprintf("value %q must be an absolute URI such as http://schemas.microsoft.com/claims/multipleauthn", truncate(c, 64))}
		}
	}
	return nil
}
