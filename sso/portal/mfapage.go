package portal

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
)

// The multi-factor policy page sits in the single sign-on section: whether
// members need a second factor, how long they may postpone enrolment, and
// whether the identity provider's second factor counts and steps up. It
// saves through PUT /mfa-policy, whose checks it shares; a change that
// lowers the policy goes through a confirmation, and the admin API audits
// it as weakening.
func (p *Portal) mfaRoutes(m *http.ServeMux) {
	m.Handle("GET /mfa", p.page(SectionSSO, p.mfaPage))
	m.Handle("POST /mfa", p.action(SectionSSO, p.mfaSave))
}

// mfaLabels are the page's names of the policy's settings, as the admin
// API names them in its errors.
var mfaLabels = map[string]string{
	"required":               "Require a second factor",
	"grace_period_days":      "Days to set up a second factor",
	"trust_idp_mfa":          "Count the identity provider's second factor",
	"step_up_at_idp":         "Ask the identity provider again for sensitive actions",
	"step_up_local_fallback": "Offer a second factor set up here when the identity provider refuses",
}

// mfaNeeds explains the admin API's refusals of a setting that needs
// another, in the page's names.
var mfaNeeds = map[string]string{
	"step_up_at_idp":         "it needs “" + mfaLabels["trust_idp_mfa"] + "” set to Yes, since a step-up at the identity provider only counts when its second factor does",
	"step_up_local_fallback": "it only applies with “" + mfaLabels["step_up_at_idp"] + "” set to Yes",
}

// mfaWeakens says, per weakening setting, what confirming it accepts.
var mfaWeakens = map[string]string{
	"required":               "Members will no longer need a second factor to use the application.",
	"grace_period_days":      "Members without a second factor may keep using the application for longer.",
	"trust_idp_mfa":          "A second factor your identity provider reports counts without a check by this application: its MFA rules become yours.",
	"step_up_local_fallback": "When your identity provider refuses a step-up, members may confirm with an authenticator app or security key set up here instead of passing your identity provider's own rules.",
}

func (p *Portal) renderMFA(w http.ResponseWriter, r *http.Request, status int, v *admin.MFAPolicyView, grace string, pr *problem) {
	p.render(w, r, status, "mfa", &page{Title: "Multi-factor authentication", Section: string(SectionSSO), Problem: pr,
		Data: map[string]any{"V": v, "Grace": grace, "Invalid": invalidField(pr)}})
}

// invalidField is the setting a problem names, "" when none.
func invalidField(pr *problem) string {
	if pr == nil {
		return ""
	}
	return pr.Field
}

func (p *Portal) mfaPage(w http.ResponseWriter, r *http.Request, _ *Session) error {
	var v admin.MFAPolicyView
	if err := p.call(r, http.MethodGet, "/mfa-policy", nil, &v); err != nil {
		return err
	}
	p.renderMFA(w, r, http.StatusOK, &v, strconv.Itoa(v.GracePeriodDays), nil)
	return nil
}

// mfaPolicyOf is the part of sso.MFAPolicy that v shows.
func mfaPolicyOf(v *admin.MFAPolicyView) sso.MFAPolicy {
	return sso.MFAPolicy{Required: v.Required, GracePeriod: time.Duration(v.GracePeriodDays) * 24 * time.Hour,
		TrustIdPMFA: v.TrustIdPMFA, StepUpAtIdP: v.StepUpAtIdP, StepUpLocalFallback: v.StepUpLocalFallback}
}

func (p *Portal) mfaSave(w http.ResponseWriter, r *http.Request, _ *Session) error {
	var cur admin.MFAPolicyView
	if err := p.call(r, http.MethodGet, "/mfa-policy", nil, &cur); err != nil {
		return err
	}
	on := func(k string) bool { return r.PostFormValue(k) == "true" }
	grace := strings.TrimSpace(r.PostFormValue("grace_period_days"))
	days, err := strconv.Atoi(grace)
	want := admin.MFAPolicyView{Required: on("required"), GracePeriodDays: days, TrustIdPMFA: on("trust_idp_mfa"),
		StepUpAtIdP: on("step_up_at_idp"), StepUpLocalFallback: on("step_up_local_fallback")}
	if err != nil || days < 1 || days > admin.MaxMFAGraceDays {
		p.renderMFA(w, r, http.StatusBadRequest, &want, grace, &problem{Status: http.StatusBadRequest, Field: "grace_period_days",
			What: "“" + mfaLabels["grace_period_days"] + "” must be a whole number from 1 to " + strconv.Itoa(admin.MaxMFAGraceDays) + ".",
			Next: "Correct it and save again. Nothing was changed."})
		return nil
	}
	weak := admin.MFAPolicyWeakenings(mfaPolicyOf(&cur), mfaPolicyOf(&want))
	if len(weak) > 0 {
		d := confirmData{Consequence: "Save a multi-factor policy that asks less of your members?",
			Button: "Save the weaker policy", Back: p.basePath + "/mfa"}
		for _, k := range weak {
			d.Weakens = append(d.Weakens, mfaWeakens[k])
		}
		if !p.confirmed(w, r, "Lower the multi-factor policy?", d) {
			return nil
		}
	}
	req := admin.SetMFAPolicyRequest{Required: &want.Required, GracePeriodDays: &days, TrustIdPMFA: &want.TrustIdPMFA,
		StepUpAtIdP: &want.StepUpAtIdP, StepUpLocalFallback: &want.StepUpLocalFallback, Confirm: len(weak) > 0}
	if err := p.call(r, http.MethodPut, "/mfa-policy", req, nil); err != nil {
		pr := explain(err)
		var ae *apiError
		if errors.As(err, &ae) && mfaLabels[ae.Field] != "" {
			why, ok := mfaNeeds[ae.Field]
			if !ok {
				why = strings.TrimPrefix(ae.Message, "invalid "+ae.Field+": ")
			}
			pr.What = "“" + mfaLabels[ae.Field] + "” could not be saved: " + why + "."
			pr.Next, pr.Detail = "Change the settings and save again. Nothing was changed.", ""
		}
		p.renderMFA(w, r, statusOf(err), &want, grace, pr)
		return nil
	}
	p.redirect(w, r, "/mfa", "saved")
	return nil
}
