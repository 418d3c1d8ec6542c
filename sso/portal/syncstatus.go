package portal

import (
	"errors"
	"net/http"
	"time"
)

// syncStatus is the directory sync status the admin API answers at
// GET /scim-status.
type syncStatus struct {
	Users         int           `json:"users"`
	Groups        int           `json:"groups"`
	LastRequestAt time.Time     `json:"lastRequestAt"`
	Failures      []syncFailure `json:"failures"`
	// Unavailable is set when the status could not be read; the page says
	// so instead of failing.
	Unavailable bool `json:"-"`
}

type syncFailure struct {
	At     time.Time `json:"at"`
	Status int       `json:"status"`
	Reason string    `json:"reason"`
	Method string    `json:"method"`
	Route  string    `json:"route"`
}

// Meaning explains a failed SCIM request in plain words.
func (f syncFailure) Meaning() string {
	switch {
	case f.Status == http.StatusUnauthorized:
		return "The token was missing, wrong, expired or revoked: paste a current token into your identity provider."
	case f.Status == http.StatusForbidden:
		return "The token is not allowed to do this: check that it belongs to this organization."
	case f.Status == http.StatusConflict || f.Reason == "uniqueness":
		return "A user or group with the same name or email already exists: check for duplicates in your identity provider."
	case f.Status == http.StatusTooManyRequests:
		return "Your identity provider sent too many requests at once; it retries by itself."
	case f.Reason == "invalidFilter" || f.Reason == "invalidSyntax" || f.Reason == "invalidValue" || f.Reason == "invalidPath":
		return "Your identity provider sent a request we could not read: check the attribute mappings of its provisioning settings."
	case f.Status == http.StatusNotFound:
		return "The user or group no longer exists here; your identity provider usually creates it again on its next sync."
	case f.Status >= 500:
		return "We could not process the request; your identity provider retries it. If this repeats, contact support."
	}
	return "The request was refused; the reason is shown on the left."
}

// syncStatusOf reads the organization's directory sync status, or nil when
// the host keeps none.
func (p *Portal) syncStatusOf(r *http.Request) *syncStatus {
	var st syncStatus
	err := p.call(r, http.MethodGet, "/scim-status", nil, &st)
	var ae *apiError
	switch {
	case err == nil:
		return &st
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return nil
	}
	p.log.WarnContext(r.Context(), "portal: directory sync status", "err", err)
	return &syncStatus{Unavailable: true}
}
