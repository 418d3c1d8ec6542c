package portal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/httperr"
	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
)

// LinkView is the JSON form of a setup link; URL is set only in the answer
// that creates it.
type LinkView struct {
	ID        string     `json:"id"`
	URL       string     `json:"url,omitempty"`
	Sections  []Section  `json:"sections"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// Status is "unused", "in_use", "expired" or "revoked".
	Status string `json:"status"`
}

// CreateLinkRequest is the body of POST /setup-links.
type CreateLinkRequest struct {
	Sections   []Section `json:"sections"`
	TTLSeconds int64     `json:"ttl_seconds"`
}

// LinksHandler is the JSON API through which the host or its support staff
// issue, list and revoke setup links:
//
//	POST   /setup-links       {"sections": [...], "ttl_seconds": n} -> 201 with "url", shown once
//	GET    /setup-links       the organization's links, newest first
//	DELETE /setup-links/{id}  revokes the link and ends its sessions -> 204
//
// authorize authenticates the caller (typically the host's operator
// credential) and names the organization, as admin.Config.Authorize does.
// Errors follow the admin API: {"error", "message"} plus "field" for bad
// input.
func (p *Portal) LinksHandler(authorize func(r *http.Request) (orgID string, actor sso.Actor, err error)) http.Handler {
	m := http.NewServeMux()
	wrap := func(fn func(w http.ResponseWriter, r *http.Request, orgID string, actor sso.Actor) error) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			orgID, actor, err := authorize(r)
			if err != nil || orgID == "" {
				if errors.Is(err, sso.ErrForbidden) {
					httperr.WriteJSON(w, r, err)
					return
				}
				httpjson.Write(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized", "message": "portal: unauthorized"})
				return
			}
			if p.cfg.Admin.Auditor != nil {
				r = r.WithContext(sso.WithAuditInfo(r.Context(), p.cfg.Admin.Auditor.RequestInfo(r, actor)))
			}
			r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
			if err := fn(w, r, orgID, actor); err != nil {
				var fe *FieldError
				if errors.As(err, &fe) {
					httpjson.Write(w, http.StatusBadRequest, map[string]string{"error": "invalid_input",
						"message": "invalid " + fe.Field + ": " + fe.Message, "field": fe.Field})
					return
				}
				if httperr.Status(err) >= 500 {
					p.log.ErrorContext(r.Context(), "portal: setup link API", "err", err)
				}
				httperr.WriteJSON(w, r, err)
			}
		})
	}
	m.Handle("POST /setup-links", wrap(p.apiCreateLink))
	m.Handle("GET /setup-links", wrap(p.apiListLinks))
	m.Handle("DELETE /setup-links/{id}", wrap(p.apiRevokeLink))
	m.Handle("/", wrap(func(http.ResponseWriter, *http.Request, string, sso.Actor) error {
		return fmt.Errorf("portal: no such route: %w", sso.ErrNotFound)
	}))
	return m
}

func (p *Portal) linkView(l *SetupLink) *LinkView {
	v := &LinkView{ID: l.ID, Sections: l.Sections, CreatedBy: string(l.CreatedBy.Type) + ":" + l.CreatedBy.ID,
		CreatedAt: l.CreatedAt, ExpiresAt: l.ExpiresAt, Status: "unused"}
	if !l.UsedAt.IsZero() {
		t := l.UsedAt
		v.UsedAt, v.Status = &t, "in_use"
	}
	switch {
	case !l.RevokedAt.IsZero():
		t := l.RevokedAt
		v.RevokedAt, v.Status = &t, "revoked"
	case l.UsedAt.IsZero() && !p.cfg.Now().Before(l.ExpiresAt):
		v.Status = "expired"
	}
	return v
}

func (p *Portal) apiCreateLink(w http.ResponseWriter, r *http.Request, orgID string, actor sso.Actor) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return fieldErr("body", "content type must be application/json")
	}
	var req CreateLinkRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		if field, problem, ok := httpjson.BadField(err); ok {
			return fieldErr(field, problem)
		}
		return fieldErr("body", "must be a JSON object with sections and ttl_seconds")
	}
	if _, err := dec.Token(); err != io.EOF {
		return fieldErr("body", "must hold one JSON object")
	}
	if req.TTLSeconds < 0 || req.TTLSeconds > int64(MaxLinkTTL/time.Second) {
		return fieldErr("ttl_seconds", "must be 60-604800 (at most 7 days), or 0 for 72 hours")
	}
	u, l, err := p.CreateLink(r.Context(), LinkRequest{OrgID: orgID, Sections: req.Sections,
		TTL: time.Duration(req.TTLSeconds) * time.Second, CreatedBy: actor})
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) && fe.Field == "ttl" {
			fe.Field = "ttl_seconds"
		}
		return err
	}
	v := p.linkView(l)
	v.URL = u
	httpjson.Write(w, http.StatusCreated, v)
	return nil
}

func (p *Portal) apiListLinks(w http.ResponseWriter, r *http.Request, orgID string, _ sso.Actor) error {
	ls, err := p.cfg.Store.ListLinks(r.Context(), orgID)
	if err != nil {
		return err
	}
	out := make([]*LinkView, 0, len(ls))
	for _, l := range ls {
		if l.OrgID == orgID {
			out = append(out, p.linkView(l))
		}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"setup_links": out})
	return nil
}

func (p *Portal) apiRevokeLink(w http.ResponseWriter, r *http.Request, orgID string, actor sso.Actor) error {
	id := r.PathValue("id")
	if id == "" || len(id) > 128 {
		return fmt.Errorf("portal: setup link: %w", sso.ErrNotFound)
	}
	if err := p.RevokeLink(r.Context(), orgID, id, actor); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
