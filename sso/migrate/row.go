package migrate

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ssokit/ssokit/sso"
)

// Row is one connection to import: what a previous SP knew of it.
type Row struct {
	// Line is the row's position in its source: the CSV line of the
	// record, or the JSON array index plus one. Set by the parsers.
	Line int `json:"-"`
	// ID, when set, names the connection to create or update; otherwise
	// the connection is found by Org and Name, and created with a new ID.
	ID string `json:"id,omitempty"`
	// Org is the organization's ID; empty means Options.OrgID.
	Org string `json:"org,omitempty"`
	// Name is the connection's display name.
	Name     string       `json:"name"`
	Protocol sso.Protocol `json:"protocol"`
	// IdPMetadataXML or IdPMetadataURL is the IdP's metadata (SAML).
	IdPMetadataXML string `json:"idp_metadata_xml,omitempty"`
	IdPMetadataURL string `json:"idp_metadata_url,omitempty"`
	// SPEntityID, ACSURL, SPSLOURL and SPMetadataURL are the SAML SP
	// entity ID, ACS URL, single logout URL and SP metadata URL the IdP
	// already has; RedirectURI the OIDC redirect URI it already has.
	SPEntityID    string `json:"sp_entity_id,omitempty"`
	ACSURL        string `json:"acs_url,omitempty"`
	SPSLOURL      string `json:"sp_slo_url,omitempty"`
	SPMetadataURL string `json:"sp_metadata_url,omitempty"`
	RedirectURI   string `json:"redirect_uri,omitempty"`
	// Config holds the protocol's other settings, as the protocol's own
	// JSON object (for OIDC: issuer, client_id, client_secret, ...).
	Config json.RawMessage `json:"config,omitempty"`
	// Mapping is the attribute mapping; nil keeps the connection's.
	Mapping *Mapping `json:"attribute_mapping,omitempty"`
}

// Mapping is a row's attribute mapping: the IdP attribute (SAML) or
// claim (OIDC) for each profile field; empty uses the protocol default.
type Mapping struct {
	Email       string `json:"email,omitempty"`
	GivenName   string `json:"given_name,omitempty"`
	FamilyName  string `json:"family_name,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	Groups      string `json:"groups,omitempty"`
}

// MaxRows bounds one import.
const MaxRows = 1000

// ErrFormat is a source that cannot be read as rows at all.
var ErrFormat = errors.New("migrate: unreadable import")

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: %w: "+format, append([]any{sso.ErrInvalidInput, ErrFormat}, args...)...)
}

// ParseJSON reads rows from a JSON array of Row objects, or an object
// {"connections": [...]}. Unknown fields are refused, naming the row.
func ParseJSON(r io.Reader) ([]Row, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, formatErr("read: %v", err)
	}
	b = bytes.TrimSpace(b)
	var raws []json.RawMessage
	if len(b) > 0 && b[0] == '{' {
		var wrap struct {
			Connections []json.RawMessage `json:"connections"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&wrap); err != nil {
			return nil, formatErr(`want {"connections": [...]} or an array of connections: %v`, err)
		}
		raws = wrap.Connections
	} else if err := json.Unmarshal(b, &raws); err != nil {
		return nil, formatErr(`want {"connections": [...]} or an array of connections: %v`, err)
	}
	if len(raws) > MaxRows {
		return nil, formatErr("%d rows, at most %d per import", len(raws), MaxRows)
	}
	rows := make([]Row, 0, len(raws))
	for i, raw := range raws {
		var row Row
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&row); err != nil {
			return nil, formatErr("row %d: %s", i+1, strings.TrimPrefix(err.Error(), "json: "))
		}
		row.Line = i + 1
		rows = append(rows, row)
	}
	return rows, nil
}

// csvColumns are the CSV header names, each setting one Row field.
var csvColumns = map[string]func(r *Row, v string){
	"id":               func(r *Row, v string) { r.ID = v },
	"org":              func(r *Row, v string) { r.Org = v },
	"name":             func(r *Row, v string) { r.Name = v },
	"protocol":         func(r *Row, v string) { r.Protocol = sso.Protocol(v) },
	"idp_metadata_xml": func(r *Row, v string) { r.IdPMetadataXML = v },
	"idp_metadata_url": func(r *Row, v string) { r.IdPMetadataURL = v },
	"sp_entity_id":     func(r *Row, v string) { r.SPEntityID = v },
	"acs_url":          func(r *Row, v string) { r.ACSURL = v },
	"sp_slo_url":       func(r *Row, v string) { r.SPSLOURL = v },
	"sp_metadata_url":  func(r *Row, v string) { r.SPMetadataURL = v },
	"redirect_uri":     func(r *Row, v string) { r.RedirectURI = v },
	"config": func(r *Row, v string) {
		if v != "" {
			r.Config = json.RawMessage(v)
		}
	},
	"map_email":        func(r *Row, v string) { mapping(r, v).Email = v },
	"map_given_name":   func(r *Row, v string) { mapping(r, v).GivenName = v },
	"map_family_name":  func(r *Row, v string) { mapping(r, v).FamilyName = v },
	"map_display_name": func(r *Row, v string) { mapping(r, v).DisplayName = v },
	"map_groups":       func(r *Row, v string) { mapping(r, v).Groups = v },
}

// mapping returns r's mapping, created on the first non-empty map_ cell.
func mapping(r *Row, v string) *Mapping {
	if v == "" {
		return &Mapping{}
	}
	if r.Mapping == nil {
		r.Mapping = &Mapping{}
	}
	return r.Mapping
}

// ParseCSV reads rows from CSV with a header line naming columns: id, org,
// name, protocol, idp_metadata_xml, idp_metadata_url, sp_entity_id,
// acs_url, sp_slo_url, sp_metadata_url, redirect_uri, config (a JSON
// object) and map_email,
// map_given_name, map_family_name, map_display_name, map_groups. Columns
// may come in any order; unknown ones are refused. A row whose map_
// cells are all empty keeps the connection's mapping.
func ParseCSV(r io.Reader) ([]Row, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 0
	header, err := cr.Read()
	if err != nil {
		return nil, formatErr("no CSV header line: %v", err)
	}
	sets := make([]func(*Row, string), len(header))
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		set, ok := csvColumns[h]
		if !ok {
			return nil, formatErr("unknown CSV column %q", h)
		}
		if seen[h] {
			return nil, formatErr("CSV column %q appears twice", h)
		}
		seen[h], sets[i] = true, set
	}
	var rows []Row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, formatErr("%v", err)
		}
		if len(rows) == MaxRows {
			return nil, formatErr("more than %d rows per import", MaxRows)
		}
		line, _ := cr.FieldPos(0)
		row := Row{Line: line}
		for i, v := range rec {
			sets[i](&row, strings.TrimSpace(v))
		}
		rows = append(rows, row)
	}
}
