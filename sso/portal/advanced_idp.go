package portal

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/ssokit/ssokit/sso"
)

// storedSAML is the identity provider side of a stored SAML configuration,
// read from its JSON form so the portal does not depend on the protocol
// package.
type storedSAML struct {
	MetadataURL, MetadataXML string
	IdPEntityID, SSOURL      string
	Certificates             []string
}

// idpInput is the configuration input that keeps c's identity provider
// side as it is: the admin API configures a connection as a whole, so a
// change of an advanced setting sends it again. A SAML connection with a
// metadata URL downloads it again.
func (p *Portal) idpInput(r *http.Request, s *Session, c *connRow) (map[string]any, error) {
	in := map[string]any{}
	switch c.Protocol {
	case "saml":
		sc, err := p.cfg.Admin.Store.GetConnection(r.Context(), c.ID)
		if err != nil {
			return nil, err
		}
		if sc.OrgID != s.OrgID {
			return nil, fmt.Errorf("portal: connection %s: %w", c.ID, sso.ErrNotFound)
		}
		b, err := json.Marshal(sc.Config)
		if err != nil {
			return nil, fmt.Errorf("portal: read SAML configuration: %w", err)
		}
		var st storedSAML
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("portal: read SAML configuration: %w", err)
		}
		switch {
		case st.MetadataURL != "":
			in["metadata_url"] = st.MetadataURL
		case st.MetadataXML != "":
			in["metadata_xml"] = st.MetadataXML
		default:
			in["idp_entity_id"], in["sso_url"], in["certificates"] = st.IdPEntityID, st.SSOURL, st.Certificates
		}
	case "oidc":
		// Absent OIDC settings are cleared, so every one in use is sent.
		keys := []string{"issuer", "client_id", "auth_method", "authorization_endpoint", "token_endpoint",
			"userinfo_endpoint", "jwks_uri", "scopes"}
		if viewValue(c.Raw, "authorization_endpoint") != "" {
			keys = append(keys, "end_session_endpoint")
		}
		for _, f := range oidcAdvanced {
			keys = append(keys, f.Name)
		}
		addInUse(in, c.Raw, keys)
	default:
		return nil, fmt.Errorf("%w: portal: no advanced settings for protocol %s", sso.ErrInvalidInput, c.Protocol)
	}
	return in, nil
}

// withAdvancedInUse adds to an OIDC connection's identity provider input
// (from the connection page) the advanced settings in use that it does not
// set: the admin API configures a connection as a whole, so saving the
// identity provider side alone would clear them. The Google Workspace
// domains travel only while the issuer stays Google's, the only one they
// apply to.
func withAdvancedInUse(cfg json.RawMessage, c *connRow) (json.RawMessage, error) {
	if c.Protocol != "oidc" || c.Raw == nil {
		return cfg, nil
	}
	in := map[string]any{}
	if err := json.Unmarshal(cfg, &in); err != nil {
		return nil, fmt.Errorf("portal: read configuration input: %w", err)
	}
	var keys []string
	for _, f := range oidcAdvanced {
		if f.Name != "hosted_domains" || in["issuer"] == googleIssuer {
			keys = append(keys, f.Name)
		}
	}
	addInUse(in, c.Raw, keys)
	return json.Marshal(in)
}

// addInUse sets in[k], for each of keys in does not set yet, to its value
// in the configuration view raw when that is a non-empty string or list.
func addInUse(in, raw map[string]any, keys []string) {
	for _, k := range keys {
		if _, set := in[k]; set {
			continue
		}
		switch v := raw[k].(type) {
		case string:
			if v != "" {
				in[k] = v
			}
		case []any:
			if len(v) > 0 {
				in[k] = v
			}
		}
	}
}

// googleIssuer is Google's OIDC issuer, the only one hosted_domains
// applies to.
const googleIssuer = "https://accounts.google.com"
