package scim

import (
	"net/http"
	"strings"
)

// Discovery documents are the same for every organization and reveal
// nothing about any of them, so they are served without authentication
// (RFC 7644 §4).

func (h *Handler) serveSPConfig(w http.ResponseWriter, r *http.Request) {
	h.writeJSON(w, http.StatusOK, map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": h.cfg.MaxResults},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": true},
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{
			"type": "oauthbearertoken", "name": "OAuth Bearer Token",
			"description": "Authentication with a per-organization bearer token", "primary": true,
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": h.base + "/ServiceProviderConfig"},
	})
}

func (h *Handler) schemaDocs() []map[string]any {
	var out []map[string]any
	docs := []map[string]any{coreUser.ToMap(), enterprise.ToMap(), coreGroup.ToMap()}
	for _, urn := range h.cfg.UserSchemaExtensions {
		docs = append(docs, map[string]any{
			"id": urn, "name": urn[strings.LastIndexByte(urn, ':')+1:],
			"description": "Customer-defined User extension, stored and returned as sent",
			"attributes":  []any{},
		})
	}
	for _, s := range docs {
		s["schemas"] = []string{"urn:ietf:params:scim:schemas:core:2.0:Schema"}
		s["meta"] = map[string]any{"resourceType": "Schema", "location": h.base + "/Schemas/" + s["id"].(string)}
		out = append(out, s)
	}
	return out
}

func (h *Handler) serveSchemas(w http.ResponseWriter, r *http.Request) {
	h.serveDocs(w, r, h.schemaDocs(), "no such schema")
}

// serveDocs answers a discovery request: the document whose id is the {id}
// path value (case-insensitively), or all of docs as a ListResponse.
func (h *Handler) serveDocs(w http.ResponseWriter, r *http.Request, docs []map[string]any, notFound string) {
	if id := r.PathValue("id"); id != "" {
		for _, d := range docs {
			if strings.EqualFold(d["id"].(string), id) {
				h.writeJSON(w, http.StatusOK, d)
				return
			}
		}
		h.fail(w, r, &Error{Status: http.StatusNotFound, Detail: notFound})
		return
	}
	res := make([]any, len(docs))
	for i, d := range docs {
		res[i] = d
	}
	h.writeJSON(w, http.StatusOK, listResponse(res, len(res), 1))
}

func (h *Handler) resourceTypes() []map[string]any {
	rt := func(id, endpoint, schema string, exts []any) map[string]any {
		return map[string]any{
			"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"},
			"id":               id,
			"name":             id,
			"endpoint":         "/" + endpoint,
			"schema":           schema,
			"schemaExtensions": exts,
			"meta":             map[string]any{"resourceType": "ResourceType", "location": h.base + "/ResourceTypes/" + id},
		}
	}
	exts := []any{map[string]any{"schema": enterpriseSchema, "required": false}}
	for _, urn := range h.cfg.UserSchemaExtensions {
		exts = append(exts, map[string]any{"schema": urn, "required": false})
	}
	return []map[string]any{
		rt("User", "Users", userSchema, exts),
		rt("Group", "Groups", groupSchema, []any{}),
	}
}

func (h *Handler) serveResourceTypes(w http.ResponseWriter, r *http.Request) {
	h.serveDocs(w, r, h.resourceTypes(), "no such resource type")
}
