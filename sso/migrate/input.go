package migrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"strings"

	"github.com/ssokit/ssokit/sso"
)

// rowSettings maps the row's protocol columns to the keys of the
// protocol's settings object (saml.ConnectionInput, oidc.ConnectionInput).
var rowSettings = []struct{ column, key string }{
	{"idp_metadata_xml", "metadata_xml"},
	{"idp_metadata_url", "metadata_url"},
	{"sp_entity_id", "sp_entity_id"},
	{"acs_url", "acs_url"},
	{"sp_slo_url", "sp_slo_url"},
	{"sp_metadata_url", "sp_metadata_url"},
	{"redirect_uri", "redirect_uri"},
}

func (r *Row) setting(column string) string {
	switch column {
	case "idp_metadata_xml":
		return r.IdPMetadataXML
	case "idp_metadata_url":
		return r.IdPMetadataURL
	case "sp_entity_id":
		return r.SPEntityID
	case "acs_url":
		return r.ACSURL
	case "sp_slo_url":
		return r.SPSLOURL
	case "sp_metadata_url":
		return r.SPMetadataURL
	}
	return r.RedirectURI
}

// columnOf returns the row column that sets a settings key.
func columnOf(key string) string {
	for _, s := range rowSettings {
		if s.key == key {
			return s.column
		}
	}
	return ""
}

// protocolInput builds the protocol's settings object of a row: Config
// with the row's protocol columns added.
func protocolInput(r *Row) (json.RawMessage, *Issue) {
	obj := map[string]json.RawMessage{}
	if cfg := bytes.TrimSpace(r.Config); len(cfg) > 0 && string(cfg) != "null" {
		if cfg[0] != '{' || json.Unmarshal(cfg, &obj) != nil {
			return nil, &Issue{Field: "config", Reason: "invalid_config", Message: "must be a JSON object of the protocol's settings"}
		}
	}
	for _, s := range rowSettings {
		v := r.setting(s.column)
		if v == "" {
			continue
		}
		if _, dup := obj[s.key]; dup {
			return nil, &Issue{Field: s.column, Reason: "duplicate_setting", Message: "also set in config as " + s.key + ": set it once"}
		}
		b, _ := json.Marshal(v)
		obj[s.key] = b
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, &Issue{Field: "config", Reason: "invalid_config", Message: "must be a JSON object of the protocol's settings"}
	}
	return b, nil
}

var reUnknownField = regexp.MustCompile(`unknown field "([a-z_]+)"`)

// configureIssue turns a configurer's refusal into the row's issue, or
// returns nil for an internal failure.
func configureIssue(err error) *Issue {
	var fe *sso.FieldError
	var ve *sso.ValidationError
	msg := strings.TrimPrefix(err.Error(), sso.ErrInvalidInput.Error()+": ")
	switch {
	case errors.As(err, &fe):
		return &Issue{Field: rowField(fe.Field), Reason: fe.Reason, Message: fe.Message}
	case errors.Is(err, sso.ErrUnavailable):
		return &Issue{Field: "idp_metadata_url", Reason: "idp_unavailable", Message: "the IdP's document could not be fetched: check the URL, or give idp_metadata_xml"}
	case !errors.Is(err, sso.ErrInvalidInput) && !errors.As(err, &ve):
		return nil
	}
	if m := reUnknownField.FindStringSubmatch(msg); m != nil {
		if col := columnOf(m[1]); col != "" {
			return &Issue{Field: col, Reason: "not_a_setting", Message: "is not a setting of this protocol: leave it empty"}
		}
		return &Issue{Field: "config", Reason: "not_a_setting", Message: m[1] + " is not a setting of this protocol"}
	}
	field, reason := "config", "invalid_config"
	if errors.As(err, &ve) {
		reason = ve.Reason
		if f, ok := strings.CutPrefix(ve.Reason, "invalid_"); ok && f != "" {
			field = rowField(f)
		}
		msg = ve.Detail()
	}
	if field == "config" && strings.Contains(msg, "metadata") {
		field = "idp_metadata"
	}
	return &Issue{Field: field, Reason: reason, Message: clip(msg, 300)}
}

// rowField names a settings key as the row's column.
func rowField(key string) string {
	if col := columnOf(key); col != "" {
		return col
	}
	return key
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// SameConfiger is implemented by configurers that can tell whether two
// configurations of a connection are the same setup, ignoring what
// changes on every configuration without changing it (metadata fetch
// times, the nonces of sealed secrets). saml.SP and oidc.RP implement
// it; for others the stored documents are compared.
type SameConfiger interface {
	SameConfig(c *sso.Connection, a, b sso.ProtocolConfig) bool
}

// changes lists what differs between the stored connection and the
// candidate.
func changes(cf sso.ConnectionConfigurer, prev, c *sso.Connection) []string {
	var out []string
	if prev.DisplayName != c.DisplayName {
		out = append(out, "display_name")
	}
	if prev.Mapping != c.Mapping {
		out = append(out, "attribute_mapping")
	}
	same := false
	if sc, ok := cf.(SameConfiger); ok {
		same = sc.SameConfig(c, prev.Config, c.Config)
	} else {
		a, _, errA := sso.EncodeConfig(prev.Config)
		b, _, errB := sso.EncodeConfig(c.Config)
		same = errA == nil && errB == nil && bytes.Equal(a, b)
	}
	if !same {
		out = append(out, "config")
	}
	return out
}

// markConflicts marks rows that clash with an earlier row of the same
// import: the same connection, or the same SP endpoints (SAML entity ID
// and ACS URL, ACS URL alone, or OIDC redirect URI).
func markConflicts(p *Plan, cands []*sso.Connection) {
	type key struct{ kind, v string }
	seen := map[key]int{}
	claim := func(i int, k key, field, what string) {
		if k.v == "" {
			return
		}
		if j, dup := seen[k]; dup {
			it := &p.Items[i]
			it.Action = Invalid
			it.Issues = append(it.Issues, Issue{Field: field, Reason: "duplicate_in_import",
				Message: what + " as the row on line " + itoa(p.Items[j].Line) + ": give each connection its own"})
			return
		}
		seen[k] = i
	}
	for i := range p.Items {
		it := p.Items[i]
		if it.Action == Invalid {
			continue
		}
		claim(i, key{"conn", it.ConnectionID}, "name", "the same connection")
		claim(i, key{"name", it.Org + "\x00" + it.Name}, "name", "the same organization and name")
		if sp := it.SP; sp != nil {
			claim(i, key{"acs", sp.ACSURL}, "acs_url", "the same ACS URL")
			claim(i, key{"redirect", sp.RedirectURI}, "redirect_uri", "the same redirect URI")
			if p.Items[i].Action == Invalid {
				continue
			}
			// A path reaches one endpoint of one connection, whatever
			// the URL it serves (ACS, single logout, metadata).
			claim(i, key{"path", urlPath(sp.ACSURL)}, "acs_url", "the same path as a URL of")
			claim(i, key{"path", urlPath(sp.SLOURL)}, "sp_slo_url", "the same path as a URL of")
			claim(i, key{"path", urlPath(sp.MetadataURL)}, "sp_metadata_url", "the same path as a URL of")
		}
	}
	for i := range p.Items {
		if p.Items[i].Action == Invalid {
			cands[i] = nil
		}
	}
}

// urlPath is the path of a URL ("" when it has none or does not parse).
func urlPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return ""
	}
	return u.Host + u.Path
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
