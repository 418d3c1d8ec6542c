package portal

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
)

// advField is a per-connection setting on the advanced settings page. Name
// is its key in the protocol's configuration input and view.
type advField struct {
	Name, Label, Help string
	// Kind is "text", "url", "list" (space separated), "select" or
	// "switch" (yes/no).
	Kind    string
	Options []advOption
	// Weakens is the value that lowers security ("true", "false" or a
	// select option); choosing it needs a confirmation and Risk says why.
	Weakens []string
	Risk    string
}

type advOption struct{ Value, Label string }

var samlAdvanced = []advField{
	{Name: "sp_entity_id", Label: "Our entity ID (audience) for this connection", Kind: "text",
		Help: "Only when moving from another single sign-on provider: enter the entity ID your identity provider already has, so it needs no change. Leave empty for ours."},
	{Name: "acs_url", Label: "Our Assertion Consumer Service URL for this connection", Kind: "url",
		Help: "Only when moving from another provider: the reply URL your identity provider already sends to. It must be on this application's address. Leave empty for ours."},
	{Name: "sp_slo_url", Label: "Our single logout URL for this connection", Kind: "url",
		Help: "Only when moving from another provider: the logout URL your identity provider already sends sign-outs to. It must be on this application's address. Leave empty for ours."},
	{Name: "sp_metadata_url", Label: "Our metadata URL for this connection", Kind: "url",
		Help: "Only when moving from another provider whose metadata address your identity provider reads: we publish our metadata there too. Leave empty for ours."},
	{Name: "mfa_authn_contexts", Label: "Authentication contexts that count as multi-factor", Kind: "list",
		Help: "Requested when a sign-in needs multi-factor authentication, separated by spaces. Clear the field to use the usual values of common identity providers."},
	{Name: "mfa_comparison", Label: "How the identity provider may match those contexts", Kind: "select",
		Options: []advOption{{"exact", "Exactly one of them (recommended)"}, {"minimum", "At least as strong"}, {"better", "Stronger"}, {"maximum", "At most as strong"}},
		Weakens: []string{"minimum", "better"},
		Risk:    "The identity provider may answer with a context we do not count as multi-factor, so sign-ins that need it may be refused."},
	{Name: "enforce_certificate_dates", Label: "Refuse signatures made with an expired certificate", Kind: "switch", Weakens: []string{"false"},
		Risk: "Signatures made with an expired identity provider certificate will be accepted (with a warning here)."},
	{Name: "require_signed_metadata", Label: "Require signed metadata", Kind: "switch", Weakens: []string{"false"},
		Risk: "Metadata updates will be accepted without a signature from the identity provider."},
	{Name: "allow_rsa15_key_transport", Label: "Accept the old RSA 1.5 encryption for encrypted assertions", Kind: "switch", Weakens: []string{"true"},
		Risk: "Encrypted assertions may use RSA 1.5 key transport, which is open to known attacks."},
	{Name: "allow_idp_initiated", Label: "Accept sign-ins started at the identity provider", Kind: "switch", Weakens: []string{"true"},
		Help: "Only for identity providers that cannot send people to this application to start signing in (for example from an app portal tile).",
		Risk: "A signed response someone intercepts can be replayed to sign in as that person for a few minutes."},
	{Name: "allow_sha1", Label: "Accept SHA-1 signatures", Kind: "switch", Weakens: []string{"true"},
		Risk: "SHA-1 signatures can be forged: someone could sign in as anyone in your organization."},
	{Name: "allow_response_signature_only", Label: "Accept a signed response whose assertion is not signed", Kind: "switch", Weakens: []string{"true"},
		Risk: "The person's details are accepted without a signature of their own, which some attacks on XML signatures rely on."},
	{Name: "sign_authn_requests", Label: "Sign our sign-in requests", Kind: "switch",
		Help: "Turn on when your identity provider requires signed requests; it checks them with the certificate in our metadata."},
	{Name: "require_encrypted_assertions", Label: "Require encrypted assertions", Kind: "switch", Weakens: []string{"false"},
		Risk: "Assertions may arrive unencrypted, so the person's details can be read where the response passes."},
}

var oidcAdvanced = []advField{
	{Name: "redirect_uri", Label: "Redirect URI for this connection", Kind: "url",
		Help: "Only when moving from another single sign-on provider: the redirect URI already registered at your identity provider. Leave empty for ours."},
	{Name: "post_logout_redirect_uri", Label: "Where your identity provider returns people after signing out", Kind: "url",
		Help: "Must be registered at your identity provider. Leave empty for its own signed-out page."},
	{Name: "mfa_acr_values", Label: "Authentication context (acr) values that count as multi-factor", Kind: "list",
		Help: "Sent as acr_values when a sign-in needs multi-factor authentication, separated by spaces. Leave empty for the usual values."},
	{Name: "hosted_domains", Label: "Google Workspace domains allowed to sign in", Kind: "list",
		Help: "Only for Google (issuer https://accounts.google.com): your Workspace domains, separated by spaces. " +
			"Leave empty to admit any Workspace account. Personal Google accounts are always refused."},
	{Name: "group_overage", Label: "Groups Microsoft Entra ID leaves out of the token", Kind: "select",
		Options: []advOption{{"", "Use only the groups in the token"}, {"graph", "Look them up in Microsoft Graph"}},
		Help:    "Entra ID leaves groups out when a person is in many. The lookup needs the Graph permission GroupMember.Read.All for this app; a failed lookup refuses the sign-in."},
	{Name: "graph_url", Label: "Microsoft Graph address", Kind: "url",
		Help: "Only for national clouds (for example https://graph.microsoft.us). Leave empty for the global service."},
}

// advancedFields are the per-connection settings of protocol.
func advancedFields(protocol sso.Protocol) []advField {
	switch protocol {
	case "saml":
		return samlAdvanced
	case "oidc":
		return oidcAdvanced
	}
	return nil
}

// advInput is a field as the page shows it.
type advInput struct {
	advField
	ID, Value string
	Invalid   bool
}

// viewValue is the value in use of a configuration view's key, as a form
// shows it.
func viewValue(raw map[string]any, name string) string {
	switch v := raw[name].(type) {
	case bool:
		return fmt.Sprint(v)
	case string:
		return v
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			parts = append(parts, fmt.Sprint(e))
		}
		return strings.Join(parts, " ")
	}
	return ""
}

func (p *Portal) ssoAdvanced(w http.ResponseWriter, r *http.Request, _ *Session) error {
	c, err := p.connection(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	p.renderAdvanced(w, r, http.StatusOK, c, nil, "")
	return nil
}

func (p *Portal) renderAdvanced(w http.ResponseWriter, r *http.Request, status int, c *connRow, pr *problem, notice string) {
	var in []advInput
	for i, f := range advancedFields(c.Protocol) {
		v := viewValue(c.Raw, f.Name)
		if r.Method == http.MethodPost && pr != nil {
			v = strings.TrimSpace(r.PostFormValue(f.Name)) // keep what was typed
		}
		in = append(in, advInput{advField: f, ID: fmt.Sprintf("a-%d", i), Value: v,
			Invalid: pr != nil && pr.Field == f.Name})
	}
	var warnings []string
	if ws, ok := c.Raw["warnings"].([]any); ok {
		for _, w := range ws {
			warnings = append(warnings, fmt.Sprint(w))
		}
	}
	p.render(w, r, status, "sso_advanced", &page{Title: "Advanced settings: " + c.DisplayName, Section: string(SectionSSO),
		Problem: pr, Notice: notice,
		Data: map[string]any{"C": c, "Inputs": in, "Warnings": warnings, "Configured": c.Raw != nil}})
}

// ssoSaveAdvanced saves the advanced settings: the identity provider side
// in use is sent again with them, since the admin API configures a
// connection as a whole.
func (p *Portal) ssoSaveAdvanced(w http.ResponseWriter, r *http.Request, s *Session) error {
	c, err := p.connection(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	if c.Raw == nil {
		p.renderAdvanced(w, r, http.StatusConflict, c, explain(fieldErr("config",
			"is not set up yet: paste your identity provider's details on the connection page first")), "")
		return nil
	}
	changed, weak, risks, err := advancedChanges(r, advancedFields(c.Protocol), c.Raw)
	if err != nil {
		p.renderAdvanced(w, r, http.StatusBadRequest, c, explain(err), "")
		return nil
	}
	if len(changed) == 0 {
		p.renderAdvanced(w, r, http.StatusOK, c, nil, "Nothing changed: the values below are the ones in use.")
		return nil
	}
	in, err := p.idpInput(r, s, c)
	if err != nil {
		return err
	}
	for k, v := range changed {
		in[k] = v
	}
	if c.Status == sso.ConnectionActive || len(weak) > 0 {
		d := confirmData{Consequence: "Save the advanced settings?", Weakens: risks, Button: "Save settings",
			Back: p.basePath + "/connections/" + c.ID + "/advanced"}
		if c.Status == sso.ConnectionActive {
			d.Consequence = "This connection is active. Changing its settings turns it off until a new test sign-in passes and you activate it again; meanwhile people cannot sign in with it."
			d.Button = "Change settings and turn off"
		}
		if len(weak) > 0 {
			d.Button = "Lower security and save"
		}
		if !p.confirmed(w, r, "Change the advanced settings?", d) {
			return nil
		}
	}
	cfg, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("portal: encode settings: %w", err)
	}
	if err := p.call(r, http.MethodPatch, "/connections/"+urlPath(c.ID), admin.UpdateConnectionRequest{Config: cfg}, nil); err != nil {
		p.renderAdvanced(w, r, statusOf(err), c, advancedProblem(err, advancedFields(c.Protocol)), "")
		return nil
	}
	// The admin API records the confirmed weakening (EventSecurityWeakened).
	p.redirect(w, r, "/connections/"+c.ID+"/advanced", "saved_retest")
	return nil
}

// advancedChanges reads the form's fields and returns those whose value
// differs from the one in use (as configuration input), and the names and
// risks of the ones that lower security.
func advancedChanges(r *http.Request, fields []advField, raw map[string]any) (changed map[string]any, weak, risks []string, err error) {
	changed = map[string]any{}
	for _, f := range fields {
		if _, sent := r.PostForm[f.Name]; !sent {
			continue
		}
		v := strings.TrimSpace(r.PostFormValue(f.Name))
		if len(v) > 2048 {
			return nil, nil, nil, fieldErr(f.Name, "is too long")
		}
		cur := viewValue(raw, f.Name)
		switch f.Kind {
		case "switch":
			if v != "true" && v != "false" {
				return nil, nil, nil, fieldErr(f.Name, "must be yes or no")
			}
		case "select":
			if !slices.ContainsFunc(f.Options, func(o advOption) bool { return o.Value == v }) {
				return nil, nil, nil, fieldErr(f.Name, "must be one of the choices offered")
			}
		case "list":
			v = strings.Join(strings.Fields(v), " ")
		}
		if v == cur {
			continue
		}
		switch f.Kind {
		case "switch":
			changed[f.Name] = v == "true"
		case "list":
			changed[f.Name] = append([]string{}, strings.Fields(v)...)
		default:
			changed[f.Name] = v
		}
		if slices.Contains(f.Weakens, v) {
			weak, risks = append(weak, f.Name), append(risks, f.Risk)
		}
	}
	return changed, weak, risks, nil
}

// advancedProblem explains an error of the admin API about the settings.
// The API names the setting at fault as "config.<setting>"; a problem of
// the configuration as a whole ("config") is about the identity provider
// side and is shown above the form.
func advancedProblem(err error, fields []advField) *problem {
	pr := explain(err)
	var ae *apiError
	if !errors.As(err, &ae) || (ae.Field != "config" && !strings.HasPrefix(ae.Field, "config.")) {
		return pr
	}
	name := strings.TrimPrefix(ae.Field, "config.")
	for _, f := range fields {
		if f.Name == name {
			pr.Field = f.Name
			pr.What = "“" + f.Label + "” could not be used."
			return pr
		}
	}
	pr.Field = ""
	return pr
}
