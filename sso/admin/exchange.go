package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
)

// EventExchangeAudiencesChanged is recorded when an organization's token
// exchange audience allowlist changed.
const EventExchangeAudiencesChanged = "org.exchange_audiences_changed"

// maxExchangeAudiences bounds the allowlist.
const maxExchangeAudiences = 50

// ExchangeView is an organization's token exchange (RFC 8693) audience
// allowlist: the downstream APIs its API clients may exchange users'
// tokens for.
type ExchangeView struct {
	Audiences []string `json:"audiences"`
}

func exchangeView(org *sso.Organization) *ExchangeView {
	v := &ExchangeView{Audiences: org.Settings.ExchangeAudiences}
	if v.Audiences == nil {
		v.Audiences = []string{}
	}
	return v
}

func (h *Handler) getExchange(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	httpjson.Write(w, http.StatusOK, exchangeView(org))
	return nil
}

// SetExchangeRequest is the body of PUT /token-exchange.
type SetExchangeRequest struct {
	Audiences []string `json:"audiences"`
}

// checkAudience accepts an absolute https URL or a plain identifier
// (letters, digits and -._:/), without spaces or quotes.
func checkAudience(a string) string {
	switch {
	case a == "" || len(a) > 200:
		return "must be 1-200 characters"
	case strings.ContainsAny(a, " \t\r\n\"\\,"):
		return "must not contain spaces, quotes, commas or backslashes"
	case strings.Contains(a, "://"):
		u, err := url.Parse(a)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" {
			return "a URL audience must be an https URL without credentials or fragment"
		}
	}
	return ""
}

func (h *Handler) setExchange(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	var req SetExchangeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if len(req.Audiences) > maxExchangeAudiences {
		return inputErr("audiences", fmt.Sprintf("at most %d audiences", maxExchangeAudiences))
	}
	for i, a := range req.Audiences {
		if p := checkAudience(a); p != "" {
			return inputErr(fmt.Sprintf("audiences[%d]", i), p)
		}
	}
	auds := slices.Clone(req.Audiences)
	slices.Sort(auds)
	auds = slices.Compact(auds)
	org, err := h.saveOrg(r.Context(), org, func(org *sso.Organization) ([]*sso.Event, bool, error) {
		old := slices.Clone(org.Settings.ExchangeAudiences)
		slices.Sort(old)
		if slices.Equal(old, auds) {
			return nil, false, nil
		}
		org.Settings.ExchangeAudiences = auds
		return []*sso.Event{{OrgID: org.ID, Type: EventExchangeAudiencesChanged, Target: sso.Target{Type: "organization", ID: org.ID},
			Details: map[string]string{"audiences": strings.Join(auds, " "), "previous": strings.Join(old, " ")}}}, true, nil
	})
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, exchangeView(org))
	return nil
}
