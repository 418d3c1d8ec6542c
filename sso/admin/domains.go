package admin

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/sso"
)

// DomainView is the JSON form of a domain with the DNS record to publish.
type DomainView struct {
	Name                string          `json:"name"`
	State               sso.DomainState `json:"state"`
	Record              RecordView      `json:"record"`
	VerifiedAt          *time.Time      `json:"verified_at,omitempty"`
	LastCheckedAt       *time.Time      `json:"last_checked_at,omitempty"`
	ConsecutiveFailures int             `json:"consecutive_failures"`
	CreatedAt           time.Time       `json:"created_at"`
}

// RecordView is the DNS TXT record proving control of a domain.
type RecordView struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

func (h *Handler) domainView(d *sso.Domain) *DomainView {
	name, value := h.cfg.Domains.Record(d)
	return &DomainView{Name: d.Name, State: d.State, Record: RecordView{Type: "TXT", Name: name, Value: value},
		VerifiedAt: timePtr(d.VerifiedAt), LastCheckedAt: timePtr(d.LastCheckedAt),
		ConsecutiveFailures: d.ConsecutiveFailures, CreatedAt: d.CreatedAt}
}

func (h *Handler) listDomains(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	ds, err := h.cfg.Domains.List(r.Context(), org.ID)
	if err != nil {
		return err
	}
	out := make([]*DomainView, 0, len(ds))
	for _, d := range ds {
		out = append(out, h.domainView(d))
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"domains": out})
	return nil
}

// AddDomainRequest is the body of POST /domains.
type AddDomainRequest struct {
	Name string `json:"name"`
}

func (h *Handler) addDomain(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	var req AddDomainRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	d, err := h.cfg.Domains.Add(r.Context(), org.ID, req.Name)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusCreated, h.domainView(d))
	return nil
}

// domainMiss audits a request for a domain that another organization has
// verified (its name is public, so this is the one case worth telling
// from a typo) and returns err unchanged: the caller sees the same 404.
func (h *Handler) domainMiss(ctx context.Context, org *sso.Organization, name string, err error) error {
	if !errors.Is(err, sso.ErrNotFound) {
		return err
	}
	if n, nerr := normalize.Domain(name); nerr == nil {
		if d, ferr := h.cfg.Store.FindVerifiedDomain(ctx, n); ferr == nil && d.OrgID != org.ID {
			_ = h.crossTenant(ctx, org, "domain", n)
		}
	}
	return err
}

func (h *Handler) getDomain(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	d, err := h.cfg.Domains.Get(r.Context(), org.ID, r.PathValue("name"))
	if err != nil {
		return h.domainMiss(r.Context(), org, r.PathValue("name"), err)
	}
	httpjson.Write(w, http.StatusOK, h.domainView(d))
	return nil
}

func (h *Handler) verifyDomain(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	d, err := h.cfg.Domains.Verify(r.Context(), org.ID, r.PathValue("name"))
	if err != nil {
		return h.domainMiss(r.Context(), org, r.PathValue("name"), err)
	}
	httpjson.Write(w, http.StatusOK, h.domainView(d))
	return nil
}

func (h *Handler) removeDomain(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	if err := h.cfg.Domains.Remove(r.Context(), org.ID, r.PathValue("name")); err != nil {
		return h.domainMiss(r.Context(), org, r.PathValue("name"), err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
