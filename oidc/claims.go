package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/mfactx"
	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/sso"
)

// UserInfo modes of ConnectionConfig.UserInfo.
const (
	UserInfoAuto   = "auto"
	UserInfoAlways = "always"
	UserInfoNever  = "never"
)

// Default claim names used when the connection's Mapping leaves a field empty.
const (
	DefaultEmailClaim       = "email"
	DefaultGivenNameClaim   = "given_name"
	DefaultFamilyNameClaim  = "family_name"
	DefaultDisplayNameClaim = "name"
	DefaultGroupsClaim      = "groups"
)

func claimName(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// needsUserInfo reports whether the "auto" mode calls userinfo: when the ID
// token lacks the email, every name claim, or an explicitly mapped groups
// claim.
func needsUserInfo(conn *sso.Connection, claims map[string]any) bool {
	mp := conn.Mapping
	if _, ok := claims[claimName(mp.Email, DefaultEmailClaim)]; !ok {
		return true
	}
	_, n1 := claims[claimName(mp.DisplayName, DefaultDisplayNameClaim)]
	_, n2 := claims[claimName(mp.GivenName, DefaultGivenNameClaim)]
	_, n3 := claims[claimName(mp.FamilyName, DefaultFamilyNameClaim)]
	if !n1 && !n2 && !n3 {
		return true
	}
	if mp.Groups != "" {
		if _, ok := claims[mp.Groups]; !ok {
			return true
		}
	}
	return false
}

// userInfo calls the userinfo endpoint when the connection's mode asks for
// it and merges nothing yet: it stores the response in vt after checking
// that its sub equals the ID token's (OIDC Core 5.3.2). A signed
// (application/jwt) response is verified with the connection's keys.
func (rp *RP) userInfo(ctx context.Context, conn *sso.Connection, m *metadata, vt *verifiedToken, accessToken string) error {
	switch ConfigOf(conn).UserInfo {
	case UserInfoNever:
		return nil
	case UserInfoAlways:
	default:
		if !needsUserInfo(conn, vt.claims) {
			return nil
		}
	}
	if m.UserInfoURL == "" || accessToken == "" {
		if ConfigOf(conn).UserInfo == UserInfoAlways {
			return invalid(ReasonUserInfoInvalid, errors.New("oidc: no userinfo endpoint or access token"))
		}
		return nil
	}
	body, mt, err := rp.fetch(ctx, docUserInfo, m.UserInfoURL, accessToken, maxUserInfoBytes)
	if err != nil {
		return upstreamFailure(ReasonUserInfoFailed, err)
	}
	if mt == "application/jwt" {
		t, err := rp.parseToken(strings.TrimSpace(string(body)))
		if err != nil {
			return invalid(ReasonUserInfoInvalid, err)
		}
		if !algAllowed(conn, m, t.hdr.Alg) {
			return mismatch(ReasonAlgNotAllowed, strings.Join(signingAlgs(conn, m), " "), t.hdr.Alg)
		}
		if err := rp.keySetFor(conn, m.JWKSURL).verify(ctx, t); err != nil {
			return signatureError(err)
		}
		body = t.payload
	}
	claims, err := decodeClaims(body)
	if err != nil {
		return invalid(ReasonUserInfoInvalid, err)
	}
	if mt == "application/jwt" {
		if iss, ok := claims["iss"]; ok && iss != vt.issuer && iss != vt.id.Issuer {
			return mismatch(ReasonIssuerMismatch, vt.issuer, truncate(fmt.Sprint(iss), 256))
		}
		if aud, ok := claims["aud"]; ok && !slices.Contains(stringsOf(aud), ConfigOf(conn).ClientID) {
			return mismatch(ReasonAudienceMismatch, ConfigOf(conn).ClientID, fmt.Sprint(aud))
		}
	}
	sub, _ := claims["sub"].(string)
	if sub == "" || sub != vt.id.Subject {
		return mismatch(ReasonUserInfoSubMismatch, vt.id.Subject, truncate(sub, 256))
	}
	vt.userinfo = claims
	return nil
}

// stringsOf returns a claim value as a list of strings: a string is one
// element, an array keeps its string elements, an object (Keycloak's
// organization claim) its keys in order.
func stringsOf(v any) []string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	case map[string]any:
		out := make([]string, 0, len(x))
		for k := range x {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	return nil
}

// rawStrings renders a claim value for Profile.Raw.
func rawStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case bool:
		if x {
			return []string{"true"}
		}
		return []string{"false"}
	case json.Number:
		return []string{x.String()}
	case nil:
		return nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, rawStrings(e)...)
		}
		return out
	}
	b, _ := json.Marshal(v)
	return []string{string(b)}
}

// vouchedFor reports whether addr, the normalized address of the mapped
// email claim, is the email claim of claims: email_verified (OIDC Core
// 5.1) speaks of that claim only, so an address mapped from another claim
// (a username the user may have chosen) counts as verified only when it
// is the same address.
func vouchedFor(claims map[string]any, addr string) bool {
	s, _ := claims[DefaultEmailClaim].(string)
	if s == "" {
		return false
	}
	got, _, err := normalize.Email(s)
	return err == nil && got == addr
}

// profile maps the verified claims (ID token first, then matching userinfo
// for claims the ID token lacks) to an sso.Profile.
func (rp *RP) profile(ctx context.Context, conn *sso.Connection, vt *verifiedToken) *sso.Profile {
	claims := vt.claims
	if vt.userinfo != nil {
		merged := make(map[string]any, len(claims)+len(vt.userinfo))
		for k, v := range vt.userinfo {
			merged[k] = v
		}
		for k, v := range claims {
			merged[k] = v
		}
		claims = merged
	}
	mp := conn.Mapping
	str := func(name string) string {
		s, _ := claims[name].(string)
		return s
	}
	p := &sso.Profile{
		Protocol:     Protocol,
		OrgID:        conn.OrgID,
		ConnectionID: conn.ID,
		Issuer:       vt.issuer,
		Subject:      vt.id.Subject,
		GivenName:    str(claimName(mp.GivenName, DefaultGivenNameClaim)),
		FamilyName:   str(claimName(mp.FamilyName, DefaultFamilyNameClaim)),
		DisplayName:  str(claimName(mp.DisplayName, DefaultDisplayNameClaim)),
		Groups:       stringsOf(claims[claimName(mp.Groups, DefaultGroupsClaim)]),
		AuthnContext: str("acr"),
		AMR:          stringsOf(claims["amr"]),
		SessionIndex: str("sid"),
		Raw:          make(map[string][]string, len(claims)),
	}
	if email := str(claimName(mp.Email, DefaultEmailClaim)); email != "" {
		if addr, _, err := normalize.Email(email); err == nil {
			p.Email = addr
			// Only a JSON boolean true counts: "true", 1 or absent do not.
			// The flag must come from the claim set that supplied the
			// address: an ID token's email_verified says nothing about a
			// different address from userinfo.
			src := vt.claims
			if _, ok := src[claimName(mp.Email, DefaultEmailClaim)]; !ok && vt.userinfo != nil {
				src = vt.userinfo
			}
			p.EmailVerified = src["email_verified"] == true && vouchedFor(src, addr)
		}
	}
	p.MFA = mfactx.HasMethod(p.AMR) || mfactx.IsContext(p.AuthnContext) ||
		(p.AuthnContext != "" && slices.Contains(mfaACRValues(ConfigOf(conn)), p.AuthnContext))
	if at, ok := claims["auth_time"].(json.Number); ok {
		if f, err := at.Float64(); err == nil && f > 0 {
			p.AuthTime = time.Unix(int64(f), 0).UTC()
		}
	}
	for k, v := range claims {
		if k == "_claim_sources" {
			continue
		}
		p.Raw[k] = rawStrings(v)
	}
	if org, ok := claims["organization"]; ok {
		p.Raw["organization"] = stringsOf(org)
	}
	if names, ok := claims["_claim_names"].(map[string]any); ok {
		groupsClaim := claimName(mp.Groups, DefaultGroupsClaim)
		if _, over := names[groupsClaim]; over || names["groups"] != nil {
			p.Raw["groups_overage"] = []string{"true"}
			rp.log.WarnContext(ctx, "oidc: group overage: the IdP left groups out of the token; configure group filtering or an app role claim",
				"connection", conn.ID)
		}
	}
	return p
}
