package portal

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
)

// The IP allowlist limits where people of the organization may sign in
// from; it sits in the single sign-on section next to the rule that
// requires single sign-on, since both decide who may sign in and how.
func (p *Portal) networkRoutes(m *http.ServeMux) {
	m.Handle("GET /network", p.page(SectionSSO, p.networkPage))
	m.Handle("POST /network", p.action(SectionSSO, p.networkSave))
}

func (p *Portal) renderNetwork(w http.ResponseWriter, r *http.Request, status int, v *admin.NetworkView, list string, pr *problem) {
	p.render(w, r, status, "network", &page{Title: "Allowed networks", Section: string(SectionSSO), Problem: pr,
		Data: map[string]any{"V": v, "List": list, "Caller": sso.AuditInfoFrom(r.Context()).IP,
			"Invalid": pr != nil && strings.HasPrefix(pr.Field, "network.allowed_cidrs")}})
}

func (p *Portal) networkPage(w http.ResponseWriter, r *http.Request, _ *Session) error {
	var v admin.NetworkView
	if err := p.call(r, http.MethodGet, "/network-policy", nil, &v); err != nil {
		return err
	}
	p.renderNetwork(w, r, http.StatusOK, &v, strings.Join(v.AllowedCIDRs, "\n"), nil)
	return nil
}

// cidrLines reads the list as the admin typed it: one network per line
// (commas and spaces separate too), empty entries and repeats dropped, the
// order kept, as the policy itself tidies it.
func cidrLines(s string) []string {
	out := []string{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ' ' || r == '\t' }) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func (p *Portal) networkSave(w http.ResponseWriter, r *http.Request, _ *Session) error {
	var cur admin.NetworkView
	if err := p.call(r, http.MethodGet, "/network-policy", nil, &cur); err != nil {
		return err
	}
	list := r.PostFormValue("allowed_cidrs")
	req := admin.SetNetworkRequest{AllowedCIDRs: cidrLines(list), BreakGlassExempt: r.PostFormValue("break_glass_exempt") == "true",
		Confirm: r.PostFormValue("confirmed") == "yes"}
	var out admin.NetworkView
	err := p.call(r, http.MethodPut, "/network-policy", req, &out)
	var ae *apiError
	caller := sso.AuditInfoFrom(r.Context()).IP
	pol := sso.NetworkPolicy{AllowedCIDRs: req.AllowedCIDRs, BreakGlassExempt: req.BreakGlassExempt}
	if errors.As(err, &ae) && ae.Field == "network.allowed_cidrs" && pol.Restricted() && !pol.Allows(caller) && !req.Confirm {
		// The list leaves out the admin's own address.
		d := confirmData{Consequence: fmt.Sprintf("Your own address %s is not in this list. Saving it signs you out, and you cannot come back from here until the list allows you again.", caller),
			Weakens: nil, Button: "Save and lock myself out", Back: p.basePath + "/network"}
		if req.BreakGlassExempt {
			d.Consequence += " Break-glass members can still sign in from anywhere."
		}
		p.confirmed(w, r, "Save a list that leaves you out?", d)
		return nil
	}
	if err != nil {
		pr := explain(err)
		if ae != nil && strings.HasPrefix(ae.Field, "network.allowed_cidrs") {
			pr.What = "The list of networks could not be saved: " + ae.Message + "."
			if i, ok := entryIndex(ae.Field); ok && i < len(req.AllowedCIDRs) {
				pr.What = fmt.Sprintf("Entry %d of the list, “%s”, is not a network: write it like 203.0.113.0/24 or 2001:db8::/48.", i+1, req.AllowedCIDRs[i])
			}
			pr.Next = "Correct the list and save again. Nothing was changed."
		}
		p.renderNetwork(w, r, statusOf(err), &cur, list, pr)
		return nil
	}
	p.redirect(w, r, "/network", "saved")
	return nil
}

// entryIndex reads i from a field named network.allowed_cidrs[i].
func entryIndex(field string) (int, bool) {
	s, ok := strings.CutPrefix(field, "network.allowed_cidrs[")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(strings.TrimSuffix(s, "]"))
	return i, err == nil
}
