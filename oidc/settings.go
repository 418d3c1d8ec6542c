package oidc

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/ssokit/ssokit/internal/mfactx"
	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/sso"
)

// settingErr refuses an admin's setting: the reason names the field
// ("invalid_" + field), Got the problem and Want the fix.
func settingErr(field, problem, fix string) error {
	return &sso.ValidationError{Protocol: Protocol, Reason: "invalid_" + field, Want: fix, Got: problem,
		Err: fmt.Errorf("%w: oidc: %s: %s (fix: %s)", sso.ErrInvalidInput, field, problem, fix)}
}

// maxACRValues bounds mfa_acr_values.
const maxACRValues = 10

// checkACRValues validates mfa_acr_values: at most maxACRValues distinct
// non-empty values of at most 256 printable characters without spaces.
func checkACRValues(vals []string) error {
	const fix = "list the acr values your IdP documents for multi-factor sign-in, e.g. " +
		"[\"http://schemas.openid.net/pape/policies/2007/06/multi-factor\"], or leave mfa_acr_values out for that default"
	if len(vals) > maxACRValues {
		return settingErr("mfa_acr_values", fmt.Sprintf("%d values, at most %d allowed", len(vals), maxACRValues), fix)
	}
	for i, v := range vals {
		if v == "" || len(v) > 256 || strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' || r == 0x7f }) >= 0 {
			return settingErr("mfa_acr_values", fmt.Sprintf("value %d is empty, too long or contains spaces, quotes or control characters", i+1), fix)
		}
		if slices.Contains(vals[:i], v) {
			return settingErr("mfa_acr_values", fmt.Sprintf("value %q is listed twice", v), fix)
		}
	}
	return nil
}

// maxHostedDomains bounds hosted_domains.
const maxHostedDomains = 50

// checkHostedDomains validates hosted_domains and returns them in
// canonical form: only for Google's issuer, at most maxHostedDomains
// distinct domain names.
func checkHostedDomains(issuer string, domains []string) ([]string, error) {
	const fix = "list your Google Workspace domains, e.g. [\"example.com\"]"
	if len(domains) == 0 {
		return nil, nil
	}
	if issuer != issuerGoogle {
		return nil, settingErr("hosted_domains", "set for an issuer other than Google's",
			"leave hosted_domains out, or use the issuer "+issuerGoogle)
	}
	if len(domains) > maxHostedDomains {
		return nil, settingErr("hosted_domains", fmt.Sprintf("%d domains, at most %d allowed", len(domains), maxHostedDomains), fix)
	}
	out := make([]string, 0, len(domains))
	for i, d := range domains {
		n, err := normalize.Domain(d)
		if err != nil {
			return nil, settingErr("hosted_domains", fmt.Sprintf("value %d is not a domain name", i+1), fix)
		}
		if slices.Contains(out, n) {
			return nil, settingErr("hosted_domains", fmt.Sprintf("%q is listed twice", n), fix)
		}
		out = append(out, n)
	}
	return out, nil
}

// checkHostedDomain checks a Google ID token's hd claim against oc: a
// Google Workspace account (hd present) of one of oc.HostedDomains when
// there are any. Other issuers pass.
func checkHostedDomain(oc *ConnectionConfig, hd string) error {
	if oc.Issuer != issuerGoogle {
		return nil
	}
	want := "a Google Workspace account (hd)"
	if len(oc.HostedDomains) > 0 {
		want = "hd in " + strings.Join(oc.HostedDomains, " ")
	}
	got := hd
	if got == "" {
		got = "no hd: a personal Google account"
	}
	if hd == "" || len(oc.HostedDomains) > 0 && !slices.Contains(oc.HostedDomains, strings.ToLower(hd)) {
		return mismatch(ReasonHostedDomainNotAllowed, want, got)
	}
	return nil
}

// checkRedirectURI validates a connection's own redirect_uri: a browser
// URI with a path, outside the RP's routes, and used by no other
// connection of the organization. It returns the value to store: "" when
// it is the connection's default redirect URI.
func (rp *RP) checkRedirectURI(ctx context.Context, c *sso.Connection, s string) (string, error) {
	const fix = "enter exactly the redirect URI registered at the IdP (https, or http on localhost), and route its path on this server to the OIDC handler"
	if s == "" || s == rp.RedirectURI(c.ID) {
		return "", nil
	}
	if err := checkBrowserURI("redirect_uri", s, fix); err != nil {
		return "", err
	}
	u, _ := url.Parse(s)
	switch {
	case u.Path == "" || u.Path == "/":
		return "", settingErr("redirect_uri", "has no path", fix)
	case u.RawQuery != "":
		return "", settingErr("redirect_uri", "has a query", fix)
	case strings.HasPrefix(s, rp.base):
		return "", settingErr("redirect_uri", "lies under the OIDC handler's own routes ("+rp.base+")", "leave redirect_uri out to use "+rp.RedirectURI(c.ID)+", or use a path outside "+rp.base)
	}
	if c.OrgID != "" {
		conns, err := rp.cfg.Connections.ListConnections(ctx, c.OrgID)
		if err != nil {
			return "", fmt.Errorf("oidc: list connections: %w", err)
		}
		for _, o := range conns {
			if oc := ConfigOf(o); o.ID != c.ID && oc != nil && oc.RedirectURI == s {
				return "", settingErr("redirect_uri", "already used by connection "+o.ID, "give each connection its own redirect URI")
			}
		}
	}
	return s, nil
}

// checkGroupOverage validates group_overage and graph_url.
func (rp *RP) checkGroupOverage(in *ConnectionInput, method string) error {
	switch {
	case in.GroupOverage == "" && in.GraphURL != "":
		return settingErr("graph_url", "set without group_overage", `set group_overage to "graph", or leave graph_url out`)
	case in.GroupOverage == "":
		return nil
	case in.GroupOverage != GroupOverageGraph:
		return settingErr("group_overage", fmt.Sprintf("unknown mode %q", in.GroupOverage), `use "graph", or leave group_overage out`)
	case method == "none":
		return settingErr("group_overage", "a public client (auth_method none) cannot get an app token",
			"use client_secret_basic, client_secret_post or private_key_jwt")
	}
	if in.GraphURL == "" {
		return nil
	}
	u, err := url.Parse(in.GraphURL)
	const fix = "use the Graph endpoint of your Microsoft cloud, e.g. https://graph.microsoft.com or https://graph.microsoft.us, without a path"
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return settingErr("graph_url", "not a bare absolute URL", fix)
	}
	if err := rp.checkRawURL(in.GraphURL); err != nil {
		return settingErr("graph_url", err.Error(), fix)
	}
	return nil
}

// configWarnings lists the settings of oc that weaken security, each
// with its fix, for the admin view.
func configWarnings(oc *ConnectionConfig) []string {
	var w []string
	for _, v := range oc.MFAACRValues {
		if !mfactx.IsContext(v) && !slices.Contains(DefaultMFAACRValues, v) {
			w = append(w, fmt.Sprintf("mfa_acr_values: %q is not a known multi-factor context, yet a login returning it as acr counts as MFA; "+
				"list only values your IdP returns after a second factor", v))
		}
	}
	if oc.GraphURL != "" && !isMicrosoftGraph(oc.GraphURL) {
		w = append(w, "graph_url: groups, and so roles, come from "+oc.GraphURL+", not a Microsoft Graph endpoint, which also receives an app token; use it only for a trusted directory")
	}
	if oc.Issuer == issuerGoogle && len(oc.HostedDomains) == 0 {
		w = append(w, "hosted_domains: every Google Workspace account can sign in through this client; list your Workspace's domains")
	}
	if strings.HasPrefix(oc.RedirectURI, "http:") {
		w = append(w, "redirect_uri: an http redirect URI sends authorization codes unencrypted; use it only for local development")
	}
	return w
}

// checkPostLogoutRedirectURI validates post_logout_redirect_uri.
func checkPostLogoutRedirectURI(s string) error {
	return checkBrowserURI("post_logout_redirect_uri", s,
		"use the absolute https URL of the page users land on after signing out, registered as a post-logout redirect URI at the IdP")
}

// checkBrowserURI validates a URI the IdP sends the browser to: empty, or
// an absolute https URL (http only on a loopback host) without userinfo
// or fragment, of at most 2048 bytes.
func checkBrowserURI(field, s, fix string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	switch {
	case len(s) > 2048:
		return settingErr(field, "longer than 2048 bytes", fix)
	case err != nil || !u.IsAbs() || u.Host == "":
		return settingErr(field, "not an absolute URL", fix)
	case u.User != nil || u.Fragment != "" || strings.HasSuffix(s, "#"):
		return settingErr(field, "has userinfo or a fragment", fix)
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
	default:
		return settingErr(field, "scheme "+u.Scheme+" is not https (http is allowed only on localhost)", fix)
	}
	return nil
}

// isLoopbackHost reports whether host is localhost or a loopback IP.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// microsoftGraphHosts are the Graph endpoints of Microsoft's clouds.
var microsoftGraphHosts = []string{"graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn"}

// isMicrosoftGraph reports whether raw is an https URL of a Microsoft
// Graph host.
func isMicrosoftGraph(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "https" && slices.Contains(microsoftGraphHosts, strings.ToLower(u.Hostname()))
}
